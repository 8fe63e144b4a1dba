package events

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"

	"github.com/hamba/avro/v2"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sr"

	"github.com/meshbone/meshbone/schemas"
)

// maxDecodeElements bounds the elements one array of a mesh event may
// declare. hamba/avro allocates a block's elements before reading them, so
// without a bound one poison record (a block count of 10^12) takes the
// whole process down with "out of memory" (found by FuzzDecode); no mesh
// contract's array comes near this.
const maxDecodeElements = 1 << 16

// decodeAPI is hamba's default configuration with the bound.
var decodeAPI = avro.Config{MaxSliceAllocSize: maxDecodeElements}.Freeze()

// portDecodeAPI decodes a product's own records (PortReader): their arrays
// may be longer than a mesh event's, but a record that claims more
// elements than this is corrupt, not allocated (FuzzDecode found that an
// unbounded count makes hamba allocate it up front and kills the process).
var portDecodeAPI = avro.Config{MaxSliceAllocSize: 1 << 20}.Freeze()

// Codec turns mesh events into Kafka records and back: Confluent wire format
// with schemas from a schema registry, plus CloudEvents headers. Publisher and
// Subscriber use one; services that run their own Kafka clients (the governor
// in transactions, the indexer with offsets in SQLite) use one directly. A
// Codec is safe for concurrent use.
type Codec struct {
	reg    *sr.Client
	topics Topics
	// readers holds each kind's contract as this binary knows it.
	readers map[Kind]avro.Schema

	// enc encodes each kind with the id its contract was registered under;
	// set on first Encode (regMu guards the one-time registration, ready
	// publishes it).
	enc        [KindNotice + 1]encoder
	regMu      sync.Mutex
	registered bool
	ready      atomic.Bool

	// decoders maps writer schema id -> kind -> schema to decode with (the
	// reader itself when the writer is identical, else the resolution of the
	// writer onto the reader).
	decMu    sync.RWMutex
	decoders map[int]map[Kind]avro.Schema
}

// NewCodec returns a Codec using reg for schemas and topics for topic names.
func NewCodec(reg *sr.Client, topics Topics) *Codec {
	c := &Codec{
		reg:      reg,
		topics:   topics,
		readers:  make(map[Kind]avro.Schema, len(Kinds)),
		decoders: make(map[int]map[Kind]avro.Schema),
	}
	for _, k := range Kinds {
		c.readers[k] = schemas.MustParse(k.schemaName())
	}
	return c
}

// Topics returns the topic names the Codec uses.
func (c *Codec) Topics() Topics { return c.topics }

// Schema returns the Avro contract of kind k.
func (c *Codec) Schema(k Kind) avro.Schema { return c.readers[k] }

// Register registers every mesh contract under its topic's subject (or finds
// it already there) so that events can be encoded. It is idempotent; Encode
// calls it on first use.
func (c *Codec) Register(ctx context.Context) error {
	if c.ready.Load() {
		return nil
	}
	c.regMu.Lock()
	defer c.regMu.Unlock()
	if c.registered {
		return nil
	}
	for _, k := range Kinds {
		text, err := schemas.Full(c.readers[k])
		if err != nil {
			return err
		}
		subject := Subject(c.topics.For(k))
		// RegisterSchema is one request and idempotent: an identical schema
		// gets its existing id back.
		id, err := c.reg.RegisterSchema(ctx, subject, sr.Schema{Schema: text, Type: sr.TypeAvro}, -1, -1)
		if err != nil {
			return fmt.Errorf("events: register schema %s: %w", subject, err)
		}
		schema := c.readers[k]
		e := &c.enc[k]
		e.header[0] = 0 // Confluent wire format: magic byte, then the schema id
		binary.BigEndian.PutUint32(e.header[1:], uint32(id))
		e.body = bodyEncoder(k, schema)
		c.setDecoder(id, k, schema)
	}
	c.registered = true
	c.ready.Store(true)
	return nil
}

// encoder appends the wire-format values of one kind: the Confluent header
// (magic byte 0, the id the contract was registered under), then the Avro
// body.
type encoder struct {
	header   [5]byte
	body     func([]byte, Event) ([]byte, error)
	sizeHint atomic.Int64 // bytes to allocate for a fresh value of the kind
}

func (e *encoder) append(b []byte, ev Event) ([]byte, error) {
	return e.body(append(b, e.header[:]...), ev)
}

// Encode validates ev and builds its record: topic from the kind, key = the
// product id, value in the Confluent wire format, CloudEvents headers with
// the given source ("/domains/<the event's domain>" when empty). An invalid
// event returns a *ValidationError. The record is the caller's.
func (c *Codec) Encode(ctx context.Context, ev Event, source string) (*kgo.Record, error) {
	rb := new(recordBuf)
	if err := c.encodeInto(ctx, rb, ev, source); err != nil {
		return nil, err
	}
	return &rb.r, nil
}

// encodeInto is Encode into rb, reusing its buffer.
func (c *Codec) encodeInto(ctx context.Context, rb *recordBuf, ev Event, source string) error {
	if err := ev.Validate(); err != nil {
		return err
	}
	if err := c.Register(ctx); err != nil {
		return err
	}
	k := ev.Kind()
	if err := rb.fill(ev, c.topics.For(k), source, &c.enc[k]); err != nil {
		return fmt.Errorf("events: encode %s %s: %w", k, ev.ID(), err)
	}
	return nil
}

