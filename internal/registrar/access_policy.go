package registrar

import (
	"fmt"

	"github.com/meshbone/meshbone/internal/policy"
)

// defaultAccessPolicy is policies/global/access-approval.yaml, the access
// rule a registrar applies when it is given no policy directories
// (TestDefaultAccessPolicyIsTheFile keeps the two equal).
const defaultAccessPolicy = `# Access requests for PUBLIC and INTERNAL products are approved by rule;
# CONFIDENTIAL and RESTRICTED ones wait for the owning domain (or governance)
# to approve them. A request is approved by rule when a global access policy
# passes and none fails: a domain's own access policies can only keep more
# requests for their owners.
apiVersion: meshbone/v1
kind: Policy
metadata:
  id: access-approval
  scope: global
  severity: info
  description: Requests for PUBLIC and INTERNAL products are approved by rule.
spec:
  on: [access]
  require: product.sensitivity in ["PUBLIC", "INTERNAL"]
  message: >-
    ${product.id} is ${product.sensitivity}: access needs the approval of domain ${product.domain}
`

// loadAccessPolicies loads the policy set of dirs (every trigger: the
// registrar evaluates the access ones), or the built-in access policy when
// dirs names no directory.
func loadAccessPolicies(dirs policy.Dirs) (*policy.Set, error) {
	if dirs.Global == "" && dirs.Domains == "" {
		return policy.LoadFiles(map[string][]byte{"access-approval.yaml": []byte(defaultAccessPolicy)})
	}
	return policy.Load(dirs)
}

// validateAccess checks that the access policies load.
func (o Options) validateAccess() error {
	if _, err := loadAccessPolicies(o.AccessPolicies); err != nil {
		return fmt.Errorf("access-policies: %w", err)
	}
	return nil
}
