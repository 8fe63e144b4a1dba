package indexer_test

import (
	"net/url"
	"testing"

	"github.com/meshbone/meshbone/internal/indexer"
	"github.com/meshbone/meshbone/internal/store"
	"github.com/meshbone/meshbone/internal/store/storetest"
	"github.com/meshbone/meshbone/internal/testkit"
	"github.com/meshbone/meshbone/pkg/events"
)

// consumersOf reads GET /api/v1/products/{id}/consumers as
// store.Access.String writes it.
func consumersOf(t *testing.T, base, id string) string {
	t.Helper()
	var acc store.Access
	if code := getJSON(t, base+"/api/v1/products/"+url.PathEscape(id)+"/consumers", &acc); code != 200 {
		t.Fatalf("consumers of %s: HTTP %d", id, code)
	}
	return acc.String()
}

// TestAccessAndNotices folds the access and notices topics: the consumers
// API and the product API list each port's consumers and pending requests,
// the notices API lists notices by product and recipient; an indexer
// stopped half-way and resumed reaches the view a rebuild does; bad
// requests get the API's errors.
func TestAccessAndNotices(t *testing.T) {
	env := testkit.New(t)
	t.Logf("access suite on %s", env.Backend)
	pub := newPublisher(t, env)
	access := storetest.AccessMesh()
	pub.publish(storetest.Mesh(nil)...)
	pub.publish(access[:len(access)/2]...)
	db := dbPath(t)
	ix, stop := start(t, env, db, false)
	pub.waitIndexed(ix.URL())
	stop()

	pub.publish(access[len(access)/2:]...)
	pub.publish(storetest.NoticeMesh()...)
	ix2, stop2 := start(t, env, db, false)
	base := ix2.URL()
	pub.waitIndexed(base)
	if got, want := consumersOf(t, base, storetest.Orders), "orders: ag-dashboard/GRANTED | ag-forecast/PENDING\npos-feed: ag-old-feed/GRANTED |\n"; got != want {
		t.Errorf("consumers of %s:\n%s\nwant\n%s", storetest.Orders, got, want)
	}
	if got, want := consumersOf(t, base, storetest.Catalog), "events: |\n"; got != want {
		t.Errorf("consumers of %s (expired): %q, want %q", storetest.Catalog, got, want)
	}
	var p store.Product
	if code := getJSON(t, base+"/api/v1/products/"+storetest.Revenue, &p); code != 200 || len(p.Access.Ports) != 1 ||
		len(p.Access.Ports[0].Consumers) != 1 || p.Access.Ports[0].Consumers[0].Principal != "User:ledger" {
		t.Errorf("product %s: HTTP %d, access %+v", storetest.Revenue, code, p.Access)
	}

	var notices indexer.NoticeList
	if code := getJSON(t, base+"/api/v1/notices?consumer=User:orders-dashboard", &notices); code != 200 || len(notices.Notices) != 1 ||
		notices.Notices[0].Type != events.NoticeMajorVersion || notices.Notices[0].Recipient.ID != storetest.AgreementDashboard {
		t.Errorf("notices to User:orders-dashboard: HTTP %d %+v", code, notices)
	}
	if code := getJSON(t, base+"/api/v1/notices?product="+storetest.Orders+"&limit=2", &notices); code != 200 || len(notices.Notices) != 2 {
		t.Errorf("notices about %s, 2 at most: HTTP %d %+v", storetest.Orders, code, notices)
	}

	for _, c := range []struct {
		path      string
		code      int
		errCode   string
		message   string
		errorFrom string
	}{
		{"/api/v1/products/sales.nothing/consumers", 404, "not_found", `product "sales.nothing": not found`, ""},
		{"/api/v1/products/" + storetest.Orders + "/consumers?port=orders", 400, "invalid_parameter", "port: unknown parameter; this route takes none", "port"},
		{"/api/v1/notices?to=x", 400, "invalid_parameter", "to: unknown parameter; allowed: product, consumer, limit", "to"},
		{"/api/v1/notices?limit=0", 400, "invalid_parameter", "limit: 0 is not 1 or more", "limit"},
		{"/api/v1/notices?limit=1001", 400, "invalid_parameter", "limit: 1001 is not 1 to 1000", "limit"},
		{"/api/v1/notices?consumer=a&consumer=b", 400, "invalid_parameter", "consumer: given more than once", "consumer"},
	} {
		var e apiErr
		if code := getJSON(t, base+c.path, &e); code != c.code || e.Error.Code != c.errCode || e.Error.Message != c.message || e.Error.Field != c.errorFrom {
			t.Errorf("GET %s: %d %+v, want %d %s %q", c.path, code, e.Error, c.code, c.errCode, c.message)
		}
	}

	fresh := dbPath(t)
	ix3, stop3 := start(t, env, fresh, true)
	pub.waitIndexed(ix3.URL())
	stop3()
	stop2()
	compareDigests(t, "resumed vs rebuilt", db, fresh)
}
