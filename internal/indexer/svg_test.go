package indexer

import (
	"strings"
	"testing"
	"time"

	"github.com/meshbone/meshbone/internal/store"
)

// Observed and reported series of one check share a chart and one time
// axis; other checks get their own.
func TestChartsOfObservedAndReported(t *testing.T) {
	t0 := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	pt := func(min int, v, thr float64) store.CheckPoint {
		return store.CheckPoint{At: t0.Add(time.Duration(min) * time.Minute), RunID: "r", Observed: v, Operator: ">=", Threshold: thr, Passed: v >= thr}
	}
	series := []store.CheckSeries{
		{Name: "orders.email.completeness", Dimension: "COMPLETENESS", Column: "email", Origin: "OBSERVED", Port: "orders", Group: "completeness of email",
			Points: []store.CheckPoint{pt(0, 0.995, 0.99)}},
		{Name: "orders.volume", Dimension: "VOLUME", Origin: "OBSERVED", Port: "orders", Group: "volume",
			Points: []store.CheckPoint{pt(0, 820, 800), pt(10, 700, 800)}},
		{Name: "row_count", Dimension: "VOLUME", Origin: "REPORTED", Group: "volume",
			Points: []store.CheckPoint{pt(5, 1000, 900), pt(20, 1300, 900)}},
	}
	charts := chartsOf(series)
	if len(charts) != 2 || charts[0].Name != "completeness of email" || charts[1].Name != "volume" {
		t.Fatalf("charts %+v, want completeness of email and volume", charts)
	}
	single := charts[0].Series
	if len(single) != 1 || !single[0].Single || single[0].Points[0].X != (padL+chartW-padR)/2 || single[0].Label != "observed on orders" {
		t.Errorf("a single observed run: %+v", single)
	}
	vol := charts[1]
	if len(vol.Series) != 2 || vol.Series[0].Origin != "observed" || vol.Series[1].Origin != "reported" || vol.Series[1].Label != "reported as row_count" {
		t.Fatalf("volume series %+v", vol.Series)
	}
	// One time axis from minute 0 to minute 20: the reported run of minute 5
	// is a quarter of the way, the observed run of minute 10 half way.
	plot := vol.PlotR - vol.PlotL
	if got := vol.Series[1].Points[0].X; got != vol.PlotL+plot/4 {
		t.Errorf("reported point at x %.1f, want %.1f", got, vol.PlotL+plot/4)
	}
	if got := vol.Series[0].Points[1].X; got != vol.PlotL+plot/2 {
		t.Errorf("observed point at x %.1f, want %.1f", got, vol.PlotL+plot/2)
	}
	if o := vol.Series[0]; o.Latest != "700" || o.LatestPassed || o.PassRate != "1/2 passed" || !strings.HasPrefix(o.Points[1].Title, "observed orders.volume · r · 700 >= 800 FAILED") {
		t.Errorf("observed series %+v", o)
	}
	// One y scale for both: the reported 1300 is above the observed 820.
	if vol.Series[1].Points[1].Y >= vol.Series[0].Points[0].Y {
		t.Errorf("1300 drawn at y %.1f, not above 820 at %.1f", vol.Series[1].Points[1].Y, vol.Series[0].Points[0].Y)
	}
	if vol.FirstAt != "Mar 2 09:00" || vol.LastAt != "Mar 2 09:20" || vol.ThresholdLabel != ">= 800" {
		t.Errorf("axis %s..%s threshold %s", vol.FirstAt, vol.LastAt, vol.ThresholdLabel)
	}
}

func TestSeriesLabel(t *testing.T) {
	obs := func(port, name, window string) store.CheckSeries {
		return store.CheckSeries{Name: name, Origin: "OBSERVED", Port: port, Window: window}
	}
	for _, group := range []struct {
		series []store.CheckSeries
		want   []string
	}{
		{[]store.CheckSeries{obs("orders", "volume", "1h0m0s"), obs("orders", "volume", "24h0m0s"), obs("returns", "volume", "1h0m0s"), {Name: "rows", Origin: "REPORTED"}},
			[]string{"observed on orders per 1h", "observed on orders per 24h", "observed on returns", "reported as rows"}},
		{[]store.CheckSeries{obs("orders", "validity:a > 0", "1h0m0s"), obs("orders", "validity:b > 0", "1h0m0s")},
			[]string{"observed on orders as validity:a > 0", "observed on orders as validity:b > 0"}},
	} {
		for i, cs := range group.series {
			if got := SeriesLabel(cs, group.series); got != group.want[i] {
				t.Errorf("label of %+v: %q, want %q", cs, got, group.want[i])
			}
		}
	}
}
