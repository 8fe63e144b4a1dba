package policy

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/meshbone/meshbone/pkg/events"
)

func ptr[T any](v T) *T { return &v }

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// goodProduct complies with every default policy.
func goodProduct() events.DataProduct {
	return events.DataProduct{
		ID: "sales.customer-orders", Name: "customer-orders", Domain: "sales", OwnerTeam: "sales-data",
		Tags: []string{"orders"}, Version: "2.1.0", Sensitivity: events.SensitivityConfidential, RetentionDays: 730,
		SLA:         &events.SLA{Freshness: ptr("15m")},
		QualitySLOs: []events.QualitySLO{{Dimension: events.DimensionCompleteness, Operator: ">=", Threshold: 0.98}},
		OutputPorts: []events.OutputPort{{Name: "orders", Topic: "sales.customer-orders.orders.v2", SchemaSubject: "s", Fields: []string{"id"}}},
		Inputs:      []string{"marketing.campaigns"},
		Security:    &events.Security{EncryptionAtRest: true, PIIFields: []string{"email"}, PIIMasked: true, AuditLogging: true},
		Labels:      map[string]string{},
	}
}

type scenario struct {
	in       Input
	fires    string // policy id expected to fail, "" for none
	contains string // in its message
}

func lifecycle(p events.DataProduct, mutate ...func(*events.ProductLifecycleEvent)) Input {
	ev := &events.ProductLifecycleEvent{EventID: "ev-1", Type: events.LifecycleRegistered, OccurredAt: t0, Actor: "alice", Product: p}
	for _, m := range mutate {
		m(ev)
	}
	return Input{
		Trigger: TriggerLifecycle, Product: &ev.Product, Lifecycle: ev, ProductID: p.ID,
		CloudEvent: events.CloudEvent{ID: ev.EventID, Source: events.DomainSource(p.Domain), Subject: p.ID},
		Upstream:   []Upstream{{ID: "marketing.campaigns", Known: true, Status: StatusActive}},
		Now:        t0,
	}
}

func quality(p events.DataProduct, watermark time.Time, checks ...events.QualityCheck) Input {
	q := &events.QualityEvent{EventID: "q-1", ProductID: p.ID, ProductVersion: p.Version, RunID: "run-7", ObservedAt: t0, DataWatermark: &watermark, Checks: checks}
	return Input{
		Trigger: TriggerQuality, Product: &p, Quality: q, ProductID: p.ID, Watermark: watermark,
		CloudEvent: events.CloudEvent{ID: q.EventID, Source: events.DomainSource(p.Domain), Subject: p.ID},
		Now:        t0,
	}
}

// with returns a fresh goodProduct changed by f (p is only there to read
// well at the call sites; the product is always built anew).
func with(_ events.DataProduct, f func(*events.DataProduct)) events.DataProduct {
	p := goodProduct()
	f(&p)
	return p
}

