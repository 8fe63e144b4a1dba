package events_test

import (
	"context"
	"encoding/binary"
	"errors"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hamba/avro/v2"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sr"

	"github.com/meshbone/meshbone/internal/testkit"
	"github.com/meshbone/meshbone/pkg/events"
)

// The integration suite: written once, run on whichever broker testkit
// picks (kfake by default, a real Apache Kafka with MESH_TEST_KAFKA).

func ptr[T any](v T) *T { return &v }

func qualityEvent(id, product string) *events.QualityEvent {
	at := time.Now().UTC().Truncate(time.Millisecond)
	return &events.QualityEvent{
		EventID: id, ProductID: product, ProductVersion: "1.0.0", RunID: "run-" + id,
		ObservedAt: at, DataWatermark: ptr(at.Add(-5 * time.Minute)),
		Checks: []events.QualityCheck{{Name: "not_null", Dimension: events.DimensionCompleteness, Column: ptr("email"), Observed: 0.99, Operator: ">=", Threshold: 0.98, Passed: true}},
	}
}

func lifecycleEvent(id string) *events.ProductLifecycleEvent {
	return &events.ProductLifecycleEvent{
		EventID: id, Type: events.LifecycleRegistered, OccurredAt: time.Now().UTC().Truncate(time.Millisecond), Actor: "sales-bot",
		Product: events.DataProduct{
			ID: "sales.customer-orders", Name: "customer-orders", Domain: "sales", OwnerTeam: "sales-data-team",
			Version: "1.0.0", Sensitivity: events.SensitivityConfidential, RetentionDays: 365,
			Tags: []string{}, QualitySLOs: []events.QualitySLO{}, OutputPorts: []events.OutputPort{}, Inputs: []string{}, Labels: map[string]string{},
		},
	}
}

// withEnv returns the environment's shared options (broker, registry, topic
// prefix) followed by opts, as the options of one constructor.
func withEnv[O any](env *testkit.Env, opts ...O) []O {
	all := make([]O, 0, len(opts)+3)
	for _, o := range env.EventOpts() {
		all = append(all, any(o).(O)) // an Opt is a PublisherOpt and a SubscriberOpt
	}
	return append(all, opts...)
}

func newPublisher(t *testing.T, env *testkit.Env, opts ...events.PublisherOpt) *events.Publisher {
	t.Helper()
	p, err := events.NewPublisher(withEnv(env, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	return p
}

// collector is a Handler that keeps what it is given.
type collector struct {
	mu   sync.Mutex
	msgs []*events.Message
}

func (c *collector) handle(_ context.Context, m *events.Message) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.msgs = append(c.msgs, m)
	return nil
}

func (c *collector) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.msgs)
}

func (c *collector) ids() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var ids []string
	for _, m := range c.msgs {
		ids = append(ids, m.Event.ID())
	}
	return ids
}

// runSubscriber runs a Subscriber until the test ends.
func runSubscriber(t *testing.T, env *testkit.Env, h events.Handler, opts ...events.SubscriberOpt) (stop func() error) {
	t.Helper()
	s, err := events.NewSubscriber(withEnv(env, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx, h) }()
	stopped := false
	stop = func() error {
		if stopped {
			return nil
		}
		stopped = true
		cancel()
		return <-done
	}
	t.Cleanup(func() { _ = stop() })
	return stop
}

