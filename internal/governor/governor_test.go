package governor

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/meshbone/meshbone/internal/policy"
	"github.com/meshbone/meshbone/pkg/events"
)

// TestGovernorJudgesEveryDefaultPolicy: each default policy (and a domain
// policy that errors at run time) fires on an event that breaks it and stays
// silent on one that complies; fixing the product resolves the violation
// and the compliance status returns to COMPLIANT; ownership spoofing is
// CRITICAL; an undecodable record goes to the DLQ and judging goes on.
func TestGovernorJudgesEveryDefaultPolicy(t *testing.T) {
	w := newWorld(t)
	t.Logf("governor suite on %s", w.env.Backend)
	domains := t.TempDir()
	for _, d := range []string{"sales", "marketing"} {
		copyDir(t, filepath.Join("../../policies/domains", d), filepath.Join(domains, d))
	}
	writeFile(t, filepath.Join(domains, "finance", "tier.yaml"), `apiVersion: meshbone/v1
kind: Policy
metadata: {id: finance-tier, domain: finance, severity: info}
spec:
  on: [lifecycle]
  require: product.labels["tier"] == "gold"
  message: "${product.id} is not gold"
`)
	o := w.options()
	o.Policies = policy.Dirs{Global: "../../policies/global", Domains: domains}
	clk := &clock{t: t0.Add(time.Minute)}
	o.Now = clk.Now
	w.start(o)

	type breach struct {
		product  events.DataProduct
		typ      events.LifecycleType
		mutate   func(*events.ProductLifecycleEvent)
		source   string // "" for the product's own domain
		policy   string // "" for compliant
		severity events.Severity
		message  string // contained in the violation's message
	}
	with := func(domain, name string, f func(*events.DataProduct)) events.DataProduct {
		p := goodProduct(domain, name)
		if f != nil {
			f(&p)
		}
		return p
	}
	cases := map[string]breach{
		"compliant": {product: with("sales", "compliant", nil)},
		"encryption-at-rest": {product: with("sales", "unencrypted", func(p *events.DataProduct) { p.Security.EncryptionAtRest = false }),
			policy: "encryption-at-rest", severity: events.SeverityCritical, message: "sales.unencrypted holds CONFIDENTIAL data but does not declare encryption at rest"},
		"encryption-at-rest silent for public data": {product: with("sales", "public", func(p *events.DataProduct) {
			p.Sensitivity, p.Security.EncryptionAtRest = events.SensitivityPublic, false
		})},
		"pii-masking": {product: with("sales", "unmasked", func(p *events.DataProduct) { p.Security.PIIFields, p.Security.PIIMasked = []string{"email"}, false }),
			policy: "pii-masking", severity: events.SeverityCritical, message: "(email)"},
		"data-lineage": {product: with("sales", "orphan", func(p *events.DataProduct) { p.Labels = map[string]string{} }),
			policy: "data-lineage", severity: events.SeverityWarning, message: "declares no inputs"},
		"data-lineage unknown input": {product: with("sales", "derived", func(p *events.DataProduct) { p.Labels, p.Inputs = map[string]string{}, []string{"nowhere.nothing"} }),
			policy: "data-lineage", severity: events.SeverityWarning, message: "nowhere.nothing (UNKNOWN)"},
		"data-lineage known input": {product: with("sales", "derived-ok", func(p *events.DataProduct) { p.Labels, p.Inputs = map[string]string{}, []string{"sales.compliant"} })},
		"quality-slo": {product: with("sales", "no-slo", func(p *events.DataProduct) { p.QualitySLOs = nil }),
			policy: "quality-slo", severity: events.SeverityWarning, message: "defines no quality SLO"},
		"retention-policy": {product: with("sales", "hoarder", func(p *events.DataProduct) { p.RetentionDays = 1000 }),
			policy: "retention-policy", severity: events.SeverityWarning, message: "1000 days, more than the 730 allowed"},
		"audit-logging": {product: with("sales", "unaudited", func(p *events.DataProduct) { p.Security.AuditLogging = false }),
			policy: "audit-logging", severity: events.SeverityCritical},
		"deprecation": {product: with("sales", "old", nil), typ: events.LifecycleDeprecated,
			policy: "deprecation", severity: events.SeverityWarning, message: "without a successor"},
		"deprecation with successor": {product: with("sales", "old-ok", nil), typ: events.LifecycleDeprecated,
			mutate: func(e *events.ProductLifecycleEvent) { e.Successor = ptr("sales.new") }},
		"ownership": {product: with("sales", "spoofed", nil), source: events.DomainSource("marketing"),
			policy: "ownership", severity: events.SeverityCritical, message: "came from /domains/marketing, not from its domain /domains/sales"},
		"orders-retention (sales)": {product: with("sales", "orders", func(p *events.DataProduct) { p.RetentionDays = 90 }),
			policy: "orders-retention", severity: events.SeverityWarning, message: "only 90 days"},
		"orders-retention does not judge marketing": {product: with("marketing", "orders", func(p *events.DataProduct) { p.RetentionDays = 90 })},
		"campaign-attribution (marketing)": {product: with("marketing", "campaigns", func(p *events.DataProduct) {
			p.OutputPorts = []events.OutputPort{{Name: "clicks", Topic: "marketing.campaigns.clicks.v1", SchemaSubject: "s", Fields: []string{"id"}}}
		}), policy: "campaign-attribution", severity: events.SeverityWarning, message: "clicks"},
		"run-time error is a WARNING": {product: with("finance", "ledger", nil),
			policy: "finance-tier", severity: events.SeverityWarning, message: "policy finance-tier could not be evaluated: require: no such key: tier"},
		"finance-tier passes": {product: with("finance", "gold", func(p *events.DataProduct) { p.Labels["tier"] = "gold" })},
	}
	// sales.compliant first: sales.derived-ok reads it.
	names := slices.Sorted(func(yield func(string) bool) {
		for n := range cases {
			if !yield(n) {
				return
			}
		}
	})
	names = append([]string{"compliant"}, slices.DeleteFunc(names, func(n string) bool { return n == "compliant" })...)
	for i, name := range names {
		c := cases[name]
		typ := c.typ
		if typ == "" {
			typ = events.LifecycleRegistered
		}
		ev := lifecycleEvent("ev-"+name, typ, c.product)
		if c.mutate != nil {
			c.mutate(ev)
		}
		source := c.source
		if source == "" {
			source = events.DomainSource(c.product.Domain)
		}
		w.publish(ev, source)
		if i == 0 {
			w.waitCompliance(c.product.ID, func(*events.ComplianceStatus) bool { return true }, "published")
		}
	}
	for _, name := range names {
		c := cases[name]
		t.Run(name, func(t *testing.T) {
			id := c.product.ID
			want := []string{}
			if c.policy != "" {
				want = []string{c.policy}
			}
			st := w.waitCompliance(id, func(*events.ComplianceStatus) bool { return true }, "judged")
			if got := openPolicies(st); strings.Join(got, ",") != strings.Join(want, ",") {
				t.Fatalf("open violations of %s: %v, want %v", id, got, want)
			}
			if c.policy == "" {
				if st.Status != events.Compliant {
					t.Errorf("status %s, want COMPLIANT", st.Status)
				}
				return
			}
			if st.Status != events.NonCompliant {
				t.Errorf("status %s, want NON_COMPLIANT", st.Status)
			}
			var vs []*events.PolicyViolation
			w.env.Eventually(func() bool { vs = w.out.violationsOf(id, c.policy); return len(vs) > 0 }, "violation of "+id)
			v := vs[0]
			if len(vs) != 1 || v.Status != events.ViolationOpen || v.Severity != c.severity || !strings.Contains(v.Message, c.message) {
				t.Errorf("violations %+v, want one OPEN %s with message containing %q", vs, c.severity, c.message)
			}
			if v.SourceEventID != "ev-"+name || v.SourceTopic != w.env.Topics.Lifecycle || v.PolicyVersion == "" || v.Domain != c.product.Domain {
				t.Errorf("violation source/version/domain: %+v", v)
			}
			key := v.SourceEventID
			if up := v.Evidence["upstream"]; up != "" { // a policy reading the product's inputs
				key += "\x00" + up
			}
			if v.ViolationID != ViolationID(v.PolicyID, v.PolicyVersion, key, c.severity == events.SeverityWarning && c.policy == "finance-tier") {
				t.Errorf("violation id %s is not the deterministic one", v.ViolationID)
			}
		})
	}

	t.Run("fixing resolves", func(t *testing.T) {
		p := cases["encryption-at-rest"].product
		p.Version = "1.1.0"
		p.Security = &events.Security{EncryptionAtRest: true, PIIFields: []string{}, PIIMasked: true, AuditLogging: true}
		w.own(lifecycleEvent("ev-fix", events.LifecycleVersionPublished, p))
		st := w.waitCompliance(p.ID, func(c *events.ComplianceStatus) bool { return c.ProductVersion == "1.1.0" }, "version 1.1.0 judged")
		if st.Status != events.Compliant || len(st.OpenViolations) != 0 {
			t.Fatalf("after the fix: %+v, want COMPLIANT with nothing open", st)
		}
		var vs []*events.PolicyViolation
		w.env.Eventually(func() bool { vs = w.out.violationsOf(p.ID, ""); return len(vs) == 2 }, "OPEN and RESOLVED")
		if vs[1].Status != events.ViolationResolved || vs[1].ViolationID != vs[0].ViolationID || vs[1].Evidence["resolved_by"] != "ev-fix" {
			t.Errorf("second record %+v, want RESOLVED %s by ev-fix", vs[1], vs[0].ViolationID)
		}
	})

	t.Run("a breach goes on without new violations", func(t *testing.T) {
		p := cases["retention-policy"].product
		p.Version = "1.0.1"
		w.own(lifecycleEvent("ev-still-hoarding", events.LifecycleUpdated, p))
		w.waitCompliance(p.ID, func(c *events.ComplianceStatus) bool { return c.ProductVersion == "1.0.1" }, "1.0.1 judged")
		if vs := w.out.violationsOf(p.ID, ""); len(vs) != 1 {
			t.Errorf("violations of %s: %d, want still the one", p.ID, len(vs))
		}
	})

	t.Run("quality below SLO and back", func(t *testing.T) {
		id := "sales.compliant"
		w.own(qualityEvent("q-bad", id, t0, 0.95))
		st := w.waitCompliance(id, func(c *events.ComplianceStatus) bool { return len(c.OpenViolations) == 1 }, "quality-slo open")
		if got := openPolicies(st); got[0] != "quality-slo" {
			t.Fatalf("open %v, want quality-slo", got)
		}
		vs := w.out.violationsOf(id, "quality-slo")
		if len(vs) != 1 || !strings.Contains(vs[0].Message, "complete (COMPLETENESS 0.95, SLO >= 0.98)") || vs[0].SourceTopic != w.env.Topics.Quality {
			t.Fatalf("violations %+v", vs)
		}
		w.own(qualityEvent("q-good", id, t0, 0.99))
		w.waitCompliance(id, func(c *events.ComplianceStatus) bool { return c.Status == events.Compliant }, "COMPLIANT again")
		vs = w.out.violationsOf(id, "quality-slo")
		if len(vs) != 2 || vs[1].Status != events.ViolationResolved {
			t.Errorf("violations %+v, want OPEN then RESOLVED", vs)
		}
	})

	t.Run("an undecodable record goes to the DLQ", func(t *testing.T) {
		if err := w.prod.ProduceSync(t.Context(), kgoRecord(w.env.Topics.Lifecycle, "sales.garbage", []byte("not avro at all"))).FirstErr(); err != nil {
			t.Fatal(err)
		}
		w.own(lifecycleEvent("ev-after-garbage", events.LifecycleRegistered, goodProduct("sales", "after-garbage")))
		w.waitCompliance("sales.after-garbage", func(*events.ComplianceStatus) bool { return true }, "the next event judged")
		w.env.Eventually(func() bool { w.out.mu.Lock(); defer w.out.mu.Unlock(); return len(w.out.dlq) == 1 }, "one dead letter")
		d := w.out.dlq[0]
		if string(d.Value) != "not avro at all" || header(d, events.HeaderDLQClass) != string(events.ClassBadMagic) || header(d, events.HeaderDLQTopic) != w.env.Topics.Lifecycle {
			t.Errorf("dead letter %q with headers %v", d.Value, d.Headers)
		}
	})
}

func copyDir(t *testing.T, from, to string) {
	t.Helper()
	entries, err := os.ReadDir(from)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		data, err := os.ReadFile(filepath.Join(from, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		writeFile(t, filepath.Join(to, e.Name()), string(data))
	}
}

func writeFile(t *testing.T, path, body string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
}