func TestDefaultPolicies(t *testing.T) {
	s, err := Load(RootDirs("../../policies"))
	if err != nil {
		t.Fatal(err)
	}
	good := goodProduct()
	completeness := func(v float64) events.QualityCheck {
		return events.QualityCheck{Name: "orders-complete", Dimension: events.DimensionCompleteness, Observed: v, Operator: ">=", Threshold: 0.9, Passed: v >= 0.9}
	}
	cases := map[string]scenario{
		"compliant lifecycle": {in: lifecycle(good)},
		"compliant quality":   {in: quality(good, t0.Add(-time.Minute), completeness(0.99))},
		"encryption-at-rest fires": {in: lifecycle(with(good, func(p *events.DataProduct) { p.Security.EncryptionAtRest = false })),
			fires: "encryption-at-rest", contains: "sales.customer-orders holds CONFIDENTIAL data but does not declare encryption at rest"},
		"encryption-at-rest silent for public data": {in: lifecycle(with(good, func(p *events.DataProduct) {
			p.Sensitivity, p.Security = events.SensitivityPublic, &events.Security{}
		}))},
		"encryption-at-rest fires without a security section": {in: lifecycle(with(good, func(p *events.DataProduct) {
			p.Sensitivity, p.Security = events.SensitivityInternal, nil
		})), fires: "encryption-at-rest"},
		"pii-masking fires": {in: lifecycle(with(good, func(p *events.DataProduct) { p.Security.PIIMasked = false })),
			fires: "pii-masking", contains: "exposes PII fields (email) without masking"},
		"data-lineage fires without inputs": {in: lifecycle(with(good, func(p *events.DataProduct) { p.Inputs = nil })),
			fires: "data-lineage", contains: "declares no inputs"},
		"data-lineage silent for a source product": {in: lifecycle(with(good, func(p *events.DataProduct) {
			p.Inputs, p.Labels = nil, map[string]string{"kind": "source"}
		}))},
		"data-lineage fires on a retired input": {in: func() Input {
			in := lifecycle(good)
			in.Upstream = []Upstream{{ID: "marketing.campaigns", Known: true, Status: StatusRetired}}
			return in
		}(), fires: "data-lineage", contains: "marketing.campaigns (RETIRED)"},
		"data-lineage fires on an unknown input": {in: func() Input {
			in := lifecycle(good)
			in.Upstream = []Upstream{{ID: "marketing.campaigns", Status: StatusUnknown}}
			return in
		}(), fires: "data-lineage", contains: "marketing.campaigns (UNKNOWN)"},
		"quality-slo fires without SLOs": {in: lifecycle(with(good, func(p *events.DataProduct) { p.QualitySLOs = nil })),
			fires: "quality-slo", contains: "defines no quality SLO"},
		"quality-slo fires below the SLO": {in: quality(good, t0, completeness(0.95)),
			fires: "quality-slo", contains: "run run-7: checks below their SLO: orders-complete (COMPLETENESS 0.95, SLO >= 0.98)"},
		"retention-policy fires": {in: lifecycle(with(good, func(p *events.DataProduct) { p.RetentionDays = 731 })),
			fires: "retention-policy", contains: "keeps CONFIDENTIAL data 731 days, more than the 730 allowed"},
		"audit-logging fires": {in: lifecycle(with(good, func(p *events.DataProduct) { p.Security.AuditLogging = false })),
			fires: "audit-logging"},
		"ownership fires on a spoofed source": {in: func() Input {
			in := lifecycle(good)
			in.CloudEvent.Source = events.DomainSource("marketing")
			return in
		}(), fires: "ownership", contains: "REGISTERED event ev-1 about sales.customer-orders came from /domains/marketing, not from its domain /domains/sales"},
		"ownership fires on a spoofed quality event": {in: func() Input {
			in := quality(good, t0, completeness(0.99))
			in.CloudEvent.Source = "/services/somebody"
			return in
		}(), fires: "ownership"},
		"freshness fires on stale data": {in: quality(good, t0.Add(-20*time.Minute), completeness(0.99)),
			fires: "freshness", contains: "20m0s old, beyond its SLA freshness of 15m"},
		"deprecation fires": {in: lifecycle(good, func(e *events.ProductLifecycleEvent) { e.Type = events.LifecycleDeprecated }),
			fires: "deprecation", contains: "deprecated without a successor"},
		"deprecation silent with a successor": {in: lifecycle(good, func(e *events.ProductLifecycleEvent) {
			e.Type, e.Successor = events.LifecycleDeprecated, ptr("sales.orders-v3")
		})},
		"deprecation silent with a sunset date": {in: lifecycle(good, func(e *events.ProductLifecycleEvent) {
			e.Type, e.SunsetAt = events.LifecycleDeprecated, ptr(t0.Add(90*24*time.Hour))
		})},
		"orders-retention fires (sales only)": {in: lifecycle(with(good, func(p *events.DataProduct) { p.RetentionDays = 90 })),
			fires: "orders-retention", contains: "keeps orders only 90 days"},
		"campaign-attribution fires (marketing only)": {in: func() Input {
			p := with(good, func(p *events.DataProduct) {
				p.ID, p.Name, p.Domain, p.Inputs = "marketing.campaigns", "campaigns", "marketing", nil
				p.Labels = map[string]string{"kind": "source"}
			})
			return lifecycle(p)
		}(), fires: "campaign-attribution", contains: "ports without an attribution field: orders"},
	}
	judgeScenarios(t, s, cases)
}