func TestPublishSubscribe(t *testing.T) {
	env := testkit.New(t)
	t.Logf("integration suite on %s", env.Backend)
	pub := newPublisher(t, env)
	ctx := context.Background()

	lc := lifecycleEvent("lc-1")
	q := qualityEvent("q-1", "sales.customer-orders")
	if err := pub.Publish(ctx, lc); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	wg.Add(1)
	var asyncErr error
	if err := pub.PublishAsync(ctx, q, func(err error) { asyncErr = err; wg.Done() }); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	if asyncErr != nil {
		t.Fatal(asyncErr)
	}

	var got collector
	runSubscriber(t, env, got.handle, events.ConsumerGroup(env.Group("sub")))
	env.Eventually(func() bool { return got.len() >= 2 }, "subscriber to receive both events")

	byID := map[string]*events.Message{}
	for _, m := range got.msgs {
		byID[m.Event.ID()] = m
	}
	if m := byID["lc-1"]; m == nil || !reflect.DeepEqual(m.Event, lc) {
		t.Errorf("lifecycle event: got %+v, want %+v", byID["lc-1"], lc)
	}
	m := byID["q-1"]
	if m == nil || !reflect.DeepEqual(m.Event, q) {
		t.Fatalf("quality event: got %+v, want %+v", m, q)
	}
	if string(m.Record.Key) != "sales.customer-orders" {
		t.Errorf("key %q, want the product id", m.Record.Key)
	}
	if m.Record.Topic != env.Topics.Quality {
		t.Errorf("topic %q, want %q", m.Record.Topic, env.Topics.Quality)
	}
	want := events.CloudEvent{SpecVersion: "1.0", ID: "q-1", Source: "/domains/sales", Type: "io.meshbone.product.quality.v1",
		Time: q.ObservedAt, Subject: "sales.customer-orders", ContentType: "application/avro"}
	if ce := m.CloudEvent; !reflect.DeepEqual(ce, want) {
		t.Errorf("CloudEvents headers\n got %+v\nwant %+v", ce, want)
	}
	if ce := byID["lc-1"].CloudEvent; ce.Type != "io.meshbone.product.registered.v1" {
		t.Errorf("lifecycle ce_type %q", ce.Type)
	}
	// The value is in the Confluent wire format with the id registered
	// under the topic's subject.
	ss, err := env.RegistryClient().SchemaByVersion(ctx, events.Subject(env.Topics.Quality), -1)
	if err != nil {
		t.Fatal(err)
	}
	if v := m.Record.Value; v[0] != 0 || int(binary.BigEndian.Uint32(v[1:5])) != ss.ID {
		t.Errorf("value header % x, want magic 0 and schema id %d", v[:5], ss.ID)
	}
}

func TestInvalidEventSendsNothing(t *testing.T) {
	env := testkit.New(t)
	pub := newPublisher(t, env)
	ctx := context.Background()
	bad := []struct {
		name string
		ev   events.Event
		want string
	}{
		{"missing id", qualityEvent("", "sales.x"), "invalid QualityEvent: event_id: is required"},
		{"unknown enum", func() events.Event {
			q := qualityEvent("q", "sales.x")
			q.Checks[0].Dimension = "TASTINESS"
			return q
		}(), `invalid QualityEvent: checks[0].dimension: "TASTINESS" is not one of [COMPLETENESS FRESHNESS ACCURACY VALIDITY UNIQUENESS VOLUME]`},
		{"bad sensitivity", func() events.Event {
			e := lifecycleEvent("l")
			e.Product.Sensitivity = "SECRET"
			return e
		}(), `invalid ProductLifecycleEvent: product.sensitivity: "SECRET" is not one of [PUBLIC INTERNAL CONFIDENTIAL RESTRICTED]`},
	}
	for _, tc := range bad {
		err := pub.Publish(ctx, tc.ev)
		if !errors.Is(err, events.ErrInvalidEvent) || err.Error() != tc.want {
			t.Errorf("%s: Publish error %v, want %q", tc.name, err, tc.want)
		}
		if err := pub.PublishAsync(ctx, tc.ev, func(error) { t.Errorf("%s: done called for an invalid event", tc.name) }); !errors.Is(err, events.ErrInvalidEvent) {
			t.Errorf("%s: PublishAsync error %v", tc.name, err)
		}
	}
	_ = pub.Flush(ctx)
	ends, err := env.Admin().ListEndOffsets(ctx, env.Topics.Quality, env.Topics.Lifecycle)
	if err != nil {
		t.Fatal(err)
	}
	ends.Each(func(o kadm.ListedOffset) {
		if o.Offset != 0 {
			t.Errorf("%s[%d] has %d records, want none", o.Topic, o.Partition, o.Offset)
		}
	})
}

