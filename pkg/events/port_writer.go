package events

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/hamba/avro/v2"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
)

// Headers of the records a PortWriter writes, besides the CloudEvents ones.
const (
	// HeaderRun is the CloudEvents extension naming the producing run.
	HeaderRun = "ce_runid"
	// HeaderDLQRule names the contract rule a dead-lettered record broke.
	HeaderDLQRule = "dlq_rule"
)

// PortRecordType is the CloudEvents type of the records a PortWriter writes.
const PortRecordType = "io.meshbone.port.record.v1"

// ClassContractRule is the dlq_error_class of a record a PortWriter
// dead-lettered because it broke a contract rule.
const ClassContractRule ErrorClass = "contract_rule"

// PortDeadLetterTopic returns a port topic's dead-letter topic,
// "<topic>.dlq".
func PortDeadLetterTopic(topic string) string { return topic + ".dlq" }

// ErrRuleFailed is matched (errors.Is) by every *RuleError.
var ErrRuleFailed = errors.New("contract rule failed")

// RuleError says that a record broke a port's contract rule whose
// onFailure is REJECT: the record was not written.
type RuleError struct {
	Product string // product id
	Port    string // port name
	Rule    string // the rule's name
	Expr    string // the rule's CEL text
	// Err is why the rule could not be evaluated on the record (a null
	// where a value was needed, say), or nil when it was false.
	Err error
}

func (e *RuleError) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("events: %s port %s: rule %q (%s) failed: %v", e.Product, e.Port, e.Rule, e.Expr, e.Err)
	}
	return fmt.Sprintf("events: %s port %s: rule %q (%s) is false", e.Product, e.Port, e.Rule, e.Expr)
}

// Is makes errors.Is(err, ErrRuleFailed) true.
func (e *RuleError) Is(target error) bool { return target == ErrRuleFailed }

// Unwrap returns the evaluation error, if any.
func (e *RuleError) Unwrap() error { return e.Err }

// PortWriter writes a data product's records to one of its output ports
// under the port's contract: it finds the port's topic (from the product's
// newest lifecycle event) and current schema (the latest version of the
// subject "<topic>-value"), encodes each record with it in the Confluent
// wire format, applies the port's contract rules in order, and sets the
// CloudEvents headers (source "/domains/<domain>", subject the product id,
// type PortRecordType) and the producing run (HeaderRun).
//
// The first rule a record breaks decides: REJECT returns a *RuleError naming
// it and writes nothing; DLQ writes the record to the port's dead-letter
// topic (PortDeadLetterTopic) with the rule in the dlq_rule header, and the
// write succeeds. The producer is idempotent, acks=all.
//
// A record is a map[string]any keyed by field name or a Go struct (or a
// pointer to one) with avro tags, as hamba/avro encodes them. A PortWriter
// is safe for concurrent use.
type PortWriter struct {
	cl       *kgo.Client
	product  DataProduct
	port     OutputPort
	topic    string
	dlqTopic string
	schema   avro.Schema
	schemaID int
	header   [5]byte
	rules    []portRule
	source   []byte
	subject  []byte
	run      []byte
	idPrefix []byte
	seq      atomic.Uint64
	log      Logger
	closed   atomic.Bool
	stats    struct{ written, rejected, deadLettered atomic.Int64 }
}

type portRule struct {
	ContractRule
	rule *Rule
}

// PortWriterStats counts a PortWriter's records.
type PortWriterStats struct {
	Written      int64 // handed to Kafka for the port topic
	Rejected     int64 // refused by a REJECT rule
	DeadLettered int64 // handed to Kafka for the dead-letter topic
}

