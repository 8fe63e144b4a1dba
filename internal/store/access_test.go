package store_test

import (
	"context"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/meshbone/meshbone/internal/store"
	"github.com/meshbone/meshbone/internal/store/storetest"
	"github.com/meshbone/meshbone/pkg/events"
)

// TestAccessFold folds the example mesh's access events: each port lists
// the agreements in force and the pending requests, not the rejected,
// revoked or expired ones; a port only an agreement names is listed after
// the product's own; a redelivered batch changes nothing.
func TestAccessFold(t *testing.T) {
	ctx := context.Background()
	s := meshStore(t)
	recs := records(storetest.AccessMesh())
	st, err := s.Apply(ctx, store.Batch{Records: recs})
	if err != nil {
		t.Fatal(err)
	}
	if st.Folded[events.KindAccess] != len(recs) {
		t.Errorf("folded %v, want %d access events", st.Folded, len(recs))
	}
	before, _, _ := s.Digest(ctx)
	st, err = s.Apply(ctx, store.Batch{Records: recs})
	if err != nil {
		t.Fatal(err)
	}
	if st.Folded[events.KindAccess] != 0 || st.Duplicates != len(recs) {
		t.Errorf("redelivered: folded %v, duplicates %d, want none and %d", st.Folded, st.Duplicates, len(recs))
	}
	if after, _, _ := s.Digest(ctx); after != before {
		t.Error("a redelivered batch changed the view")
	}

	for _, c := range []struct{ product, want string }{
		{storetest.Orders, "orders: ag-dashboard/GRANTED | ag-forecast/PENDING\npos-feed: ag-old-feed/GRANTED |\n"},
		{storetest.Catalog, "events: |\n"},
		{storetest.Revenue, "events: ag-ledger/APPROVED |\n"},
		{storetest.Forecast, "events: |\n"},
	} {
		acc, err := s.Access(ctx, c.product)
		if err != nil {
			t.Fatal(err)
		}
		if got := acc.String(); got != c.want || acc.ProductID != c.product {
			t.Errorf("access of %s:\n%s\nwant\n%s", c.product, got, c.want)
		}
		p, err := s.Product(ctx, c.product)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(p.Access, *acc) {
			t.Errorf("product %s lists access %+v, Access %+v", c.product, p.Access, *acc)
		}
	}

	acc, _ := s.Access(ctx, storetest.Orders)
	dash := acc.Ports[0].Consumers[0]
	if dash.Principal != "User:orders-dashboard" || dash.GroupPrefix != "orders-dashboard-" || dash.Consumer.ID != "orders-dashboard" ||
		dash.DecidedBy == nil || *dash.DecidedBy != storetest.Orders+"-owner" || dash.ValidUntil == nil || dash.Reason != nil {
		t.Errorf("granted agreement %+v", dash)
	}
	if !dash.UpdatedAt.After(dash.RequestedAt) {
		t.Errorf("granted agreement updated %s, requested %s", dash.UpdatedAt, dash.RequestedAt)
	}

	if _, err := s.Access(ctx, "sales.nope"); !errors.Is(err, store.ErrNotFound) || err.Error() != `product "sales.nope": not found` {
		t.Errorf("access of an unknown product: %v", err)
	}
}

// TestAccessLastEventWins: a revoked agreement leaves the consumers; the
// same principal asking again is pending, and the new agreement is in force
// once granted; an agreement folded before its product shows once the
// product arrives.
func TestAccessLastEventWins(t *testing.T) {
	ctx := context.Background()
	s := open(t, store.Options{})
	at := storetest.T0
	a := storetest.Agreement("ag-1", "sales.orders", "bi", at, "events")
	apply := func(evs ...events.Event) {
		t.Helper()
		if _, err := s.Apply(ctx, store.Batch{Records: records(evs)}); err != nil {
			t.Fatal(err)
		}
	}
	layout := func() string {
		t.Helper()
		acc, err := s.Access(ctx, "sales.orders")
		if err != nil {
			t.Fatal(err)
		}
		return acc.String()
	}
	apply(storetest.Access("e1", events.AccessRequested, a, at), storetest.Access("e2", events.AccessGranted, a, at.Add(time.Second)))
	if _, err := s.Access(ctx, "sales.orders"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("access of a product the view does not hold yet: %v", err)
	}
	apply(storetest.Lifecycle("lc", events.LifecycleRegistered, storetest.Product("sales", "orders"), at))
	if got := layout(); got != "events: ag-1/GRANTED |\n" {
		t.Errorf("after the product arrives: %q", got)
	}
	apply(storetest.Access("e3", events.AccessRevoked, a, at.Add(2*time.Second)))
	if got := layout(); got != "events: |\n" {
		t.Errorf("after revocation: %q", got)
	}
	b := storetest.Agreement("ag-2", "sales.orders", "bi", at.Add(3*time.Second), "events")
	apply(storetest.Access("e4", events.AccessRequested, b, at.Add(3*time.Second)))
	if got := layout(); got != "events: | ag-2/PENDING\n" {
		t.Errorf("asked again: %q", got)
	}
	apply(storetest.Access("e5", events.AccessApproved, b, at.Add(4*time.Second)))
	if got := layout(); got != "events: ag-2/APPROVED |\n" {
		t.Errorf("approved: %q", got)
	}
}
