package governor

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/meshbone/meshbone/internal/policy"
	"github.com/meshbone/meshbone/pkg/events"
)

// monitored is goodProduct with objectives on two ports: completeness of
// email and a volume on orders, a volume on returns.
func monitored(domain, name string) events.DataProduct {
	p := goodProduct(domain, name)
	p.SLA.Freshness = ptr("6h")
	for _, port := range []string{"orders", "returns"} {
		p.OutputPorts = append(p.OutputPorts, events.OutputPort{Name: port, Topic: p.ID + "." + port + ".v1", SchemaSubject: p.ID + "." + port + ".v1-value", Format: "avro", Fields: []string{"email"}})
	}
	p.QualitySLOs = append(p.QualitySLOs,
		events.QualitySLO{Dimension: events.DimensionCompleteness, Operator: ">=", Threshold: 0.99, Port: ptr("orders"), Column: ptr("email"), Window: ptr("1h0m0s")},
		events.QualitySLO{Dimension: events.DimensionVolume, Operator: ">=", Threshold: 100, Port: ptr("orders"), Window: ptr("1h0m0s")},
		events.QualitySLO{Dimension: events.DimensionVolume, Operator: ">=", Threshold: 10, Port: ptr("returns"), Window: ptr("1h0m0s")},
	)
	return p
}

// observedRun is a QualityEvent as the monitor publishes it: one port, one
// window [start, start+1h), data_watermark the newest event time in it, one
// check per objective of the port (its dimension, column, operator and
// threshold).
func observedRun(product, port string, start time.Time, email, volume float64) *events.QualityEvent {
	end := start.Add(time.Hour)
	newest := end.Add(-time.Second)
	ev := &events.QualityEvent{
		EventID: fmt.Sprintf("obs-%s-%s-%d", product, port, start.Unix()), ProductID: product, ProductVersion: "1.0.0",
		RunID: "monitor-" + port, ObservedAt: end, DataWatermark: &newest,
		Origin: ptr(events.OriginObserved), Port: ptr(port), WindowStart: &start, WindowEnd: &end,
	}
	if port == "orders" {
		ev.Checks = append(ev.Checks, events.QualityCheck{Name: port + ".email.completeness", Dimension: events.DimensionCompleteness, Column: ptr("email"),
			Observed: email, Operator: ">=", Threshold: 0.99, Passed: email >= 0.99})
	}
	threshold := map[string]float64{"orders": 100, "returns": 10}[port]
	ev.Checks = append(ev.Checks, events.QualityCheck{Name: port + ".volume", Dimension: events.DimensionVolume,
		Observed: volume, Operator: ">=", Threshold: threshold, Passed: volume >= threshold})
	return ev
}

// reportedRun is a run the product's pipeline reports: completeness of
// email (judged against the reported objective, 0.98).
func reportedRun(id, product string, email float64) *events.QualityEvent {
	ev := qualityEvent(id, product, t0, email)
	ev.Checks[0].Column = ptr("email")
	return ev
}

var monitorCE = events.CloudEvent{Source: "/services/monitor"}

// judgeOne judges one event in a batch of its own and returns the batch's
// violations.
func judgeOne(e *Engine, it Item) []*events.PolicyViolation {
	b := e.Begin(t0)
	b.Judge([]Item{it})
	b.Changed()
	b.Commit()
	return b.Violations
}

// summary lists violations as "<status> <policy> <message>".
func summary(vs []*events.PolicyViolation) []string {
	out := []string{}
	for _, v := range vs {
		out = append(out, fmt.Sprintf("%s %s %s", v.Status, v.PolicyID, v.Message))
	}
	return out
}

func wantViolations(t *testing.T, step string, got []*events.PolicyViolation, want ...string) {
	t.Helper()
	s := summary(got)
	if len(s) != len(want) {
		t.Fatalf("%s: violations\n  %s\nwant\n  %s", step, strings.Join(s, "\n  "), strings.Join(want, "\n  "))
	}
	for i := range s {
		if !strings.HasPrefix(s[i], want[i]) {
			t.Fatalf("%s: violations\n  %s\nwant\n  %s", step, strings.Join(s, "\n  "), strings.Join(want, "\n  "))
		}
	}
}

