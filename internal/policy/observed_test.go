package policy

import (
	"reflect"
	"testing"
	"time"

	"github.com/meshbone/meshbone/pkg/events"
)

// portProduct is goodProduct with objectives on its port orders: a
// completeness of email, two validity rules (thresholds 0.999 and 0.9) and
// a volume, beside the reported completeness objective.
func portProduct() events.DataProduct {
	p := goodProduct()
	p.QualitySLOs = append(p.QualitySLOs,
		events.QualitySLO{Dimension: events.DimensionCompleteness, Operator: ">=", Threshold: 0.99, Port: ptr("orders"), Column: ptr("email"), Window: ptr("1h0m0s")},
		events.QualitySLO{Dimension: events.DimensionValidity, Operator: ">=", Threshold: 0.999, Port: ptr("orders"), Rule: ptr("amount >= 0.0"), Window: ptr("1h0m0s")},
		events.QualitySLO{Dimension: events.DimensionValidity, Operator: ">=", Threshold: 0.9, Port: ptr("orders"), Rule: ptr("size(currency) == 3"), Window: ptr("1h0m0s")},
		events.QualitySLO{Dimension: events.DimensionVolume, Operator: ">=", Threshold: 1000, Port: ptr("orders"), Window: ptr("1h0m0s")},
	)
	return p
}

// check is a check as the monitor writes it: the objective's dimension,
// column, operator and threshold, the observed value and passed.
func check(name string, dim events.QualityDimension, column string, observed float64, op string, threshold float64) events.QualityCheck {
	c := events.QualityCheck{Name: name, Dimension: dim, Observed: observed, Operator: op, Threshold: threshold, Passed: Compare(observed, op, threshold)}
	if column != "" {
		c.Column = ptr(column)
	}
	return c
}

// observed is an observed run of port over [t0-1h, t0), from the monitor.
func observed(p events.DataProduct, port string, checks ...events.QualityCheck) Input {
	in := quality(p, t0.Add(-time.Minute), checks...)
	q := in.Quality
	q.EventID, q.RunID = "obs-1", "monitor-"+port
	q.Origin, q.Port = ptr(events.OriginObserved), ptr(port)
	q.WindowStart, q.WindowEnd = ptr(t0.Add(-time.Hour)), ptr(t0)
	in.EventID = q.EventID
	in.CloudEvent.ID, in.CloudEvent.Source = q.EventID, "/services/monitor"
	in.Observations = Observe(nil, q)
	return in
}

func TestObservedRuns(t *testing.T) {
	s, err := Load(RootDirs("../../policies"))
	if err != nil {
		t.Fatal(err)
	}
	p := portProduct()
	good := []events.QualityCheck{
		check("orders.email.completeness", events.DimensionCompleteness, "email", 0.995, ">=", 0.99),
		check("orders.validity.1", events.DimensionValidity, "", 0.9995, ">=", 0.999),
		check("orders.validity.2", events.DimensionValidity, "", 0.95, ">=", 0.9),
		check("orders.volume", events.DimensionVolume, "", 1200, ">=", 1000),
	}
	bad := func(i int, v float64) []events.QualityCheck {
		out := append([]events.QualityCheck(nil), good...)
		c := out[i]
		out[i] = check(c.Name, c.Dimension, deref(c.Column), v, c.Operator, c.Threshold)
		return out
	}
	reportedAfter := func(obs []events.QualityCheck, port string, checks ...events.QualityCheck) Input {
		in := quality(p, t0.Add(-time.Minute), checks...)
		if port != "" {
			in.Quality.Port = ptr(port)
		}
		in.Observations = Observe(nil, observed(p, "orders", obs...).Quality)
		return in
	}
	reported := func(port string, checks ...events.QualityCheck) Input {
		return reportedAfter(good, port, checks...)
	}
	cases := map[string]scenario{
		"an observed run meeting its port's objectives": {in: observed(p, "orders", good...)},
		// Judged against the port objective (0.99), not the reported one (0.98).
		"quality-slo fires on an observed completeness below its port objective": {in: observed(p, "orders", bad(0, 0.985)...),
			fires: "quality-slo", contains: "run monitor-orders: checks below their SLO: orders.email.completeness (COMPLETENESS 0.985, SLO >= 0.99)"},
		// The second rule's check (threshold 0.9) is judged against its own
		// objective, not the first rule's 0.999.
		"each validity check is judged against its own rule's objective": {in: observed(p, "orders", bad(2, 0.91)...)},
		"quality-slo fires on a validity rule below its objective": {in: observed(p, "orders", bad(1, 0.99)...),
			fires: "quality-slo", contains: "orders.validity.1 (VALIDITY 0.99, SLO >= 0.999)"},
		"quality-slo fires on a low volume": {in: observed(p, "orders", bad(3, 999)...),
			fires: "quality-slo", contains: "orders.volume (VOLUME 999, SLO >= 1000)"},
		"freshness fires on an observed run's stale data": {in: func() Input {
			in := observed(p, "orders", good...)
			in.Watermark = t0.Add(-20 * time.Minute)
			return in
		}(), fires: "freshness", contains: "20m0s old"},
		"ownership fires on an observed run not from the monitor": {in: func() Input {
			in := observed(p, "orders", good...)
			in.CloudEvent.Source = events.DomainSource("sales")
			return in
		}(), fires: "ownership", contains: "came from /domains/sales, marked observed but not from meshbone's monitor /services/monitor"},
		// A reported run is judged against the objectives without a port.
		"a reported run is not judged against port objectives": {in: reported("", check("email-complete", events.DimensionCompleteness, "email", 0.985, ">=", 0.98))},
		"reported-vs-observed silent within the tolerance":     {in: reported("", check("email-complete", events.DimensionCompleteness, "email", 0.98, ">=", 0.98))},
		"reported-vs-observed fires beyond the tolerance": {in: reportedAfter(bad(0, 0.95), "", check("email-complete", events.DimensionCompleteness, "email", 0.999, ">=", 0.98)),
			fires: "reported-vs-observed", contains: "run run-7 reports values meshbone did not observe: email-complete (COMPLETENESS of email on port orders: reported 0.999, observed 0.95 in obs-1)"},
		"reported-vs-observed compares counts relatively": {in: reported("orders", check("rows", events.DimensionVolume, "", 1240, ">=", 0)),
			fires: "reported-vs-observed", contains: "rows (VOLUME on port orders: reported 1240, observed 1200 in obs-1)"},
		"reported-vs-observed silent on a count within 2%":                {in: reported("orders", check("rows", events.DimensionVolume, "", 1220, ">=", 0))},
		"reported-vs-observed compares no check observed on another port": {in: reported("returns", check("rows", events.DimensionVolume, "", 5, ">=", 0))},
		// Two validity checks observed on orders: a reported validity
		// check is compared with the one of its name, or with none.
		"reported-vs-observed picks the observation of the same name": {in: reported("", check("orders.validity.2", events.DimensionValidity, "", 0.5, ">=", 0)),
			fires: "reported-vs-observed", contains: "orders.validity.2 (VALIDITY on port orders: reported 0.5, observed 0.95 in obs-1)"},
		"reported-vs-observed compares an ambiguous check with nothing": {in: reported("", check("valid", events.DimensionValidity, "", 0.5, ">=", 0))},
	}
	judgeScenarios(t, s, cases)
}

