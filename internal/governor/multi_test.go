package governor

import (
	"context"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/meshbone/meshbone/internal/kafka/topicread"
	"github.com/meshbone/meshbone/pkg/events"
)

// openViolations folds the violations topic, read_committed to its end:
// per product, the violations whose newest record is OPEN.
func (w *world) openViolations() map[string]string {
	w.t.Helper()
	last := map[string]*events.PolicyViolation{}
	err := topicread.ReadCommitted(context.Background(), []kgo.Opt{kgo.SeedBrokers(w.env.Brokers...)}, w.env.Topics.Violations, func(r *kgo.Record) {
		ev, err := w.codec.Decode(context.Background(), r)
		if err != nil {
			w.t.Errorf("violation record does not decode: %v", err)
			return
		}
		v := ev.(*events.PolicyViolation)
		last[v.ViolationID] = v
	})
	if err != nil {
		w.t.Fatal(err)
	}
	lines := map[string][]string{}
	for _, v := range last {
		if v.Status == events.ViolationOpen {
			lines[v.ProductID] = append(lines[v.ProductID], openLine(v))
		}
	}
	out := map[string]string{}
	for id, ls := range lines {
		slices.Sort(ls)
		out[id] = strings.Join(ls, "\n  ")
	}
	return out
}

// Three governors started with identical options but their instance ids
// (so each has its own transactional id) judge a mesh whose products read
// each other across partitions, inputs registered after their readers,
// never, deprecated and retired: the violations open at the end are those
// of one instance reading the log in order, with a whole global view.
func TestSeveralGovernorsAgreeWithOne(t *testing.T) {
	w := newWorld(t)
	t.Logf("three governors on %s", w.env.Backend)
	log := meshLog(42)
	want := simulate(t, defaultSet(t), log, 1, rand.New(rand.NewPCG(0, 0)), true)
	var evs []sourced
	for _, r := range log {
		if r.lifecycle != nil {
			evs = append(evs, sourced{r.lifecycle, r.source})
		} else {
			evs = append(evs, sourced{r.quality, r.source})
		}
	}
	var govs []*Service
	for i := range 3 {
		o := w.options()
		o.InstanceID = w.group + "-" + string(rune('a'+i))
		o.TransactionalID = ""
		s, _ := w.start(o)
		govs = append(govs, s)
	}
	ids := map[string]bool{}
	for _, s := range govs {
		ids[s.TransactionalID()] = true
	}
	if len(ids) != 3 {
		t.Fatalf("transactional ids %v: want three different ones", slices.Collect(maps.Keys(ids)))
	}
	// Half the events, then the rest: rebalances and re-judgements mix.
	w.publishAll(evs[:len(evs)/2])
	time.Sleep(50 * time.Millisecond)
	w.publishAll(evs[len(evs)/2:])
	var got map[string]string
	w.env.Eventually(func() bool {
		if !w.caughtUp(context.Background()) {
			return false
		}
		got = w.openViolations()
		return maps.Equal(got, want)
	}, "the three governors' open violations equal one instance's")
	if !maps.Equal(got, want) {
		t.Fatalf("open violations differ:\n%s", diff(want, got))
	}
	rejudged := int64(0)
	for _, s := range govs {
		rejudged += s.Rejudged()
	}
	t.Logf("%d products with open violations agree; %d re-judgements", len(want), rejudged)
	if rejudged == 0 {
		t.Errorf("no product was judged again: the mesh did not exercise re-judging")
	}
}

// Two governors in one group; one of them crashes in the middle of
// transactions (its client closed after producing, before committing) and
// comes back, three times, while the other judges on: a read_committed
// reader sees every expected violation exactly once.
func TestTwoGovernorsAcrossCrashes(t *testing.T) {
	w := newWorld(t)
	t.Logf("two governors, one crashing, on %s", w.env.Backend)
	evs := eosEvents(900, 11)
	want := expectedViolations(t, evs)

	steady := w.options()
	steady.InstanceID = w.group + "-steady"
	steady.MaxBatch = 25
	w.start(steady)
	w.publishAll(evs)

	crashy := w.options()
	crashy.InstanceID = w.group + "-crashy"
	crashy.MaxBatch = 25
	w.crashRuns(crashy, []int{2, 4, 3}, false)
	w.start(crashy)
	w.checkExactlyOnce(want)
}

// An instance started with the transactional id of a running one (its own
// successor, say after a restart the old process survived) fences it: the
// old one stops cleanly, without an error, and the new one judges on.
func TestFencedBySuccessorStopsCleanly(t *testing.T) {
	w := newWorld(t)
	o := w.options()
	old, err := New(o, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- old.Run(ctx) }()
	w.env.Eventually(old.Ready, "first governor ready")
	w.start(o) // the same transactional id
	p := goodProduct("sales", "fence")
	// The old one learns it is fenced when it next ends a transaction.
	err = nil
	stopped, i := false, 0
	w.env.Eventually(func() bool {
		i++
		w.own(lifecycleEvent(fmt.Sprintf("fence-%d", i), "REGISTERED", p))
		select {
		case err = <-done:
			stopped = true
		case <-time.After(100 * time.Millisecond):
		}
		return stopped
	}, "the first governor fenced by its successor")
	if err != nil {
		t.Fatalf("fenced governor: Run returned %v, want nil", err)
	}
}

func TestDefaultTransactionalID(t *testing.T) {
	host := func() string {
		o := Options{Group: "g", Listen: "127.0.0.1:8091"}.withDefaults()
		return strings.TrimSuffix(strings.TrimPrefix(o.TransactionalID, "g-"), "-8091")
	}()
	for _, tc := range []struct {
		o    Options
		want string
	}{
		{Options{Group: "g", InstanceID: "gov-1"}, "g-gov-1"},
		{Options{Group: "g", Listen: ":8091"}, "g-" + host + "-8091"},
		{Options{Group: "g", Listen: "127.0.0.1:8092", TransactionalID: "mine"}, "mine"},
	} {
		if got := tc.o.withDefaults().TransactionalID; got != tc.want {
			t.Errorf("%+v: transactional id %q, want %q", tc.o, got, tc.want)
		}
	}
	// Without a fixed port: unique, so two instances in one process or on
	// one host never share one.
	a := Options{Group: "g", Listen: "127.0.0.1:0"}.withDefaults().TransactionalID
	b := Options{Group: "g"}.withDefaults().TransactionalID
	if a == b || !strings.HasPrefix(a, "g-"+host+"-") {
		t.Errorf("ids without a port: %q and %q, want two different g-%s-<random>", a, b, host)
	}
}
