package main

// meshctl quality: a product's quality as its pipelines report it and as
// meshbone's monitor observes it on its ports, check by check, side by
// side (from the indexer's API).

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/meshbone/meshbone/internal/indexer"
	"github.com/meshbone/meshbone/internal/store"
)

// qualityCheck is one check of a product (what its series measure), with
// its observed and reported series.
type qualityCheck struct {
	Group     string              `json:"group"`
	Dimension string              `json:"dimension"`
	Column    string              `json:"column,omitempty"`
	Series    []store.CheckSeries `json:"series"` // observed first, then reported
}

// qualityReport is what meshctl quality prints.
type qualityReport struct {
	Product string         `json:"product"`
	Checks  []qualityCheck `json:"checks"`
}

func qualityCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "quality ID",
		Short: "show a product's observed and reported quality, check by check",
		Long: `Show the recent quality of a product, check by check: what meshbone's monitor
observed on its ports (one run per port and window) beside what the product's
pipelines reported. Series of one check (the same dimension and column) are
printed side by side, one row per second with a run; a failed check is
marked "!". A
series is named as on the product page: "observed on <port>" (with the
window length or the check's name when the port has several), "reported
as <check>".`,
		Example: `  meshctl quality sales.customer-orders
  meshctl quality sales.customer-orders -o json`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			p, err := g.indexer().Product(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			rep := qualityOf(p)
			if g.Output == "json" {
				return g.printJSON(rep)
			}
			if len(rep.Checks) == 0 {
				fmt.Fprintf(g.out, "%s has no quality runs, reported or observed\n", p.ID)
				return nil
			}
			for i, c := range rep.Checks {
				if i > 0 {
					fmt.Fprintln(g.out)
				}
				if err := g.printCheck(c); err != nil {
					return err
				}
			}
			return nil
		},
	}
}

// qualityOf groups a product's series by what they measure.
func qualityOf(p *store.Product) qualityReport {
	rep := qualityReport{Product: p.ID, Checks: []qualityCheck{}}
	for _, cs := range p.Quality.Checks {
		if n := len(rep.Checks); n > 0 && rep.Checks[n-1].Group == cs.Group {
			rep.Checks[n-1].Series = append(rep.Checks[n-1].Series, cs)
			continue
		}
		rep.Checks = append(rep.Checks, qualityCheck{Group: cs.Group, Dimension: cs.Dimension, Column: cs.Column, Series: []store.CheckSeries{cs}})
	}
	return rep
}

// printCheck prints one check: a heading with each series' latest
// objective, then one row per run time with each series' value.
func (g *globals) printCheck(c qualityCheck) error {
	var objectives []string
	header := []string{"  AT"}
	times := map[time.Time]bool{}
	for _, cs := range c.Series {
		label := indexer.SeriesLabel(cs, c.Series)
		header = append(header, label)
		if n := len(cs.Points); n > 0 {
			last := cs.Points[n-1]
			passed := 0
			for _, pt := range cs.Points {
				if pt.Passed {
					passed++
				}
				times[pt.At] = true
			}
			objectives = append(objectives, fmt.Sprintf("%s %s %s, %d/%d passed", label, last.Operator, measure(last.Threshold), passed, n))
		}
	}
	fmt.Fprintf(g.out, "%s  (%s)\n", c.Group, strings.Join(objectives, "; "))
	// One row per second: a window the monitor closed and the report that
	// made it close are usually the same second apart by milliseconds.
	order := make([]time.Time, 0, len(times))
	for t := range times {
		order = append(order, t.UTC().Truncate(time.Second))
	}
	slices.SortFunc(order, func(a, b time.Time) int { return a.Compare(b) })
	order = slices.Compact(order)
	rows := make([][]string, 0, len(order))
	for _, at := range order {
		row := []string{"  " + at.Format("2006-01-02 15:04:05")}
		for _, cs := range c.Series {
			var cell []string
			for _, pt := range cs.Points {
				if pt.At.UTC().Truncate(time.Second).Equal(at) {
					v := measure(pt.Observed)
					if !pt.Passed {
						v += " !"
					}
					cell = append(cell, v)
				}
			}
			if len(cell) == 0 {
				cell = []string{"-"}
			}
			row = append(row, strings.Join(cell, ", "))
		}
		rows = append(rows, row)
	}
	return g.table(header, rows)
}

// measure formats a measured value to six significant digits (a measured
// 0.93 may arrive as 0.9299999999999999).
func measure(v float64) string { return strconv.FormatFloat(v, 'g', 6, 64) }
