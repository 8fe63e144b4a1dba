package indexer_test

import (
	"context"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/meshbone/meshbone/internal/indexer"
	"github.com/meshbone/meshbone/internal/store"
	"github.com/meshbone/meshbone/internal/store/storetest"
	"github.com/meshbone/meshbone/internal/testkit"
	"github.com/meshbone/meshbone/pkg/events"
)

// TestEventsInAPIOut publishes the example mesh (and a record that does not
// decode) and reads it back through every API route and the web pages.
func TestEventsInAPIOut(t *testing.T) {
	env := testkit.New(t)
	t.Logf("indexer API suite on %s", env.Backend)
	ix, _ := start(t, env, dbPath(t), false)
	base := ix.URL()

	schemaID := registerOrdersSchema(t, env)
	pub := newPublisher(t, env)
	pub.publish(storetest.Mesh(&schemaID)...)
	pub.produce(&kgo.Record{Topic: env.Topics.Quality, Key: []byte(storetest.Orders), Value: []byte("not avro")})
	pub.waitIndexed(base)

	t.Run("search", func(t *testing.T) {
		var res store.SearchResult
		if code := getJSON(t, base+"/api/v1/search?q=revenue", &res); code != 200 {
			t.Fatalf("search: %d", code)
		}
		if res.Total != 3 || res.Results[0].ID != storetest.Revenue {
			t.Errorf("revenue: total %d, results %+v", res.Total, res.Results)
		}
		if code := getJSON(t, base+"/api/v1/search?domain=sales&state=deprecated", &res); code != 200 || res.Total != 1 || res.Results[0].ID != storetest.Legacy {
			t.Errorf("sales+deprecated: %d %+v", code, res)
		}
		if code := getJSON(t, base+"/api/v1/search?compliance=non_compliant", &res); code != 200 || res.Total != 1 {
			t.Errorf("non_compliant: %d %+v", code, res)
		}
		getJSON(t, base+"/api/v1/search?size=2&page=2", &res)
		if res.Total != 9 || len(res.Results) != 2 || res.Page != 2 {
			t.Errorf("page 2 of size 2: %+v", res)
		}
		counts := map[string]int{}
		for _, c := range res.Facets["domain"] {
			counts[c.Value] = c.Count
		}
		if counts["sales"] != 3 || counts["marketing"] != 3 {
			t.Errorf("domain facet %v", res.Facets["domain"])
		}
		// Search by a schema field's doc (fetched from the registry).
		if getJSON(t, base+"/api/v1/search?q=redeemed", &res); res.Total != 1 || res.Results[0].ID != storetest.Orders {
			t.Errorf("field doc search: %+v", res.Results)
		}
	})

	t.Run("product", func(t *testing.T) {
		var p store.Product
		if code := getJSON(t, base+"/api/v1/products/"+storetest.Orders, &p); code != 200 {
			t.Fatalf("product: %d", code)
		}
		if p.Version != "2.2.0" || p.Compliance != "NON_COMPLIANT" || len(p.OpenViolations) != 2 || len(p.Versions) != 2 {
			t.Errorf("orders: %+v", p.Summary)
		}
		if len(p.Ports) != 1 || p.Ports[0].SchemaID == nil || *p.Ports[0].SchemaID != schemaID || p.Ports[0].Schema == "" {
			t.Fatalf("orders ports %+v", p.Ports)
		}
		if f := p.Ports[0].Fields[2]; f.Name != "amount_cents" || f.Type != "long" || f.Doc != "Order total in cents" {
			t.Errorf("orders field from the registry schema: %+v", f)
		}
		if len(p.Quality.Checks) != 2 || len(p.Quality.Checks[0].Points) != 6 {
			t.Errorf("quality %+v", p.Quality.Checks)
		}
		if p.Lineage == nil || len(p.Lineage.Nodes) != 5 {
			t.Errorf("lineage one hop: %+v", p.Lineage)
		}
	})

	t.Run("lineage", func(t *testing.T) {
		var g store.Graph
		if code := getJSON(t, base+"/api/v1/lineage/"+storetest.Segments+"?direction=down&depth=10", &g); code != 200 {
			t.Fatalf("lineage: %d", code)
		}
		if len(g.Nodes) != 2 || len(g.Edges) != 2 {
			t.Errorf("segments down (a cycle): %+v", g)
		}
		getJSON(t, base+"/api/v1/lineage/"+storetest.Forecast+"?direction=up&depth=2", &g)
		var ids []string
		for _, n := range g.Nodes {
			ids = append(ids, n.ID)
		}
		slices.Sort(ids)
		if want := []string{storetest.FXRates, storetest.Forecast, storetest.Revenue, storetest.Orders}; !slices.Equal(ids, sorted(want)) {
			t.Errorf("forecast up 2: %v", ids)
		}
	})

	t.Run("domains", func(t *testing.T) {
		var d struct{ Domains []store.Domain }
		if code := getJSON(t, base+"/api/v1/domains", &d); code != 200 || len(d.Domains) != 4 {
			t.Fatalf("domains: %d %+v", code, d)
		}
		if d.Domains[3].Name != "sales" || d.Domains[3].OpenViolations != 2 {
			t.Errorf("sales: %+v", d.Domains[3])
		}
	})

	t.Run("dead letter", func(t *testing.T) {
		recs := env.ReadN(env.Topics.DLQ, 1)
		class, _ := events.GetHeader(recs[0], events.HeaderDLQClass)
		topic, _ := events.GetHeader(recs[0], events.HeaderDLQTopic)
		if class != string(events.ClassBadMagic) || topic != env.Topics.Quality || string(recs[0].Value) != "not avro" {
			t.Errorf("DLQ record: class %q topic %q value %q", class, topic, recs[0].Value)
		}
		var st indexer.Status
		getJSON(t, base+"/api/v1/status", &st)
		if st.EventsFolded != int64(len(storetest.Mesh(nil))) {
			t.Errorf("events folded %d, want %d (the bad record only advances the offset)", st.EventsFolded, len(storetest.Mesh(nil)))
		}
	})

	t.Run("errors", func(t *testing.T) {
		for _, c := range []struct {
			path  string
			code  int
			field string
		}{
			{"/api/v1/search?size=1000", 400, "size"},
			{"/api/v1/search?size=ten", 400, "size"},
			{"/api/v1/search?page=0", 400, "page"},
			{"/api/v1/search?state=archived", 400, "state"},
			{"/api/v1/search?sensitivity=secret", 400, "sensitivity"},
			{"/api/v1/search?q=a&q=b", 400, "q"},
			{"/api/v1/search?color=red", 400, "color"},
			{"/api/v1/products/nope.nothing", 404, ""},
			{"/api/v1/lineage/nope.nothing", 404, ""},
			{"/api/v1/lineage/" + storetest.Orders + "?depth=0", 400, "depth"},
			{"/api/v1/lineage/" + storetest.Orders + "?depth=11", 400, "depth"},
			{"/api/v1/lineage/" + storetest.Orders + "?direction=left", 400, "direction"},
			{"/api/v1/status?wait_for=bogus", 400, "wait_for"},
			{"/api/v1/status?wait_for=" + url.QueryEscape("other.topic:0:1"), 400, "wait_for"},
			{"/api/v1/status?wait_for=" + url.QueryEscape(env.Topics.Quality+":0:-1"), 400, "wait_for"},
			{"/api/v1/status?timeout=forever", 400, "timeout"},
			{"/api/v1/status?timeout=1h", 400, "timeout"},
			{"/api/v1/status?changed_since=x", 400, "changed_since"},
			{"/api/v1/nothing", 404, ""},
		} {
			var e apiErr
			code := getJSON(t, base+c.path, &e)
			if code != c.code || e.Error.Field != c.field || e.Error.Message == "" || e.Error.Code == "" {
				t.Errorf("%s: %d %+v, want %d on field %q", c.path, code, e.Error, c.code, c.field)
			}
		}
	})

	t.Run("hostile queries", func(t *testing.T) {
		for _, q := range []string{`"`, `"orders`, `NEAR(a b)`, `orders NEAR/2 customer`, `*`, `orders*`, `-orders`, `a - b`,
			`(`, `)`, `(orders OR`, `AND`, `OR NOT`, `col:val`, `{a b}:c`, `^x`, `'; DROP TABLE products; --`, "\x00",
			`日本語`, `😀`, `ørders`, "\u202e", ``, ` `, strings.Repeat("x", 10*1024), strings.Repeat("a ", 40), "\xff"} {
			code, body := get(t, base+"/api/v1/search?q="+url.QueryEscape(q))
			if code != 200 && code != 400 {
				t.Errorf("q=%.30q: %d %s", q, code, body)
			}
			if code == 400 && !strings.Contains(string(body), `"field":"q"`) {
				t.Errorf("q=%.30q: 400 without field q: %s", q, body)
			}
		}
		var res store.SearchResult
		if getJSON(t, base+"/api/v1/search", &res); res.Total != 9 {
			t.Errorf("after hostile queries: total %d", res.Total)
		}
	})

	t.Run("read your writes", func(t *testing.T) {
		p := storetest.Product("sales", "fresh-leads", storetest.Desc("Leads scored within the hour."))
		pub.publish(storetest.Lifecycle("lc-fresh", events.LifecycleRegistered, p, storetest.T0.Add(48*3600e9)))
		// The status call returns once the record is folded; the search
		// right after must see it.
		pub.waitIndexed(base)
		var res store.SearchResult
		if getJSON(t, base+"/api/v1/search?q=fresh-leads", &res); res.Total != 1 {
			t.Errorf("after wait_for: %+v", res)
		}
		var st indexer.Status
		getJSON(t, base+"/api/v1/status", &st)
		var waited indexer.Status
		getJSON(t, base+fmt.Sprintf("/api/v1/status?changed_since=%d&timeout=100ms", st.Generation), &waited)
		if waited.Reached == nil || *waited.Reached {
			t.Errorf("changed_since the current generation with nothing new: reached %v, want false", waited.Reached)
		}
	})

	t.Run("web", func(t *testing.T) {
		for _, c := range []struct {
			path string
			code int
			want []string
		}{
			{"/", 200, []string{"All data products", "customer-orders", `data-facet="domain"`, "non compliant"}},
			{"/?q=orders&domain=sales", 200, []string{"Results for", "legacy-orders", "Domain: sales"}},
			{"/?q=zzzzqqq", 200, []string{"Nothing in the mesh matches"}},
			{"/?size=1000", 400, []string{"That search cannot run", "size"}},
			{"/products/" + storetest.Orders, 200, []string{`id="lineage-graph"`, "pii-masking", "completeness", "Order total in cents", "2.2.0", "marketing.campaigns"}},
			{"/products/" + storetest.Legacy, 200, []string{"This product is deprecated", storetest.Orders}},
			{"/products/nope.nothing", 404, []string{"Not found"}},
			{"/domains", 200, []string{"finance", "open violation"}},
			{"/static/style.css", 200, []string{".lineage"}},
		} {
			code, body := get(t, base+c.path)
			if code != c.code {
				t.Errorf("%s: %d, want %d", c.path, code, c.code)
			}
			for _, w := range c.want {
				if !strings.Contains(string(body), w) {
					t.Errorf("%s: page lacks %q", c.path, w)
				}
			}
			if strings.Contains(string(body), "http://") && strings.HasSuffix(c.path, ".css") {
				t.Errorf("%s: refers to an external URL", c.path)
			}
		}
	})

	t.Run("metrics", func(t *testing.T) {
		_, body := get(t, base+"/metrics")
		for _, m := range []string{"meshbone_indexer_events_folded_total", "meshbone_indexer_lag_records", "meshbone_indexer_search_seconds_bucket", "meshbone_indexer_records_dead_lettered_total"} {
			if !strings.Contains(string(body), m) {
				t.Errorf("metrics lack %s", m)
			}
		}
		if code, _ := get(t, base+"/readyz"); code != 200 {
			t.Errorf("readyz: %d", code)
		}
	})
	_ = context.Background
}

func sorted(s []string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	return s
}
