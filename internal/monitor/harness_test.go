package monitor

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"sort"
	"testing"
	"time"

	"github.com/hamba/avro/v2"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sr"

	"github.com/meshbone/meshbone/internal/kafka"
	"github.com/meshbone/meshbone/internal/testkit"
	"github.com/meshbone/meshbone/pkg/events"
)

// orderSchema is the schema of the test ports' records.
const orderSchema = `{"type":"record","name":"Order","namespace":"test","fields":[
 {"name":"order_id","type":"string"},
 {"name":"lines","type":{"type":"array","items":{"type":"record","name":"Line","fields":[{"name":"sku","type":"string"},{"name":"qty","type":"int"}]}}},
 {"name":"email","type":["null","string"],"default":null},
 {"name":"amount","type":"double"},
 {"name":"note","type":"string"}]}`

// portPartitions is the partition count of the test port topics.
const portPartitions = 3

// world is one test's mesh: an Env, port topics with their schema, and the
// products that declare objectives on them.
type world struct {
	t     *testing.T
	env   *testkit.Env
	group string
	prod  *kgo.Client
	ports []testPort
}

// testPort is a product's port on a topic of its own.
type testPort struct {
	product, port, topic string
	schema               avro.Schema
	schemaID             int
}

func newWorld(t *testing.T) *world {
	t.Helper()
	env := testkit.New(t)
	return &world{t: t, env: env, group: env.Group("monitor"), prod: env.Client(kgo.RequiredAcks(kgo.AllISRAcks()), kgo.RecordPartitioner(kgo.ManualPartitioner()))}
}

// options returns monitor options on the world's broker.
func (w *world) options() Options {
	o := DefaultOptions()
	o.Kafka = kafka.Config{Brokers: w.env.Brokers, RegistryURL: w.env.Registry, TopicPrefix: w.env.Prefix}
	o.Listen = "127.0.0.1:0"
	o.Group = w.group
	o.AllowedLateness = 0
	o.IdleProbe = 50 * time.Millisecond
	o.MaxBatch = 7
	o.Topics = w.env.Spec
	return o
}

// objectives are the test products' objectives on their port "orders", per
// one-minute window.
func objectives() []events.QualitySLO {
	s := func(v string) *string { return &v }
	win := s("1m0s")
	return []events.QualitySLO{
		{Dimension: events.DimensionCompleteness, Operator: ">=", Threshold: 0.9, Port: s("orders"), Column: s("email"), Window: win},
		{Dimension: events.DimensionValidity, Operator: ">=", Threshold: 0.95, Port: s("orders"), Rule: s("amount >= 0.0"), Window: win},
		{Dimension: events.DimensionUniqueness, Operator: ">=", Threshold: 1, Port: s("orders"), Column: s("order_id"), Window: win},
		{Dimension: events.DimensionVolume, Operator: ">=", Threshold: 3, Port: s("orders"), Window: win},
		// A product-wide objective the pipelines report: not measured.
		{Dimension: events.DimensionAccuracy, Operator: ">=", Threshold: 0.9},
	}
}

// addProduct creates a port topic, registers its schema and announces its
// product on the lifecycle topic.
func (w *world) addProduct(name string) testPort {
	w.t.Helper()
	ctx := context.Background()
	p := testPort{product: "test." + name, port: "orders", topic: testkit.Unique(w.t, "test."+name+".orders")}
	if _, err := w.env.Admin().CreateTopic(ctx, portPartitions, -1, nil, p.topic); err != nil {
		w.t.Fatal(err)
	}
	ss, err := w.env.RegistryClient().CreateSchema(ctx, p.topic+"-value", sr.Schema{Schema: orderSchema})
	if err != nil {
		w.t.Fatal(err)
	}
	p.schemaID = ss.ID
	if p.schema, err = avro.Parse(orderSchema); err != nil {
		w.t.Fatal(err)
	}
	id := int32(p.schemaID)
	w.env.ProduceEvents(&events.ProductLifecycleEvent{
		EventID: "reg-" + p.topic, Type: events.LifecycleRegistered, OccurredAt: time.Now().UTC(), Actor: "test",
		Product: events.DataProduct{
			ID: p.product, Name: name, Domain: "test", OwnerTeam: "t", Version: "1.0.0", Sensitivity: events.SensitivityInternal,
			RetentionDays: 7, Tags: []string{}, Inputs: []string{}, Labels: map[string]string{},
			QualitySLOs: objectives(),
			OutputPorts: []events.OutputPort{{Name: "orders", Topic: p.topic, SchemaSubject: p.topic + "-value", SchemaID: &id, Format: "avro", Partitions: portPartitions, Fields: []string{"order_id", "lines", "email", "amount", "note"}}},
		},
	})
	w.ports = append(w.ports, p)
	return p
}

