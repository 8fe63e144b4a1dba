package store_test

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/meshbone/meshbone/internal/store"
	"github.com/meshbone/meshbone/internal/store/storetest"
	"github.com/meshbone/meshbone/pkg/events"
)

const ordersSchemaID = 7

func open(t *testing.T, opts store.Options) *store.Store {
	t.Helper()
	s, err := store.Open(context.Background(), filepath.Join(t.TempDir(), "view.db"), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// records places events on the mesh topics the way Kafka would: by kind,
// partition by key hash, offsets in order per partition.
func records(evs []events.Event) []store.Record {
	topics := events.MeshTopics("")
	next := map[string]int64{}
	out := make([]store.Record, 0, len(evs))
	for _, ev := range evs {
		h := fnv.New32a()
		h.Write([]byte(ev.Key()))
		r := store.Record{Topic: topics.For(ev.Kind()), Partition: int32(h.Sum32() % 3), Event: ev}
		k := fmt.Sprintf("%s/%d", r.Topic, r.Partition)
		r.Offset = next[k]
		next[k]++
		out = append(out, r)
	}
	return out
}

func meshStore(t *testing.T) *store.Store {
	t.Helper()
	s := open(t, store.Options{})
	id := int32(ordersSchemaID)
	recs := records(storetest.Mesh(&id))
	if _, err := s.Apply(context.Background(), store.Batch{Records: recs, Schemas: map[int32]string{ordersSchemaID: storetest.OrdersSchema}}); err != nil {
		t.Fatal(err)
	}
	return s
}

func TestProductView(t *testing.T) {
	s := meshStore(t)
	ctx := context.Background()
	p, err := s.Product(ctx, storetest.Orders)
	if err != nil {
		t.Fatal(err)
	}
	if p.Version != "2.2.0" || p.State != store.StateActive || p.Compliance != "NON_COMPLIANT" {
		t.Errorf("orders: version %s state %s compliance %s, want 2.2.0 ACTIVE NON_COMPLIANT", p.Version, p.State, p.Compliance)
	}
	if p.QualityScore == nil || *p.QualityScore != 0.5 {
		t.Errorf("orders: quality score %v, want 0.5 (latest run: completeness fails, row_count passes)", p.QualityScore)
	}
	if len(p.Versions) != 2 || p.Versions[0].Type != "VERSION_PUBLISHED" || p.Versions[1].Type != "REGISTERED" {
		t.Errorf("orders: versions %+v, want VERSION_PUBLISHED then REGISTERED", p.Versions)
	}
	var open []string
	for _, v := range p.OpenViolations {
		open = append(open, v.PolicyID)
	}
	if !slices.Equal(open, []string{"pii-masking", "quality-slo"}) {
		t.Errorf("orders: open violations %v, want pii-masking (critical) then quality-slo", open)
	}
	if p.ComplianceStatus == nil || len(p.ComplianceStatus.OpenViolations) != 2 {
		t.Errorf("orders: compliance status %+v", p.ComplianceStatus)
	}
	if len(p.Ports) != 1 || len(p.Ports[0].Fields) != 5 {
		t.Fatalf("orders: ports %+v, want one port with 5 fields", p.Ports)
	}
	f := p.Ports[0].Fields[3]
	if f.Name != "placed_at" || f.Type != "long (timestamp-millis)" || f.Doc != "When the customer placed the order" {
		t.Errorf("orders: field 3 %+v", f)
	}
	if p.Ports[0].Fields[4].Type != "null | string" {
		t.Errorf("orders: coupon type %q", p.Ports[0].Fields[4].Type)
	}
	if len(p.Quality.Runs) != 6 || len(p.Quality.Checks) != 2 || p.Quality.Checks[0].Name != "completeness" || len(p.Quality.Checks[0].Points) != 6 {
		t.Errorf("orders: quality %d runs, checks %+v", len(p.Quality.Runs), p.Quality.Checks)
	}
	if pts := p.Quality.Checks[0].Points; pts[0].Observed != 0.99 || pts[5].Observed != 0.91 || pts[5].Passed {
		t.Errorf("orders: completeness points not oldest first: %+v", pts)
	}
	var up, down []string
	for _, n := range p.Lineage.Nodes {
		switch {
		case n.Level < 0:
			up = append(up, n.ID)
		case n.Level > 0:
			down = append(down, n.ID)
		}
	}
	slices.Sort(up)
	slices.Sort(down)
	if !slices.Equal(up, []string{storetest.Campaigns, storetest.Catalog}) || !slices.Equal(down, []string{storetest.Revenue, storetest.Attribution}) {
		t.Errorf("orders lineage: up %v down %v", up, down)
	}
	if len(p.Audit) != 1 || p.Audit[0].Action != "product.register" {
		t.Errorf("orders: audit %+v", p.Audit)
	}

	rev, err := s.Product(ctx, storetest.Revenue)
	if err != nil {
		t.Fatal(err)
	}
	if len(rev.OpenViolations) != 0 || len(rev.ResolvedViolations) != 1 || rev.ResolvedViolations[0].ResolvedAt == nil {
		t.Errorf("revenue: open %+v resolved %+v, want the encryption violation resolved", rev.OpenViolations, rev.ResolvedViolations)
	}
	legacy, err := s.Product(ctx, storetest.Legacy)
	if err != nil {
		t.Fatal(err)
	}
	if legacy.State != store.StateDeprecated || legacy.Successor == nil || *legacy.Successor != storetest.Orders || legacy.SunsetAt == nil {
		t.Errorf("legacy: state %s successor %v sunset %v", legacy.State, legacy.Successor, legacy.SunsetAt)
	}
	old, err := s.Product(ctx, storetest.OldLeads)
	if err != nil {
		t.Fatal(err)
	}
	if old.State != store.StateRetired || old.Reason == nil || *old.Reason != "CRM decommissioned" {
		t.Errorf("old leads: state %s reason %v", old.State, old.Reason)
	}
	if _, err := s.Product(ctx, "nope.nothing"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("unknown product: %v, want ErrNotFound", err)
	}

	doms, err := s.Domains(ctx)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]store.Domain{}
	for _, d := range doms {
		got[d.Name] = d
	}
	if d := got["sales"]; d.Products != 3 || d.Active != 1 || d.Deprecated != 1 || d.Retired != 1 || d.NonCompliant != 1 || d.OpenViolations != 2 {
		t.Errorf("sales domain: %+v", d)
	}
	if d := got["finance"]; d.Products != 2 || d.Compliant != 1 || d.Unknown != 1 || d.OpenViolations != 0 {
		t.Errorf("finance domain: %+v", d)
	}
}

func ids(r *store.SearchResult) []string {
	var out []string
	for _, s := range r.Results {
		out = append(out, s.ID)
	}
	return out
}

func facet(r *store.SearchResult, name string) map[string]int {
	out := map[string]int{}
	for _, c := range r.Facets[name] {
		out[c.Value] = c.Count
	}
	return out
}

func TestSearchRankingAndFacets(t *testing.T) {
	s := meshStore(t)
	ctx := context.Background()
	search := func(p store.SearchParams) *store.SearchResult {
		t.Helper()
		r, err := s.Search(ctx, p)
		if err != nil {
			t.Fatalf("search %+v: %v", p, err)
		}
		return r
	}
	// A name match outranks tag and description matches.
	r := search(store.SearchParams{Query: "revenue "})
	if got := ids(r); len(got) < 3 || got[0] != storetest.Revenue {
		t.Errorf("revenue: %v, want finance.revenue first and the orders (tag) and forecast (description) after", got)
	}
	if r.Total != len(r.Results) || r.Total != 3 {
		t.Errorf("revenue: total %d, results %v", r.Total, ids(r))
	}
	// Prefix of the last term, while typing.
	if got := ids(search(store.SearchParams{Query: "cust"})); !slices.Contains(got, storetest.Orders) {
		t.Errorf("cust: %v, want customer-orders", got)
	}
	// Schema field docs and port names are searchable.
	if got := ids(search(store.SearchParams{Query: "coupon "})); !slices.Equal(got, []string{storetest.Orders}) {
		t.Errorf("coupon: %v, want customer-orders (schema field)", got)
	}
	if got := ids(search(store.SearchParams{Query: "redeemed "})); !slices.Equal(got, []string{storetest.Orders}) {
		t.Errorf("redeemed: %v, want customer-orders (schema field doc)", got)
	}
	// Owner and diacritics.
	if got := ids(search(store.SearchParams{Query: "sales-data-team"})); !slices.Contains(got, storetest.Orders) {
		t.Errorf("owner: %v", got)
	}
	if got := ids(search(store.SearchParams{Query: "catalóg"})); !slices.Contains(got, storetest.Catalog) {
		t.Errorf("diacritics: %v", got)
	}

	// Browsing: everything, by name, with facets.
	all := search(store.SearchParams{})
	if all.Total != 9 {
		t.Errorf("browse: total %d, want 9", all.Total)
	}
	if d := facet(all, "domain"); d["sales"] != 3 || d["marketing"] != 3 || d["finance"] != 2 || d["product"] != 1 {
		t.Errorf("domain facet %v", d)
	}
	if st := facet(all, "state"); st["ACTIVE"] != 7 || st["DEPRECATED"] != 1 || st["RETIRED"] != 1 {
		t.Errorf("state facet %v", st)
	}
	if c := facet(all, "compliance"); c["COMPLIANT"] != 3 || c["NON_COMPLIANT"] != 1 || c["UNKNOWN"] != 5 {
		t.Errorf("compliance facet %v", c)
	}
	if tg := facet(all, "tag"); tg["marketing"] != 3 || tg["orders"] != 2 {
		t.Errorf("tag facet %v", tg)
	}
	if se := facet(all, "sensitivity"); se["PUBLIC"] != 1 || se["CONFIDENTIAL"] != 1 || se["RESTRICTED"] != 1 || se["INTERNAL"] != 6 {
		t.Errorf("sensitivity facet %v", se)
	}

	// Filters, case-insensitive enums, ORed values within a facet.
	if got := ids(search(store.SearchParams{Query: "orders", State: []string{"deprecated"}})); !slices.Equal(got, []string{storetest.Legacy}) {
		t.Errorf("orders+deprecated: %v", got)
	}
	if got := search(store.SearchParams{Domain: []string{"finance", "product"}}); got.Total != 3 {
		t.Errorf("finance|product: %v", ids(got))
	}
	if got := ids(search(store.SearchParams{Tag: []string{"orders"}, Compliance: []string{"NON_COMPLIANT"}})); !slices.Equal(got, []string{storetest.Orders}) {
		t.Errorf("tag orders + non-compliant: %v", got)
	}
	if got := search(store.SearchParams{Sensitivity: []string{"restricted"}, Query: "revenue"}); got.Total != 1 {
		t.Errorf("restricted revenue: %v", ids(got))
	}

	// Pagination.
	p1 := search(store.SearchParams{Size: 4, Page: 1})
	p3 := search(store.SearchParams{Size: 4, Page: 3})
	if len(p1.Results) != 4 || len(p3.Results) != 1 || p3.Total != 9 {
		t.Errorf("pages: %v / %v", ids(p1), ids(p3))
	}
	if p4 := search(store.SearchParams{Size: 4, Page: 4}); len(p4.Results) != 0 || p4.Total != 9 {
		t.Errorf("page past the end: %v", ids(p4))
	}
}

func TestSearchHostileQueries(t *testing.T) {
	s := meshStore(t)
	ctx := context.Background()
	long := strings.Repeat("orders ", 10*1024/7)
	cases := []struct {
		q        string
		bad      bool // a ParamError on q
		contains string
	}{
		{q: `"`},
		{q: `"orders`, contains: storetest.Orders},
		{q: `orders"`, contains: storetest.Orders},
		{q: `""""`},
		{q: `NEAR(orders customer)`}, // "near" is a plain term: nothing has it
		{q: `orders NEAR customer`},
		{q: `NEAR`},
		{q: `*`},
		{q: `orders*`, contains: storetest.Orders},
		{q: `*orders`, contains: storetest.Orders},
		{q: `-orders`, contains: storetest.Orders},
		{q: `customer -orders`, contains: storetest.Orders},
		{q: `NOT orders`},
		{q: `orders OR revenue`},
		{q: `orders AND`},
		{q: `(orders`, contains: storetest.Orders},
		{q: `orders)`, contains: storetest.Orders},
		{q: `()`},
		{q: `name:orders`},
		{q: `{name tags}: orders`},
		{q: `^orders`, contains: storetest.Orders},
		{q: `orders + customer`, contains: storetest.Orders},
		{q: `'; DROP TABLE products; --`},
		{q: `\x00`},
		{q: "orders\x00customer", contains: storetest.Orders},
		{q: `日本語のデータ`},
		{q: `😀 orders`, contains: storetest.Orders},
		{q: `ørders`},
		{q: "e\u0301"},
		{q: ""},
		{q: "   "},
		{q: "\xff\xfe", bad: true},
		{q: long, bad: true},
		{q: strings.Repeat("a ", 17), bad: true},
		{q: strings.Repeat("x", 512)},
	}
	for _, c := range cases {
		name := c.q
		if len(name) > 40 {
			name = name[:40]
		}
		t.Run(name, func(t *testing.T) {
			r, err := s.Search(ctx, store.SearchParams{Query: c.q})
			var pe *store.ParamError
			if c.bad {
				if !errors.As(err, &pe) || pe.Field != "q" {
					t.Fatalf("err %v, want a ParamError on q", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("err %v, want results", err)
			}
			if c.contains != "" && !slices.Contains(ids(r), c.contains) {
				t.Errorf("results %v, want %s among them", ids(r), c.contains)
			}
		})
	}
	// The table is still there.
	if r, err := s.Search(ctx, store.SearchParams{}); err != nil || r.Total != 9 {
		t.Fatalf("after hostile queries: %v %v", r, err)
	}
}

func TestSearchParamValidation(t *testing.T) {
	s := meshStore(t)
	for _, c := range []struct {
		p     store.SearchParams
		field string
	}{
		{store.SearchParams{Size: 101}, "size"},
		{store.SearchParams{Size: -1}, "size"},
		{store.SearchParams{Page: -2}, "page"},
		{store.SearchParams{Page: 100000, Size: 100}, "page"},
		{store.SearchParams{State: []string{"ARCHIVED"}}, "state"},
		{store.SearchParams{Sensitivity: []string{"SECRET"}}, "sensitivity"},
		{store.SearchParams{Compliance: []string{"maybe"}}, "compliance"},
		{store.SearchParams{Domain: []string{""}}, "domain"},
		{store.SearchParams{Tag: []string{strings.Repeat("t", 201)}}, "tag"},
	} {
		_, err := s.Search(context.Background(), c.p)
		var pe *store.ParamError
		if !errors.As(err, &pe) || pe.Field != c.field {
			t.Errorf("%+v: err %v, want a ParamError on %s", c.p, err, c.field)
		}
	}
}

func TestLineageDepthAndCycles(t *testing.T) {
	s := meshStore(t)
	ctx := context.Background()
	graph := func(id, dir string, depth int) *store.Graph {
		t.Helper()
		g, err := s.Lineage(ctx, id, dir, depth)
		if err != nil {
			t.Fatalf("lineage %s %s %d: %v", id, dir, depth, err)
		}
		return g
	}
	nodes := func(g *store.Graph) map[string]int {
		out := map[string]int{}
		for _, n := range g.Nodes {
			out[n.ID] = n.Level
		}
		return out
	}
	// Depth limits upstream: forecast <- revenue <- orders <- {campaigns, catalog}.
	if n := nodes(graph(storetest.Forecast, "up", 1)); len(n) != 3 || n[storetest.Revenue] != -1 || n[storetest.FXRates] != -1 {
		t.Errorf("forecast up 1: %v", n)
	}
	if n := nodes(graph(storetest.Forecast, "up", 2)); len(n) != 4 || n[storetest.Orders] != -2 {
		t.Errorf("forecast up 2: %v", n)
	}
	if n := nodes(graph(storetest.Forecast, "up", 10)); len(n) != 6 || n[storetest.Campaigns] != -3 || n[storetest.Catalog] != -3 {
		t.Errorf("forecast up 10: %v", n)
	}
	// The unknown input is there, marked unknown.
	for _, nd := range graph(storetest.Forecast, "up", 1).Nodes {
		if nd.ID == storetest.FXRates && (nd.Known || nd.Domain != "external") {
			t.Errorf("fx rates node %+v, want unknown in domain external", nd)
		}
	}
	// Cycle attribution <-> segments: followed once, at any depth.
	g := graph(storetest.Segments, "down", 10)
	if n := nodes(g); len(n) != 2 || n[storetest.Attribution] != 1 {
		t.Errorf("segments down: %v", n)
	}
	if len(g.Edges) != 2 {
		t.Errorf("segments down edges %v, want both edges of the cycle", g.Edges)
	}
	g = graph(storetest.Attribution, "both", 10)
	if n := nodes(g); n[storetest.Segments] != -1 || n[storetest.Orders] != -1 || n[storetest.Campaigns] != -2 {
		t.Errorf("attribution both: %v", n)
	}
	// Downstream of orders, depth 1 and 2.
	if n := nodes(graph(storetest.Orders, "down", 1)); len(n) != 3 {
		t.Errorf("orders down 1: %v", n)
	}
	if n := nodes(graph(storetest.Orders, "down", 2)); len(n) != 5 || n[storetest.Forecast] != 2 || n[storetest.Segments] != 2 {
		t.Errorf("orders down 2: %v", n)
	}
	var pe *store.ParamError
	for _, c := range []struct {
		dir   string
		depth int
		field string
	}{{"up", 0, "depth"}, {"up", 11, "depth"}, {"sideways", 1, "direction"}, {"", 1, "direction"}} {
		if _, err := s.Lineage(ctx, storetest.Orders, c.dir, c.depth); !errors.As(err, &pe) || pe.Field != c.field {
			t.Errorf("lineage %q %d: %v, want ParamError on %s", c.dir, c.depth, err, c.field)
		}
	}
	if _, err := s.Lineage(ctx, "nope.none", "up", 1); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("unknown root: %v", err)
	}
}

// TestFoldIsDeterministic folds the same records in different
// interleavings of their partitions and different batch sizes, with
// redelivered batches, and expects one digest.
func TestFoldIsDeterministic(t *testing.T) {
	ctx := context.Background()
	id := int32(ordersSchemaID)
	evs := append(append(storetest.Mesh(&id), storetest.AccessMesh()...), storetest.NoticeMesh()...)
	// More audit events than kept, so pruning takes part.
	for i := range 30 {
		evs = append(evs, storetest.Audit(fmt.Sprintf("a-extra-%02d", i), "ci", "product.update", storetest.Orders, storetest.T0.Add(-time.Duration(i)*time.Second)))
	}
	recs := records(evs)
	schemas := map[int32]string{ordersSchemaID: storetest.OrdersSchema}

	byPart := map[string][]store.Record{}
	var keys []string
	for _, r := range recs {
		k := fmt.Sprintf("%s/%d", r.Topic, r.Partition)
		if byPart[k] == nil {
			keys = append(keys, k)
		}
		byPart[k] = append(byPart[k], r)
	}
	var want string
	for seed := range 6 {
		rng := rand.New(rand.NewPCG(uint64(seed), 1))
		// Interleave partitions randomly, keeping each partition's order.
		pos := map[string]int{}
		var order []store.Record
		for len(order) < len(recs) {
			k := keys[rng.IntN(len(keys))]
			if pos[k] < len(byPart[k]) {
				order = append(order, byPart[k][pos[k]])
				pos[k]++
			}
		}
		s := open(t, store.Options{AuditKeep: 10})
		for i := 0; i < len(order); {
			n := 1 + rng.IntN(12)
			end := min(i+n, len(order))
			b := store.Batch{Records: order[i:end], Schemas: schemas}
			if _, err := s.Apply(ctx, b); err != nil {
				t.Fatal(err)
			}
			if rng.IntN(4) == 0 { // a redelivered batch changes nothing (pruned audit events come back and go again)
				st, err := s.Apply(ctx, b)
				if err != nil {
					t.Fatal(err)
				}
				if st.Folded[events.KindLifecycle]+st.Folded[events.KindQuality] != 0 {
					t.Fatalf("redelivered batch folded again: %+v", st)
				}
			}
			i = end
		}
		d, per, err := s.Digest(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if seed == 0 {
			want = d
			t.Logf("digest %s, tables %v", d, per)
			continue
		}
		if d != want {
			t.Errorf("seed %d: digest %s, want %s; tables %v", seed, d, want, per)
		}
	}
}

func TestOffsetsAndReopen(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "view.db")
	s, err := store.Open(ctx, path, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	recs := records(storetest.Mesh(nil))
	recs = append(recs, store.Record{Topic: "mesh.product.quality.v1", Partition: 2, Offset: 99}) // dead-lettered
	st, err := s.Apply(ctx, store.Batch{Records: recs})
	if err != nil {
		t.Fatal(err)
	}
	if st.Skipped != 1 {
		t.Errorf("skipped %d, want 1", st.Skipped)
	}
	d1, _, _ := s.Digest(ctx)
	s.Close()
	s, err = store.Open(ctx, path, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	offs, err := s.Offsets(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if offs["mesh.product.quality.v1"][2] != 99 {
		t.Errorf("offsets %v, want quality/2 at 99", offs)
	}
	if d2, _, _ := s.Digest(ctx); d1 != d2 {
		t.Errorf("digest changed across reopen")
	}
}

// TestSearchIndexFollowsFoldAndReopen checks the in-memory search index:
// compliance that arrives before its product, a later compliance change,
// and the same answers after the view is reopened (index loaded from the
// tables).
func TestSearchIndexFollowsFoldAndReopen(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "view.db")
	s, err := store.Open(ctx, path, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	p := storetest.Product("sales", "early-bird", storetest.Tags("early"))
	apply := func(evs ...events.Event) {
		t.Helper()
		if _, err := s.Apply(ctx, store.Batch{Records: records(evs)}); err != nil {
			t.Fatal(err)
		}
	}
	compliance := func() map[string]int {
		t.Helper()
		r, err := s.Search(ctx, store.SearchParams{Query: "early"})
		if err != nil {
			t.Fatal(err)
		}
		return facet(r, "compliance")
	}
	apply(storetest.Compliance(p.ID, events.NonCompliant, storetest.T0))
	apply(storetest.Lifecycle("lc-1", events.LifecycleRegistered, p, storetest.T0.Add(time.Minute)))
	if c := compliance(); c["NON_COMPLIANT"] != 1 {
		t.Errorf("compliance before the product: facet %v", c)
	}
	apply(storetest.Compliance(p.ID, events.Compliant, storetest.T0.Add(2*time.Minute)))
	if c := compliance(); c["COMPLIANT"] != 1 || c["NON_COMPLIANT"] != 0 {
		t.Errorf("compliance changed: facet %v", c)
	}
	if r, _ := s.Search(ctx, store.SearchParams{Compliance: []string{"compliant"}}); r.Total != 1 || r.Results[0].Compliance != "COMPLIANT" {
		t.Errorf("filter on the new compliance: %+v", r)
	}
	want, _ := s.Search(ctx, store.SearchParams{})
	s.Close()
	if s, err = store.Open(ctx, path, store.Options{}); err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	got, _ := s.Search(ctx, store.SearchParams{})
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("after reopen:\n%+v\nwant\n%+v", got, want)
	}
	// An update after the reopen (the index has no content hashes then)
	// still rewrites what changed.
	p2 := p
	p2.Tags = []string{"late"}
	apply(storetest.Lifecycle("lc-2", events.LifecycleUpdated, p2, storetest.T0.Add(3*time.Minute)))
	if r, _ := s.Search(ctx, store.SearchParams{Query: "late "}); r.Total != 1 {
		t.Errorf("retagged product not found by its new tag: %+v", r)
	}
	if r, _ := s.Search(ctx, store.SearchParams{Tag: []string{"early"}}); r.Total != 0 {
		t.Errorf("old tag still filters: %+v", r)
	}
}
