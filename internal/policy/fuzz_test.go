package policy

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/meshbone/meshbone/pkg/events"
)

// fuzzInputs are the events a loaded policy set is evaluated on: a
// lifecycle event, a quality event and a freshness check.
func fuzzInputs() []Input {
	at := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	p := events.DataProduct{
		ID: "sales.orders", Name: "orders", Domain: "sales", OwnerTeam: "sales-team", Tags: []string{"t"},
		Version: "1.0.0", Sensitivity: events.SensitivityConfidential, RetentionDays: 30,
		QualitySLOs: []events.QualitySLO{{Dimension: events.DimensionCompleteness, Operator: ">=", Threshold: 0.9}},
		OutputPorts: []events.OutputPort{{Name: "o", Topic: "sales.orders.o.v1", SchemaSubject: "sales.orders.o.v1-value", Format: "avro", Partitions: 1, Fields: []string{"id"}}},
		Inputs:      []string{"marketing.campaigns"},
		Security:    &events.Security{PIIFields: []string{"email"}},
		Labels:      map[string]string{"k": "v"},
	}
	lc := &events.ProductLifecycleEvent{EventID: "e1", Type: events.LifecycleRegistered, OccurredAt: at, Actor: "ana", Product: p}
	q := &events.QualityEvent{EventID: "e2", ProductID: p.ID, ProductVersion: "1.0.0", RunID: "r", ObservedAt: at, DataWatermark: &at,
		Checks: []events.QualityCheck{{Name: "c", Dimension: events.DimensionCompleteness, Observed: 0.5, Operator: ">=", Threshold: 0.9}}}
	ce := events.CloudEvent{ID: "e1", Source: events.DomainSource("marketing"), Subject: p.ID}
	up := []Upstream{{ID: "marketing.campaigns", Known: true, Status: StatusActive}}
	return []Input{
		{Trigger: TriggerLifecycle, ProductID: p.ID, Product: &p, Lifecycle: lc, CloudEvent: ce, EventID: "e1", Upstream: up, Now: at},
		{Trigger: TriggerQuality, ProductID: p.ID, Product: &p, Quality: q, CloudEvent: ce, EventID: "e2", Watermark: at, Upstream: up, Now: at},
		{Trigger: TriggerFreshness, ProductID: p.ID, Product: &p, EventID: "e2", Watermark: at.Add(-time.Hour), Now: at},
		{Trigger: TriggerQuality, ProductID: "sales.unknown", Quality: q, CloudEvent: ce, EventID: "e3", Now: at},
	}
}

// FuzzLoadFiles loads any bytes as a global and as a domain policy: either
// a set that evaluates on every kind of input without panicking, or a
// *LoadError whose every error is ErrInvalid and names the file.
func FuzzLoadFiles(f *testing.F) {
	for _, dir := range []string{"../../policies/global", "../../policies/domains/sales", "testdata/bad"} {
		paths, _ := filepath.Glob(filepath.Join(dir, "*.yaml"))
		for _, p := range paths {
			if b, err := os.ReadFile(p); err == nil {
				f.Add(b, false)
				f.Add(b, true)
			}
		}
	}
	f.Add([]byte("apiVersion: meshbone/v1\nkind: Policy\nmetadata: {id: x, scope: global, severity: info}\nspec: {on: [quality], require: 'quality.checks.all(c, c.passed)', message: m}\n"), false)
	f.Add([]byte(""), false)
	inputs := fuzzInputs()

	f.Fuzz(func(t *testing.T, data []byte, domain bool) {
		name := "global/fuzz.yaml"
		if domain {
			name = "domains/sales/fuzz.yaml"
		}
		set, err := LoadFiles(map[string][]byte{name: data})
		if err != nil {
			if set != nil {
				t.Fatalf("a set and an error: %v", err)
			}
			var le *LoadError
			if !errors.As(err, &le) || len(le.Errs) == 0 {
				t.Fatalf("not a *LoadError with errors: %T %v", err, err)
			}
			for _, e := range le.Errs {
				if !errors.Is(e, ErrInvalid) {
					t.Fatalf("not ErrInvalid: %v", e)
				}
				if !strings.HasPrefix(e.Error(), name) {
					t.Fatalf("error does not name the file %s: %v", name, e)
				}
			}
			return
		}
		if set == nil {
			t.Fatal("no set and no error")
		}
		for _, in := range inputs {
			vars := NewVars(in)
			for _, d := range set.Evaluate(vars) {
				_ = d.Outcome.String()
			}
			for _, p := range set.Policies() {
				_ = p.Render(vars)
			}
		}
	})
}
