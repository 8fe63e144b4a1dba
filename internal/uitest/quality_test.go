package uitest

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/meshbone/meshbone/internal/store/storetest"
)

// chartSeries is what TestQualityChartInBrowser reads off one chart: its
// series (observed or reported) with their points, and the legend.
type chartSeries struct {
	Origin string   `json:"origin"`
	Points int      `json:"points"`
	Failed int      `json:"failed"`
	Line   bool     `json:"line"`
	Titles []string `json:"titles"`
}

type chartRead struct {
	Group  string        `json:"group"`
	Series []chartSeries `json:"series"`
	Legend []string      `json:"legend"`
	Width  float64       `json:"width"`
}

// TestQualityChartInBrowser opens customer-orders, which its pipeline
// reports on and meshbone's monitor observes (storetest.ObservedOrders),
// and checks that each check's observed and reported values are drawn in
// one chart: the volume chart holds both series on one time axis, the
// completeness of email chart the observed series with its failed last
// window, the reported completeness a chart of its own.
func TestQualityChartInBrowser(t *testing.T) {
	base, ctx, problems := setUp(t)
	if err := chromedp.Do(ctx,
		chromedp.Navigate(base+"/products/"+storetest.Orders),
		chromedp.WaitVisible(chromedp.CSS(`#quality figure.chart`)),
	); err != nil {
		t.Fatalf("product page: %v", err)
	}
	charts, err := chromedp.Run(ctx, chromedp.Evaluate[[]chartRead](`Array.from(document.querySelectorAll('#quality figure.chart')).map(f => ({
		group: f.dataset.group,
		width: f.getBoundingClientRect().width,
		legend: Array.from(f.querySelectorAll('.chart-legend li')).map(li => li.textContent.replace(/\s+/g, ' ').trim()),
		series: Array.from(f.querySelectorAll('g.series-group')).map(g => ({
			origin: g.classList.contains('observed') ? 'observed' : g.classList.contains('reported') ? 'reported' : '?',
			points: g.querySelectorAll('circle.pt').length,
			failed: g.querySelectorAll('circle.pt.fail').length,
			line: g.querySelector('polyline.series') !== null,
			titles: Array.from(g.querySelectorAll('circle.pt title')).map(t => t.textContent),
		})),
	}))`))
	if err != nil {
		t.Fatal(err)
	}
	byGroup := map[string]chartRead{}
	var groups []string
	for _, c := range charts {
		byGroup[c.Group] = c
		groups = append(groups, c.Group)
		if c.Width < 200 {
			t.Errorf("chart %s is %.0f px wide", c.Group, c.Width)
		}
	}
	if strings.Join(groups, ",") != "completeness,completeness of email,volume" {
		t.Fatalf("charts %v, want completeness, completeness of email, volume", groups)
	}

	vol := byGroup["volume"]
	if len(vol.Series) != 2 || vol.Series[0].Origin != "observed" || vol.Series[1].Origin != "reported" {
		t.Fatalf("volume series %+v, want observed then reported", vol.Series)
	}
	if o, r := vol.Series[0], vol.Series[1]; o.Points != 4 || !o.Line || r.Points != 6 || !r.Line || o.Failed != 0 || r.Failed != 0 {
		t.Errorf("volume: observed %+v, reported %+v; want 4 and 6 points, lines, none failed", o, r)
	}
	if len(vol.Legend) != 2 || !strings.HasPrefix(vol.Legend[0], "observed on orders 4/4 passed 940") || !strings.HasPrefix(vol.Legend[1], "reported as row_count 6/6 passed 1750") {
		t.Errorf("volume legend %q", vol.Legend)
	}
	if tt := vol.Series[0].Titles; len(tt) != 4 || !strings.HasPrefix(tt[0], "observed orders.volume · monitor-orders · 820 >= 800 passed") {
		t.Errorf("observed point titles %q", tt)
	}

	email := byGroup["completeness of email"]
	if len(email.Series) != 1 || email.Series[0].Origin != "observed" || email.Series[0].Points != 4 || email.Series[0].Failed != 1 {
		t.Errorf("completeness of email %+v, want the observed series with one failed window", email.Series)
	}
	if len(email.Legend) != 1 || !strings.Contains(email.Legend[0], "3/4 passed 0.97") {
		t.Errorf("completeness of email legend %q", email.Legend)
	}
	rep := byGroup["completeness"]
	if len(rep.Series) != 1 || rep.Series[0].Origin != "reported" || rep.Series[0].Points != 6 || rep.Series[0].Failed != 2 {
		t.Errorf("completeness %+v, want the reported series with two failed runs", rep.Series)
	}

	// The reported line is drawn dashed, the observed one solid.
	dashes, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`Array.from(document.querySelectorAll('#quality figure.chart[data-group="volume"] polyline.series')).map(p => getComputedStyle(p).strokeDasharray)`))
	if err != nil || len(dashes) != 2 || dashes[0] != "none" || dashes[1] == "none" {
		t.Errorf("volume lines' dashes %q (%v), want observed solid and reported dashed", dashes, err)
	}
	screenshot(t, ctx, "marketplace-quality.png")
	if p := problems(); len(p) > 0 {
		t.Errorf("the page reported errors: %v", p)
	}
}
