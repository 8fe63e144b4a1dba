package main

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/meshbone/meshbone/internal/kafka"
	"github.com/meshbone/meshbone/pkg/events"
)

func init() { register("sdk", benchSDKPublish) }

// benchSDKPublish publishes N QualityEvents through the SDK and, on the same
// broker in the same run, the same encoded records through a raw franz-go
// client with the same settings (acks=all, idempotent, default linger, no
// compression). Rounds alternate SDK and raw; each side's median counts.
func benchSDKPublish(ctx context.Context, env *Env, logf func(string, ...any)) ([]Figure, error) {
	n, rounds := 200_000, 3
	if env.Quick {
		n, rounds = 20_000, 1
	}
	evs := make([]*events.QualityEvent, n)
	at := time.Now().UTC().Truncate(time.Millisecond)
	for i := range evs {
		col := "email"
		evs[i] = &events.QualityEvent{
			EventID: "bench-" + strconv.Itoa(i), ProductID: "sales.product-" + strconv.Itoa(i%500), ProductVersion: "1.4.2",
			RunID: "run-" + strconv.Itoa(i), ObservedAt: at, DataWatermark: &at,
			Checks: []events.QualityCheck{
				{Name: "email_not_null", Dimension: events.DimensionCompleteness, Column: &col, Observed: 0.991, Operator: ">=", Threshold: 0.98, Passed: true},
				{Name: "row_count", Dimension: events.DimensionVolume, Observed: 120_000, Operator: ">=", Threshold: 100_000, Passed: true},
			},
		}
	}
	common := []kgo.Opt{kgo.SeedBrokers(env.Brokers...), kgo.RequiredAcks(kgo.AllISRAcks()), kgo.ProducerBatchCompression(kgo.NoCompression())}

	var sdkRates, rawRates []float64
	for round := range rounds {
		// SDK.
		prefix := env.Prefix("sdk")
		if err := createMeshTopics(ctx, env, prefix); err != nil {
			return nil, err
		}
		pub, err := events.NewPublisher(events.SeedBrokers(env.Brokers...), events.RegistryURLs(env.Registry), events.TopicPrefix(prefix),
			events.KafkaOpts(kgo.ProducerBatchCompression(kgo.NoCompression())))
		if err != nil {
			return nil, err
		}
		if err := pub.Publish(ctx, evs[0]); err != nil { // registers the schemas before the clock starts
			return nil, err
		}
		var failed atomic.Int64
		start := time.Now()
		for _, ev := range evs {
			if err := pub.PublishAsync(ctx, ev, func(err error) {
				if err != nil {
					failed.Add(1)
				}
			}); err != nil {
				return nil, err
			}
		}
		if err := pub.Flush(ctx); err != nil {
			return nil, err
		}
		sdk := float64(n) / time.Since(start).Seconds()
		// Keep the SDK's encoded records for the raw side: same bytes.
		recs := make([]*kgo.Record, n)
		for i, ev := range evs {
			if recs[i], err = pub.Codec().Encode(ctx, ev, events.DomainSource("sales")); err != nil {
				return nil, err
			}
		}
		pub.Close()
		if failed.Load() > 0 {
			return nil, fmt.Errorf("sdk: %d publishes failed", failed.Load())
		}

		// Raw franz-go, the same records.
		rawPrefix := env.Prefix("raw")
		if err := createMeshTopics(ctx, env, rawPrefix); err != nil {
			return nil, err
		}
		cl, err := kgo.NewClient(common...)
		if err != nil {
			return nil, err
		}
		topic := events.MeshTopics(rawPrefix).Quality
		for _, r := range recs {
			r.Topic = topic
		}
		if err := cl.ProduceSync(ctx, &kgo.Record{Topic: topic, Key: recs[0].Key, Value: recs[0].Value}).FirstErr(); err != nil {
			return nil, err
		}
		start = time.Now()
		for _, r := range recs {
			cl.Produce(ctx, r, func(_ *kgo.Record, err error) {
				if err != nil {
					failed.Add(1)
				}
			})
		}
		if err := cl.Flush(ctx); err != nil {
			return nil, err
		}
		raw := float64(n) / time.Since(start).Seconds()
		cl.Close()
		if failed.Load() > 0 {
			return nil, fmt.Errorf("raw: %d produces failed", failed.Load())
		}
		logf("round %d: sdk %.0f records/s, raw %.0f records/s", round+1, sdk, raw)
		sdkRates, rawRates = append(sdkRates, sdk), append(rawRates, raw)
	}
	sdk, raw := median(sdkRates), median(rawRates)
	return []Figure{
		{Name: "sdk.publish.records_per_s", Value: sdk, Unit: "records/s (median of rounds)"},
		{Name: "raw.publish.records_per_s", Value: raw, Unit: "records/s (median of rounds)"},
		{Name: "sdk.publish.ratio", Value: sdk / raw},
	}, nil
}

// createMeshTopics creates the mesh topics under prefix.
func createMeshTopics(ctx context.Context, env *Env, prefix string) error {
	cl, err := kgo.NewClient(kgo.SeedBrokers(env.Brokers...))
	if err != nil {
		return err
	}
	defer cl.Close()
	_, err = kafka.EnsureMeshTopics(ctx, kadm.NewClient(cl), events.MeshTopics(prefix), kafka.DefaultTopicSpec)
	return err
}

func median(v []float64) float64 {
	s := slices.Clone(v)
	slices.Sort(s)
	return s[len(s)/2]
}
