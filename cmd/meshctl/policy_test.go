package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/meshbone/meshbone/internal/policy"
)

// defaultPolicies is how many policies ../../policies holds.
func defaultPolicies(t *testing.T) int {
	t.Helper()
	set, err := policy.Load(policy.RootDirs("../../policies"))
	if err != nil {
		t.Fatal(err)
	}
	return set.Len()
}

func TestPolicyCheck(t *testing.T) {
	out, _, err := govCtl(context.Background(), "policy", "check", "../../policies")
	if err != nil {
		t.Fatalf("policy check of the default policies: %v", err)
	}
	if !strings.Contains(out, fmt.Sprintf("%d policies OK", defaultPolicies(t))) || !strings.Contains(out, "orders-retention      DOMAIN  sales") {
		t.Errorf("output:\n%s", out)
	}

	dir := t.TempDir()
	bad := "apiVersion: meshbone/v1\nkind: Policy\nmetadata: {id: typo, severity: info}\nspec:\n  on: [lifecycle]\n  require: prodcut.security.encryption_at_rest\n  message: x\n"
	if err := os.WriteFile(filepath.Join(dir, "typo.yaml"), []byte(bad), 0o644); err != nil {
		t.Fatal(err)
	}
	_, errOut, err := govCtl(context.Background(), "policy", "check", dir)
	var ee exitError
	if !errors.As(err, &ee) || ee != 1 {
		t.Fatalf("policy check of a bad policy: %v, want exit status 1", err)
	}
	want := filepath.Join(dir, "typo.yaml") + `:6: policy "typo": spec.require: 1:1: undeclared reference to 'prodcut' (did you mean 'product'?)`
	if strings.TrimSpace(errOut) != want {
		t.Errorf("stderr %q, want %q", errOut, want)
	}
}

func TestPolicyTest(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "recorded.jsonl")
	lines := `# a product without encryption, then fixed; a stale product
{"kind":"lifecycle","event":{"event_id":"e1","type":"REGISTERED","occurred_at":"2026-03-01T12:00:00Z","actor":"a","product":{"id":"sales.orders","name":"orders","domain":"sales","owner_team":"t","tags":[],"version":"1.0.0","sensitivity":"CONFIDENTIAL","retention_days":400,"sla":{"freshness":"15m"},"quality_slos":[{"dimension":"COMPLETENESS","operator":">=","threshold":0.9}],"output_ports":[],"inputs":[],"security":{"encryption_at_rest":false,"pii_fields":[],"pii_masked":true,"audit_logging":true},"labels":{"kind":"source"}}}}
{"kind":"quality","event":{"event_id":"q1","product_id":"sales.orders","product_version":"1.0.0","run_id":"r1","observed_at":"2026-03-01T12:01:00Z","data_watermark":"2026-03-01T12:00:00Z","checks":[]}}
{"kind":"tick","at":"2026-03-01T13:00:00Z"}
{"kind":"lifecycle","source":"/domains/marketing","event":{"event_id":"e2","type":"UPDATED","occurred_at":"2026-03-01T13:00:00Z","actor":"a","product":{"id":"sales.orders","name":"orders","domain":"sales","owner_team":"t","tags":[],"version":"1.0.1","sensitivity":"CONFIDENTIAL","retention_days":400,"sla":{"freshness":"15m"},"quality_slos":[{"dimension":"COMPLETENESS","operator":">=","threshold":0.9}],"output_ports":[],"inputs":[],"security":{"encryption_at_rest":true,"pii_fields":[],"pii_masked":true,"audit_logging":true},"labels":{"kind":"source"}}}}
`
	if err := os.WriteFile(file, []byte(lines), 0o644); err != nil {
		t.Fatal(err)
	}
	out, errOut, err := govCtl(context.Background(), "policy", "test", "../../policies", "--events", file)
	if err != nil {
		t.Fatalf("policy test: %v\n%s", err, errOut)
	}
	for _, want := range []string{
		"2     sales.orders  encryption-at-rest  CRITICAL  OPEN      sales.orders holds CONFIDENTIAL data but does not declare encryption at rest",
		"4     sales.orders  freshness           WARNING   OPEN",
		"5     sales.orders  encryption-at-rest  CRITICAL  RESOLVED",
		"5     sales.orders  ownership           CRITICAL  OPEN      UPDATED event e2 about sales.orders came from /domains/marketing",
		fmt.Sprintf("4 violation records from %d policies", defaultPolicies(t)),
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}

	if err := os.WriteFile(file, []byte(`{"kind":"audit"}`+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, _, err := govCtl(context.Background(), "policy", "test", "../../policies", "--events", file); err == nil || err.Error() != file+`:1: kind "audit" is not lifecycle, quality or tick` {
		t.Errorf("bad kind: %v", err)
	}
}