func TestCorruptRecordsGoToDLQ(t *testing.T) {
	env := testkit.New(t)
	t.Logf("integration suite on %s", env.Backend)
	pub := newPublisher(t, env)
	ctx := context.Background()
	// A good event first registers the schemas.
	if err := pub.Publish(ctx, qualityEvent("good-1", "sales.orders")); err != nil {
		t.Fatal(err)
	}
	ss, err := env.RegistryClient().SchemaByVersion(ctx, events.Subject(env.Topics.Quality), -1)
	if err != nil {
		t.Fatal(err)
	}
	header := func(id int) []byte {
		b := []byte{0, 0, 0, 0, 0}
		binary.BigEndian.PutUint32(b[1:], uint32(id))
		return b
	}
	poison := map[string][]byte{
		"bad_magic":      []byte("{\"not\":\"avro\"}"),
		"unknown_schema": append(header(987654), 1, 2, 3),
		"corrupt_body":   append(header(ss.ID), 0xc8, 0x01, 'x'), // a 100-byte string with 1 byte
	}
	raw := env.Client()
	for class, v := range poison {
		r := &kgo.Record{Topic: env.Topics.Quality, Key: []byte("sales.orders"), Value: v, Headers: []kgo.RecordHeader{{Key: "origin", Value: []byte(class)}}}
		if err := raw.ProduceSync(ctx, r).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
	if err := pub.Publish(ctx, qualityEvent("good-2", "sales.orders")); err != nil {
		t.Fatal(err)
	}

	var got collector
	group := env.Group("dlq")
	runSubscriber(t, env, got.handle, events.ConsumerGroup(group))
	env.Eventually(func() bool { return got.len() >= 2 }, "subscriber to get past the poison records")
	if ids := got.ids(); !reflect.DeepEqual(ids, []string{"good-1", "good-2"}) {
		t.Errorf("handled %v, want [good-1 good-2]", ids)
	}

	dead := env.ReadN(env.Topics.DLQ, 3)
	for _, d := range dead {
		origin, _ := events.GetHeader(d, "origin")
		class, _ := events.GetHeader(d, events.HeaderDLQClass)
		if class != origin {
			t.Errorf("DLQ record from %s has class %q", origin, class)
		}
		if !reflect.DeepEqual(d.Value, poison[origin]) {
			t.Errorf("DLQ record from %s: value changed", origin)
		}
		if msg, _ := events.GetHeader(d, events.HeaderDLQError); msg == "" {
			t.Errorf("DLQ record from %s has no error text", origin)
		}
		topic, _ := events.GetHeader(d, events.HeaderDLQTopic)
		part, _ := events.GetHeader(d, events.HeaderDLQPartition)
		off, _ := events.GetHeader(d, events.HeaderDLQOffset)
		g, _ := events.GetHeader(d, events.HeaderDLQGroup)
		if topic != env.Topics.Quality || part == "" || off == "" || g != group {
			t.Errorf("DLQ record from %s: origin headers topic=%q partition=%q offset=%q group=%q", origin, topic, part, off, g)
		}
		if _, err := strconv.ParseInt(off, 10, 64); err != nil {
			t.Errorf("DLQ offset header %q: %v", off, err)
		}
	}
}

func TestHandlerFailureRetriedThenDeadLettered(t *testing.T) {
	env := testkit.New(t)
	pub := newPublisher(t, env)
	ctx := context.Background()
	for _, id := range []string{"a", "boom", "b"} {
		if err := pub.Publish(ctx, qualityEvent(id, "sales.orders")); err != nil {
			t.Fatal(err)
		}
	}
	var mu sync.Mutex
	attempts := map[string]int{}
	var got collector
	h := func(ctx context.Context, m *events.Message) error {
		mu.Lock()
		attempts[m.Event.ID()]++
		mu.Unlock()
		if m.Event.ID() == "boom" {
			return errors.New("downstream refused")
		}
		return got.handle(ctx, m)
	}
	runSubscriber(t, env, h, events.ConsumerGroup(env.Group("retry")), events.MaxRetries(2), events.RetryBackoff(time.Millisecond))
	env.Eventually(func() bool { return got.len() >= 2 }, "subscriber to go past the failing record")
	mu.Lock()
	if attempts["boom"] != 3 {
		t.Errorf("failing record tried %d times, want 3 (1 + 2 retries)", attempts["boom"])
	}
	mu.Unlock()
	d := env.ReadN(env.Topics.DLQ, 1)[0]
	if class, _ := events.GetHeader(d, events.HeaderDLQClass); class != "handler" {
		t.Errorf("class %q, want handler", class)
	}
	if id, _ := events.GetHeader(d, events.HeaderID); id != "boom" {
		t.Errorf("dead-lettered %q, want boom", id)
	}
}

func TestSubscriberResumesFromCommittedOffsets(t *testing.T) {
	env := testkit.New(t)
	pub := newPublisher(t, env)
	ctx := context.Background()
	group := env.Group("resume")
	for i := range 5 {
		if err := pub.Publish(ctx, qualityEvent("first-"+strconv.Itoa(i), "sales.orders")); err != nil {
			t.Fatal(err)
		}
	}
	var first collector
	stop := runSubscriber(t, env, first.handle, events.ConsumerGroup(group))
	env.Eventually(func() bool { return first.len() >= 5 }, "first run to consume 5")
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		if err := pub.Publish(ctx, qualityEvent("second-"+strconv.Itoa(i), "sales.orders")); err != nil {
			t.Fatal(err)
		}
	}
	var second collector
	runSubscriber(t, env, second.handle, events.ConsumerGroup(group))
	env.Eventually(func() bool { return second.len() >= 3 }, "second run to consume the 3 new events")
	for _, id := range second.ids() {
		if id[:5] != "secon" {
			t.Errorf("second run redelivered %s, which the first run committed", id)
		}
	}
}