// Observed runs raise and resolve quality-slo violations per port: a
// window below a port's objective opens one, the port's next good window
// resolves it, and neither a reported run nor another port's window
// touches it.
func TestObservedRunsRaiseAndResolve(t *testing.T) {
	e := NewEngine(defaultSet(t))
	p := monitored("sales", "orders")
	src := Source{Topic: "q", Partition: 0}
	judgeOne(e, Item{Lifecycle: lifecycleEvent("l1", events.LifecycleRegistered, p), CE: events.CloudEvent{Source: events.DomainSource("sales")}})
	w := t0.Add(-2 * time.Hour)

	got := judgeOne(e, Item{Quality: observedRun(p.ID, "orders", w, 0.95, 120), CE: monitorCE, Src: src})
	wantViolations(t, "a window below the port's completeness", got,
		"OPEN quality-slo sales.orders run monitor-orders: checks below their SLO: orders.email.completeness (COMPLETENESS 0.95, SLO >= 0.99)")
	opened := got[0].ViolationID
	if ps, _ := e.Product(p.ID); ps.Open["quality-slo@data/observed/orders/1h0m0s"] == nil {
		t.Fatalf("open slots %v, want quality-slo@data/observed/orders/1h0m0s", slices.Sorted(mapsKeys(ps.Open)))
	}

	got = judgeOne(e, Item{Quality: observedRun(p.ID, "returns", w, 0, 50), CE: monitorCE, Src: src})
	wantViolations(t, "another port's good window", got)
	got = judgeOne(e, Item{Quality: reportedRun("r1", p.ID, 0.96), CE: events.CloudEvent{Source: events.DomainSource("sales")}, Src: src})
	wantViolations(t, "a reported run (0.96 against observed 0.95, the reported objective 0.98)", got,
		"OPEN quality-slo sales.orders run run-r1: checks below their SLO: complete (COMPLETENESS 0.96, SLO >= 0.98)")

	got = judgeOne(e, Item{Quality: observedRun(p.ID, "returns", w.Add(time.Hour), 0, 3), CE: monitorCE, Src: src})
	wantViolations(t, "a low volume on returns", got,
		"OPEN quality-slo sales.orders run monitor-returns: checks below their SLO: returns.volume (VOLUME 3, SLO >= 10)")

	got = judgeOne(e, Item{Quality: observedRun(p.ID, "orders", w.Add(time.Hour), 0.995, 120), CE: monitorCE, Src: src})
	wantViolations(t, "the orders port's next good window", got, "RESOLVED quality-slo sales.orders run monitor-orders")
	if got[0].ViolationID != opened || got[0].Evidence["resolution"] != "policy pass" {
		t.Errorf("resolved %s (%s), want %s by a pass", got[0].ViolationID, got[0].Evidence["resolution"], opened)
	}
	ps, _ := e.Product(p.ID)
	if keys := slices.Sorted(mapsKeys(ps.Open)); strings.Join(keys, ",") != "quality-slo@data,quality-slo@data/observed/returns/1h0m0s" {
		t.Errorf("open slots %v, want the reported run's and returns'", keys)
	}
}

// Freshness judges the watermark of observed runs: a stale window raises
// it, a window with fresh data resolves it.
func TestObservedFreshness(t *testing.T) {
	e := NewEngine(defaultSet(t))
	p := monitored("sales", "orders")
	p.SLA.Freshness = ptr("15m")
	judgeOne(e, Item{Lifecycle: lifecycleEvent("l1", events.LifecycleRegistered, p), CE: events.CloudEvent{Source: events.DomainSource("sales")}})
	got := judgeOne(e, Item{Quality: observedRun(p.ID, "orders", t0.Add(-3*time.Hour), 1, 500), CE: monitorCE})
	wantViolations(t, "a window two hours old", got, "OPEN freshness sales.orders's newest data is from 2026-03-01T09:59:59Z, 2h0m1s old")
	got = judgeOne(e, Item{Quality: observedRun(p.ID, "returns", t0.Add(-time.Hour), 0, 50), CE: monitorCE})
	wantViolations(t, "another port's fresh window", got, "RESOLVED freshness")
}

