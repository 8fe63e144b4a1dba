package policy

import (
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/meshbone/meshbone/pkg/events"
)

// TestAccessTrigger judges access requests with the default access policy
// and a stricter domain policy that reads the request.
func TestAccessTrigger(t *testing.T) {
	global, err := os.ReadFile("../../policies/global/access-approval.yaml")
	if err != nil {
		t.Fatal(err)
	}
	set, err := LoadFiles(map[string][]byte{
		"global/access-approval.yaml": global,
		"domains/sales/access-purpose.yaml": []byte(`apiVersion: meshbone/v1
kind: Policy
metadata: {id: access-purpose, domain: sales, severity: warning}
spec:
  on: [access]
  when: access.consumer_type != "TEAM"
  require: size(access.purpose) >= 20 && access.principal.startsWith("User:") && event.type == "REQUESTED" && event.actor == access.requested_by
  message: "${access.requested_by} asks for ${access.ports} of ${access.product_id} for ${access.consumer_id}: say more about the purpose"
`),
	})
	if err != nil {
		t.Fatal(err)
	}
	if n := len(set.For("sales", TriggerLifecycle)); n != 0 {
		t.Errorf("%d lifecycle policies, want the access policies to judge access only", n)
	}
	req := func(sens events.Sensitivity, domain, purpose string) *Vars {
		p := goodProduct()
		p.Sensitivity, p.Domain, p.ID = sens, domain, domain+"."+p.Name
		return NewVars(Input{Trigger: TriggerAccess, Product: &p, Now: t0, Access: &Access{
			ProductID: p.ID, Ports: []string{"orders"}, ConsumerType: "APPLICATION", ConsumerID: "dash",
			Principal: "User:dash", GroupPrefix: "dash-", Purpose: purpose, RequestedBy: "bo",
		}})
	}
	outcome := func(v *Vars) string {
		var parts []string
		for _, d := range set.Evaluate(v) {
			parts = append(parts, fmt.Sprintf("%s=%s", d.Policy.ID, d.Outcome))
			if d.Message != "" {
				parts = append(parts, d.Message)
			}
		}
		return strings.Join(parts, "; ")
	}
	tests := []struct {
		name string
		vars *Vars
		want string
	}{
		{"public", req(events.SensitivityPublic, "finance", "x"), "access-approval=pass"},
		{"internal", req(events.SensitivityInternal, "finance", "x"), "access-approval=pass"},
		{"confidential", req(events.SensitivityConfidential, "finance", "x"),
			"access-approval=fail; finance.customer-orders is CONFIDENTIAL: access needs the approval of domain finance"},
		{"restricted", req(events.SensitivityRestricted, "finance", "x"),
			"access-approval=fail; finance.customer-orders is RESTRICTED: access needs the approval of domain finance"},
		{"sales is stricter", req(events.SensitivityPublic, "sales", "x"),
			"access-approval=pass; access-purpose=fail; bo asks for orders of sales.customer-orders for dash: say more about the purpose"},
		{"sales with a purpose", req(events.SensitivityPublic, "sales", "a dashboard of daily orders per region"), "access-approval=pass; access-purpose=pass"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := outcome(tt.vars); got != tt.want {
				t.Errorf("got  %s\nwant %s", got, tt.want)
			}
		})
	}
	// Other triggers see an empty request.
	p := goodProduct()
	if err := compileCheck(`size(access.ports) == 0 && access.principal == ""`, NewVars(Input{Trigger: TriggerLifecycle, Product: &p, Now: t0})); err != nil {
		t.Error(err)
	}
}

func compileCheck(expr string, v *Vars) error {
	env, err := Env()
	if err != nil {
		return err
	}
	prg, _, msg := compileExpr(env, expr, true)
	if msg != "" {
		return fmt.Errorf("%s", msg)
	}
	ok, err := evalBool(prg, v)
	if err != nil || !ok {
		return fmt.Errorf("%s: %v, %v", expr, ok, err)
	}
	return nil
}
