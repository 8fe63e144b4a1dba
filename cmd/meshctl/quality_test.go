package main

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/meshbone/meshbone/internal/store/storetest"
	"github.com/meshbone/meshbone/internal/testkit"
	"github.com/meshbone/meshbone/pkg/events"
)

// meshctl quality prints each check's observed and reported series side by
// side, one row per run time, from the indexer.
func TestQualityCommand(t *testing.T) {
	d := startIndexer(t, func(*testkit.Env) []events.Event { return append(storetest.Mesh(nil), storetest.ObservedOrders()...) })
	run := func(args ...string) (string, error) {
		t.Helper()
		return meshctl(t, append(args, "--indexer", d.url)...)
	}
	out, err := run("quality", storetest.Orders)
	if err != nil {
		t.Fatal(err)
	}
	// The example mesh reports six runs from T0+14m, one a minute; the
	// monitor observed four windows published at T0+14m30s, 16m, 17m30s
	// and 19m (storetest.ObservedOrders).
	want := `completeness  (reported as completeness >= 0.95, 4/6 passed)
  AT                   reported as completeness
  2026-03-02 09:14:00  0.99
  2026-03-02 09:15:00  0.985
  2026-03-02 09:16:00  0.97
  2026-03-02 09:17:00  0.96
  2026-03-02 09:18:00  0.93 !
  2026-03-02 09:19:00  0.91 !

completeness of email  (observed on orders >= 0.99, 3/4 passed)
  AT                   observed on orders
  2026-03-02 09:14:30  0.998
  2026-03-02 09:16:00  0.995
  2026-03-02 09:17:30  0.993
  2026-03-02 09:19:00  0.97 !

volume  (observed on orders >= 800, 4/4 passed; reported as row_count >= 900, 6/6 passed)
  AT                   observed on orders  reported as row_count
  2026-03-02 09:14:00  -                   1000
  2026-03-02 09:14:30  820                 -
  2026-03-02 09:15:00  -                   1150
  2026-03-02 09:16:00  860                 1300
  2026-03-02 09:17:00  -                   1450
  2026-03-02 09:17:30  900                 -
  2026-03-02 09:18:00  -                   1600
  2026-03-02 09:19:00  940                 1750
`
	if out != want {
		t.Errorf("quality:\n%s\nwant:\n%s", out, want)
	}

	// Runs within one second share a row; two of one series are both shown.
	at := storetest.T0.Add(time.Hour)
	d2 := startIndexer(t, func(*testkit.Env) []events.Event {
		p := storetest.Product("sales", "pair")
		rep := storetest.Quality("q-rep", p.ID, "nightly", at.Add(300*time.Millisecond), storetest.Check("rows", events.DimensionVolume, 12, 10))
		rep2 := storetest.Quality("q-rep2", p.ID, "retry", at.Add(700*time.Millisecond), storetest.Check("rows", events.DimensionVolume, 9, 10))
		obs := storetest.Observed("q-obs", p.ID, "orders", at.Add(-90*time.Second), time.Minute, storetest.Check("volume", events.DimensionVolume, 11, 10))
		return []events.Event{storetest.Lifecycle("lc-pair", events.LifecycleRegistered, p, at.Add(-time.Hour)), rep, rep2, obs}
	})
	out, err = meshctl(t, "quality", "sales.pair", "--indexer", d2.url)
	want = `volume  (observed on orders >= 10, 1/1 passed; reported as rows >= 10, 1/2 passed)
  AT                   observed on orders  reported as rows
  2026-03-02 10:00:00  11                  12, 9 !
`
	if err != nil || out != want {
		t.Errorf("runs of one second: %v\n%s\nwant:\n%s", err, out, want)
	}

	out, err = run("quality", storetest.Orders, "-o", "json")
	var rep qualityReport
	if err != nil || json.Unmarshal([]byte(out), &rep) != nil {
		t.Fatalf("quality -o json: %v\n%s", err, out)
	}
	if len(rep.Checks) != 3 || rep.Checks[2].Group != "volume" || len(rep.Checks[2].Series) != 2 ||
		rep.Checks[2].Series[0].Origin != events.OriginObserved || rep.Checks[2].Series[0].Port != "orders" || len(rep.Checks[2].Series[0].Points) != 4 {
		t.Errorf("quality -o json: %+v", rep)
	}

	out, err = run("quality", storetest.Segments)
	if err != nil || out != storetest.Segments+" has no quality runs, reported or observed\n" {
		t.Errorf("a product without runs: %v %q", err, out)
	}
	if _, err := run("quality", "nope.nothing"); err == nil || !strings.Contains(err.Error(), "404") {
		t.Errorf("quality of an unknown product: %v, want a 404", err)
	}
	if _, err := run("quality"); err == nil || !strings.Contains(err.Error(), "accepts 1 arg") {
		t.Errorf("quality without a product: %v", err)
	}
}
