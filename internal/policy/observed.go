package policy

import (
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/meshbone/meshbone/pkg/events"
)

// This file holds what policies know of the monitor's observations: the
// newest observed value of each check of a product (the governor keeps them
// in each product's state, in the order of its partition of the quality
// topic) and how a reported run is compared with them.

// windowOf is the length of an observed run's window ("1h0m0s"), "" when
// it has none.
func windowOf(ev *events.QualityEvent) string {
	if ev.WindowStart == nil || ev.WindowEnd == nil {
		return ""
	}
	return ev.WindowEnd.Sub(*ev.WindowStart).String()
}

// Observe returns obs with the checks of the observed run ev in place of
// those of ev's port and window length: an observed run measures every
// objective of its port with that window, so their older observations go.
// obs is not modified (the result is a new slice when anything changes);
// it stays sorted by port, window, dimension, column and name. A run that
// is not observed, or names no port, changes nothing.
func Observe(obs []Observation, ev *events.QualityEvent) []Observation {
	if !ev.Observed() || ev.Port == nil {
		return obs
	}
	port, window := *ev.Port, windowOf(ev)
	out := make([]Observation, 0, len(obs)+len(ev.Checks))
	for _, o := range obs {
		if o.Port != port || o.Window != window {
			out = append(out, o)
		}
	}
	for _, c := range ev.Checks {
		out = append(out, Observation{Port: port, Window: window, Name: c.Name, Dimension: string(c.Dimension), Column: deref(c.Column), Observed: c.Observed, EventID: ev.EventID})
	}
	slices.SortStableFunc(out, func(a, b Observation) int {
		if c := strings.Compare(a.Port, b.Port); c != 0 {
			return c
		}
		if c := strings.Compare(a.Window, b.Window); c != 0 {
			return c
		}
		if c := strings.Compare(a.Dimension, b.Dimension); c != 0 {
			return c
		}
		if c := strings.Compare(a.Column, b.Column); c != 0 {
			return c
		}
		return strings.Compare(a.Name, b.Name)
	})
	return out
}

// ObservedFor returns the observation a reported check of a run on port
// (the run's port, "" when it names none) is compared with: the one of the
// same dimension and column, and of the same port when the run names one;
// when several are left, the one of the same name. None or several left:
// false (nothing is compared).
func ObservedFor(c *QualityCheck, port string, obs []Observation) (Observation, bool) {
	var found Observation
	n, named := 0, 0
	var byName Observation
	for _, o := range obs {
		if o.Dimension != c.Dimension || o.Column != c.Column || (port != "" && o.Port != port) {
			continue
		}
		n++
		found = o
		if o.Name == c.Name {
			named++
			byName = o
		}
	}
	switch {
	case n == 1:
		return found, true
	case named == 1:
		return byName, true
	}
	return Observation{}, false
}

// Differs reports whether a reported value is further from the observed
// one than tolerance allows: |reported - observed| > tolerance *
// max(1, |observed|), an absolute tolerance for ratios (in [0, 1]) and a
// relative one for counts (volume).
func Differs(reported, observed, tolerance float64) bool {
	return math.Abs(reported-observed) > tolerance*math.Max(1, math.Abs(observed))
}

// ObservedDifferences describes each check of the reported run q whose
// value Differs from the newest observation of the same check (ObservedFor)
// by more than tolerance; an observed run has none.
func ObservedDifferences(q *Quality, obs []Observation, tolerance float64) []string {
	out := []string{}
	if q.Origin == string(events.OriginObserved) {
		return out
	}
	for i := range q.Checks {
		c := &q.Checks[i]
		o, ok := ObservedFor(c, q.Port, obs)
		if !ok || !Differs(c.Observed, o.Observed, tolerance) {
			continue
		}
		what := c.Dimension
		if c.Column != "" {
			what += " of " + c.Column
		}
		// Six significant digits: a measured 0.93 may arrive as 0.9299999999999999.
		out = append(out, fmt.Sprintf("%s (%s on port %s: reported %.6g, observed %.6g in %s)", c.Name, what, o.Port, c.Observed, o.Observed, o.EventID))
	}
	return out
}
