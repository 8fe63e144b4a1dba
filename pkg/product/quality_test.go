package product_test

import (
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/meshbone/meshbone/pkg/events"
	"github.com/meshbone/meshbone/pkg/product"
)

// TestToEventPortQuality checks that objectives on a port keep their port,
// column, rule and window (the default window when none is given, days as a
// Go duration), that a product-level objective stays as it was, and that
// contract rules travel with their port, onFailure defaulted and upper-cased.
func TestToEventPortQuality(t *testing.T) {
	d, err := product.ParseFile(filepath.Join("testdata", "good", "port-quality.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Validate(); err != nil {
		t.Fatal(err)
	}
	e := d.ToEvent()
	want := []events.QualitySLO{
		{Dimension: events.DimensionCompleteness, Operator: ">=", Threshold: 0.99, Port: ptr("orders"), Column: ptr("coupon"), Window: ptr("1h")},
		{Dimension: events.DimensionValidity, Operator: ">=", Threshold: 0.999, Port: ptr("orders"), Rule: ptr("amount >= 0.0 && currency.size() == 3"), Window: ptr("1h0m0s")},
		{Dimension: events.DimensionUniqueness, Operator: ">=", Threshold: 1, Port: ptr("orders"), Column: ptr("order_id"), Window: ptr("1h0m0s")},
		{Dimension: events.DimensionVolume, Operator: ">=", Threshold: 1000, Port: ptr("orders"), Window: ptr("24h0m0s")},
		{Dimension: events.DimensionCompleteness, Operator: ">=", Threshold: 0.98},
	}
	if !reflect.DeepEqual(e.QualitySLOs, want) {
		t.Errorf("QualitySLOs =\n%s\nwant\n%s", show(e.QualitySLOs), show(want))
	}
	wantRules := []events.ContractRule{
		{Name: "positive-amount", Rule: "amount > 0", OnFailure: events.RuleReject},
		{Name: "known_currency", Rule: `currency in ["EUR", "USD", "GBP"]`, OnFailure: events.RuleDLQ},
		{Name: "has-id", Rule: "order_id != ''", OnFailure: events.RuleReject},
	}
	if got := e.OutputPorts[0].Rules; !reflect.DeepEqual(got, wantRules) {
		t.Errorf("Rules = %+v, want %+v", got, wantRules)
	}
	// A port without rules carries none (null in Avro).
	minimal, err := product.ParseFile(filepath.Join("testdata", "good", "minimal.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if got := minimal.ToEvent().OutputPorts[0].Rules; got != nil {
		t.Errorf("Rules of a port without rules = %#v, want nil", got)
	}
}

func show(slos []events.QualitySLO) string {
	var b strings.Builder
	deref := func(p *string) string {
		if p == nil {
			return "<nil>"
		}
		return *p
	}
	for _, s := range slos {
		b.WriteString(string(s.Dimension) + " " + s.Operator + " " + deref(s.Port) + " " + deref(s.Column) + " " + deref(s.Rule) + " " + deref(s.Window) + "\n")
	}
	return b.String()
}

// TestPortQualityDefaultsAndCanonical checks the defaults Parse gives
// (operator >=, onFailure reject) and that the canonical form does not
// depend on how onFailure is spelled or whether the defaults were written.
func TestPortQualityDefaultsAndCanonical(t *testing.T) {
	const doc = `
apiVersion: meshbone/v1
kind: DataProduct
metadata: {domain: sales, name: orders, owner: team}
spec:
  version: 1.0.0
  sensitivity: internal
  retentionDays: 7
  quality: [{dimension: uniqueness, port: orders, column: id, threshold: 1}]
  outputPorts:
    - name: orders
      schema: {type: record, name: O, fields: [{name: id, type: string}]}
      rules: [{name: has-id, rule: "id != ''"}]
`
	a, err := product.Parse([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Validate(); err != nil {
		t.Fatal(err)
	}
	if got := a.Spec.Quality[0].Operator; got != product.DefaultOperator {
		t.Errorf("operator = %q, want %q", got, product.DefaultOperator)
	}
	if got := a.Spec.OutputPorts[0].Rules[0].OnFailure; got != product.DefaultOnFailure {
		t.Errorf("onFailure = %q, want %q", got, product.DefaultOnFailure)
	}
	explicit := strings.NewReplacer(`threshold: 1}`, `threshold: 1, operator: ">="}`, `rule: "id != ''"}`, `rule: "id != ''", onFailure: REJECT}`).Replace(doc)
	b, err := product.Parse([]byte(explicit))
	if err != nil {
		t.Fatal(err)
	}
	if !a.Equal(b) {
		t.Error("the defaults written out (onFailure in upper case) change the canonical form")
	}
	c, err := product.Parse([]byte(strings.Replace(doc, `rule: "id != ''"}`, `rule: "id != ''", onFailure: dlq}`, 1)))
	if err != nil {
		t.Fatal(err)
	}
	if a.Equal(c) {
		t.Error("a different onFailure leaves the canonical form unchanged")
	}
}