// judgeScenarios evaluates each scenario with s: the policy it names
// fails (its message containing what it says) and no other does; none
// errors; field caches change nothing.
func judgeScenarios(t *testing.T, s *Set, cases map[string]scenario) {
	t.Helper()
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			decisions := s.Evaluate(NewVars(c.in))
			sameWithCaches(t, s, c.in, decisions)
			var failed []string
			for _, d := range decisions {
				switch d.Outcome {
				case Errored:
					t.Errorf("%s errored: %v", d.Policy.ID, d.Err)
				case Fail:
					failed = append(failed, d.Policy.ID)
					if d.Policy.ID == c.fires && !strings.Contains(d.Message, c.contains) {
						t.Errorf("%s message %q does not contain %q", d.Policy.ID, d.Message, c.contains)
					}
				}
			}
			want := []string{}
			if c.fires != "" {
				want = []string{c.fires}
			}
			if strings.Join(failed, ",") != strings.Join(want, ",") {
				t.Errorf("failed policies %v, want %v", failed, want)
			}
		})
	}
}

// sameWithCaches checks that in judged through field caches (fieldCache)
// gets the decisions want, judged without: with a view shared by two
// events, and with each Vars judged twice, the second time from full caches.
func sameWithCaches(t *testing.T, s *Set, in Input, want []Decision) {
	t.Helper()
	if in.Product != nil {
		in.View = ProductView(in.Product)
	}
	for event := range 2 {
		vars := NewVars(in)
		for round := range 2 {
			got := s.Evaluate(vars)
			if len(got) != len(want) {
				t.Fatalf("event %d round %d: %d decisions, want %d", event, round, len(got), len(want))
			}
			for i, d := range got {
				w := want[i]
				if d.Policy != w.Policy || d.Outcome != w.Outcome || d.Message != w.Message || fmt.Sprint(d.Err) != fmt.Sprint(w.Err) {
					t.Errorf("event %d round %d: %s %v %q %v, want %v %q %v", event, round, d.Policy.ID, d.Outcome, d.Message, d.Err, w.Outcome, w.Message, w.Err)
				}
			}
		}
	}
}

func TestEventCacheFitsEvent(t *testing.T) {
	if n := len(celFields(reflect.TypeFor[Event]())); n != eventFields {
		t.Fatalf("Event has %d CEL fields, its cache %d", n, eventFields)
	}
}

func TestRuntimeErrorIsADecision(t *testing.T) {
	s, err := LoadFiles(map[string][]byte{"p.yaml": []byte(`apiVersion: meshbone/v1
kind: Policy
metadata: {id: needs-label, severity: info}
spec: {on: [lifecycle], require: 'product.labels["tier"] == "gold"', message: "x"}
`)})
	if err != nil {
		t.Fatal(err)
	}
	d := s.Evaluate(NewVars(lifecycle(goodProduct())))
	if len(d) != 1 || d[0].Outcome != Errored || !strings.Contains(d[0].Err.Error(), "no such key: tier") {
		t.Fatalf("decisions %+v, want one Errored with no such key: tier", d)
	}
}

func TestMessagePlaceholders(t *testing.T) {
	parts, err := splitMessage(`cost $$5 for ${product.id} in ${ {"a": "}"}["a"] } end`)
	if err != nil {
		t.Fatal(err)
	}
	got := []string{}
	for _, p := range parts {
		got = append(got, map[bool]string{true: "E:", false: "T:"}[p.expr]+p.text)
	}
	want := `T:cost $5 for |E:product.id|T: in |E:{"a": "}"}["a"]|T: end`
	if strings.Join(got, "|") != want {
		t.Errorf("parts %q, want %q", strings.Join(got, "|"), want)
	}
	if _, err := splitMessage("broken ${product.id"); err == nil || err.Error() != "placeholder at offset 7 has no closing }" {
		t.Errorf("unclosed placeholder: %v", err)
	}
}
