package main

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sr"

	"github.com/meshbone/meshbone/internal/governor"
	"github.com/meshbone/meshbone/internal/kafka"
	"github.com/meshbone/meshbone/internal/ops"
	"github.com/meshbone/meshbone/internal/policy"
	"github.com/meshbone/meshbone/pkg/events"
)

func init() { register("governor", benchGovernor) }

// benchGovernor measures the governor's exactly-once throughput against a
// raw franz-go GroupTransactSession loop with the same transaction cadence
// (one transaction per poll of at most governor.DefaultMaxBatch records,
// read_committed, offsets committed in the transaction), on the same broker,
// in the same run, over the same input records: N lifecycle and quality
// events about 1,000 products. The raw loop copies each input record to a
// sink topic; the governor judges each with the default policies and
// produces violations, compliance and its state. A small uncounted round
// warms the broker up; then each round publishes a fresh input (a new topic
// prefix) and runs both, in alternating order; the headline is the median of
// the rounds' ratios governor/raw.
//
// Two more figures say where the difference goes. Each round also runs a
// governor with no policies over the same input (decoding, state,
// compliance, the same transactions: governor.nopolicy.ratio), and the
// governor's own phase clock (Service.PhaseTime) gives its judging time per
// 1,000 events. The judging loop is serial (GroupTransactSession forbids
// polling while a transaction ends), so judging adds to the raw loop's
// cycle: governor.judge_bound.ratio is raw ms / (raw ms + judge ms) per
// 1,000 events, what the ratio would be if judging were all the governor
// added.
func benchGovernor(ctx context.Context, env *Env, logf func(string, ...any)) ([]Figure, error) {
	n, rounds := 50_000, 5
	if env.Quick {
		n, rounds = 5_000, 1
	}
	policies := policy.RootDirs("policies")
	if _, err := policy.Load(policies); err != nil {
		return nil, fmt.Errorf("run from the repository root (policies/ must load): %w", err)
	}
	none, err := os.MkdirTemp("", "meshbone-no-policies-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(none)
	noPolicies := policy.Dirs{Global: none}
	reg, err := sr.NewClient(sr.URLs(env.Registry))
	if err != nil {
		return nil, err
	}
	// The process runs as cmd/governor does (GOGC); the raw loop shares it.
	defer ops.TuneGC(governor.GCPercent)()
	// Warm-up, not counted: the broker's transaction and read_committed
	// paths run cold the first time (its JIT), which would fall on whoever
	// goes first.
	warm := events.MeshTopics(env.Prefix("governor-warmup"))
	if err := govPublish(ctx, env, reg, warm, n/10, 99); err != nil {
		return nil, err
	}
	if _, err := govRun(ctx, env, warm.Prefix, policies, n/10); err != nil {
		return nil, err
	}
	if _, err := govRawLoop(ctx, env, warm, n/10); err != nil {
		return nil, err
	}
	var govRates, rawRates, ratios, bareRatios, judgeMs, boundRatios []float64
	var govOut int64
	for round := range rounds {
		prefix := env.Prefix("governor")
		topics := events.MeshTopics(prefix)
		if err := govPublish(ctx, env, reg, topics, n, uint64(round+1)); err != nil {
			return nil, err
		}
		barePrefix := env.Prefix("governor-bare")
		if err := govPublish(ctx, env, reg, events.MeshTopics(barePrefix), n, uint64(round+1)); err != nil {
			return nil, err
		}
		logf("round %d: %d events published under %s and %s", round+1, n, prefix, barePrefix)
		var gov, bare, raw float64
		var judge time.Duration
		runGov := func() error {
			r, err := govRun(ctx, env, prefix, policies, n)
			gov, govOut, judge = r.rate, r.out, r.phases[governor.PhaseJudge]
			return err
		}
		runBare := func() error {
			r, err := govRun(ctx, env, barePrefix, noPolicies, n)
			bare = r.rate
			return err
		}
		runRaw := func() error {
			rate, err := govRawLoop(ctx, env, topics, n)
			raw = rate
			return err
		}
		order := []func() error{runGov, runRaw, runBare}
		if round%2 == 1 {
			order = []func() error{runRaw, runGov, runBare}
		}
		for _, f := range order {
			if err := f(); err != nil {
				return nil, err
			}
		}
		rawMs, jMs := 1e6/raw, judge.Seconds()*1e6/float64(n)
		logf("round %d: governor %.0f events/s (%d records out), raw loop %.0f events/s, ratio %.3f; without policies %.0f events/s (ratio %.3f); per 1000 events: raw loop %.1f ms, governor judging %.1f ms",
			round+1, gov, govOut, raw, gov/raw, bare, bare/raw, rawMs, jMs)
		govRates, rawRates, ratios = append(govRates, gov), append(rawRates, raw), append(ratios, gov/raw)
		bareRatios, judgeMs, boundRatios = append(bareRatios, bare/raw), append(judgeMs, jMs), append(boundRatios, rawMs/(rawMs+jMs))
	}
	return []Figure{
		{Name: "governor.events_per_s", Value: median(govRates), Unit: "events/s (median)"},
		{Name: "governor.raw_loop.events_per_s", Value: median(rawRates), Unit: "events/s (median)"},
		{Name: "governor.records_out_last_round", Value: float64(govOut), Unit: "violation, compliance and state records"},
		{Name: "governor.nopolicy.ratio", Value: median(bareRatios), Unit: "(median of rounds; a governor with no policies over the raw loop)"},
		{Name: "governor.judge_ms_per_1000", Value: median(judgeMs), Unit: "ms judging per 1,000 events (median of rounds; every core)"},
		{Name: "governor.judge_bound.ratio", Value: median(boundRatios), Unit: "(median of rounds; raw ms / (raw ms + judge ms) per 1,000 events)"},
		{Name: "governor.eos.ratio", Value: median(ratios)},
	}, nil
}

// govPublish creates the mesh topics under topics' prefix and publishes n
// events: each product registered (breaking policies at random), then
// alternately judged by quality runs and updated.
func govPublish(ctx context.Context, env *Env, reg *sr.Client, topics events.Topics, n int, seed uint64) error {
	cl, err := kgo.NewClient(kgo.SeedBrokers(env.Brokers...), kgo.RequiredAcks(kgo.AllISRAcks()), kgo.ProducerLinger(5*time.Millisecond))
	if err != nil {
		return err
	}
	defer cl.Close()
	// Every topic the governor reads and writes exists, with a leader,
	// before its clock starts (its state topic as a governor that ran
	// before left it), as the raw loop's sink does before its own.
	adm := kadm.NewClient(cl)
	if _, err := kafka.EnsureMeshTopics(ctx, adm, topics, kafka.DefaultTopicSpec); err != nil {
		return err
	}
	state := topics.Prefix + governor.StateTopic
	if _, err := adm.CreateTopic(ctx, kafka.DefaultPartitions, kafka.DefaultReplicationFactor, map[string]*string{"cleanup.policy": kadm.StringPtr("compact")}, state); err != nil {
		return err
	}
	if err := waitLeaders(ctx, adm, append(topics.All(), state)...); err != nil {
		return err
	}
	codec := events.NewCodec(reg, topics)
	rng := rand.New(rand.NewPCG(seed, seed))
	const products = 1000
	at := time.Now().UTC().Truncate(time.Millisecond)
	recs := make([]*kgo.Record, 0, n)
	for i := range n {
		name := "product-" + strconv.Itoa(i%products)
		id := "sales." + name
		step := i / products
		var ev events.Event
		if step%2 == 1 {
			ev = &events.QualityEvent{
				EventID: "q-" + strconv.Itoa(i), ProductID: id, ProductVersion: "1.0.0", RunID: "run-" + strconv.Itoa(i),
				ObservedAt: at, DataWatermark: &at,
				Checks: []events.QualityCheck{
					{Name: "complete", Dimension: events.DimensionCompleteness, Observed: []float64{0.95, 0.99}[rng.IntN(2)], Operator: ">=", Threshold: 0.9, Passed: true},
					{Name: "rows", Dimension: events.DimensionVolume, Observed: 120_000, Operator: ">=", Threshold: 100_000, Passed: true},
				},
			}
		} else {
			typ := events.LifecycleRegistered
			if step > 0 {
				typ = events.LifecycleUpdated
			}
			fresh := "1h"
			ev = &events.ProductLifecycleEvent{
				EventID: "l-" + strconv.Itoa(i), Type: typ, OccurredAt: at, Actor: "bench",
				Product: events.DataProduct{
					ID: id, Name: name, Domain: "sales", OwnerTeam: "sales-team", Tags: []string{"bench"}, Version: "1.0." + strconv.Itoa(step),
					Sensitivity: events.SensitivityConfidential, RetentionDays: []int32{365, 1000}[rng.IntN(2)],
					SLA:         &events.SLA{Freshness: &fresh},
					QualitySLOs: []events.QualitySLO{{Dimension: events.DimensionCompleteness, Operator: ">=", Threshold: 0.98}},
					OutputPorts: []events.OutputPort{{Name: "orders", Topic: id + ".orders.v1", SchemaSubject: id + ".orders.v1-value", Format: "avro", Partitions: 3, Fields: []string{"id", "amount"}}},
					Inputs:      []string{}, Labels: map[string]string{"kind": "source"},
					Security: &events.Security{EncryptionAtRest: rng.IntN(2) == 0, PIIFields: []string{"email"}, PIIMasked: true, AuditLogging: rng.IntN(3) > 0},
				},
			}
		}
		r, err := codec.Encode(ctx, ev, events.DomainSource("sales"))
		if err != nil {
			return err
		}
		recs = append(recs, r)
	}
	return cl.ProduceSync(ctx, recs...).FirstErr()
}

// govResult is one governor run: its rate (from start, group join
// included, to the last record committed), how many records it produced,
// and the time its judging loop spent in each phase.
type govResult struct {
	rate   float64
	out    int64
	phases [4]time.Duration // by governor.Phase
}

// govRun runs a governor over the n published events under prefix (its
// own consumer group: a run under a new prefix reads the same input).
func govRun(ctx context.Context, env *Env, prefix string, policies policy.Dirs, n int) (govResult, error) {
	var r govResult
	s, err := governor.New(govOptions(env, prefix, policies), nil)
	if err != nil {
		return r, err
	}
	rctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	start, cpu := time.Now(), startCPU()
	go func() { done <- s.Run(rctx) }()
	deadline := time.After(10 * time.Minute)
	for s.Judged() < int64(n) {
		select {
		case err := <-done:
			cancel()
			return r, fmt.Errorf("governor stopped after %d of %d records: %v", s.Judged(), n, err)
		case <-deadline:
			cancel()
			<-done
			return r, fmt.Errorf("governor judged %d of %d records in 10 minutes", s.Judged(), n)
		case <-time.After(2 * time.Millisecond):
		}
	}
	elapsed := time.Since(start)
	self, broker := cpu.perRecord(n)
	cancel()
	for p := range r.phases {
		r.phases[p] = s.PhaseTime(governor.Phase(p))
	}
	per1000 := func(p governor.Phase) float64 { return r.phases[p].Seconds() * 1e6 / float64(n) }
	fmt.Printf("  [governor %s] %.0f events/s, CPU µs/event: this process %.1f, broker %.1f; ms per 1000 events: decode %.1f, judge %.1f, write %.1f, commit %.1f\n",
		policies.Global, float64(n)/elapsed.Seconds(), self, broker, per1000(governor.PhaseDecode), per1000(governor.PhaseJudge), per1000(governor.PhaseWrite), per1000(governor.PhaseCommit))
	if err := <-done; err != nil {
		return r, err
	}
	r.rate = float64(n) / elapsed.Seconds()
	r.out, err = govOutputCount(ctx, env, prefix)
	return r, err
}

// govOptions are the options of a benchmarked governor: the mesh under
// prefix, a group of its own (a run under a new prefix reads the same
// input), no HTTP server, no policy polling and no freshness check while it
// runs.
func govOptions(env *Env, prefix string, policies policy.Dirs) governor.Options {
	o := governor.DefaultOptions()
	o.Kafka = kafka.Config{Brokers: env.Brokers, RegistryURL: env.Registry, TopicPrefix: prefix}
	o.Policies = policies
	o.Listen = ""
	o.Group = prefix + "governor"
	o.PolicyPollInterval = -1
	o.FreshnessInterval = time.Hour
	return o
}

// govOutputCount counts the records the governor wrote (high watermarks of
// its output topics, transaction markers included).
func govOutputCount(ctx context.Context, env *Env, prefix string) (int64, error) {
	cl, err := kgo.NewClient(kgo.SeedBrokers(env.Brokers...))
	if err != nil {
		return 0, err
	}
	defer cl.Close()
	t := events.MeshTopics(prefix)
	ends, err := kadm.NewClient(cl).ListEndOffsets(ctx, t.Violations, t.Compliance, prefix+governor.StateTopic)
	if err != nil {
		return 0, err
	}
	var total int64
	ends.Each(func(o kadm.ListedOffset) { total += o.Offset })
	return total, nil
}

// govRawLoop is the baseline: a GroupTransactSession consuming the same
// input read_committed, one transaction per poll of at most
// governor.DefaultMaxBatch records, each record copied to a sink topic,
// offsets committed in the transaction.
func govRawLoop(ctx context.Context, env *Env, topics events.Topics, n int) (float64, error) {
	sink := topics.Prefix + "bench.raw-sink"
	group := topics.Prefix + "raw"
	admCl, err := kgo.NewClient(kgo.SeedBrokers(env.Brokers...))
	if err != nil {
		return 0, err
	}
	adm := kadm.NewClient(admCl)
	_, err = adm.CreateTopic(ctx, kafka.DefaultPartitions, kafka.DefaultReplicationFactor, nil, sink)
	if err == nil {
		err = waitLeaders(ctx, adm, sink)
	}
	admCl.Close()
	if err != nil {
		return 0, err
	}
	start, cpu := time.Now(), startCPU()
	sess, err := kgo.NewGroupTransactSession(
		kgo.SeedBrokers(env.Brokers...),
		kgo.ConsumerGroup(group),
		kgo.ConsumeTopics(topics.Lifecycle, topics.Quality),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()),
		kgo.TransactionalID(group),
		kgo.RequiredAcks(kgo.AllISRAcks()),
		kgo.MetadataMinAge(governor.MetadataMinAge), // as the governor's client
	)
	if err != nil {
		return 0, err
	}
	defer sess.Close()
	if _, _, err := sess.Client().ProducerID(ctx); err != nil {
		return 0, err
	}
	done := 0
	for done < n {
		if err := ctx.Err(); err != nil {
			return 0, err
		}
		fetches := sess.PollRecords(ctx, governor.DefaultMaxBatch)
		if err := fetches.Err0(); err != nil && !errors.Is(err, context.Canceled) {
			return 0, err
		}
		recs := fetches.Records()
		if len(recs) == 0 {
			continue
		}
		if err := sess.Begin(); err != nil {
			return 0, err
		}
		for _, r := range recs {
			sess.Produce(ctx, &kgo.Record{Topic: sink, Key: r.Key, Value: r.Value, Headers: r.Headers}, nil)
		}
		committed, err := sess.End(ctx, kgo.TryCommit)
		if err != nil {
			return 0, err
		}
		if committed {
			done += len(recs)
		}
	}
	rate := float64(n) / time.Since(start).Seconds()
	self, broker := cpu.perRecord(n)
	fmt.Printf("  [raw loop] %.0f events/s, CPU µs/event: this process %.1f, broker %.1f\n", rate, self, broker)
	return rate, nil
}

// waitLeaders waits (up to 30 s) until every partition of topics has a
// leader: a client producing to a topic its broker has not finished
// creating waits for its next metadata refresh, which would be timed.
func waitLeaders(ctx context.Context, adm *kadm.Client, topics ...string) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	for {
		md, err := adm.Metadata(ctx, topics...)
		ready := err == nil
		if ready {
			for _, t := range topics {
				td, ok := md.Topics[t]
				ready = ready && ok && td.Err == nil && len(td.Partitions) > 0
				for _, p := range td.Partitions {
					ready = ready && p.Err == nil && p.Leader >= 0
				}
			}
		}
		if ready {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("topics %v have no leaders yet: %w", topics, ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
}