// A run marked observed that does not come from the monitor breaks
// ownership.
func TestObservedRunFromADomainBreaksOwnership(t *testing.T) {
	e := NewEngine(defaultSet(t))
	p := monitored("sales", "orders")
	judgeOne(e, Item{Lifecycle: lifecycleEvent("l1", events.LifecycleRegistered, p), CE: events.CloudEvent{Source: events.DomainSource("sales")}})
	got := judgeOne(e, Item{Quality: observedRun(p.ID, "orders", t0.Add(-2*time.Hour), 1, 500), CE: events.CloudEvent{Source: events.DomainSource("sales")}})
	wantViolations(t, "an observed run from /domains/sales", got,
		"OPEN ownership QUALITY event obs-sales.orders-orders-")
	if !strings.Contains(got[0].Message, "marked observed but not from meshbone's monitor") {
		t.Errorf("message %q", got[0].Message)
	}
}

// reported-vs-observed: a reported value beyond the tolerance of the
// newest observed one opens a violation, a reported run that agrees
// resolves it; newest is newest in the log.
func TestReportedVersusObserved(t *testing.T) {
	e := NewEngine(defaultSet(t))
	p := monitored("sales", "orders")
	domain := events.CloudEvent{Source: events.DomainSource("sales")}
	judgeOne(e, Item{Lifecycle: lifecycleEvent("l1", events.LifecycleRegistered, p), CE: domain})
	w := t0.Add(-3 * time.Hour)

	got := judgeOne(e, Item{Quality: reportedRun("r0", p.ID, 0.999), CE: domain})
	wantViolations(t, "a reported run before any observation", got)

	judgeOne(e, Item{Quality: observedRun(p.ID, "orders", w, 0.95, 120), CE: monitorCE})
	got = judgeOne(e, Item{Quality: reportedRun("r1", p.ID, 0.999), CE: domain})
	wantViolations(t, "0.999 reported after 0.95 observed", got,
		"OPEN reported-vs-observed sales.orders run run-r1 reports values meshbone did not observe: complete (COMPLETENESS of email on port orders: reported 0.999, observed 0.95 in obs-sales.orders-orders-")

	// The monitor now sees 0.985: the same report is within 0.02 of it,
	// but the violation stays open until a reported run says so.
	judgeOne(e, Item{Quality: observedRun(p.ID, "orders", w.Add(time.Hour), 0.985, 120), CE: monitorCE})
	if ps, _ := e.Product(p.ID); ps.Open["reported-vs-observed@data"] == nil {
		t.Fatal("an observed run resolved reported-vs-observed")
	}
	got = judgeOne(e, Item{Quality: reportedRun("r2", p.ID, 0.999), CE: domain})
	wantViolations(t, "0.999 reported after 0.985 observed", got, "RESOLVED reported-vs-observed")

	ps, _ := e.Product(p.ID)
	want := []policy.Observation{
		{Port: "orders", Window: "1h0m0s", Name: "orders.email.completeness", Dimension: "COMPLETENESS", Column: "email", Observed: 0.985, EventID: fmt.Sprintf("obs-sales.orders-orders-%d", w.Add(time.Hour).Unix())},
		{Port: "orders", Window: "1h0m0s", Name: "orders.volume", Dimension: "VOLUME", Observed: 120, EventID: fmt.Sprintf("obs-sales.orders-orders-%d", w.Add(time.Hour).Unix())},
	}
	if !slices.Equal(ps.Observed, want) {
		t.Errorf("observed\n got %+v\nwant %+v", ps.Observed, want)
	}
}

