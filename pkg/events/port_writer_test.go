package events_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
	"github.com/twmb/franz-go/pkg/sr"

	"github.com/meshbone/meshbone/internal/testkit"
	"github.com/meshbone/meshbone/pkg/events"
	"github.com/meshbone/meshbone/pkg/product"
)

const portOrderSchema = `{"type": "record", "name": "Order", "namespace": "com.example.sales", "fields": [
  {"name": "order_id", "type": "string"},
  {"name": "amount", "type": "double"},
  {"name": "currency", "type": "string"},
  {"name": "coupon", "type": ["null", "string"], "default": null}
]}`

// portOrder is a typed record of the port.
type portOrder struct {
	OrderID  string  `avro:"order_id"`
	Amount   float64 `avro:"amount"`
	Currency string  `avro:"currency"`
	Coupon   *string `avro:"coupon"`
}

// portProduct registers a product of its own (a fresh name, so that tests
// on a shared broker never meet) with one port "orders" and two contract
// rules, as the registrar would: the port topic, the schema under
// "<topic>-value", and the REGISTERED lifecycle event. It returns the
// product.
func portProduct(t *testing.T, env *testkit.Env) events.DataProduct {
	t.Helper()
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	name := "orders-" + hex.EncodeToString(b)
	doc := fmt.Sprintf(`
apiVersion: meshbone/v1
kind: DataProduct
metadata: {domain: sales, name: %s, owner: sales-data-team}
spec:
  version: 1.2.0
  sensitivity: internal
  retentionDays: 7
  quality:
    - {dimension: validity, port: orders, rule: "amount >= 0.0 && currency.size() == 3", threshold: 0.999}
  outputPorts:
    - name: orders
      partitions: 3
      schema: '%s'
      rules:
        - {name: positive-amount, rule: "amount > 0", onFailure: reject}
        - {name: currency-code, rule: "currency.size() == 3", onFailure: dlq}
    - name: totals
      schema: {type: record, name: Total, fields: [{name: total, type: double}]}
`, name, strings.ReplaceAll(portOrderSchema, "\n", " "))
	d, err := product.Parse([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Validate(); err != nil {
		t.Fatal(err)
	}
	p := d.ToEvent()
	ctx := context.Background()
	reg := env.RegistryClient()
	for i, port := range p.OutputPorts {
		resp, err := env.Admin().CreateTopic(ctx, port.Partitions, -1, nil, port.Topic)
		if err == nil {
			err = resp.Err
		}
		if err != nil {
			t.Fatalf("create %s: %v", port.Topic, err)
		}
		ss, err := reg.CreateSchema(ctx, port.SchemaSubject, sr.Schema{Schema: d.Spec.OutputPorts[i].Schema, Type: sr.TypeAvro})
		if err != nil {
			t.Fatalf("register %s: %v", port.SchemaSubject, err)
		}
		id := int32(ss.ID)
		p.OutputPorts[i].SchemaID = &id
	}
	publishLifecycle(t, env, p, events.LifecycleRegistered)
	return p
}

func publishLifecycle(t *testing.T, env *testkit.Env, p events.DataProduct, typ events.LifecycleType) {
	t.Helper()
	pub := newPublisher(t, env)
	err := pub.Publish(context.Background(), &events.ProductLifecycleEvent{
		EventID: p.ID + "-" + string(typ), Type: typ, OccurredAt: time.Now().UTC().Truncate(time.Millisecond),
		Actor: "test", Product: p,
	})
	if err != nil {
		t.Fatal(err)
	}
}

func newPortWriter(t *testing.T, env *testkit.Env, productID, port string, opts ...events.PortWriterOpt) *events.PortWriter {
	t.Helper()
	for _, o := range env.EventOpts() {
		opts = append(opts, o)
	}
	w, err := events.NewPortWriter(productID, port, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(w.Close)
	return w
}

// TestPortWriterTypedAndGeneric writes Go structs and maps to a port and
// reads them back through a PortReader: the same records, in the port's
// schema, with the CloudEvents headers and the run.
func TestPortWriterTypedAndGeneric(t *testing.T) {
	env := testkit.New(t)
	p := portProduct(t, env)
	w := newPortWriter(t, env, p.ID, "orders", events.Run("run-42"))
	if w.Topic() != p.OutputPorts[0].Topic || w.DeadLetterTopic() != p.OutputPorts[0].Topic+".dlq" || w.Run() != "run-42" {
		t.Fatalf("topic %s, dead-letter topic %s, run %s", w.Topic(), w.DeadLetterTopic(), w.Run())
	}
	if _, id := w.Schema(); int32(id) != *p.OutputPorts[0].SchemaID {
		t.Errorf("schema id %d, want %d", id, *p.OutputPorts[0].SchemaID)
	}
	ctx := context.Background()
	coupon := "SPRING"
	if err := w.Write(ctx, "k", portOrder{OrderID: "o-1", Amount: 10.5, Currency: "EUR", Coupon: &coupon}); err != nil {
		t.Fatal(err)
	}
	if err := w.Write(ctx, "k", &portOrder{OrderID: "o-2", Amount: 20, Currency: "USD"}); err != nil {
		t.Fatal(err)
	}
	if err := w.Write(ctx, "k", map[string]any{"order_id": "o-3", "amount": 30.25, "currency": "GBP", "coupon": nil}); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	wg.Add(1)
	var asyncErr error
	if err := w.WriteAsync(ctx, "k", map[string]any{"order_id": "o-4", "amount": 1.0, "currency": "CHF", "coupon": "X"}, func(err error) {
		asyncErr = err
		wg.Done()
	}); err != nil {
		t.Fatal(err)
	}
	if err := w.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	if asyncErr != nil {
		t.Fatal(asyncErr)
	}
	if got := w.Stats(); got != (events.PortWriterStats{Written: 4}) {
		t.Errorf("stats %+v", got)
	}

	// Read back through a PortReader on the port FindPort finds, decoding
	// with the registry.
	op, err := events.FindPort(ctx, p.ID, "orders", env.EventOpts()...)
	if err != nil || op.Topic != w.Topic() || len(op.Rules) != 2 {
		t.Fatalf("FindPort: %+v, %v", op, err)
	}
	r, err := events.NewPortReader(op.Topic, env.EventOpts()[0], env.EventOpts()[1])
	if err != nil {
		t.Fatal(err)
	}
	rctx, cancel := context.WithTimeout(ctx, testkit.DefaultWait)
	defer cancel()
	var got []events.PortRecord
	errDone := errors.New("done")
	err = r.Run(rctx, func(rec events.PortRecord) error {
		got = append(got, rec)
		if len(got) == 4 {
			return errDone
		}
		return nil
	}, nil)
	if !errors.Is(err, errDone) {
		t.Fatalf("read %d records: %v", len(got), err)
	}
	want := []string{
		`map[amount:10.5 coupon:SPRING currency:EUR order_id:o-1]`,
		`map[amount:20 coupon:<nil> currency:USD order_id:o-2]`,
		`map[amount:30.25 coupon:<nil> currency:GBP order_id:o-3]`,
		`map[amount:1 coupon:X currency:CHF order_id:o-4]`,
	}
	for i, rec := range got {
		if s := fmt.Sprint(rec.Value); s != want[i] {
			t.Errorf("record %d = %s, want %s", i, s, want[i])
		}
		if rec.Key != "k" || int32(rec.SchemaID) != *p.OutputPorts[0].SchemaID || rec.Run != "run-42" {
			t.Errorf("record %d: key %q, schema id %d, run %q", i, rec.Key, rec.SchemaID, rec.Run)
		}
	}
}

// TestPortWriterHeaders checks the CloudEvents headers of a port record.
func TestPortWriterHeaders(t *testing.T) {
	env := testkit.New(t)
	p := portProduct(t, env)
	w := newPortWriter(t, env, p.ID, "orders")
	ctx := context.Background()
	for i := range 2 {
		if err := w.Write(ctx, "k", portOrder{OrderID: fmt.Sprint("o-", i), Amount: 1, Currency: "EUR"}); err != nil {
			t.Fatal(err)
		}
	}
	recs := env.ReadN(w.Topic(), 2)
	ids := map[string]bool{}
	for _, r := range recs {
		ce := events.CloudEventOf(r)
		if ce.SpecVersion != events.SpecVersion || ce.Source != "/domains/sales" || ce.Type != events.PortRecordType ||
			ce.Subject != p.ID || ce.ContentType != events.ContentTypeAvro || ce.Time.IsZero() || ce.ID == "" {
			t.Errorf("CloudEvents headers %+v", ce)
		}
		ids[ce.ID] = true
		if run, _ := events.GetHeader(r, events.HeaderRun); run != w.Run() || run == "" {
			t.Errorf("run header %q, want the writer's %q", run, w.Run())
		}
		if string(r.Key) != "k" {
			t.Errorf("key %q", r.Key)
		}
	}
	if len(ids) != 2 {
		t.Errorf("ce_id not unique: %v", ids)
	}

	// WriteAt: the record's timestamp and ce_time say when it happened.
	at := time.Date(2026, 3, 1, 9, 30, 15, 123_000_000, time.UTC)
	if err := w.WriteAt(ctx, at, "k", portOrder{OrderID: "o-late", Amount: 1, Currency: "EUR"}); err != nil {
		t.Fatal(err)
	}
	late := env.ReadN(w.Topic(), 3)[2]
	if ce := events.CloudEventOf(late); !late.Timestamp.Equal(at) || !ce.Time.Equal(at) {
		t.Errorf("WriteAt(%v): timestamp %v, ce_time %v", at, late.Timestamp, ce.Time)
	}
}

// TestPortWriterRules: a record breaking a REJECT rule is refused with a
// *RuleError naming the rule and never written; one breaking a DLQ rule is
// written to the dead-letter topic with the rule in a header, not to the
// port; the first rule broken decides; a bad shape is an encoding error.
func TestPortWriterRules(t *testing.T) {
	env := testkit.New(t)
	p := portProduct(t, env)
	w := newPortWriter(t, env, p.ID, "orders")
	ctx := context.Background()

	err := w.Write(ctx, "k", portOrder{OrderID: "neg", Amount: -5, Currency: "EUR"})
	var re *events.RuleError
	if !errors.As(err, &re) || !errors.Is(err, events.ErrRuleFailed) || re.Rule != "positive-amount" || re.Product != p.ID || re.Port != "orders" {
		t.Fatalf("negative amount: %v", err)
	}
	if want := fmt.Sprintf(`events: %s port orders: rule "positive-amount" (amount > 0) is false`, p.ID); err.Error() != want {
		t.Errorf("error %q, want %q", err, want)
	}
	// Both rules broken: the first, a REJECT, decides.
	if err := w.WriteAsync(ctx, "k", map[string]any{"order_id": "both", "amount": 0.0, "currency": "EURO"}, func(error) { t.Error("done called for a rejected record") }); !errors.As(err, &re) || re.Rule != "positive-amount" {
		t.Fatalf("both rules broken: %v", err)
	}
	if err := w.Write(ctx, "k", map[string]any{"order_id": "shape", "amount": "ten", "currency": "EUR"}); err == nil || errors.Is(err, events.ErrRuleFailed) {
		t.Fatalf("a value of the wrong type: %v", err)
	}
	// To the dead-letter topic, typed and generic.
	if err := w.Write(ctx, "k", portOrder{OrderID: "dlq-1", Amount: 5, Currency: "EURO"}); err != nil {
		t.Fatal(err)
	}
	if err := w.Write(ctx, "k", map[string]any{"order_id": "dlq-2", "amount": 6.0, "currency": "E"}); err != nil {
		t.Fatal(err)
	}
	if err := w.Write(ctx, "k", portOrder{OrderID: "good", Amount: 7, Currency: "EUR"}); err != nil {
		t.Fatal(err)
	}
	if got := w.Stats(); got != (events.PortWriterStats{Written: 1, Rejected: 2, DeadLettered: 2}) {
		t.Errorf("stats %+v", got)
	}

	dec := events.NewPortDecoder(env.RegistryClient())
	// One key, one partition: a rejected or dead-lettered record written
	// to the port would come before the good one.
	port := env.ReadN(w.Topic(), 1)
	if _, v, err := dec.Decode(ctx, port[0].Value); err != nil || v["order_id"] != "good" {
		t.Fatalf("port record %v, %v", v, err)
	}
	dlq := env.ReadN(w.DeadLetterTopic(), 2)
	for i, r := range dlq {
		_, v, err := dec.Decode(ctx, r.Value)
		if err != nil {
			t.Fatal(err)
		}
		if want := fmt.Sprint("dlq-", i+1); v["order_id"] != want {
			t.Errorf("dead letter %d is %v, want %s", i, v["order_id"], want)
		}
		for key, want := range map[string]string{
			events.HeaderDLQRule:  "currency-code",
			events.HeaderDLQClass: string(events.ClassContractRule),
			events.HeaderDLQTopic: w.Topic(),
			events.HeaderDLQError: `rule "currency-code" (currency.size() == 3): false`,
			events.HeaderSubject:  p.ID,
			events.HeaderRun:      w.Run(),
		} {
			if got, _ := events.GetHeader(r, key); got != want {
				t.Errorf("dead letter %d: %s = %q, want %q", i, key, got, want)
			}
		}
	}
}

// TestPortWriterLookup: an unknown product or port, a retired product, and
// a rule that no longer compiles against the registered schema are refused
// at construction.
func TestPortWriterLookup(t *testing.T) {
	env := testkit.New(t)
	p := portProduct(t, env)
	opts := func() []events.PortWriterOpt {
		var o []events.PortWriterOpt
		for _, e := range env.EventOpts() {
			o = append(o, e)
		}
		return o
	}
	if _, err := events.NewPortWriter("sales.nothing-here", "orders", opts()...); !errors.Is(err, events.ErrNoProduct) {
		t.Errorf("unknown product: %v", err)
	}
	_, err := events.NewPortWriter(p.ID, "ordres", opts()...)
	if !errors.Is(err, events.ErrNoPort) {
		t.Errorf("unknown port: %v", err)
	}
	if want := fmt.Sprintf(`events: no such port "ordres" in %s 1.2.0 (ports: orders, totals)`, p.ID); err == nil || err.Error() != want {
		t.Errorf("error %v, want %s", err, want)
	}
	// The second port has no rules and so no dead-letter topic.
	w := newPortWriter(t, env, p.ID, "totals")
	if err := w.Write(context.Background(), "", map[string]any{"total": 1.5}); err != nil {
		t.Fatal(err)
	}
	// A rule that does not compile against the schema in the registry.
	broken := p
	broken.OutputPorts = append([]events.OutputPort(nil), p.OutputPorts...)
	broken.OutputPorts[1].Rules = []events.ContractRule{{Name: "nope", Rule: "amount > 0", OnFailure: events.RuleReject}}
	publishLifecycle(t, env, broken, events.LifecycleUpdated)
	if _, err := events.NewPortWriter(p.ID, "totals", opts()...); err == nil || !strings.Contains(err.Error(), `rule "nope" of port totals of `+p.ID+` does not compile against schema`) {
		t.Errorf("a rule that does not compile: %v", err)
	}
	publishLifecycle(t, env, p, events.LifecycleRetired)
	if _, err := events.NewPortWriter(p.ID, "orders", opts()...); !errors.Is(err, events.ErrRetired) {
		t.Errorf("retired product: %v", err)
	}
	if _, err := events.NewPortWriter(p.ID, "orders", append(opts(), events.PortLookupTimeout(0))...); err == nil {
		t.Error("a zero lookup timeout was accepted")
	}
}

// TestPortWriterClosed: after Close, writes return ErrClosed.
func TestPortWriterClosed(t *testing.T) {
	env := testkit.New(t)
	p := portProduct(t, env)
	w := newPortWriter(t, env, p.ID, "orders")
	w.Close()
	w.Close()
	if err := w.Write(context.Background(), "k", portOrder{OrderID: "x", Amount: 1, Currency: "EUR"}); !errors.Is(err, events.ErrClosed) {
		t.Errorf("Write after Close: %v", err)
	}
	if err := w.Flush(context.Background()); !errors.Is(err, events.ErrClosed) {
		t.Errorf("Flush after Close: %v", err)
	}
}

// requestKeys records the keys of the requests a client sends.
type requestKeys struct {
	mu   sync.Mutex
	keys map[int16]int
}

func (h *requestKeys) OnBrokerWrite(_ kgo.BrokerMetadata, key int16, _ int, _, _ time.Duration, _ error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.keys == nil {
		h.keys = map[int16]int{}
	}
	h.keys[key]++
}

func (h *requestKeys) count(key kmsg.Key) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.keys[int16(key)]
}

// TestPortWriterDeadLetterTopicFromTheRegistrar: the registrar creates a
// port's dead-letter topic with the port topic, so a writer with a
// dead-lettering rule only looks it up and writes there, never asking to
// create it (a domain's publisher needs WRITE on it, not CREATE); for a
// product registered before the registrar did, the writer creates it with
// the port's partition count.
func TestPortWriterDeadLetterTopicFromTheRegistrar(t *testing.T) {
	env := testkit.New(t)
	ctx := context.Background()

	p := portProduct(t, env)
	dlq := events.PortDeadLetterTopic(p.OutputPorts[0].Topic)
	// As the registrar makes it; 5 partitions tell it from the writer's.
	resp, err := env.Admin().CreateTopic(ctx, 5, -1, nil, dlq)
	if err == nil {
		err = resp.Err
	}
	if err != nil {
		t.Fatal(err)
	}
	hooks := &requestKeys{}
	w := newPortWriter(t, env, p.ID, "orders", events.KafkaOpts(kgo.WithHooks(hooks)))
	if err := w.Write(ctx, "k", portOrder{OrderID: "dlq-1", Amount: 5, Currency: "EURO"}); err != nil {
		t.Fatal(err)
	}
	if got := w.Stats(); got != (events.PortWriterStats{DeadLettered: 1}) {
		t.Errorf("stats %+v", got)
	}
	if n := hooks.count(kmsg.CreateTopics); n != 0 {
		t.Errorf("the writer sent %d CreateTopics requests for an existing dead-letter topic", n)
	}
	if got := env.ReadN(dlq, 1); string(got[0].Key) != "k" {
		t.Errorf("dead letter %+v", got[0])
	}
	if parts := topicPartitions(t, env, dlq); parts != 5 {
		t.Errorf("%s has %d partitions, want the registrar's 5", dlq, parts)
	}

	// A product registered before: no dead-letter topic, the writer makes it.
	old := portProduct(t, env)
	oldDLQ := events.PortDeadLetterTopic(old.OutputPorts[0].Topic)
	hooks = &requestKeys{}
	newPortWriter(t, env, old.ID, "orders", events.KafkaOpts(kgo.WithHooks(hooks)))
	if n := hooks.count(kmsg.CreateTopics); n != 1 {
		t.Errorf("the writer sent %d CreateTopics requests for a missing dead-letter topic, want 1", n)
	}
	var parts int
	env.Eventually(func() bool { parts = topicPartitions(t, env, oldDLQ); return parts != -1 }, oldDLQ+" created")
	if parts != 3 {
		t.Errorf("%s has %d partitions, want the port's 3", oldDLQ, parts)
	}
}

// topicPartitions returns a topic's partition count, -1 if it does not exist.
func topicPartitions(t *testing.T, env *testkit.Env, topic string) int {
	t.Helper()
	td, err := env.Admin().ListTopics(context.Background(), topic)
	if err != nil {
		t.Fatal(err)
	}
	if d, ok := td[topic]; ok && d.Err == nil {
		return len(d.Partitions)
	}
	return -1
}
