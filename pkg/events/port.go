package events

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"time"

	"github.com/hamba/avro/v2"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sr"
)

// PortDecoder decodes records of any product port topic (Confluent wire
// format, Avro) through the schema registry into generic values, for
// consumers that have no Go type for the product's schema.
type PortDecoder struct {
	reg     *sr.Client
	mu      sync.RWMutex
	schemas map[int]avro.Schema
}

// NewPortDecoder returns a PortDecoder that looks schemas up in reg.
func NewPortDecoder(reg *sr.Client) *PortDecoder {
	return &PortDecoder{reg: reg, schemas: make(map[int]avro.Schema)}
}

// Decode decodes a wire-format value into its schema id and a generic value:
// records become map[string]any, arrays []any, nullable unions their value
// or nil. Errors are *DecodeError.
func (d *PortDecoder) Decode(ctx context.Context, value []byte) (int, map[string]any, error) {
	id, body, err := wireID(value)
	if err != nil {
		return 0, nil, err
	}
	d.mu.RLock()
	s, ok := d.schemas[id]
	d.mu.RUnlock()
	if !ok {
		if s, err = fetchSchema(ctx, d.reg, id); err != nil {
			return id, nil, err
		}
		d.mu.Lock()
		d.schemas[id] = s
		d.mu.Unlock()
	}
	var v any
	if err := portDecodeAPI.Unmarshal(s, body, &v); err != nil {
		return id, nil, &DecodeError{Class: ClassCorruptBody, Err: fmt.Errorf("schema id %d: %w", id, err)}
	}
	m, ok := v.(map[string]any)
	if !ok {
		m = map[string]any{"value": v}
	}
	return id, m, nil
}

// PortRecord is one decoded record of a product port topic.
type PortRecord struct {
	Topic     string    `json:"topic"`
	Partition int32     `json:"partition"`
	Offset    int64     `json:"offset"`
	Timestamp time.Time `json:"timestamp"`
	Key       string    `json:"key,omitempty"`
	SchemaID  int       `json:"schema_id"`
	// Run is the producing run a PortWriter named (HeaderRun), if any.
	Run   string         `json:"run,omitempty"`
	Value map[string]any `json:"value"`
}

// JSON renders the record as one line of JSON.
func (r PortRecord) JSON() ([]byte, error) { return json.Marshal(r) }

// PortReader reads one product port topic from the start (or the end, with
// FromEnd), read_committed, without a consumer group, and decodes every
// record through the registry.
type PortReader struct {
	cfg   cfg
	topic string
	dec   *PortDecoder
}

// NewPortReader builds a PortReader for topic. It takes the shared options
// (an Opt; TopicPrefix does not change topic, which is a full name) and
// FromEnd; the SubscriberOpts that concern a consumer group are refused.
func NewPortReader(topic string, opts ...SubscriberOpt) (*PortReader, error) {
	if err := noGroupOpts(opts); err != nil {
		return nil, err
	}
	c, err := newCfg(opts)
	if err != nil {
		return nil, err
	}
	reg, err := c.registry()
	if err != nil {
		return nil, fmt.Errorf("events: registry client: %w", err)
	}
	return &PortReader{cfg: c, topic: topic, dec: NewPortDecoder(reg)}, nil
}

// Run calls fn with each record until ctx is done (then it returns nil) or fn
// returns an error (which Run returns). A record that does not decode is
// passed to fn with a nil Value and the error in onBad, if onBad is set;
// otherwise it is skipped.
func (p *PortReader) Run(ctx context.Context, fn func(PortRecord) error, onBad func(*kgo.Record, error)) error {
	start := kgo.NewOffset().AtStart()
	if p.cfg.fromEnd {
		start = kgo.NewOffset().AtEnd()
	}
	cl, err := kgo.NewClient(append([]kgo.Opt{
		kgo.SeedBrokers(p.cfg.seeds...),
		kgo.ConsumeTopics(p.topic),
		kgo.ConsumeResetOffset(start),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()),
		kgo.WithLogger(kgoLogger{p.cfg.logger}),
	}, p.cfg.kafkaOpts...)...)
	if err != nil {
		return fmt.Errorf("events: kafka client: %w", err)
	}
	defer cl.Close()
	for {
		fetches := cl.PollFetches(ctx)
		if ctx.Err() != nil || fetches.IsClientClosed() {
			return nil
		}
		fetches.EachError(func(t string, part int32, err error) {
			p.cfg.logger.Log(LogLevelWarn, "fetch error", "topic", t, "partition", part, "err", err)
		})
		for it := fetches.RecordIter(); !it.Done(); {
			r := it.Next()
			id, v, err := p.dec.Decode(ctx, r.Value)
			if err != nil {
				if onBad != nil {
					onBad(r, err)
				}
				continue
			}
			run, _ := GetHeader(r, HeaderRun)
			if err := fn(PortRecord{Topic: r.Topic, Partition: r.Partition, Offset: r.Offset, Timestamp: r.Timestamp, Key: string(r.Key), SchemaID: id, Run: run, Value: v}); err != nil {
				return err
			}
		}
	}
}
