package governor

import (
	"strings"
	"testing"
	"time"

	"github.com/meshbone/meshbone/pkg/events"
)

// TestFreshnessFiresOnceAndClears: with a one-minute SLA, the timer raises
// one freshness violation when the watermark gets stale, not one per check,
// also across a restart of the governor; fresh data resolves it.
func TestFreshnessFiresOnceAndClears(t *testing.T) {
	w := newWorld(t)
	t.Logf("freshness on %s", w.env.Backend)
	clk := &clock{t: t0}
	o := w.options()
	o.Now = clk.Now
	o.FreshnessInterval = 20 * time.Millisecond
	s, stop := w.start(o)

	p := goodProduct("sales", "stream")
	p.SLA = &events.SLA{Freshness: ptr("1m")}
	id := p.ID
	w.own(lifecycleEvent("ev-stream", events.LifecycleRegistered, p))
	w.own(qualityEvent("q-1", id, t0.Add(-10*time.Second), 0.99))
	w.waitCompliance(id, func(c *events.ComplianceStatus) bool { return c.Status == events.Compliant }, "fresh and compliant")

	// checks waits until the service ran n more freshness checks.
	checks := func(s *Service, n int64) {
		t.Helper()
		from := s.FreshnessChecks()
		w.env.Eventually(func() bool { return s.FreshnessChecks() >= from+n }, "freshness checks")
	}
	clk.Advance(2 * time.Minute)
	st := w.waitCompliance(id, func(c *events.ComplianceStatus) bool { return c.Status == events.NonCompliant }, "stale")
	if got := openPolicies(st); len(got) != 1 || got[0] != "freshness" {
		t.Fatalf("open %v, want freshness", got)
	}
	checks(s, 5)
	vs := w.out.violationsOf(id, "freshness")
	if len(vs) != 1 {
		t.Fatalf("%d freshness violations after 5 more checks, want 1", len(vs))
	}
	v := vs[0]
	if v.SourceEventID != "q-1" || v.ViolationID != ViolationID("freshness", v.PolicyVersion, "q-1", false) || !strings.Contains(v.Message, "beyond its SLA freshness of 1m") {
		t.Errorf("violation %+v: want source q-1, the deterministic id and the SLA in the message", v)
	}

	// A restart rebuilds the open violation from the state topic.
	stop()
	s2, _ := w.start(o)
	clk.Advance(time.Minute)
	checks(s2, 5)
	if vs := w.out.violationsOf(id, "freshness"); len(vs) != 1 {
		t.Fatalf("%d freshness violations after a restart, want still 1", len(vs))
	}

	// Fresh data clears it.
	w.own(qualityEvent("q-2", id, clk.Now().Add(-5*time.Second), 0.99))
	w.waitCompliance(id, func(c *events.ComplianceStatus) bool { return c.Status == events.Compliant }, "fresh again")
	vs = w.out.violationsOf(id, "freshness")
	if len(vs) != 2 || vs[1].Status != events.ViolationResolved || vs[1].ViolationID != v.ViolationID {
		t.Fatalf("violations %+v, want OPEN then RESOLVED with the same id", vs)
	}
	// And a new breach is a new violation.
	clk.Advance(2 * time.Minute)
	w.waitCompliance(id, func(c *events.ComplianceStatus) bool { return c.Status == events.NonCompliant }, "stale again")
	vs = w.out.violationsOf(id, "freshness")
	if len(vs) != 3 || vs[2].SourceEventID != "q-2" || vs[2].ViolationID == v.ViolationID {
		t.Fatalf("violations %+v, want a third, new one from q-2", vs)
	}
}
