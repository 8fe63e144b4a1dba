package governor

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/meshbone/meshbone/internal/kafka/topicread"
	"github.com/meshbone/meshbone/internal/policy"
	"github.com/meshbone/meshbone/internal/testkit"
	"github.com/meshbone/meshbone/pkg/events"
)

// sourced is an event and the CloudEvents source it is published with.
type sourced struct {
	ev     events.Event
	source string
}

// eosEvents returns n events about n/6 products, each product registered,
// run through quality checks and updated, breaking and fixing policies at
// random (seeded); some quality events are spoofed (another domain's
// source). What each event yields depends only on its product's earlier
// events of the same topic (quality runs always meet the SLOs, products are
// source-aligned and have no freshness SLA): not on the clock, and not on
// how the two topics and their partitions interleave.
func eosEvents(n int, seed uint64) []sourced {
	rng := rand.New(rand.NewPCG(seed, seed))
	var out []sourced
	products := max(n/6, 1)
	for i := 0; len(out) < n; i++ {
		p := goodProduct("sales", fmt.Sprintf("eos-%d", i%products))
		p.SLA = nil
		step := i / products
		id := fmt.Sprintf("eos-%d-%d", i%products, step)
		if step%2 == 1 {
			source := events.DomainSource("sales")
			if rng.IntN(3) == 0 {
				source = events.DomainSource("marketing")
			}
			out = append(out, sourced{qualityEvent("q-"+id, p.ID, t0, 0.99), source})
			continue
		}
		p.Security.EncryptionAtRest = rng.IntN(2) == 0
		p.Security.AuditLogging = rng.IntN(3) > 0
		if rng.IntN(3) == 0 {
			p.RetentionDays = 1000
		}
		typ := events.LifecycleRegistered
		if step > 0 {
			typ = events.LifecycleUpdated
		}
		out = append(out, sourced{lifecycleEvent("l-"+id, typ, p), events.DomainSource("sales")})
	}
	return out
}

// expectedViolations judges evs offline, in order, and returns the
// violation records the governor must publish: "<id>/<status>" -> 1.
func expectedViolations(t testing.TB, evs []sourced) map[string]int {
	t.Helper()
	set, err := policy.Load(policy.RootDirs("../../policies"))
	if err != nil {
		t.Fatal(err)
	}
	e := NewEngine(set)
	want := map[string]int{}
	for _, s := range evs {
		b := e.Begin(t0)
		ce := events.CloudEvent{ID: s.ev.ID(), Source: s.source, Subject: s.ev.Key()}
		switch ev := s.ev.(type) {
		case *events.ProductLifecycleEvent:
			b.Lifecycle(ev, ce, Source{})
		case *events.QualityEvent:
			b.Quality(ev, ce, Source{})
		}
		for _, v := range b.Violations {
			want[v.ViolationID+"/"+string(v.Status)]++
		}
		b.Commit()
	}
	return want
}

// publishAll produces evs.
func (w *world) publishAll(evs []sourced) {
	w.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	recs := make([]*kgo.Record, 0, len(evs))
	for _, s := range evs {
		r, err := w.codec.Encode(ctx, s.ev, s.source)
		if err != nil {
			w.t.Fatal(err)
		}
		recs = append(recs, r)
	}
	if err := w.prod.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		w.t.Fatal(err)
	}
}

// caughtUp reports whether the governor's group has committed every input
// record.
func (w *world) caughtUp(ctx context.Context) bool {
	adm := kadm.NewClient(w.env.Client())
	lags, err := adm.Lag(ctx, w.group)
	if err != nil {
		return false
	}
	l, ok := lags[w.group]
	if !ok || l.FetchErr != nil || l.DescribeErr != nil {
		return false
	}
	total, seen := int64(0), 0
	for _, topic := range []string{w.env.Topics.Lifecycle, w.env.Topics.Quality} {
		for _, pl := range l.Lag[topic] {
			if pl.Err != nil || pl.Commit.At < 0 {
				return false
			}
			total += pl.Lag
			seen++
		}
	}
	return seen > 0 && total == 0
}

