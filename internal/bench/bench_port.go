package main

import (
	"context"
	"encoding/binary"
	"fmt"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/hamba/avro/v2"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sr"

	"github.com/meshbone/meshbone/pkg/events"
)

func init() { register("port", benchPortWrite) }

// portBenchSchema is the port's record: an order.
const portBenchSchema = `{"type": "record", "name": "Order", "namespace": "bench", "fields": [
  {"name": "order_id", "type": "string"},
  {"name": "customer_id", "type": "string"},
  {"name": "amount", "type": "double"},
  {"name": "currency", "type": "string"},
  {"name": "placed_at", "type": {"type": "long", "logicalType": "timestamp-millis"}},
  {"name": "coupon", "type": ["null", "string"], "default": null}
]}`

// benchOrder is the Go form of portBenchSchema.
type benchOrder struct {
	OrderID    string    `avro:"order_id"`
	CustomerID string    `avro:"customer_id"`
	Amount     float64   `avro:"amount"`
	Currency   string    `avro:"currency"`
	PlacedAt   time.Time `avro:"placed_at"`
	Coupon     *string   `avro:"coupon"`
}

// benchPortWrite writes orders to a product port through a PortWriter with
// two contract rules (amount > 0, REJECT; currency.size() == 3, DLQ; every
// record passes both) and, on the same broker in the same run, through a raw
// franz-go client with the same settings (acks=all, idempotent, default
// linger, no compression) that encodes each record as a program without
// the SDK would: hamba/avro's Marshal of the struct, behind the Confluent
// header, into a *kgo.Record built per send with the same headers (the
// CloudEvents ones and the run), so that both sides send the same bytes. Both sides build the Go value
// per send and produce asynchronously to a topic of their own with the
// same partition count; each round sends n records through each (the order
// rotating) and waits for every ack. The headline port.write.ratio is the
// median of the rounds' writer/raw ratios.
func benchPortWrite(ctx context.Context, env *Env, logf func(string, ...any)) ([]Figure, error) {
	n, rounds := 100_000, 11
	if env.Quick {
		n, rounds = 20_000, 1
	}
	settings := []kgo.Opt{kgo.RequiredAcks(kgo.AllISRAcks()), kgo.ProducerBatchCompression(kgo.NoCompression())}
	prefix := env.Prefix("port")
	if err := createMeshTopics(ctx, env, prefix); err != nil {
		return nil, err
	}
	product := events.DataProduct{
		ID: "bench.orders", Name: "orders", Domain: "bench", OwnerTeam: "bench", Version: "1.0.0",
		Sensitivity: events.SensitivityInternal, RetentionDays: 1,
		OutputPorts: []events.OutputPort{{
			Name: "orders", Topic: prefix + "bench.orders.orders.v1", SchemaSubject: prefix + "bench.orders.orders.v1-value",
			Format: "avro", Partitions: 3, Fields: []string{"order_id", "customer_id", "amount", "currency", "placed_at", "coupon"},
			Rules: []events.ContractRule{
				{Name: "positive-amount", Rule: "amount > 0", OnFailure: events.RuleReject},
				{Name: "currency-code", Rule: "currency.size() == 3", OnFailure: events.RuleDLQ},
			},
		}},
	}
	port := product.OutputPorts[0]
	rawTopic := prefix + "raw.orders"
	reg, err := sr.NewClient(sr.URLs(env.Registry))
	if err != nil {
		return nil, err
	}
	cl, err := kgo.NewClient(kgo.SeedBrokers(env.Brokers...))
	if err != nil {
		return nil, err
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	var rawID int
	for _, topic := range []string{port.Topic, rawTopic} {
		if _, err := adm.CreateTopic(ctx, port.Partitions, -1, nil, topic); err != nil {
			return nil, err
		}
		ss, err := reg.CreateSchema(ctx, events.Subject(topic), sr.Schema{Schema: portBenchSchema, Type: sr.TypeAvro})
		if err != nil {
			return nil, err
		}
		rawID = ss.ID
	}
	pub, err := events.NewPublisher(events.SeedBrokers(env.Brokers...), events.RegistryURLs(env.Registry), events.TopicPrefix(prefix))
	if err != nil {
		return nil, err
	}
	err = pub.Publish(ctx, &events.ProductLifecycleEvent{EventID: "bench-registered", Type: events.LifecycleRegistered,
		OccurredAt: time.Now().UTC().Truncate(time.Millisecond), Actor: "bench", Product: product})
	pub.Close()
	if err != nil {
		return nil, err
	}

	w, err := events.NewPortWriter(product.ID, port.Name, events.SeedBrokers(env.Brokers...), events.RegistryURLs(env.Registry),
		events.TopicPrefix(prefix), events.KafkaOpts(settings...), events.Run("bench"))
	if err != nil {
		return nil, err
	}
	defer w.Close()
	raw, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(env.Brokers...)}, settings...)...)
	if err != nil {
		return nil, err
	}
	defer raw.Close()
	schema := avro.MustParse(portBenchSchema)
	var header [5]byte
	binary.BigEndian.PutUint32(header[1:], uint32(rawID))

	// The values: what a pipeline computes per record.
	at := time.Now().UTC().Truncate(time.Millisecond)
	coupon := "SPRING"
	order := func(i int) benchOrder {
		o := benchOrder{OrderID: "o-" + strconv.Itoa(i), CustomerID: "c-" + strconv.Itoa(i%5000), Amount: 1 + float64(i%1000)/10,
			Currency: "EUR", PlacedAt: at.Add(time.Duration(i) * time.Millisecond)}
		if i%10 == 0 {
			o.Coupon = &coupon
		}
		return o
	}

	runWriter := func() (float64, error) {
		var failed atomic.Int64
		done := func(err error) {
			if err != nil {
				failed.Add(1)
			}
		}
		before := w.Stats()
		start, cpu := time.Now(), startCPU()
		for i := range n {
			o := order(i)
			if err := w.WriteAsync(ctx, o.OrderID, &o, done); err != nil {
				return 0, err
			}
		}
		if err := w.Flush(ctx); err != nil {
			return 0, err
		}
		rate := float64(n) / time.Since(start).Seconds()
		self, broker := cpu.perRecord(n)
		logf("  port writer: %.0f records/s, CPU µs/record: this process %.2f, broker %.2f", rate, self, broker)
		if failed.Load() > 0 {
			return 0, fmt.Errorf("port writer: %d writes failed", failed.Load())
		}
		if after := w.Stats(); after.Written-before.Written != int64(n) {
			return 0, fmt.Errorf("port writer: %d records written to the port, want %d (stats %+v)", after.Written-before.Written, n, after)
		}
		return rate, nil
	}
	// The raw side writes the same bytes: the CloudEvents headers and the
	// run too, as a program without the SDK that wants them would.
	var (
		seq         uint64
		idPrefix    = "raw0bench-"
		specVersion = []byte(events.SpecVersion)
		source      = []byte(events.DomainSource(product.Domain))
		ceType      = []byte(events.PortRecordType)
		subject     = []byte(product.ID)
		contentType = []byte(events.ContentTypeAvro)
		run         = []byte("bench")
	)
	runRaw := func() (float64, error) {
		var failed atomic.Int64
		promise := func(_ *kgo.Record, err error) {
			if err != nil {
				failed.Add(1)
			}
		}
		start, cpu := time.Now(), startCPU()
		for i := range n {
			o := order(i)
			body, err := avro.Marshal(schema, &o)
			if err != nil {
				return 0, err
			}
			value := append(header[:len(header):len(header)], body...)
			seq++
			raw.Produce(ctx, &kgo.Record{Topic: rawTopic, Key: []byte(o.OrderID), Value: value, Headers: []kgo.RecordHeader{
				{Key: events.HeaderSpecVersion, Value: specVersion},
				{Key: events.HeaderID, Value: strconv.AppendUint(append([]byte(nil), idPrefix...), seq, 10)},
				{Key: events.HeaderSource, Value: source},
				{Key: events.HeaderType, Value: ceType},
				{Key: events.HeaderTime, Value: time.Now().UTC().AppendFormat(nil, time.RFC3339Nano)},
				{Key: events.HeaderSubject, Value: subject},
				{Key: events.HeaderContentType, Value: contentType},
				{Key: events.HeaderRun, Value: run},
			}}, promise)
		}
		if err := raw.Flush(ctx); err != nil {
			return 0, err
		}
		rate := float64(n) / time.Since(start).Seconds()
		self, broker := cpu.perRecord(n)
		logf("  raw: %.0f records/s, CPU µs/record: this process %.2f, broker %.2f", rate, self, broker)
		if failed.Load() > 0 {
			return 0, fmt.Errorf("raw: %d produces failed", failed.Load())
		}
		return rate, nil
	}
	// Warm-up: both clients connect and learn their topics; not timed.
	if _, err := runWriter(); err != nil {
		return nil, err
	}
	if _, err := runRaw(); err != nil {
		return nil, err
	}
	sides := []func() (float64, error){runWriter, runRaw}
	var writerRates, rawRates, ratios []float64
	for round := range rounds {
		rates := make([]float64, len(sides))
		for k := range sides {
			side := (round + k) % len(sides)
			var err error
			if rates[side], err = sides[side](); err != nil {
				return nil, err
			}
		}
		logf("round %d: port writer %.0f records/s, raw %.0f records/s, ratio %.3f", round+1, rates[0], rates[1], rates[0]/rates[1])
		writerRates, rawRates = append(writerRates, rates[0]), append(rawRates, rates[1])
		ratios = append(ratios, rates[0]/rates[1])
	}
	return []Figure{
		{Name: "port.write.records_per_s", Value: median(writerRates), Unit: "records/s (median of rounds; two contract rules)"},
		{Name: "raw.port.records_per_s", Value: median(rawRates), Unit: "records/s (median of rounds; hamba Marshal and a record per send)"},
		{Name: "port.write.ratio", Value: median(ratios)},
	}, nil
}
