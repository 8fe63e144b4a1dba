package registrar

import (
	"os"
	"testing"

	"github.com/meshbone/meshbone/internal/policy"
)

// TestDefaultAccessPolicyIsTheFile keeps the built-in access rule equal to
// the one shipped in policies/global.
func TestDefaultAccessPolicyIsTheFile(t *testing.T) {
	data, err := os.ReadFile("../../policies/global/access-approval.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if string(data) != defaultAccessPolicy {
		t.Errorf("defaultAccessPolicy differs from policies/global/access-approval.yaml")
	}
	set, err := loadAccessPolicies(policy.Dirs{})
	if err != nil {
		t.Fatal(err)
	}
	if ps := set.For("sales", policy.TriggerAccess); len(ps) != 1 || ps[0].ID != "access-approval" {
		t.Errorf("built-in access policies %v", ps)
	}
	if err := (Options{AccessPolicies: policy.Dirs{Global: "testdata/tokens"}}).validateAccess(); err == nil {
		t.Error("a directory of bad policies was accepted")
	}
}
