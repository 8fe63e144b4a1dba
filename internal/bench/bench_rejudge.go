package main

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sr"

	"github.com/meshbone/meshbone/internal/governor"
	"github.com/meshbone/meshbone/internal/kafka"
	"github.com/meshbone/meshbone/internal/policy"
	"github.com/meshbone/meshbone/pkg/events"
)

func init() { register("governor-rejudge", benchRejudge) }

// benchRejudge measures re-judging across products: a mesh of 10,000
// products, 200 of them source-aligned inputs each read by 49 others
// (fan-out up to 50), is judged by a governor; then inputs are retired one
// at a time, and for each downstream product the time from its input's
// RETIRED event being acknowledged to the downstream's data-lineage
// violation being readable read_committed is one sample.
// governor.rejudge.p99_ms is the 99th percentile of the samples.
func benchRejudge(ctx context.Context, env *Env, logf func(string, ...any)) ([]Figure, error) {
	products, retire := 10_000, 20
	if env.Quick {
		products, retire = 2_000, 4
	}
	const inputs = 200
	prefix := env.Prefix("rejudge")
	topics := events.MeshTopics(prefix)
	reg, err := sr.NewClient(sr.URLs(env.Registry))
	if err != nil {
		return nil, err
	}
	codec := events.NewCodec(reg, topics)
	cl, err := kgo.NewClient(kgo.SeedBrokers(env.Brokers...), kgo.RequiredAcks(kgo.AllISRAcks()), kgo.ProducerLinger(2*time.Millisecond))
	if err != nil {
		return nil, err
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	if _, err := kafka.EnsureMeshTopics(ctx, adm, topics, kafka.DefaultTopicSpec); err != nil {
		return nil, err
	}
	if err := waitLeaders(ctx, adm, topics.All()...); err != nil {
		return nil, err
	}
	at := time.Now().UTC().Truncate(time.Millisecond)
	product := func(i int) events.DataProduct {
		name := "p" + strconv.Itoa(i)
		p := events.DataProduct{
			ID: "sales." + name, Name: name, Domain: "sales", OwnerTeam: "sales-team", Tags: []string{}, Version: "1.0.0",
			Sensitivity: events.SensitivityInternal, RetentionDays: 365,
			QualitySLOs: []events.QualitySLO{{Dimension: events.DimensionCompleteness, Operator: ">=", Threshold: 0.98}},
			OutputPorts: []events.OutputPort{}, Inputs: []string{}, Labels: map[string]string{},
			Security: &events.Security{EncryptionAtRest: true, PIIFields: []string{}, PIIMasked: true, AuditLogging: true},
		}
		if i < inputs {
			p.Labels["kind"] = "source"
		} else {
			p.Inputs = []string{"sales.p" + strconv.Itoa(i%inputs)}
		}
		return p
	}
	encode := func(id string, typ events.LifecycleType, p events.DataProduct) (*kgo.Record, error) {
		return codec.Encode(ctx, &events.ProductLifecycleEvent{EventID: id, Type: typ, OccurredAt: at, Actor: "bench", Product: p}, events.DomainSource("sales"))
	}
	recs := make([]*kgo.Record, 0, products)
	for i := range products {
		r, err := encode("reg-"+strconv.Itoa(i), events.LifecycleRegistered, product(i))
		if err != nil {
			return nil, err
		}
		recs = append(recs, r)
	}
	if err := cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		return nil, err
	}

	s, err := governor.New(govOptions(env, prefix, policy.RootDirs("policies")), nil)
	if err != nil {
		return nil, err
	}
	rctx, cancel := context.WithCancel(ctx)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- s.Run(rctx) }()
	if err := waitFor(ctx, done, func() bool { return s.Judged() >= int64(products) }, "the governor judging the mesh"); err != nil {
		return nil, err
	}
	logf("%d products judged (%d inputs, fan-out %d)", products, inputs, (products-inputs)/inputs)

	// Follow the violations from their end: each downstream's data-lineage
	// violation naming its retired input is a sample.
	ends, err := adm.ListEndOffsets(ctx, topics.Violations)
	if err != nil {
		return nil, err
	}
	from := map[int32]kgo.Offset{}
	ends.Each(func(l kadm.ListedOffset) { from[l.Partition] = kgo.NewOffset().At(l.Offset) })
	follower, err := kgo.NewClient(kgo.SeedBrokers(env.Brokers...), kgo.FetchIsolationLevel(kgo.ReadCommitted()),
		kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{topics.Violations: from}), kgo.FetchMaxWait(100*time.Millisecond))
	if err != nil {
		return nil, err
	}
	defer follower.Close()
	var (
		mu     sync.Mutex
		seenAt = map[string]time.Time{} // downstream product -> when its violation was read
		fctx   = rctx
	)
	go func() {
		for fctx.Err() == nil {
			fs := follower.PollFetches(fctx)
			now := time.Now()
			fs.EachRecord(func(r *kgo.Record) {
				ev, err := codec.Decode(fctx, r)
				if err != nil {
					return
				}
				v := ev.(*events.PolicyViolation)
				if v.PolicyID == "data-lineage" && v.Status == events.ViolationOpen && strings.Contains(v.Message, "(RETIRED)") {
					mu.Lock()
					if _, ok := seenAt[v.ProductID]; !ok {
						seenAt[v.ProductID] = now
					}
					mu.Unlock()
				}
			})
		}
	}()
	var samples, lastOfFanOut []float64
	for k := range retire {
		u := k * (inputs / retire)
		var downstream []string
		for i := inputs + u; i < products; i += inputs {
			if i%inputs == u {
				downstream = append(downstream, "sales.p"+strconv.Itoa(i))
			}
		}
		r, err := encode("retire-"+strconv.Itoa(u), events.LifecycleRetired, product(u))
		if err != nil {
			return nil, err
		}
		if err := cl.ProduceSync(ctx, r).FirstErr(); err != nil {
			return nil, err
		}
		acked := time.Now()
		if err := waitFor(ctx, done, func() bool {
			mu.Lock()
			defer mu.Unlock()
			for _, d := range downstream {
				if _, ok := seenAt[d]; !ok {
					return false
				}
			}
			return true
		}, fmt.Sprintf("the %d readers of sales.p%d judged again", len(downstream), u)); err != nil {
			return nil, err
		}
		mu.Lock()
		last := 0.0
		for _, d := range downstream {
			ms := float64(seenAt[d].Sub(acked).Microseconds()) / 1000
			samples = append(samples, ms)
			last = max(last, ms)
		}
		mu.Unlock()
		lastOfFanOut = append(lastOfFanOut, last)
		logf("sales.p%d retired: its %d readers judged again within %.1f ms", u, len(downstream), last)
	}
	cancel()
	if err := <-done; err != nil {
		return nil, err
	}
	slices.Sort(samples)
	p := func(q float64) float64 { return samples[min(len(samples)-1, int(q*float64(len(samples))))] }
	logf("%d samples from %d retirements: p50 %.1f ms, p99 %.1f ms; the last reader of a fan-out after %.1f ms (median)", len(samples), retire, p(0.5), p(0.99), median(lastOfFanOut))
	return []Figure{
		{Name: "governor.rejudge.p50_ms", Value: p(0.5), Unit: "ms from an input's RETIRED event to a reader's violation, read_committed"},
		{Name: "governor.rejudge.samples", Value: float64(len(samples)), Unit: fmt.Sprintf("downstream violations (%d products, fan-out %d)", products, (products-inputs)/inputs)},
		{Name: "governor.rejudge.p99_ms", Value: p(0.99)},
	}, nil
}

// waitFor polls cond until it holds, the governor stops (done) or two
// minutes pass.
func waitFor(ctx context.Context, done <-chan error, cond func() bool, what string) error {
	deadline := time.After(2 * time.Minute)
	for !cond() {
		select {
		case err := <-done:
			return fmt.Errorf("governor stopped waiting for %s: %v", what, err)
		case <-deadline:
			return fmt.Errorf("no %s within 2 minutes", what)
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(2 * time.Millisecond):
		}
	}
	return nil
}
