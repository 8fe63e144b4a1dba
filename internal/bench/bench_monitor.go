package main

import (
	"context"
	"encoding/binary"
	"fmt"
	"strconv"
	"time"

	"github.com/hamba/avro/v2"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sr"

	"github.com/meshbone/meshbone/internal/kafka"
	"github.com/meshbone/meshbone/internal/monitor"
	"github.com/meshbone/meshbone/internal/ops"
	"github.com/meshbone/meshbone/pkg/events"
)

func init() { register("monitor", benchMonitor) }

// benchMonitor measures the monitor's throughput against a plain franz-go
// consumer that decodes every record of the same topic with hamba into a
// map[string]any, on the same broker, in the same run. One port topic (three
// partitions) holds n orders (portBenchSchema) written once, ten
// milliseconds of event time apart, a tenth with a coupon. The product
// declares four objectives on it per one-minute window: completeness of
// coupon, validity of "amount > 0.0 && currency.size() == 3", uniqueness of
// order_id and volume. Each round runs the monitor (a fresh mesh prefix and
// group: it reads the lifecycle topic, joins, measures every record in its
// transactions, with its state and the QualityEvents of the windows it
// closes) and the plain consumer, in alternating order. A side's rate is
// taken from the moment it starts consuming (the plain consumer: its
// client is made; the monitor: Ready, its topics made, the lifecycle read
// and its transactional producer initialised, so that the group join
// counts) to its last record measured (the monitor: committed); CPU is the
// process's over the same stretch. The headline
// monitor.ratio is the median of the rounds' monitor/plain rates.
func benchMonitor(ctx context.Context, env *Env, logf func(string, ...any)) ([]Figure, error) {
	// Both sides run with the GOGC cmd/monitor runs with.
	defer ops.TuneGC(monitor.GCPercent)()
	n, rounds := 1_000_000, 3
	if env.Quick {
		n, rounds = 30_000, 1
	}
	cl, err := kgo.NewClient(kgo.SeedBrokers(env.Brokers...), kgo.ProducerBatchCompression(kgo.NoCompression()))
	if err != nil {
		return nil, err
	}
	defer cl.Close()
	reg, err := sr.NewClient(sr.URLs(env.Registry))
	if err != nil {
		return nil, err
	}
	topic := env.Prefix("monitor") + "bench.orders.orders.v1"
	if _, err := kadm.NewClient(cl).CreateTopic(ctx, 3, -1, nil, topic); err != nil {
		return nil, err
	}
	ss, err := reg.CreateSchema(ctx, events.Subject(topic), sr.Schema{Schema: portBenchSchema, Type: sr.TypeAvro})
	if err != nil {
		return nil, err
	}
	schema := avro.MustParse(portBenchSchema)
	if err := monitorWrite(ctx, cl, schema, topic, ss.ID, n); err != nil {
		return nil, err
	}
	logf("wrote %d orders to %s", n, topic)

	var ratios []float64
	var mon, plain monRate
	for r := range rounds {
		for i := range 2 {
			if (r+i)%2 == 0 {
				if mon, err = monitorRun(ctx, env, topic, int32(ss.ID), n); err != nil {
					return nil, fmt.Errorf("monitor: %w", err)
				}
			} else {
				if plain, err = monitorPlain(ctx, env, schema, topic, n); err != nil {
					return nil, fmt.Errorf("plain consumer: %w", err)
				}
			}
		}
		ratio := mon.perSec / plain.perSec
		logf("round %d: monitor %.0f records/s (%.2f µs CPU a record, %d windows published), plain %.0f records/s (%.2f µs CPU a record): %.3f",
			r+1, mon.perSec, mon.cpuUS, mon.windows, plain.perSec, plain.cpuUS, ratio)
		ratios = append(ratios, ratio)
	}
	return []Figure{
		{"monitor.records_per_sec", mon.perSec, "records/s (last round)"},
		{"monitor.cpu_us_per_record", mon.cpuUS, "µs (last round)"},
		{"monitor.plain.records_per_sec", plain.perSec, "records/s (last round)"},
		{"monitor.plain.cpu_us_per_record", plain.cpuUS, "µs (last round)"},
		{"monitor.ratio", median(ratios), ""},
	}, nil
}

// monRate is one side's measured stretch.
type monRate struct {
	perSec, cpuUS float64
	windows       int64
}

// monitorWrite writes n orders, hamba-encoded behind the Confluent header,
// round-robin over the partitions, ten milliseconds of event time apart.
func monitorWrite(ctx context.Context, cl *kgo.Client, schema avro.Schema, topic string, id, n int) error {
	t0 := time.Now().Add(-24 * time.Hour).Truncate(time.Hour)
	coupon := "SPRING"
	errs := make(chan error, 1)
	for i := range n {
		o := benchOrder{OrderID: "o-" + strconv.Itoa(i), CustomerID: "c-" + strconv.Itoa(i%5000), Amount: 1 + float64(i%1000)/10,
			Currency: "EUR", PlacedAt: t0.Add(time.Duration(i) * 10 * time.Millisecond)}
		if i%10 == 0 {
			o.Coupon = &coupon
		}
		body, err := avro.Marshal(schema, &o)
		if err != nil {
			return err
		}
		v := binary.BigEndian.AppendUint32([]byte{0}, uint32(id))
		cl.Produce(ctx, &kgo.Record{Topic: topic, Partition: int32(i % 3), Value: append(v, body...), Timestamp: o.PlacedAt}, func(_ *kgo.Record, err error) {
			if err != nil {
				select {
				case errs <- err:
				default:
				}
			}
		})
	}
	if err := cl.Flush(ctx); err != nil {
		return err
	}
	select {
	case err := <-errs:
		return err
	default:
		return nil
	}
}

