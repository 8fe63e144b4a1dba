package indexer

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/meshbone/meshbone/internal/store"
)

// Geometry of the lineage drawing.
const (
	nodeW, nodeH   = 200.0, 52.0
	gapX, gapY     = 72.0, 18.0
	lineageMargin  = 16.0
	maxNodeNameLen = 24
)

// lineageView is a lineage graph laid out in layers: upstream columns on
// the left, the root in the middle, downstream on the right.
type lineageView struct {
	Width, Height float64
	Nodes         []nodeView
	Edges         []edgeView
	Truncated     bool
	Empty         bool // the root alone
}

type nodeView struct {
	store.Node
	X, Y       float64
	Label      string // name, shortened to fit
	Root       bool
	Link       string
	Compliance string // lower-case, for CSS classes
	State      string
}

type edgeView struct {
	Path  string
	Back  bool // an edge against the flow (a cycle)
	Title string
}

func layoutLineage(g *store.Graph) lineageView {
	v := lineageView{Truncated: g.Truncated, Empty: len(g.Nodes) <= 1}
	if len(g.Nodes) == 0 {
		return v
	}
	cols := map[int][]store.Node{}
	minL, maxL := 0, 0
	for _, n := range g.Nodes {
		cols[n.Level] = append(cols[n.Level], n)
		minL, maxL = min(minL, n.Level), max(maxL, n.Level)
	}
	rows := 0
	for _, c := range cols {
		rows = max(rows, len(c))
	}
	v.Width = float64(maxL-minL+1)*(nodeW+gapX) - gapX + 2*lineageMargin
	v.Height = float64(rows)*(nodeH+gapY) - gapY + 2*lineageMargin
	pos := map[string]nodeView{}
	for l := minL; l <= maxL; l++ {
		c := cols[l]
		slices.SortFunc(c, func(a, b store.Node) int { return strings.Compare(a.ID, b.ID) })
		colH := float64(len(c))*(nodeH+gapY) - gapY
		y0 := (v.Height - colH) / 2
		for i, n := range c {
			nv := nodeView{
				Node:       n,
				X:          lineageMargin + float64(l-minL)*(nodeW+gapX),
				Y:          y0 + float64(i)*(nodeH+gapY),
				Label:      shorten(n.Name, maxNodeNameLen),
				Root:       n.ID == g.Root,
				Compliance: strings.ToLower(strings.ReplaceAll(n.Compliance, "_", "-")),
				State:      strings.ToLower(n.State),
			}
			if n.Known {
				nv.Link = "/products/" + n.ID
			}
			pos[n.ID] = nv
			v.Nodes = append(v.Nodes, nv)
		}
	}
	for _, e := range g.Edges {
		a, okA := pos[e.From]
		b, okB := pos[e.To]
		if !okA || !okB {
			continue
		}
		ev := edgeView{Title: e.From + " → " + e.To}
		x1, y1 := a.X+nodeW, a.Y+nodeH/2
		x2, y2 := b.X, b.Y+nodeH/2
		if a.Level < b.Level {
			dx := (x2 - x1) / 2
			ev.Path = fmt.Sprintf("M%.1f %.1f C%.1f %.1f %.1f %.1f %.1f %.1f", x1, y1, x1+dx, y1, x2-dx, y2, x2, y2)
		} else {
			// Against the flow (a cycle): leave from the bottom of the
			// upstream node and loop round to the bottom of the other.
			ev.Back = true
			x1, y1 = a.X+nodeW/2, a.Y+nodeH
			x2, y2 = b.X+nodeW/2, b.Y+nodeH
			drop := gapY + 10
			ev.Path = fmt.Sprintf("M%.1f %.1f C%.1f %.1f %.1f %.1f %.1f %.1f", x1, y1, x1, y1+drop*2, x2, y2+drop*2, x2, y2)
			v.Height = math.Max(v.Height, math.Max(y1, y2)+drop*2)
		}
		v.Edges = append(v.Edges, ev)
	}
	return v
}

func shorten(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}

// Geometry of a quality chart.
const (
	chartW, chartH = 340.0, 130.0
	padL, padR     = 44.0, 12.0
	padT, padB     = 12.0, 22.0
)

// chartView is the trend of one check (one group of series: what they
// measure, store.CheckSeries.Group), observed and reported side by side:
// each series a line over time (observed solid, reported dashed), its
// threshold dotted, each run a dot (red when it failed).
type chartView struct {
	Name, Dimension string
	Width, Height   float64
	Series          []seriesView
	YTop, YBottom   string // axis labels
	PlotL, PlotR    float64
	PlotT, PlotB    float64
	FirstAt, LastAt string
	ThresholdLabel  string
	ThresholdLabelY float64
}

// seriesView is one series of a chart.
type seriesView struct {
	Origin          string // "observed" or "reported", for CSS classes
	Label           string // "observed on orders", "reported as row_count"
	Line, Threshold string // polyline points
	Points          []chartPoint
	Latest          string
	LatestPassed    bool
	PassRate        string
	Single          bool
}

type chartPoint struct {
	X, Y   float64
	Passed bool
	Title  string
}

// SeriesLabel names a series among the others of its group: "reported as
// <check>", "observed on <port>", followed, when the port has other
// observed series in the group, by " per <window>" (another window length)
// or " as <check>" (another check of the same windows, e.g. a second
// validity rule).
func SeriesLabel(cs store.CheckSeries, group []store.CheckSeries) string {
	if cs.Origin != "OBSERVED" {
		return "reported as " + cs.Name
	}
	label := "observed on " + cs.Port
	otherWindow, sameWindow := false, false
	for _, o := range group {
		if o.Origin != cs.Origin || o.Port != cs.Port || (o.Window == cs.Window && o.Name == cs.Name) {
			continue
		}
		otherWindow = otherWindow || o.Window != cs.Window
		sameWindow = sameWindow || o.Window == cs.Window
	}
	if otherWindow {
		label += " per " + humanDuration(cs.Window)
	}
	if sameWindow {
		label += " as " + cs.Name
	}
	return label
}