// rec is one record of a test stream: on partition part at event time at
// (from the stream's origin), an order, or undecodable bytes when bad.
type rec struct {
	part   int32
	at     time.Duration
	id     string
	email  *string
	amount float64
	bad    bool
}

// write produces the stream to port p, with t0 as its origin.
func (w *world) write(p testPort, t0 time.Time, stream []rec) {
	w.t.Helper()
	ctx := context.Background()
	for _, r := range stream {
		var value []byte
		if r.bad {
			value = []byte{0, 0, 0, 0, byte(p.schemaID), 0xff, 0xff}
			binary.BigEndian.PutUint32(value[1:5], uint32(p.schemaID))
		} else {
			// lines and note are read by no objective: the monitor skips
			// them (a projection of the schema).
			m := map[string]any{"order_id": r.id, "email": nil, "amount": r.amount, "note": "n-" + r.id,
				"lines": []any{map[string]any{"sku": "s-1", "qty": 2}, map[string]any{"sku": "s-2", "qty": 1}}}
			if r.email != nil {
				m["email"] = *r.email
			}
			body, err := avro.Marshal(p.schema, m)
			if err != nil {
				w.t.Fatal(err)
			}
			value = binary.BigEndian.AppendUint32([]byte{0}, uint32(p.schemaID))
			value = append(value, body...)
		}
		kr := &kgo.Record{Topic: p.topic, Partition: r.part, Key: []byte(r.id), Value: value, Timestamp: t0.Add(r.at)}
		if err := w.prod.ProduceSync(ctx, kr).FirstErr(); err != nil {
			w.t.Fatal(err)
		}
	}
}

// addStreams registers the test's products (prefix0, prefix1, ...), writes
// stream to the port of each from t0 and returns the windows they must
// give.
func (w *world) addStreams(prefix string, t0 time.Time, stream []rec) []*events.QualityEvent {
	w.t.Helper()
	var want []*events.QualityEvent
	for i := range products {
		p := w.addProduct(fmt.Sprintf("%s%d", prefix, i))
		w.write(p, t0, stream)
		want = append(want, expectedFrom(p, t0, stream)...)
	}
	return want
}

// start runs a monitor until the test ends (or stop is called).
func (w *world) start(o Options) (*Service, func()) {
	w.t.Helper()
	s, err := New(o, nil)
	if err != nil {
		w.t.Fatalf("monitor: %v", err)
	}
	return s, testkit.Run(w.t, "monitor", s.Run, errCrashed).Stop
}

// observed reads the quality topic until it has n events or wait passes.
func (w *world) observed(n int, wait time.Duration) []*events.QualityEvent {
	w.t.Helper()
	codec := events.NewCodec(w.env.RegistryClient(), w.env.Topics)
	var out []*events.QualityEvent
	for _, r := range w.env.ReadFor(w.env.Topics.Quality, n, wait) {
		ev, err := codec.Decode(context.Background(), r)
		if err != nil {
			w.t.Fatalf("decode a quality event: %v", err)
		}
		q := ev.(*events.QualityEvent)
		if src, _ := events.GetHeader(r, events.HeaderSource); src != ServiceSource {
			w.t.Errorf("event %s: source %q, want %q", q.EventID, src, ServiceSource)
		}
		out = append(out, q)
	}
	return out
}

// summary renders an observed event without its observed_at, for
// comparing: product, run, event id, watermark and each check.
func summary(ev *events.QualityEvent) string {
	ev2 := *ev
	ev2.ObservedAt = time.Time{}
	b, _ := json.Marshal(ev2)
	return string(b)
}

// summaries renders evs sorted.
func summaries(evs []*events.QualityEvent) []string {
	out := make([]string, len(evs))
	for i, ev := range evs {
		out[i] = summary(ev)
	}
	sort.Strings(out)
	return out
}

func str(s string) *string { return &s }