// The observations survive the state topic: encoded as encoding/json
// would, read back equal, and a batch that only changes them is written.
func TestObservationsInState(t *testing.T) {
	e := NewEngine(defaultSet(t))
	p := monitored("sales", "orders")
	judgeOne(e, Item{Lifecycle: lifecycleEvent("l1", events.LifecycleRegistered, p), CE: events.CloudEvent{Source: events.DomainSource("sales")}})
	b := e.Begin(t0)
	b.Quality(observedRun(p.ID, "orders", t0.Add(-2*time.Hour), 0.995, 120), monitorCE, Source{})
	ch := b.Changed()
	if len(ch) != 1 || !ch[0].Volatile {
		t.Fatalf("changes %+v, want the product's volatile state", ch)
	}
	b.Commit()
	ps, _ := e.Product(p.ID)
	sameAsJSON(t, ps)
	got, err := encodeVolatile(ps)
	if err != nil {
		t.Fatal(err)
	}
	var back ProductState
	if err := json.Unmarshal(got, &back); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(back.Observed, ps.Observed) || len(back.Observed) != 2 {
		t.Errorf("read back %+v, want %+v", back.Observed, ps.Observed)
	}
}

func mapsKeys[V any](m map[string]V) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

// The governor service judges observed runs read from Kafka: a window
// below its port's objective opens quality-slo, a report the monitor did
// not see opens reported-vs-observed, and the next good window and an
// agreeing report resolve them, back to COMPLIANT. The governor is
// restarted between the observed window and the report: what it observed
// is read back from its state topic.
func TestGovernorOnObservedRuns(t *testing.T) {
	w := newWorld(t)
	t.Logf("governor observed-runs suite on %s", w.env.Backend)
	o := w.options()
	clk := &clock{t: t0.Add(time.Minute)}
	o.Now = clk.Now
	_, stop := w.start(o)

	p := monitored("sales", "watched")
	w.own(lifecycleEvent("l-watched", events.LifecycleRegistered, p))
	w.waitCompliance(p.ID, func(c *events.ComplianceStatus) bool { return c.Status == events.Compliant }, "compliant at registration")
	w.publish(observedRun(p.ID, "orders", t0.Add(-2*time.Hour), 0.95, 120), monitorCE.Source)
	c := w.waitCompliance(p.ID, func(c *events.ComplianceStatus) bool { return len(c.OpenViolations) == 1 }, "quality-slo open")
	if got := openPolicies(c); got[0] != "quality-slo" || !strings.Contains(c.OpenViolations[0].Message, "orders.email.completeness (COMPLETENESS 0.95, SLO >= 0.99)") {
		t.Fatalf("open %v: %+v", got, c.OpenViolations)
	}

	stop()
	w.start(o)
	w.own(reportedRun("r1", p.ID, 0.999))
	c = w.waitCompliance(p.ID, func(c *events.ComplianceStatus) bool { return len(c.OpenViolations) == 2 }, "reported-vs-observed open too")
	if got := strings.Join(openPolicies(c), ","); got != "quality-slo,reported-vs-observed" {
		t.Fatalf("open %s, want quality-slo and reported-vs-observed", got)
	}

	w.publish(observedRun(p.ID, "orders", t0.Add(-time.Hour), 0.995, 120), monitorCE.Source)
	w.waitCompliance(p.ID, func(c *events.ComplianceStatus) bool {
		return strings.Join(openPolicies(c), ",") == "reported-vs-observed"
	}, "quality-slo resolved by the next window")
	w.own(reportedRun("r2", p.ID, 0.99))
	w.waitCompliance(p.ID, func(c *events.ComplianceStatus) bool { return c.Status == events.Compliant }, "compliant again")

	// Each violation once, opened then resolved.
	var got []string
	for _, v := range w.out.violationsOf(p.ID, "") {
		got = append(got, string(v.Status)+" "+v.PolicyID)
	}
	want := "OPEN quality-slo,OPEN reported-vs-observed,RESOLVED quality-slo,RESOLVED reported-vs-observed"
	if strings.Join(got, ",") != want {
		t.Errorf("violations %v, want %s", got, want)
	}
}