// chartsOf groups series by what they measure, in the order given (the
// store's: by group, observed first), one chart per group.
func chartsOf(series []store.CheckSeries) []chartView {
	var out []chartView
	for i := 0; i < len(series); {
		j := i + 1
		for j < len(series) && series[j].Group == series[i].Group {
			j++
		}
		out = append(out, chartOf(series[i:j]))
		i = j
	}
	return out
}

// chartOf draws the series of one group on one time axis.
func chartOf(group []store.CheckSeries) chartView {
	c := chartView{Name: group[0].Group, Dimension: strings.ToLower(group[0].Dimension), Width: chartW, Height: chartH,
		PlotL: padL, PlotR: chartW - padR, PlotT: padT, PlotB: chartH - padB}
	if group[0].Group == "" { // a series from before groups: its name
		c.Name = group[0].Name
	}
	lo, hi := math.Inf(1), math.Inf(-1)
	var first, last time.Time
	for _, cs := range group {
		for _, p := range cs.Points {
			lo, hi = math.Min(lo, math.Min(p.Observed, p.Threshold)), math.Max(hi, math.Max(p.Observed, p.Threshold))
			if first.IsZero() || p.At.Before(first) {
				first = p.At
			}
			if p.At.After(last) {
				last = p.At
			}
		}
	}
	if first.IsZero() {
		return c
	}
	if hi-lo < 1e-9 {
		pad := math.Max(math.Abs(hi)*0.05, 0.01)
		lo, hi = lo-pad, hi+pad
	} else {
		pad := (hi - lo) * 0.12
		lo, hi = lo-pad, hi+pad
	}
	span := last.Sub(first)
	x := func(t time.Time) float64 {
		if span <= 0 {
			return (c.PlotL + c.PlotR) / 2
		}
		return c.PlotL + float64(t.Sub(first))/float64(span)*(c.PlotR-c.PlotL)
	}
	y := func(v float64) float64 { return c.PlotB - (v-lo)/(hi-lo)*(c.PlotB-c.PlotT) }
	for _, cs := range group {
		if len(cs.Points) == 0 {
			continue
		}
		sv := seriesView{Origin: "reported", Label: SeriesLabel(cs, group), Single: len(cs.Points) == 1}
		if cs.Origin == "OBSERVED" {
			sv.Origin = "observed"
		}
		passed := 0
		var line, thr []string
		for _, p := range cs.Points {
			px, py := x(p.At), y(p.Observed)
			line = append(line, fmt.Sprintf("%.1f,%.1f", px, py))
			thr = append(thr, fmt.Sprintf("%.1f,%.1f", px, y(p.Threshold)))
			status := "passed"
			if p.Passed {
				passed++
			} else {
				status = "FAILED"
			}
			sv.Points = append(sv.Points, chartPoint{X: px, Y: py, Passed: p.Passed,
				Title: fmt.Sprintf("%s %s · %s · %s %s %s %s · %s", sv.Origin, cs.Name, p.RunID, num(p.Observed), p.Operator, num(p.Threshold), status, p.At.Format("2006-01-02 15:04"))})
		}
		lp := cs.Points[len(cs.Points)-1]
		if sv.Single || span <= 0 {
			// Draw the threshold across the plot for a single run.
			ty := y(lp.Threshold)
			thr = []string{fmt.Sprintf("%.1f,%.1f", c.PlotL, ty), fmt.Sprintf("%.1f,%.1f", c.PlotR, ty)}
		}
		sv.Line, sv.Threshold = strings.Join(line, " "), strings.Join(thr, " ")
		sv.Latest, sv.LatestPassed = num(lp.Observed), lp.Passed
		sv.PassRate = fmt.Sprintf("%d/%d passed", passed, len(cs.Points))
		if c.ThresholdLabel == "" {
			c.ThresholdLabel = lp.Operator + " " + num(lp.Threshold)
			c.ThresholdLabelY = y(lp.Threshold)
		}
		c.Series = append(c.Series, sv)
	}
	c.YTop, c.YBottom = num(hi), num(lo)
	c.FirstAt, c.LastAt = first.Format("Jan 2 15:04"), last.Format("Jan 2 15:04")
	return c
}

// num formats a measurement compactly: 0.9312 -> 0.931, 1150 -> 1150,
// 1234567 -> 1.23M.
func num(v float64) string {
	a := math.Abs(v)
	switch {
	case a >= 1e6:
		return strconv.FormatFloat(v/1e6, 'f', 2, 64) + "M"
	case a >= 1e4:
		return strconv.FormatFloat(v/1e3, 'f', 1, 64) + "k"
	case a == math.Trunc(a):
		return strconv.FormatFloat(v, 'f', 0, 64)
	case a >= 100:
		return strconv.FormatFloat(v, 'f', 1, 64)
	}
	return strconv.FormatFloat(v, 'g', 3, 64)
}

// ago renders a time relative to now, for humans.
func ago(t time.Time, now time.Time) string {
	d := now.Sub(t)
	switch {
	case d < 0:
		return t.Format("2006-01-02 15:04")
	case d < time.Minute:
		return "just now"
	case d < time.Hour:
		return fmt.Sprintf("%d min ago", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%d h ago", int(d.Hours()))
	case d < 60*24*time.Hour:
		return fmt.Sprintf("%d days ago", int(d.Hours()/24))
	}
	return t.Format("2006-01-02")
}