// The CEL view of an observed run: origin, port, window; the stream keeps
// each port's runs apart, and a reported run has none.
func TestObservedRunVars(t *testing.T) {
	in := observed(portProduct(), "orders", check("c", events.DimensionVolume, "", 3, ">=", 1))
	v := NewVars(in)
	q := v.quality
	if q.Origin != "OBSERVED" || q.Port != "orders" || !q.WindowStart.Equal(t0.Add(-time.Hour)) || !q.WindowEnd.Equal(t0) || q.Checks[0].Port != "orders" {
		t.Errorf("quality %+v", q)
	}
	if v.Stream() != "observed/orders/1h0m0s" {
		t.Errorf("stream %q, want observed/orders/1h0m0s", v.Stream())
	}
	r := NewVars(quality(goodProduct(), t0))
	if r.quality.Origin != "REPORTED" || r.Stream() != "" {
		t.Errorf("reported run: origin %q stream %q, want REPORTED and none", r.quality.Origin, r.Stream())
	}
	slos := productOf(ptr(portProduct())).QualitySLOs
	if got := slos[1]; got.Port != "orders" || got.Column != "email" || got.Window != "1h0m0s" {
		t.Errorf("slo %+v", got)
	}
}

// Observe keeps the newest observed run of each port: a port's new run
// replaces all of its checks, other ports' stay, the order is fixed, and
// reported runs change nothing.
func TestObserve(t *testing.T) {
	p := portProduct()
	a := observed(p, "orders", check("v", events.DimensionVolume, "", 5, ">=", 1), check("e", events.DimensionCompleteness, "email", 1, ">=", 1)).Quality
	b := observed(p, "returns", check("v", events.DimensionVolume, "", 7, ">=", 1)).Quality
	b.EventID = "obs-2"
	c := observed(p, "orders", check("v", events.DimensionVolume, "", 9, ">=", 1)).Quality
	c.EventID = "obs-3"
	obs := Observe(Observe(nil, a), b)
	before := append([]Observation(nil), obs...)
	obs2 := Observe(obs, c)
	if !reflect.DeepEqual(obs, before) {
		t.Fatalf("Observe modified its input: %+v", obs)
	}
	want := []Observation{
		{Port: "orders", Window: "1h0m0s", Name: "v", Dimension: "VOLUME", Observed: 9, EventID: "obs-3"},
		{Port: "returns", Window: "1h0m0s", Name: "v", Dimension: "VOLUME", Observed: 7, EventID: "obs-2"},
	}
	if !reflect.DeepEqual(obs2, want) {
		t.Errorf("observations\n got %+v\nwant %+v", obs2, want)
	}
	// A day's window of orders is another series: the hour's stay.
	d := observed(p, "orders", check("v", events.DimensionVolume, "", 200, ">=", 1)).Quality
	d.EventID, d.WindowStart = "obs-4", ptr(t0.Add(-24*time.Hour))
	daily := Observe(obs2, d)
	if len(daily) != 3 || daily[0] != want[0] || daily[1].Window != "24h0m0s" || daily[1].Observed != 200 || daily[2] != want[1] {
		t.Errorf("after a day's window: %+v", daily)
	}
	if v := NewVars(Input{Trigger: TriggerQuality, Quality: d}); v.Stream() != "observed/orders/24h0m0s" {
		t.Errorf("a day's window on stream %q", v.Stream())
	}
	if got := Observe(obs2, quality(p, t0).Quality); !reflect.DeepEqual(got, want) {
		t.Errorf("a reported run changed the observations: %+v", got)
	}
}
