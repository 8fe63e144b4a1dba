package indexer_test

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/meshbone/meshbone/internal/indexer"
	"github.com/meshbone/meshbone/internal/store"
	"github.com/meshbone/meshbone/internal/store/storetest"
	"github.com/meshbone/meshbone/internal/testkit"
	"github.com/meshbone/meshbone/pkg/events"
)

// TestClient calls every route of a running indexer through Client.
func TestClient(t *testing.T) {
	env := testkit.New(t)
	ix, _ := start(t, env, dbPath(t), false)
	c := &indexer.Client{URL: ix.URL() + "/"} // a trailing slash is allowed
	ctx := context.Background()

	pub := newPublisher(t, env)
	pub.publish(append(append(storetest.Mesh(nil), storetest.AccessMesh()...), storetest.NoticeMesh()...)...)
	st, err := c.WaitFor(ctx, pub.last, testkit.DefaultWait)
	if err != nil || st.Reached == nil || !*st.Reached {
		t.Fatalf("WaitFor: %v, reached %v; partitions %+v", err, st.Reached, st.Partitions)
	}
	if st.EventsFolded == 0 || st.Generation == 0 {
		t.Errorf("WaitFor status: %+v", st)
	}

	t.Run("search", func(t *testing.T) {
		res, err := c.Search(ctx, store.SearchParams{Query: "orders"})
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, r := range res.Results {
			ids = append(ids, r.ID)
		}
		if res.Total != 2 || !slices.Contains(ids, storetest.Orders) || !slices.Contains(ids, storetest.Legacy) {
			t.Errorf("orders: total %d, %v", res.Total, ids)
		}
		res, err = c.Search(ctx, store.SearchParams{Domain: []string{"sales"}, State: []string{"deprecated", "retired"}, Size: 1, Page: 2})
		if err != nil || res.Total != 2 || res.Page != 2 || res.Size != 1 || len(res.Results) != 1 {
			t.Errorf("sales deprecated|retired, page 2 of size 1: %v %+v", err, res)
		}
		_, err = c.Search(ctx, store.SearchParams{State: []string{"archived"}})
		wantAPIError(t, err, http.StatusBadRequest, "invalid_parameter", "state")
	})

	t.Run("product", func(t *testing.T) {
		p, err := c.Product(ctx, storetest.Orders)
		if err != nil || p.ID != storetest.Orders || p.Version != "2.2.0" || p.Compliance != string(events.NonCompliant) {
			t.Errorf("Product: %v %+v", err, p)
		}
		_, err = c.Product(ctx, "sales.nothing")
		wantAPIError(t, err, http.StatusNotFound, "not_found", "")
	})

	t.Run("consumers", func(t *testing.T) {
		acc, err := c.Consumers(ctx, storetest.Revenue)
		if err != nil || len(acc.Ports) != 1 || len(acc.Ports[0].Consumers) != 1 || acc.Ports[0].Consumers[0].AgreementID != storetest.AgreementLedger {
			t.Errorf("Consumers: %v %+v", err, acc)
		}
		_, err = c.Consumers(ctx, "sales.nothing")
		wantAPIError(t, err, http.StatusNotFound, "not_found", "")
	})

	t.Run("notices", func(t *testing.T) {
		ns, err := c.Notices(ctx, store.NoticeFilter{Consumer: storetest.Orders})
		if err != nil || len(ns) != 1 || ns[0].ProductID != storetest.Catalog || ns[0].Type != events.NoticeDeprecated {
			t.Errorf("Notices to %s: %v %+v", storetest.Orders, err, ns)
		}
		if ns, err := c.Notices(ctx, store.NoticeFilter{Product: storetest.Orders, Limit: 1}); err != nil || len(ns) != 1 || ns[0].Recipient.ID != storetest.Attribution {
			t.Errorf("Notices about %s, 1 at most: %v %+v", storetest.Orders, err, ns)
		}
		_, err = c.Notices(ctx, store.NoticeFilter{Limit: -1})
		wantAPIError(t, err, http.StatusBadRequest, "invalid_parameter", "limit")
	})

	t.Run("lineage", func(t *testing.T) {
		g, err := c.Lineage(ctx, storetest.Segments, store.DirectionDown, 10)
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, n := range g.Nodes {
			ids = append(ids, n.ID)
		}
		if !slices.Contains(ids, storetest.Attribution) {
			t.Errorf("downstream of segments: %v", ids)
		}
		g, err = c.Lineage(ctx, storetest.Forecast, store.DirectionUp, 1)
		if err != nil {
			t.Fatal(err)
		}
		unknown := false
		for _, n := range g.Nodes {
			unknown = unknown || n.ID == storetest.FXRates && !n.Known
		}
		if !unknown {
			t.Errorf("upstream of forecast lacks the unregistered %s: %+v", storetest.FXRates, g.Nodes)
		}
		if g, err := c.Lineage(ctx, storetest.Orders, "", store.DefaultLineageDepth); err != nil || len(g.Nodes) == 0 {
			t.Errorf("default direction: %v %+v", err, g)
		}
		_, err = c.Lineage(ctx, storetest.Orders, store.DirectionBoth, 0)
		wantAPIError(t, err, http.StatusBadRequest, "invalid_parameter", "depth")
	})

	t.Run("domains", func(t *testing.T) {
		ds, err := c.Domains(ctx)
		if err != nil {
			t.Fatal(err)
		}
		counts := map[string]int{}
		for _, d := range ds {
			counts[d.Name] = d.Products
		}
		if counts["sales"] != 3 || counts["marketing"] != 3 {
			t.Errorf("domains: %+v", ds)
		}
	})

	t.Run("status", func(t *testing.T) {
		st, err := c.Status(ctx)
		if err != nil || st.Reached != nil || len(st.Partitions) == 0 {
			t.Errorf("Status: %v %+v", err, st)
		}
		// An offset the view has not reached: the wait ends unreached.
		far := map[string]map[int32]int64{env.Topics.Lifecycle: {0: 1 << 40}}
		if st, err := c.WaitFor(ctx, far, time.Millisecond); err != nil || st.Reached == nil || *st.Reached {
			t.Errorf("WaitFor an offset not reached: %v, reached %v", err, st.Reached)
		}
		_, err = c.WaitFor(ctx, map[string]map[int32]int64{"not.a.mesh.topic": {0: 1}}, 0)
		wantAPIError(t, err, http.StatusBadRequest, "invalid_parameter", "wait_for")

		gen := st.Generation
		pub.publish(storetest.Lifecycle("lc-client", events.LifecycleRegistered, storetest.Product("web", "clicks"), storetest.T0))
		st, err = c.ChangedSince(ctx, gen, testkit.DefaultWait)
		if err != nil || st.Reached == nil || !*st.Reached || st.Generation <= gen {
			t.Errorf("ChangedSince %d: %v, %+v", gen, err, st)
		}
	})
}

func wantAPIError(t *testing.T, err error, status int, code, field string) {
	t.Helper()
	var ae *indexer.APIError
	if !errors.As(err, &ae) || ae.Status != status || ae.Code != code || ae.Field != field {
		t.Errorf("err = %v, want HTTP %d %s on field %q", err, status, code, field)
	}
}
