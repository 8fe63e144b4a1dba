package main

import (
	"encoding/json"
	"testing"

	"github.com/meshbone/meshbone/internal/store"
	"github.com/meshbone/meshbone/internal/store/storetest"
	"github.com/meshbone/meshbone/internal/testkit"
	"github.com/meshbone/meshbone/pkg/events"
)

// TestConsumers lists who reads a product from the indexer's view of the
// access topic: as a table (consumers in force, then pending requests, a
// port no one reads as dashes) and as JSON; an unknown product is an error
// naming it.
func TestConsumers(t *testing.T) {
	d := startIndexer(t, func(*testkit.Env) []events.Event { return append(storetest.Mesh(nil), storetest.AccessMesh()...) })

	out, err := meshctl(t, "--indexer", d.url, "consumers", storetest.Orders)
	if err != nil {
		t.Fatal(err)
	}
	want := `PORT      STATUS   CONSUMER                      PRINCIPAL              GROUP PREFIX       SINCE       UNTIL       AGREEMENT
orders    GRANTED  application:orders-dashboard  User:orders-dashboard  orders-dashboard-  2026-03-02  2027-03-02  ag-dashboard
orders    PENDING  application:forecast-model    User:forecast-model    forecast-model-    2026-03-02  2027-03-02  ag-forecast
pos-feed  GRANTED  application:old-feed          User:old-feed          old-feed-          2026-03-02  2027-03-02  ag-old-feed
`
	if out != want {
		t.Errorf("consumers table:\n%s\nwant\n%s", out, want)
	}

	out, err = meshctl(t, "--indexer", d.url, "consumers", storetest.Catalog)
	if want := "PORT    STATUS  CONSUMER  PRINCIPAL  GROUP PREFIX  SINCE  UNTIL  AGREEMENT\nevents  -       -         -          -             -      -      -\n"; err != nil || out != want {
		t.Errorf("consumers of a product no one reads (%v):\n%s\nwant\n%s", err, out, want)
	}

	out, err = meshctl(t, "--indexer", d.url, "consumers", storetest.Revenue, "-o", "json")
	if err != nil {
		t.Fatal(err)
	}
	var acc store.Access
	if err := json.Unmarshal([]byte(out), &acc); err != nil {
		t.Fatalf("-o json: %v\n%s", err, out)
	}
	if acc.ProductID != storetest.Revenue || len(acc.Ports) != 1 || len(acc.Ports[0].Consumers) != 1 || len(acc.Ports[0].Pending) != 0 {
		t.Fatalf("-o json: %+v", acc)
	}
	if a := acc.Ports[0].Consumers[0]; a.AgreementID != storetest.AgreementLedger || a.Status != events.AgreementApproved || a.Principal != "User:ledger" {
		t.Errorf("-o json consumer: %+v", a)
	}

	for _, c := range []struct{ id, want string }{
		{"sales.nothing", `not_found (HTTP 404): product "sales.nothing": not found`},
		{"Sales Orders", `not_found (HTTP 404): product "Sales Orders": not found`},
	} {
		if _, err := meshctl(t, "--indexer", d.url, "consumers", c.id); err == nil || err.Error() != c.want {
			t.Errorf("consumers %q: %v, want %s", c.id, err, c.want)
		}
	}
	if _, err := meshctl(t, "--indexer", d.url, "consumers"); err == nil || err.Error() != "accepts 1 arg(s), received 0" {
		t.Errorf("consumers without a product: %v", err)
	}
}
