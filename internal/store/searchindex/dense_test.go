package searchindex

import (
	"slices"
	"testing"

	"github.com/meshbone/meshbone/internal/store/storetest"
	"github.com/meshbone/meshbone/pkg/events"
)

// TestDenseMatchesEntries checks the dense per-product data against the
// entries it is built from: every product's score for a range of queries
// equals the score computed from its token strings, and its dense tags
// are its tags, including products too long for the dense records and
// products updated in place.
func TestDenseMatchesEntries(t *testing.T) {
	x := newTestIndex(t)
	stream := storetest.NewStream(300, 9)
	for range 4 {
		var batch []events.DataProduct
		seen := map[string]bool{}
		for range 200 {
			if e, ok := stream.Next().(*events.ProductLifecycleEvent); ok && !seen[e.Product.ID] {
				seen[e.Product.ID] = true
				batch = append(batch, e.Product)
			}
		}
		x.apply(t, batch...)
	}
	long := storetest.Product("sales", "orders-orders-customer-refund-payment", storetest.Tags("orders", "customer", "a", "b", "c", "d", "orders"),
		storetest.Owner("orders-customer-team"))
	x.apply(t, long)
	short := long
	short.Name, short.Tags = "orders", []string{"orders"}
	x.apply(t, short)
	other := storetest.Product("sales", "orders-orders-customer-refund-payment-x", storetest.Tags("orders", "c", "a", "b", "x", "y", "z"))
	x.apply(t, other)

	var queries []string
	for _, w := range storetest.Words[:20] {
		queries = append(queries, w+" ", w[:3], w[:1], "sales "+w, w+" orders ", "nosuchword ", "orders cust")
	}
	x.mu.RLock()
	defer x.mu.RUnlock()
	slow := 0
	for i := range x.all {
		if x.toks[i].n[0] == tooLong {
			slow++
		}
		if got, want := x.tags(int32(i)), x.tagID[i]; !slices.Equal(got, want) {
			t.Errorf("%s: dense tags %v, want %v", x.all[i].id, got, want)
		}
	}
	if slow == 0 {
		t.Fatal("no product too long for the dense records: the slow path is untested")
	}
	for _, text := range queries {
		terms := x.scoreTerms(x.tok.query(text))
		for i := range x.all {
			if got, want := x.score(int32(i), terms, len(x.all)), x.scoreSlow(int32(i), terms, len(x.all)); got != want {
				t.Fatalf("%q: %s: score %v, from the token strings %v", text, x.all[i].id, got, want)
			}
		}
		releaseTerms(terms)
	}
}
