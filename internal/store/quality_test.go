package store_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/meshbone/meshbone/internal/store"
	"github.com/meshbone/meshbone/internal/store/storetest"
	"github.com/meshbone/meshbone/pkg/events"
)

// Observed runs keep their origin, port and window; the product's series
// are one per origin, port and check, grouped by what they measure so that
// observed and reported values of the same check sit side by side; each
// origin keeps its own newest runs.
func TestObservedQuality(t *testing.T) {
	s := open(t, store.Options{QualityRuns: 5})
	id := int32(ordersSchemaID)
	recs := records(append(storetest.Mesh(&id), storetest.ObservedOrders()...))
	if _, err := s.Apply(context.Background(), store.Batch{Records: recs, Schemas: map[int32]string{ordersSchemaID: storetest.OrdersSchema}}); err != nil {
		t.Fatal(err)
	}
	p, err := s.Product(context.Background(), storetest.Orders)
	if err != nil {
		t.Fatal(err)
	}
	// 4 observed and the newest 5 of 6 reported, newest first.
	var runs []string
	for _, r := range p.Quality.Runs {
		runs = append(runs, r.EventID+"/"+string(r.Origin)+"/"+r.Port)
	}
	// (observed-3 and q-orders-5 at the same minute: by event id, descending)
	want := "q-orders-observed-3/OBSERVED/orders,q-orders-5/REPORTED/,q-orders-4/REPORTED/,q-orders-observed-2/OBSERVED/orders,q-orders-3/REPORTED/," +
		"q-orders-observed-1/OBSERVED/orders,q-orders-2/REPORTED/,q-orders-1/REPORTED/,q-orders-observed-0/OBSERVED/orders"
	if got := strings.Join(runs, ","); got != want {
		t.Errorf("runs\n got %s\nwant %s", got, want)
	}
	obs := p.Quality.Runs[0]
	start := storetest.T0.Add(13*time.Minute + 3*90*time.Second)
	if obs.WindowStart == nil || !obs.WindowStart.Equal(start) || obs.WindowEnd == nil || !obs.WindowEnd.Equal(start.Add(time.Minute)) {
		t.Errorf("window %v-%v, want %v for a minute", obs.WindowStart, obs.WindowEnd, start)
	}
	if r := p.Quality.Runs[1]; r.WindowStart != nil || r.Port != "" || r.Origin != events.OriginReported {
		t.Errorf("a reported run: %+v", r)
	}
	var series []string
	for _, cs := range p.Quality.Checks {
		series = append(series, cs.Group+": "+string(cs.Origin)+" "+cs.Port+" "+cs.Name+" "+cs.Column)
		if cs.Origin == events.OriginObserved && cs.Window != "1m0s" {
			t.Errorf("observed series %s window %q, want 1m0s", cs.Name, cs.Window)
		}
		if cs.Name == "orders.volume" && (len(cs.Points) != 4 || cs.Points[3].Observed != 940 || cs.Points[0].RunID != "monitor-orders") {
			t.Errorf("observed volume points %+v", cs.Points)
		}
	}
	wantSeries := []string{
		"completeness: REPORTED  completeness ",
		"completeness of email: OBSERVED orders orders.email.completeness email",
		"volume: OBSERVED orders orders.volume ",
		"volume: REPORTED  row_count ",
	}
	if strings.Join(series, "\n") != strings.Join(wantSeries, "\n") {
		t.Errorf("series\n  %s\nwant\n  %s", strings.Join(series, "\n  "), strings.Join(wantSeries, "\n  "))
	}
}