// checkExactlyOnce waits until the governor caught up, then reads the
// violations topic read_committed to its end and compares with want.
func (w *world) checkExactlyOnce(want map[string]int) {
	w.t.Helper()
	w.env.Eventually(func() bool { return w.caughtUp(context.Background()) }, "governor caught up with its inputs")
	var recs []*kgo.Record
	if err := topicread.ReadCommitted(context.Background(), []kgo.Opt{kgo.SeedBrokers(w.env.Brokers...)}, w.env.Topics.Violations, func(r *kgo.Record) { recs = append(recs, r) }); err != nil {
		w.t.Fatal(err)
	}
	got := map[string]int{}
	byKey := map[string]*events.PolicyViolation{}
	for _, r := range recs {
		ev, err := w.codec.Decode(context.Background(), r)
		if err != nil {
			w.t.Fatalf("violation record does not decode: %v", err)
		}
		v := ev.(*events.PolicyViolation)
		got[v.ViolationID+"/"+string(v.Status)]++
		byKey[v.ViolationID+"/"+string(v.Status)] = v
	}
	missing, dup, unexpected := 0, 0, 0
	for k := range want {
		switch got[k] {
		case 0:
			missing++
			if missing <= 5 {
				w.t.Errorf("missing violation %s", k)
			}
		case 1:
		default:
			dup++
			if dup <= 5 {
				w.t.Errorf("violation %s seen %d times", k, got[k])
			}
		}
	}
	for k := range got {
		if want[k] == 0 {
			unexpected++
			if unexpected <= 5 {
				v := byKey[k]
				w.t.Errorf("unexpected violation %s: %s %s %s %s@%d", k, v.ProductID, v.PolicyID, v.SourceEventID, v.SourceTopic, v.SourceOffset)
			}
		}
	}
	if missing+dup+unexpected > 0 {
		w.t.Fatalf("of %d expected violation records: %d missing, %d duplicated, %d unexpected (read %d)", len(want), missing, dup, unexpected, len(recs))
	}
	w.t.Logf("each of the %d expected violation records seen exactly once", len(want))
}

// TestExactlyOnceAcrossCrashes stops the governor in the middle of
// transactions (its client closed after producing, before committing, as a
// crashing process would leave it) and restarts it; a read_committed reader
// sees every expected violation exactly once. It runs on every backend; the
// process-level kill -9 test is TestExactlyOnceKill9.
func TestExactlyOnceAcrossCrashes(t *testing.T) {
	w := newWorld(t)
	t.Logf("exactly once across crashes on %s", w.env.Backend)
	evs := eosEvents(600, 7)
	want := expectedViolations(t, evs)
	w.publishAll(evs)

	o := w.options()
	o.MaxBatch = 25
	w.crashRuns(o, []int{2, 5, 3}, true)
	w.start(o)
	w.checkExactlyOnce(want)
}

// crashRuns runs a governor with options o once per entry of crashes, each
// run crashing in the middle of its crashes[i]-th transaction (its client
// closed after producing, before committing). A run that ends without
// crashing (another instance judged everything first) fails the test only
// if mustCrash.
func (w *world) crashRuns(o Options, crashes []int, mustCrash bool) {
	w.t.Helper()
	for i, crashAt := range crashes {
		s, err := New(o, nil)
		if err != nil {
			w.t.Fatal(err)
		}
		n := 0
		s.crashHook = func() bool { n++; return n == crashAt }
		ctx, cancel := context.WithTimeout(context.Background(), testkit.DefaultWait)
		err = s.Run(ctx)
		cancel()
		if !errors.Is(err, errCrashed) && (mustCrash || err != nil) {
			w.t.Fatalf("run %d: %v, want the crash", i, err)
		}
	}
}
