package storetest

import (
	"fmt"
	"time"

	"github.com/meshbone/meshbone/pkg/events"
)

// Observed returns a quality run as meshbone's monitor publishes it: one
// port's event-time window [start, start+window), published 30 seconds
// after it closed, its watermark the newest event time in it.
func Observed(id, productID, port string, start time.Time, window time.Duration, checks ...events.QualityCheck) *events.QualityEvent {
	end := start.Add(window)
	wm := end.Add(-time.Second)
	origin := events.OriginObserved
	return &events.QualityEvent{
		EventID: id, ProductID: productID, ProductVersion: "1.0.0", RunID: "monitor-" + port, ObservedAt: end.Add(30 * time.Second),
		DataWatermark: &wm, Checks: checks, Origin: &origin, Port: &port, WindowStart: &start, WindowEnd: &end,
	}
}

// ObservedOrders returns four observed one-minute windows of Orders' port
// orders, published between the example mesh's reported runs of Orders
// (T0+14m to T0+19m): a volume (the dimension of its reported row_count)
// lower than the pipeline reports, and the completeness of email, the last
// window below its objective.
func ObservedOrders() []events.Event {
	start := T0.Add(13 * time.Minute)
	var out []events.Event
	for i, email := range []float64{0.998, 0.995, 0.993, 0.97} {
		volume := Check("orders.volume", events.DimensionVolume, 820+float64(i*40), 800)
		complete := Check("orders.email.completeness", events.DimensionCompleteness, email, 0.99)
		col := "email"
		complete.Column = &col
		out = append(out, Observed(fmt.Sprintf("q-orders-observed-%d", i), Orders, "orders", start.Add(time.Duration(i)*90*time.Second), time.Minute, volume, complete))
	}
	return out
}