// NewPortWriter builds a writer for port of product productID. It reads the
// lifecycle topic for the product (refusing an unknown or retired product or
// an unknown port: ErrNoProduct, ErrRetired, ErrNoPort), fetches the port's
// schema from the registry, compiles the port's contract rules against it
// and, when a rule dead-letters, checks that the dead-letter topic exists:
// the registrar creates it with the port topic, and only for a product
// registered before it did is it created here (with the port's partition
// count; that needs CREATE on the topic).
func NewPortWriter(productID, port string, opts ...PortWriterOpt) (*PortWriter, error) {
	pc := portCfg{timeout: DefaultPortLookupTimeout}
	var shared []PortWriterOpt
	for _, o := range opts {
		if po, ok := o.(portOpt); ok {
			po.applyPort(&pc)
		} else {
			shared = append(shared, o)
		}
	}
	c, err := newCfg(shared)
	if err != nil {
		return nil, err
	}
	if pc.timeout <= 0 {
		return nil, fmt.Errorf("events: PortLookupTimeout %s: must be positive", pc.timeout)
	}
	ctx, cancel := context.WithTimeout(context.Background(), pc.timeout)
	defer cancel()
	ev, err := c.findProduct(ctx, productID)
	if err != nil {
		return nil, err
	}
	op, err := portOf(ev, port)
	if err != nil {
		return nil, err
	}
	w := &PortWriter{
		product:  ev.Product,
		port:     op,
		topic:    op.Topic,
		dlqTopic: PortDeadLetterTopic(op.Topic),
		source:   []byte(DomainSource(ev.Product.Domain)),
		subject:  []byte(productID),
		log:      c.logger,
	}
	if err := w.loadSchema(ctx, c); err != nil {
		return nil, err
	}
	if pc.run == "" {
		pc.run = time.Now().UTC().Format("20060102T150405Z") + "-" + randomHex(4)
	}
	w.run = []byte(pc.run)
	w.idPrefix = []byte(randomHex(8) + "-")
	kopts := append([]kgo.Opt{
		kgo.SeedBrokers(c.seeds...),
		kgo.RequiredAcks(kgo.AllISRAcks()),
		kgo.WithLogger(kgoLogger{c.logger}),
	}, c.kafkaOpts...)
	if w.cl, err = kgo.NewClient(kopts...); err != nil {
		return nil, fmt.Errorf("events: kafka client: %w", err)
	}
	if err := w.ensureDLQ(ctx); err != nil {
		w.cl.Close()
		return nil, err
	}
	return w, nil
}

// loadSchema fetches the port's current schema and compiles its rules.
func (w *PortWriter) loadSchema(ctx context.Context, c cfg) error {
	reg, err := c.registry()
	if err != nil {
		return fmt.Errorf("events: registry client: %w", err)
	}
	subject := w.port.SchemaSubject
	if subject == "" {
		subject = Subject(w.topic)
	}
	ss, err := reg.SchemaByVersion(ctx, subject, -1)
	if err != nil {
		return fmt.Errorf("events: the schema of port %s of %s (subject %s): %w", w.port.Name, w.product.ID, subject, err)
	}
	if w.schema, err = avro.ParseWithCache(ss.Schema.Schema, "", &avro.SchemaCache{}); err != nil {
		return fmt.Errorf("events: schema %d of %s does not parse: %w", ss.ID, subject, err)
	}
	w.schemaID = ss.ID
	w.header[0] = 0
	binary.BigEndian.PutUint32(w.header[1:], uint32(ss.ID))
	if len(w.port.Rules) == 0 {
		return nil
	}
	env, err := NewRuleEnv(w.schema)
	if err != nil {
		return err
	}
	for _, cr := range w.port.Rules {
		r, err := env.Compile(cr.Rule)
		if err != nil {
			return fmt.Errorf("events: rule %q of port %s of %s does not compile against schema %d: %w", cr.Name, w.port.Name, w.product.ID, ss.ID, err)
		}
		w.rules = append(w.rules, portRule{ContractRule: cr, rule: r})
	}
	return nil
}

