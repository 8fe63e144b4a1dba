package policy

import (
	"testing"

	"github.com/meshbone/meshbone/pkg/events"
)

// TestOwnershipFields: a policy reads the descriptor's developer,
// escalation path and channel; a product that names none has them empty
// (the policy fails, it does not error).
func TestOwnershipFields(t *testing.T) {
	s, err := LoadFiles(map[string][]byte{"p.yaml": []byte(`apiVersion: meshbone/v1
kind: Policy
metadata: {id: reachable-owners, severity: info}
spec:
  on: [lifecycle]
  require: >-
    product.ownership.channel.startsWith("slack:") && product.ownership.developer != "" &&
    size(product.ownership.escalation_path) == 2 && product.ownership.escalation_path[1] == "head@sales.example"
  message: "${product.id} names no way to reach its owners"
`)})
	if err != nil {
		t.Fatal(err)
	}
	named := with(goodProduct(), func(p *events.DataProduct) {
		p.Ownership = &events.Ownership{Developer: ptr("dev@sales.example"), Channel: ptr("slack:#sales-orders"),
			EscalationPath: []string{"alice@sales.example", "head@sales.example"}}
	})
	if d := s.Evaluate(NewVars(lifecycle(named))); len(d) != 1 || d[0].Outcome != Pass {
		t.Errorf("a product naming its owners: %+v, want Pass", d)
	}
	for name, p := range map[string]events.DataProduct{
		"no ownership": goodProduct(),
		"no channel":   with(goodProduct(), func(p *events.DataProduct) { p.Ownership = &events.Ownership{Developer: ptr("dev@sales.example")} }),
		"escalation short": with(goodProduct(), func(p *events.DataProduct) {
			p.Ownership = &events.Ownership{Developer: ptr("dev@sales.example"), Channel: ptr("slack:#sales-orders"), EscalationPath: []string{"head@sales.example"}}
		}),
	} {
		d := s.Evaluate(NewVars(lifecycle(p)))
		if len(d) != 1 || d[0].Outcome != Fail || d[0].Message != "sales.customer-orders names no way to reach its owners" {
			t.Errorf("%s: %+v, want Fail with the message", name, d)
		}
	}
}
