package store

import (
	"context"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/meshbone/meshbone/internal/store/storetest"
	"github.com/meshbone/meshbone/pkg/events"
)

// TestDenseMatchesEntries checks the dense per-product data against the
// entries it is built from: every product's score for a range of queries
// equals the score computed from its token strings, and its dense tags
// are its tags, including products too long for the dense records and
// products updated in place.
func TestDenseMatchesEntries(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, filepath.Join(t.TempDir(), "view.db"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	apply := applier(t, ctx, s)
	stream := storetest.NewStream(300, 9)
	for range 4 {
		var evs []events.Event
		for range 200 {
			evs = append(evs, stream.Next())
		}
		apply(evs...)
	}
	long := storetest.Product("sales", "orders-orders-customer-refund-payment", storetest.Tags("orders", "customer", "a", "b", "c", "d", "orders"),
		storetest.Owner("orders-customer-team"))
	apply(storetest.Lifecycle("lc-long", events.LifecycleRegistered, long, storetest.T0))
	short := long
	short.Name, short.Tags = "orders", []string{"orders"}
	apply(storetest.Lifecycle("lc-short", events.LifecycleUpdated, short, storetest.T0.Add(time.Minute)))
	other := storetest.Product("sales", "orders-orders-customer-refund-payment-x", storetest.Tags("orders", "c", "a", "b", "x", "y", "z"))
	apply(storetest.Lifecycle("lc-other", events.LifecycleRegistered, other, storetest.T0))

	var queries []string
	for _, w := range storetest.Words[:20] {
		queries = append(queries, w+" ", w[:3], w[:1], "sales "+w, w+" orders ", "nosuchword ", "orders cust")
	}
	s.idx.mu.RLock()
	defer s.idx.mu.RUnlock()
	m := s.idx
	slow := 0
	for i := range m.all {
		if m.toks[i].n[0] == tooLong {
			slow++
		}
		if got, want := m.tags(int32(i)), m.tagID[i]; !slices.Equal(got, want) {
			t.Errorf("%s: dense tags %v, want %v", m.all[i].id, got, want)
		}
	}
	if slow == 0 {
		t.Fatal("no product too long for the dense records: the slow path is untested")
	}
	for _, q := range queries {
		terms := m.scoreTerms(queryTerms(q))
		for i := range m.all {
			if got, want := m.score(int32(i), terms, len(m.all)), m.scoreSlow(int32(i), terms, len(m.all)); got != want {
				t.Fatalf("%q: %s: score %v, from the token strings %v", q, m.all[i].id, got, want)
			}
		}
	}
}