// ensureDLQ makes sure the dead-letter topic exists when a rule
// dead-letters. The registrar creates it with the port topic, so it is
// normally there, and only looked up (which WRITE on it allows); for a
// product registered before the registrar did, it is created here with the
// port's partition count, which needs CREATE on it.
func (w *PortWriter) ensureDLQ(ctx context.Context) error {
	need := false
	for _, r := range w.rules {
		need = need || r.OnFailure == RuleDLQ
	}
	if !need {
		return nil
	}
	adm := kadm.NewClient(w.cl)
	td, err := adm.ListTopics(ctx, w.dlqTopic)
	if err != nil {
		return fmt.Errorf("events: look up the dead-letter topic %s: %w", w.dlqTopic, err)
	}
	if d, ok := td[w.dlqTopic]; ok && d.Err == nil {
		return nil
	}
	partitions := max(w.port.Partitions, 1)
	resp, err := adm.CreateTopic(ctx, partitions, -1, nil, w.dlqTopic)
	if err == nil {
		err = resp.Err
	}
	if err != nil && !errors.Is(err, kerr.TopicAlreadyExists) {
		return fmt.Errorf("events: create the dead-letter topic %s: %w", w.dlqTopic, err)
	}
	return nil
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// Topic returns the port topic the writer writes to.
func (w *PortWriter) Topic() string { return w.topic }

// DeadLetterTopic returns the port's dead-letter topic.
func (w *PortWriter) DeadLetterTopic() string { return w.dlqTopic }

// Schema returns the port schema the writer encodes with, and its registry
// id.
func (w *PortWriter) Schema() (avro.Schema, int) { return w.schema, w.schemaID }

// Product returns the product as its newest lifecycle event describes it.
func (w *PortWriter) Product() DataProduct { return w.product }

// Run returns the producing run the writer names in HeaderRun.
func (w *PortWriter) Run() string { return string(w.run) }

// Client returns the underlying franz-go client.
func (w *PortWriter) Client() *kgo.Client { return w.cl }

// Stats returns the writer's counts so far.
func (w *PortWriter) Stats() PortWriterStats {
	return PortWriterStats{Written: w.stats.written.Load(), Rejected: w.stats.rejected.Load(), DeadLettered: w.stats.deadLettered.Load()}
}

// Write encodes value, applies the contract rules and writes the record with
// key (none when empty), waiting until Kafka acknowledged it. A record a
// REJECT rule refuses returns a *RuleError; one a DLQ rule catches is
// written to the dead-letter topic and Write returns nil. A value that does
// not fit the schema returns hamba/avro's error. After Close, Write returns
// ErrClosed.
func (w *PortWriter) Write(ctx context.Context, key string, value any) error {
	return w.WriteAt(ctx, time.Time{}, key, value)
}

// WriteAt is Write for a record whose event time is at (now when at is
// zero): the record's Kafka timestamp and its ce_time header say at. The
// monitor measures a port's objectives per window of its records'
// timestamps, so a pipeline that writes what happened earlier (a backfill, a
// late batch) should say when it happened.
func (w *PortWriter) WriteAt(ctx context.Context, at time.Time, key string, value any) error {
	r, err := w.record(key, value, at)
	if err != nil {
		return err
	}
	if err := w.cl.ProduceSync(ctx, r).FirstErr(); err != nil {
		return w.produceError(r, err)
	}
	w.count(r)
	return nil
}

// WriteAsync is Write without waiting: an error in encoding or a REJECT rule
// comes back at once (and done is never called); otherwise done, if not nil,
// is called with the outcome once Kafka answers. Flush waits for every
// outstanding record.
func (w *PortWriter) WriteAsync(ctx context.Context, key string, value any, done func(error)) error {
	r, err := w.record(key, value, time.Time{})
	if err != nil {
		return err
	}
	w.cl.Produce(ctx, r, func(r *kgo.Record, err error) {
		if err != nil {
			err = w.produceError(r, err)
			w.log.Log(LogLevelWarn, "port write failed", "topic", r.Topic, "err", err)
		} else {
			w.count(r)
		}
		if done != nil {
			done(err)
		}
	})
	return nil
}

func (w *PortWriter) count(r *kgo.Record) {
	if r.Topic == w.dlqTopic {
		w.stats.deadLettered.Add(1)
	} else {
		w.stats.written.Add(1)
	}
}

func (w *PortWriter) produceError(r *kgo.Record, err error) error {
	if errors.Is(err, kgo.ErrClientClosed) {
		return fmt.Errorf("events: write to %s: %w: %w", r.Topic, ErrClosed, err)
	}
	return fmt.Errorf("events: write to %s: %w", r.Topic, err)
}

// Flush waits until every record written so far has been acknowledged or
// failed. After Close it returns ErrClosed.
func (w *PortWriter) Flush(ctx context.Context) error {
	if w.closed.Load() {
		return ErrClosed
	}
	return w.cl.Flush(ctx)
}

// Close flushes the outstanding records and closes the client; from then on
// Write, WriteAsync and Flush return ErrClosed. It is idempotent.
func (w *PortWriter) Close() {
	if !w.closed.CompareAndSwap(false, true) {
		return
	}
	_ = w.cl.Flush(context.Background())
	w.cl.Close()
}

// portHeaders is the number of headers of a port record: the seven
// CloudEvents ones and the run.
const portHeaders = 8

// portRecord is a record with room for its headers, allocated at once.
type portRecord struct {
	r kgo.Record
	h [portHeaders]kgo.RecordHeader
}

// record builds the record of value: the key, the CloudEvents header values
// and the value share one buffer.
func (w *PortWriter) record(key string, value any, at time.Time) (*kgo.Record, error) {
	if w.closed.Load() {
		return nil, ErrClosed
	}
	if at.IsZero() {
		at = time.Now()
	}
	buf := make([]byte, 0, len(key)+len(w.idPrefix)+20+len(time.RFC3339Nano)+128)
	buf = append(buf, key...)
	kEnd := len(buf)
	buf = append(buf, w.idPrefix...)
	buf = strconv.AppendUint(buf, w.seq.Add(1), 10)
	idEnd := len(buf)
	buf = appendTime(buf, at)
	tEnd := len(buf)
	buf = append(buf, w.header[:]...)
	buf, err := appendAvro(buf, w.schema, value)
	if err != nil {
		return nil, fmt.Errorf("events: encode a record of %s port %s: %w", w.product.ID, w.port.Name, err)
	}
	pr := &portRecord{}
	pr.h[0] = kgo.RecordHeader{Key: HeaderSpecVersion, Value: specVersionValue}
	pr.h[1] = kgo.RecordHeader{Key: HeaderID, Value: buf[kEnd:idEnd:idEnd]}
	pr.h[2] = kgo.RecordHeader{Key: HeaderSource, Value: w.source}
	pr.h[3] = kgo.RecordHeader{Key: HeaderType, Value: portRecordTypeValue}
	pr.h[4] = kgo.RecordHeader{Key: HeaderTime, Value: buf[idEnd:tEnd:tEnd]}
	pr.h[5] = kgo.RecordHeader{Key: HeaderSubject, Value: w.subject}
	pr.h[6] = kgo.RecordHeader{Key: HeaderContentType, Value: contentTypeValue}
	pr.h[7] = kgo.RecordHeader{Key: HeaderRun, Value: w.run}
	pr.r = kgo.Record{Topic: w.topic, Value: buf[tEnd:], Headers: pr.h[:portHeaders], Timestamp: at}
	if kEnd > 0 {
		pr.r.Key = buf[:kEnd:kEnd]
	}
	for i := range w.rules {
		rl := &w.rules[i]
		ok, err := rl.rule.Eval(value)
		if ok && err == nil {
			continue
		}
		if rl.OnFailure != RuleDLQ {
			w.stats.rejected.Add(1)
			return nil, &RuleError{Product: w.product.ID, Port: w.port.Name, Rule: rl.Name, Expr: rl.Rule, Err: err}
		}
		// The first rule broken decides: to the dead-letter topic, with the
		// rule, the reason and the port topic in headers.
		reason := "false"
		if err != nil {
			reason = err.Error()
		}
		pr.r.Topic = w.dlqTopic
		pr.r.Headers = append(pr.h[:portHeaders:portHeaders],
			kgo.RecordHeader{Key: HeaderDLQRule, Value: []byte(rl.Name)},
			kgo.RecordHeader{Key: HeaderDLQError, Value: []byte(fmt.Sprintf("rule %q (%s): %s", rl.Name, rl.Rule, reason))},
			kgo.RecordHeader{Key: HeaderDLQClass, Value: []byte(ClassContractRule)},
			kgo.RecordHeader{Key: HeaderDLQTopic, Value: []byte(w.topic)})
		break
	}
	return &pr.r, nil
}

var portRecordTypeValue = []byte(PortRecordType)