// monitorRun runs a monitor on a fresh mesh prefix until it has measured
// the n records of topic.
func monitorRun(ctx context.Context, env *Env, topic string, schemaID int32, n int) (monRate, error) {
	prefix := env.Prefix("monitor")
	if err := createMeshTopics(ctx, env, prefix); err != nil {
		return monRate{}, err
	}
	s := func(v string) *string { return &v }
	w, port := s("1m"), s("orders")
	product := events.DataProduct{
		ID: "bench.orders", Name: "orders", Domain: "bench", OwnerTeam: "bench", Version: "1.0.0",
		Sensitivity: events.SensitivityInternal, RetentionDays: 1,
		QualitySLOs: []events.QualitySLO{
			{Dimension: events.DimensionCompleteness, Operator: ">=", Threshold: 0.5, Port: port, Column: s("coupon"), Window: w},
			{Dimension: events.DimensionValidity, Operator: ">=", Threshold: 0.99, Port: port, Rule: s("amount > 0.0 && currency.size() == 3"), Window: w},
			{Dimension: events.DimensionUniqueness, Operator: ">=", Threshold: 1, Port: port, Column: s("order_id"), Window: w},
			{Dimension: events.DimensionVolume, Operator: ">=", Threshold: 1000, Port: port, Window: w},
		},
		OutputPorts: []events.OutputPort{{Name: "orders", Topic: topic, SchemaSubject: events.Subject(topic), SchemaID: &schemaID,
			Format: "avro", Partitions: 3, Fields: []string{"order_id", "customer_id", "amount", "currency", "placed_at", "coupon"}}},
	}
	pub, err := events.NewPublisher(events.SeedBrokers(env.Brokers...), events.RegistryURLs(env.Registry), events.TopicPrefix(prefix))
	if err != nil {
		return monRate{}, err
	}
	err = pub.Publish(ctx, &events.ProductLifecycleEvent{EventID: "bench-registered", Type: events.LifecycleRegistered,
		OccurredAt: time.Now().UTC().Truncate(time.Millisecond), Actor: "bench", Product: product})
	pub.Close()
	if err != nil {
		return monRate{}, err
	}
	o := monitor.DefaultOptions()
	o.Kafka = kafka.Config{Brokers: env.Brokers, RegistryURL: env.Registry, TopicPrefix: prefix}
	o.Listen = ""
	o.Group = prefix + "monitor"
	svc, err := monitor.New(o, nil)
	if err != nil {
		return monRate{}, err
	}
	rctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- svc.Run(rctx) }()
	defer func() { cancel(); <-done }()
	var (
		start time.Time
		cpu   cpuMeter
	)
	deadline := time.Now().Add(10 * time.Minute)
	for {
		m := svc.Measured()
		if start.IsZero() && svc.Ready() {
			start, cpu = time.Now(), startCPU()
		}
		if m >= int64(n) {
			break
		}
		select {
		case err := <-done:
			return monRate{}, fmt.Errorf("stopped after %d records: %v", m, err)
		case <-time.After(2 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return monRate{}, fmt.Errorf("measured %d of %d records in 10 minutes", m, n)
		}
	}
	el := time.Since(start)
	self, _ := cpu.perRecord(n)
	return monRate{perSec: float64(n) / el.Seconds(), cpuUS: self, windows: svc.Published()}, nil
}

// monitorPlain reads the n records of topic with a plain franz-go consumer
// and decodes each with hamba into a map[string]any.
func monitorPlain(ctx context.Context, env *Env, schema avro.Schema, topic string, n int) (monRate, error) {
	start, cpu := time.Now(), startCPU()
	cl, err := kgo.NewClient(kgo.SeedBrokers(env.Brokers...), kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		return monRate{}, err
	}
	defer cl.Close()
	var got, sink int
	rctx, cancel := context.WithTimeout(ctx, 10*time.Minute)
	defer cancel()
	for got < n {
		fetches := cl.PollFetches(rctx)
		if err := rctx.Err(); err != nil {
			return monRate{}, fmt.Errorf("read %d of %d records: %w", got, n, err)
		}
		recs := fetches.Records()
		for _, r := range recs {
			var m map[string]any
			if err := avro.Unmarshal(schema, r.Value[5:], &m); err != nil {
				return monRate{}, err
			}
			sink += len(m)
		}
		got += len(recs)
	}
	el := time.Since(start)
	self, _ := cpu.perRecord(n)
	_ = sink
	return monRate{perSec: float64(n) / el.Seconds(), cpuUS: self}, nil
}