// Decode decodes a record of a mesh event topic. Errors are *DecodeError,
// classified so the caller can tell poison (dead-letter it) from a registry
// outage (retry).
func (c *Codec) Decode(ctx context.Context, r *kgo.Record) (Event, error) {
	k, ok := c.topics.KindOf(r.Topic)
	if !ok {
		return nil, &DecodeError{Class: ClassUnknownTopic, Err: fmt.Errorf("%q is not a mesh event topic", r.Topic)}
	}
	return c.DecodeKind(ctx, k, r.Value)
}

// DecodeKind decodes a wire-format value as an event of kind k.
func (c *Codec) DecodeKind(ctx context.Context, k Kind, value []byte) (Event, error) {
	id, body, err := wireID(value)
	if err != nil {
		return nil, err
	}
	s, err := c.decoder(ctx, id, k)
	if err != nil {
		return nil, err
	}
	ev := k.newEvent()
	if err := decodeAPI.Unmarshal(s, body, ev); err != nil {
		return nil, &DecodeError{Class: ClassCorruptBody, Err: fmt.Errorf("schema id %d: %w", id, err)}
	}
	if err := ev.Validate(); err != nil {
		return nil, &DecodeError{Class: ClassInvalidEvent, Err: err}
	}
	return ev, nil
}

// DecodeInto decodes a wire-format value of kind k into v, a pointer to a
// struct with avro tags that may name only some of the kind's fields: the
// others are skipped, not allocated. It is for readers that need a few
// fields of many records (the governor's global view reads a lifecycle
// event's type, product id and inputs); the result is not validated.
func (c *Codec) DecodeInto(ctx context.Context, k Kind, value []byte, v any) error {
	id, body, err := wireID(value)
	if err != nil {
		return err
	}
	s, err := c.decoder(ctx, id, k)
	if err != nil {
		return err
	}
	if err := decodeAPI.Unmarshal(s, body, v); err != nil {
		return &DecodeError{Class: ClassCorruptBody, Err: fmt.Errorf("schema id %d: %w", id, err)}
	}
	return nil
}

// wireID splits a Confluent wire-format value into schema id and body.
func wireID(value []byte) (int, []byte, error) {
	if len(value) < 5 {
		return 0, nil, &DecodeError{Class: ClassBadMagic, Err: fmt.Errorf("value of %d bytes is too short for the wire format header", len(value))}
	}
	if value[0] != 0 {
		return 0, nil, &DecodeError{Class: ClassBadMagic, Err: fmt.Errorf("magic byte %#x, want 0x0", value[0])}
	}
	return int(binary.BigEndian.Uint32(value[1:5])), value[5:], nil
}

func (c *Codec) setDecoder(id int, k Kind, s avro.Schema) {
	c.decMu.Lock()
	defer c.decMu.Unlock()
	if c.decoders[id] == nil {
		c.decoders[id] = make(map[Kind]avro.Schema)
	}
	c.decoders[id][k] = s
}

// decoder returns the schema to decode kind k written with schema id.
func (c *Codec) decoder(ctx context.Context, id int, k Kind) (avro.Schema, error) {
	c.decMu.RLock()
	s, ok := c.decoders[id][k]
	c.decMu.RUnlock()
	if ok {
		return s, nil
	}
	writer, err := fetchSchema(ctx, c.reg, id)
	if err != nil {
		return nil, err
	}
	reader := c.readers[k]
	s = reader
	if writer.Fingerprint() != reader.Fingerprint() {
		if s, err = avro.NewSchemaCompatibility().Resolve(reader, writer); err != nil {
			return nil, &DecodeError{Class: ClassCorruptBody, Err: fmt.Errorf("schema id %d cannot be read as %s: %w", id, k.schemaName(), err)}
		}
	}
	c.setDecoder(id, k, s)
	return s, nil
}

// fetchSchema gets and parses the schema with the given id from the registry.
func fetchSchema(ctx context.Context, reg *sr.Client, id int) (avro.Schema, error) {
	ss, err := reg.SchemaByID(ctx, id)
	if err != nil {
		var re *sr.ResponseError
		if errors.As(err, &re) && (re.StatusCode == http.StatusNotFound || re.ErrorCode == sr.ErrSchemaNotFound.Code) {
			return nil, &DecodeError{Class: ClassUnknownSchema, Err: fmt.Errorf("schema id %d is not in the registry", id)}
		}
		return nil, &DecodeError{Class: ClassRegistry, Err: fmt.Errorf("look up schema id %d: %w", id, err)}
	}
	if ss.Type != sr.TypeAvro {
		return nil, &DecodeError{Class: ClassUnknownSchema, Err: fmt.Errorf("schema id %d is %s, not Avro", id, ss.Type)}
	}
	s, err := avro.ParseWithCache(ss.Schema, "", &avro.SchemaCache{})
	if err != nil {
		return nil, &DecodeError{Class: ClassUnknownSchema, Err: fmt.Errorf("schema id %d does not parse: %w", id, err)}
	}
	return s, nil
}
