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
// compression). Each round runs both, the SDK first in odd rounds and raw
// first in even ones; the headline is the median of the rounds' ratios, which
// keeps a noisy neighbour on the machine from deciding the figure.
func benchSDKPublish(ctx context.Context, env *Env, logf func(string, ...any)) ([]Figure, error) {
	n, rounds := 200_000, 5
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

	var sdkRates, rawRates, ratios []float64
	var recs []*kgo.Record
	runSDK := func() (float64, error) {
		prefix := env.Prefix("sdk")
		if err := createMeshTopics(ctx, env, prefix); err != nil {
			return 0, err
		}
		pub, err := events.NewPublisher(events.SeedBrokers(env.Brokers...), events.RegistryURLs(env.Registry), events.TopicPrefix(prefix),
			events.KafkaOpts(kgo.ProducerBatchCompression(kgo.NoCompression())))
		if err != nil {
			return 0, err
		}
		if err := pub.Publish(ctx, evs[0]); err != nil { // registers the schemas before the clock starts
			return 0, err
		}
		var failed atomic.Int64
		start := time.Now()
		for _, ev := range evs {
			if err := pub.PublishAsync(ctx, ev, func(err error) {
				if err != nil {
					failed.Add(1)
				}
			}); err != nil {
				return 0, err
			}
		}
		if err := pub.Flush(ctx); err != nil {
			return 0, err
		}
		rate := float64(n) / time.Since(start).Seconds()
		if recs == nil { // the raw side sends the SDK's bytes
			recs = make([]*kgo.Record, n)
			for i, ev := range evs {
				if recs[i], err = pub.Codec().Encode(ctx, ev, events.DomainSource("sales")); err != nil {
					return 0, err
				}
			}
		}
		pub.Close()
		if failed.Load() > 0 {
			return 0, fmt.Errorf("sdk: %d publishes failed", failed.Load())
		}
		return rate, nil
	}
	runRaw := func() (float64, error) {
		var failed atomic.Int64
		rawPrefix := env.Prefix("raw")
		if err := createMeshTopics(ctx, env, rawPrefix); err != nil {
			return 0, err
		}
		cl, err := kgo.NewClient(common...)
		if err != nil {
			return 0, err
		}
		topic := events.MeshTopics(rawPrefix).Quality
		fresh := make([]*kgo.Record, len(recs)) // new records each round, built before the clock starts
		for i, r := range recs {
			fresh[i] = &kgo.Record{Topic: topic, Key: r.Key, Value: r.Value, Headers: r.Headers}
		}
		if err := cl.ProduceSync(ctx, &kgo.Record{Topic: topic, Key: recs[0].Key, Value: recs[0].Value}).FirstErr(); err != nil {
			return 0, err
		}
		start := time.Now()
		for _, r := range fresh {
			cl.Produce(ctx, r, func(_ *kgo.Record, err error) {
				if err != nil {
					failed.Add(1)
				}
			})
		}
		if err := cl.Flush(ctx); err != nil {
			return 0, err
		}
		rate := float64(n) / time.Since(start).Seconds()
		cl.Close()
		if failed.Load() > 0 {
			return 0, fmt.Errorf("raw: %d produces failed", failed.Load())
		}
		return rate, nil
	}
	if _, err := runSDK(); err != nil { // warm-up, and builds the raw side's records
		return nil, err
	}
	for round := range rounds {
		var sdk, raw float64
		var err error
		if round%2 == 0 {
			if sdk, err = runSDK(); err == nil {
				raw, err = runRaw()
			}
		} else {
			if raw, err = runRaw(); err == nil {
				sdk, err = runSDK()
			}
		}
		if err != nil {
			return nil, err
		}
		logf("round %d: sdk %.0f records/s, raw %.0f records/s, ratio %.3f", round+1, sdk, raw, sdk/raw)
		sdkRates, rawRates, ratios = append(sdkRates, sdk), append(rawRates, raw), append(ratios, sdk/raw)
	}
	sdk, raw := median(sdkRates), median(rawRates)
	return []Figure{
		{Name: "sdk.publish.records_per_s", Value: sdk, Unit: "records/s (median of rounds)"},
		{Name: "raw.publish.records_per_s", Value: raw, Unit: "records/s (median of rounds)"},
		{Name: "sdk.publish.ratio", Value: median(ratios)},
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
