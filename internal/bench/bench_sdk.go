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

// benchSDKPublish publishes QualityEvents through the SDK and, on the same
// broker in the same run, the same encoded bytes (key, value, the CloudEvents
// headers) through a raw franz-go client with the same settings (acks=all,
// idempotent, default linger, no compression).
//
// The raw baseline is a franz-go program that has the bytes: it builds a
// *kgo.Record for each send and produces it, as franz-go is used. A second
// raw run hands franz-go records built before the clock started (no
// program can do that for records it has yet to send); its ratio is printed
// too, as the bound of what the SDK costs over franz-go alone.
//
// The clients live for the whole benchmark; each round publishes n events
// through each (the order rotating from round to round) and waits for every
// ack, so all see the same neighbours on the machine within a second or two.
// The headline is the median of the rounds' ratios.
func benchSDKPublish(ctx context.Context, env *Env, logf func(string, ...any)) ([]Figure, error) {
	n, rounds := 100_000, 21
	if env.Quick {
		n, rounds = 20_000, 1
	}
	// The events are one array, as the raw side's records are.
	evs := make([]events.QualityEvent, n)
	at := time.Now().UTC().Truncate(time.Millisecond)
	for i := range evs {
		col := "email"
		evs[i] = events.QualityEvent{
			EventID: "bench-" + strconv.Itoa(i), ProductID: "sales.product-" + strconv.Itoa(i%500), ProductVersion: "1.4.2",
			RunID: "run-" + strconv.Itoa(i), ObservedAt: at, DataWatermark: &at,
			Checks: []events.QualityCheck{
				{Name: "email_not_null", Dimension: events.DimensionCompleteness, Column: &col, Observed: 0.991, Operator: ">=", Threshold: 0.98, Passed: true},
				{Name: "row_count", Dimension: events.DimensionVolume, Observed: 120_000, Operator: ">=", Threshold: 100_000, Passed: true},
			},
		}
	}
	settings := []kgo.Opt{kgo.RequiredAcks(kgo.AllISRAcks()), kgo.ProducerBatchCompression(kgo.NoCompression())}

	sdkPrefix, rawPrefix := env.Prefix("sdk"), env.Prefix("raw")
	for _, p := range []string{sdkPrefix, rawPrefix} {
		if err := createMeshTopics(ctx, env, p); err != nil {
			return nil, err
		}
	}
	pub, err := events.NewPublisher(events.SeedBrokers(env.Brokers...), events.RegistryURLs(env.Registry),
		events.TopicPrefix(sdkPrefix), events.KafkaOpts(settings...))
	if err != nil {
		return nil, err
	}
	defer pub.Close()
	raw, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(env.Brokers...)}, settings...)...)
	if err != nil {
		return nil, err
	}
	defer raw.Close()

	// The raw side sends the SDK's bytes: the records the SDK's codec builds.
	recs := make([]*kgo.Record, n)
	for i := range evs {
		if recs[i], err = pub.Codec().Encode(ctx, &evs[i], ""); err != nil {
			return nil, err
		}
	}
	rawTopic := events.MeshTopics(rawPrefix).Quality
	fresh := make([]kgo.Record, n)

	runSDK := func() (float64, error) {
		var failed atomic.Int64
		start, cpu := time.Now(), startCPU()
		for i := range evs {
			if err := pub.PublishAsync(ctx, &evs[i], func(err error) {
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
		self, broker := cpu.perRecord(n)
		logf("  sdk: %.0f records/s, CPU µs/record: this process %.2f, broker %.2f", rate, self, broker)
		if failed.Load() > 0 {
			return 0, fmt.Errorf("sdk: %d publishes failed", failed.Load())
		}
		return rate, nil
	}
	runRaw := func(prebuilt bool) (float64, error) {
		if prebuilt {
			for i, r := range recs { // unstamped records each round, built before the clock starts
				fresh[i] = kgo.Record{Topic: rawTopic, Key: r.Key, Value: r.Value, Headers: r.Headers}
			}
		}
		var failed atomic.Int64
		promise := func(_ *kgo.Record, err error) {
			if err != nil {
				failed.Add(1)
			}
		}
		start, cpu := time.Now(), startCPU()
		if prebuilt {
			for i := range fresh {
				raw.Produce(ctx, &fresh[i], promise)
			}
		} else {
			for _, r := range recs {
				raw.Produce(ctx, &kgo.Record{Topic: rawTopic, Key: r.Key, Value: r.Value, Headers: r.Headers}, promise)
			}
		}
		if err := raw.Flush(ctx); err != nil {
			return 0, err
		}
		rate := float64(n) / time.Since(start).Seconds()
		self, broker := cpu.perRecord(n)
		logf("  raw (prebuilt %t): %.0f records/s, CPU µs/record: this process %.2f, broker %.2f", prebuilt, rate, self, broker)
		if failed.Load() > 0 {
			return 0, fmt.Errorf("raw: %d produces failed", failed.Load())
		}
		return rate, nil
	}
	// Warm-up: both clients connect, learn their topics' partitions, and the
	// SDK registers its schemas; neither is timed.
	if _, err := runSDK(); err != nil {
		return nil, err
	}
	if _, err := runRaw(false); err != nil {
		return nil, err
	}
	sides := []func() (float64, error){runSDK, func() (float64, error) { return runRaw(false) }, func() (float64, error) { return runRaw(true) }}
	var sdkRates, rawRates, preRates, ratios, preRatios []float64
	for round := range rounds {
		rates := make([]float64, len(sides))
		for k := range sides {
			side := (round + k) % len(sides)
			var err error
			if rates[side], err = sides[side](); err != nil {
				return nil, err
			}
		}
		sdk, raw, pre := rates[0], rates[1], rates[2]
		logf("round %d: sdk %.0f records/s, raw %.0f records/s (prebuilt %.0f), ratio %.3f (prebuilt %.3f)", round+1, sdk, raw, pre, sdk/raw, sdk/pre)
		sdkRates, rawRates, preRates = append(sdkRates, sdk), append(rawRates, raw), append(preRates, pre)
		ratios, preRatios = append(ratios, sdk/raw), append(preRatios, sdk/pre)
	}
	return []Figure{
		{Name: "sdk.publish.records_per_s", Value: median(sdkRates), Unit: "records/s (median of rounds)"},
		{Name: "raw.publish.records_per_s", Value: median(rawRates), Unit: "records/s (median of rounds; a record built per send)"},
		{Name: "raw.prebuilt.records_per_s", Value: median(preRates), Unit: "records/s (median of rounds; records built before the clock)"},
		{Name: "sdk.publish.ratio_vs_prebuilt", Value: median(preRatios), Unit: "(median of rounds)"},
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