// stream is the test stream: windows of a minute from t0,
//
//	[0,1m): 10 orders over three partitions, one id twice, two emails
//	        null, one negative amount, and one undecodable record
//	[1m,2m): nothing (a gap)
//	[2m,3m): three clean orders
//	[9m30s]: one clean order on each partition, which moves the
//	        watermark to 9m30s: windows up to [8m,9m) close.
func stream() []rec {
	e := str("a@example.com")
	return []rec{
		{part: 0, at: 1 * time.Second, id: "o1", email: e, amount: 10},
		{part: 1, at: 2 * time.Second, id: "o2", email: e, amount: 11},
		{part: 2, at: 3 * time.Second, id: "o3", email: nil, amount: 12},
		{part: 0, at: 4 * time.Second, id: "o4", email: e, amount: -1},
		{part: 1, at: 5 * time.Second, id: "o5", email: e, amount: 13},
		{part: 2, at: 6 * time.Second, id: "o2", email: e, amount: 14},
		{part: 0, at: 7 * time.Second, id: "o6", email: nil, amount: 15},
		{part: 1, at: 8 * time.Second, id: "o7", email: e, amount: 16},
		{part: 2, at: 9 * time.Second, bad: true},
		{part: 0, at: 10 * time.Second, id: "o8", email: e, amount: 17},
		{part: 1, at: 11 * time.Second, id: "o9", email: e, amount: 18},
		{part: 0, at: 2*time.Minute + 1*time.Second, id: "o10", email: e, amount: 1},
		{part: 1, at: 2*time.Minute + 2*time.Second, id: "o11", email: e, amount: 2},
		{part: 2, at: 2*time.Minute + 3*time.Second, id: "o12", email: e, amount: 3},
		{part: 0, at: 9*time.Minute + 30*time.Second, id: "o13", email: e, amount: 4},
		{part: 1, at: 9*time.Minute + 30*time.Second, id: "o14", email: e, amount: 5},
		{part: 2, at: 9*time.Minute + 30*time.Second, id: "o15", email: e, amount: 6},
	}
}

// expected returns the observed events the stream of port p from t0 must
// give, computed by hand from stream's comment.
func expected(p testPort, t0 time.Time) []*events.QualityEvent {
	type win struct {
		volume                          float64
		complete, valid, unique, newest float64
		newestAt                        time.Duration
	}
	wins := map[int]win{
		// 11 records (10 orders and 1 undecodable): emails present in 8
		// (2 null, the undecodable one counts as null), amount >= 0 in 9
		// (one negative, the undecodable one fails), 9 distinct ids among
		// 10 values.
		0: {volume: 11, complete: 8.0 / 11, valid: 9.0 / 11, unique: 9.0 / 10, newestAt: 11 * time.Second},
		2: {volume: 3, complete: 1, valid: 1, unique: 1, newestAt: 2*time.Minute + 3*time.Second},
	}
	var out []*events.QualityEvent
	origin := events.OriginObserved
	for i := range 9 {
		st := t0.Add(time.Duration(i) * time.Minute).UTC()
		end := st.Add(time.Minute)
		wn, ok := wins[i]
		if !ok {
			wn = win{complete: 1, valid: 1, unique: 1}
		}
		port := p.port
		ev := &events.QualityEvent{
			EventID: EventID(p.product, p.port, time.Minute, st), ProductID: p.product, ProductVersion: "1.0.0",
			RunID: RunID(p.port, st, end), Origin: &origin, Port: &port, WindowStart: &st, WindowEnd: &end,
			Checks: []events.QualityCheck{
				{Name: "completeness:email", Dimension: events.DimensionCompleteness, Column: str("email"), Observed: wn.complete, Operator: ">=", Threshold: 0.9, Passed: wn.complete >= 0.9},
				{Name: "validity:amount >= 0.0", Dimension: events.DimensionValidity, Observed: wn.valid, Operator: ">=", Threshold: 0.95, Passed: wn.valid >= 0.95},
				{Name: "uniqueness:order_id", Dimension: events.DimensionUniqueness, Column: str("order_id"), Observed: wn.unique, Operator: ">=", Threshold: 1, Passed: wn.unique >= 1},
				{Name: "volume", Dimension: events.DimensionVolume, Observed: wn.volume, Operator: ">=", Threshold: 3, Passed: wn.volume >= 3},
			},
		}
		if ok {
			at := t0.Add(wn.newestAt).UTC()
			ev.DataWatermark = &at
		}
		out = append(out, ev)
	}
	return out
}

// origin returns a stream origin on a minute boundary, an hour ago (event
// time has nothing to do with the wall clock; only the record timestamps
// count).
func origin() time.Time {
	return time.Now().Add(-time.Hour).Truncate(time.Minute).UTC()
}

// check compares what the monitors published with the expected events:
// the same set, each exactly once.
func (w *world) check(want []*events.QualityEvent) {
	w.t.Helper()
	got := w.observed(len(want)+1, 3*time.Second)
	seen := map[string]int{}
	for _, ev := range got {
		seen[ev.EventID]++
		if !ev.Observed() {
			w.t.Errorf("event %s is not marked observed", ev.EventID)
		}
	}
	for id, n := range seen {
		if n > 1 {
			w.t.Errorf("event %s published %d times", id, n)
		}
	}
	gs, ws := summaries(got), summaries(want)
	if fmt.Sprint(gs) != fmt.Sprint(ws) {
		w.t.Errorf("published %d events, want %d", len(gs), len(ws))
		for i := range max(len(gs), len(ws)) {
			var g, x string
			if i < len(gs) {
				g = gs[i]
			}
			if i < len(ws) {
				x = ws[i]
			}
			if g != x {
				w.t.Errorf("event %d:\n got  %s\n want %s", i, g, x)
			}
		}
	}
}