// A record written with a newer, compatible version of the contract (one
// more optional field) is still read by this binary.
func TestReadsNewerCompatibleSchema(t *testing.T) {
	env := testkit.New(t)
	pub := newPublisher(t, env)
	ctx := context.Background()
	if err := pub.Publish(ctx, qualityEvent("v1", "sales.orders")); err != nil {
		t.Fatal(err)
	}
	v2 := `{"type":"record","name":"QualityEvent","namespace":"io.meshbone.v1","fields":[
	 {"name":"event_id","type":"string"},{"name":"product_id","type":"string"},{"name":"product_version","type":"string"},
	 {"name":"run_id","type":"string"},{"name":"observed_at","type":{"type":"long","logicalType":"timestamp-millis"}},
	 {"name":"data_watermark","type":["null",{"type":"long","logicalType":"timestamp-millis"}],"default":null},
	 {"name":"tool","type":["null","string"],"default":null},
	 {"name":"checks","type":{"type":"array","items":{"type":"record","name":"QualityCheck","fields":[
	   {"name":"name","type":"string"},{"name":"dimension","type":{"type":"enum","name":"QualityDimension","symbols":["COMPLETENESS","FRESHNESS","ACCURACY","VALIDITY","UNIQUENESS","VOLUME"]}},
	   {"name":"column","type":["null","string"],"default":null},{"name":"observed","type":"double"},{"name":"operator","type":"string"},
	   {"name":"threshold","type":"double"},{"name":"passed","type":"boolean"}]}},"default":[]}]}`
	ss, err := env.RegistryClient().CreateSchema(ctx, events.Subject(env.Topics.Quality), sr.Schema{Schema: v2, Type: sr.TypeAvro})
	if err != nil {
		t.Fatal(err)
	}
	body, err := avro.Marshal(avro.MustParse(v2), map[string]any{
		"event_id": "v2", "product_id": "sales.orders", "product_version": "1.1.0", "run_id": "r", "observed_at": time.UnixMilli(1_700_000_000_000).UTC(),
		"data_watermark": nil, "tool": map[string]any{"string": "great-expectations"},
		"checks": []any{map[string]any{"name": "c", "dimension": "VOLUME", "column": nil, "observed": 10.0, "operator": ">=", "threshold": 1.0, "passed": true}},
	})
	if err != nil {
		t.Fatal(err)
	}
	value := append([]byte{0, 0, 0, 0, 0}, body...)
	binary.BigEndian.PutUint32(value[1:5], uint32(ss.ID))
	if err := env.Client().ProduceSync(ctx, &kgo.Record{Topic: env.Topics.Quality, Key: []byte("sales.orders"), Value: value}).FirstErr(); err != nil {
		t.Fatal(err)
	}
	var got collector
	runSubscriber(t, env, got.handle, events.ConsumerGroup(env.Group("evolve")))
	env.Eventually(func() bool { return got.len() >= 2 }, "both versions to be read")
	q := got.msgs[1].Event.(*events.QualityEvent)
	if q.EventID != "v2" || q.ProductVersion != "1.1.0" || len(q.Checks) != 1 || q.Checks[0].Dimension != events.DimensionVolume {
		t.Errorf("newer record read as %+v", q)
	}
}

func TestPortReaderDecodesAnyProductTopic(t *testing.T) {
	env := testkit.New(t)
	ctx := context.Background()
	topic := env.Prefix + "sales.customer-orders.orders.v1"
	if _, err := env.Admin().CreateTopic(ctx, 1, 1, nil, topic); err != nil {
		t.Fatal(err)
	}
	schema := `{"type":"record","name":"Order","fields":[{"name":"order_id","type":"string"},{"name":"amount","type":"double"},{"name":"coupon","type":["null","string"],"default":null}]}`
	ss, err := env.RegistryClient().CreateSchema(ctx, events.Subject(topic), sr.Schema{Schema: schema, Type: sr.TypeAvro})
	if err != nil {
		t.Fatal(err)
	}
	var serde sr.Serde
	s := avro.MustParse(schema)
	serde.Register(ss.ID, map[string]any{}, sr.EncodeFn(func(v any) ([]byte, error) { return avro.Marshal(s, v) }))
	value, err := serde.Encode(map[string]any{"order_id": "o-1", "amount": 12.5, "coupon": map[string]any{"string": "WELCOME"}})
	if err != nil {
		t.Fatal(err)
	}
	cl := env.Client()
	for _, v := range [][]byte{value, []byte("garbage")} {
		if err := cl.ProduceSync(ctx, &kgo.Record{Topic: topic, Key: []byte("o-1"), Value: v}).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
	reader, err := events.NewPortReader(topic, withEnv[events.SubscriberOpt](env)...)
	if err != nil {
		t.Fatal(err)
	}
	rctx, cancel := context.WithTimeout(ctx, testkit.DefaultWait)
	defer cancel()
	var got []events.PortRecord
	var bad []error
	_ = reader.Run(rctx, func(r events.PortRecord) error { got = append(got, r); return nil }, func(_ *kgo.Record, err error) {
		bad = append(bad, err)
		cancel() // the garbage record is the last one
	})
	if len(got) != 1 || len(bad) != 1 {
		t.Fatalf("got %d records and %d errors, want 1 and 1", len(got), len(bad))
	}
	line, err := got[0].JSON()
	if err != nil {
		t.Fatal(err)
	}
	want := `"value":{"amount":12.5,"coupon":"WELCOME","order_id":"o-1"}`
	if !strings.Contains(string(line), want) {
		t.Errorf("JSON line %s does not contain %s", line, want)
	}
	if events.ClassOf(bad[0]) != events.ClassBadMagic {
		t.Errorf("garbage record error %v, want class bad_magic", bad[0])
	}
}
