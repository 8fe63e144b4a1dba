package governor

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/meshbone/meshbone/internal/policy"
	"github.com/meshbone/meshbone/pkg/events"
)

func TestNewRefusesABadPolicy(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "global", "enc.yaml"), `apiVersion: meshbone/v1
kind: Policy
metadata: {id: encryption-at-rest, severity: critical}
spec:
  on: [lifecycle]
  require: prodcut.security.encryption_at_rest
  message: x
`)
	o := DefaultOptions()
	o.Policies = policy.RootDirs(dir)
	o.Listen = ""
	_, err := New(o, nil)
	want := filepath.Join(dir, "global", "enc.yaml") + `:6: policy "encryption-at-rest": spec.require: 1:1: undeclared reference to 'prodcut' (did you mean 'product'?)`
	if err == nil || !strings.Contains(err.Error(), want) || !errors.Is(err, policy.ErrInvalid) {
		t.Fatalf("New with a bad policy: %v, want an error containing %q", err, want)
	}
}

// TestReloadAndOperations: a change of the policy files is picked up, a bad
// one is refused and the old set stays; /healthz, /readyz and /metrics
// answer with the governor's series.
func TestReloadAndOperations(t *testing.T) {
	w := newWorld(t)
	t.Logf("reload and operations on %s", w.env.Backend)
	dir := t.TempDir()
	copyDir(t, "../../policies/global", filepath.Join(dir, "global"))
	o := w.options()
	o.Policies = policy.RootDirs(dir)
	o.PolicyPollInterval = 20 * time.Millisecond
	s, _ := w.start(o)
	before := s.Policies().Digest()

	// A new policy file is loaded without a restart and judges at once.
	writeFile(t, filepath.Join(dir, "global", "owner.yaml"), `apiVersion: meshbone/v1
kind: Policy
metadata: {id: named-steward, severity: info}
spec:
  on: [lifecycle]
  require: has(product.ownership.steward)
  message: "${product.id} names no steward"
`)
	w.env.Eventually(func() bool { _, ok := s.Policies().Get("named-steward"); return ok }, "new policy loaded")
	p := goodProduct("sales", "stewardless")
	w.own(lifecycleEvent("ev-steward", events.LifecycleRegistered, p))
	st := w.waitCompliance(p.ID, func(*events.ComplianceStatus) bool { return true }, "judged")
	if got := openPolicies(st); len(got) != 1 || got[0] != "named-steward" {
		t.Errorf("open %v, want named-steward", got)
	}

	// A broken file is refused: the set in force stays.
	loaded := s.Policies().Digest()
	if loaded == before {
		t.Fatal("digest did not change with a new policy")
	}
	writeFile(t, filepath.Join(dir, "global", "broken.yaml"), "apiVersion: meshbone/v1\nkind: Policy\nmetadata: {id: broken, severity: info}\nspec: {on: [lifecycle], require: 'product.nope', message: x}\n")
	if err := s.Reload(); err == nil || !strings.Contains(err.Error(), `broken.yaml:4: policy "broken": spec.require: 1:8: undefined field 'nope'`) {
		t.Errorf("Reload with a broken file: %v", err)
	}
	if s.Policies().Digest() != loaded {
		t.Error("a failed reload changed the policies in force")
	}
	if err := os.Remove(filepath.Join(dir, "global", "broken.yaml")); err != nil {
		t.Fatal(err)
	}
	if err := s.Reload(); err != nil {
		t.Errorf("Reload after the fix: %v", err)
	}

	get := func(path string) (int, string) {
		t.Helper()
		resp, err := http.Get(s.URL() + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, _ := get("/healthz"); code != http.StatusOK {
		t.Errorf("/healthz: %d", code)
	}
	if code, body := get("/readyz"); code != http.StatusOK {
		t.Errorf("/readyz: %d %s", code, body)
	}
	_, metrics := get("/metrics")
	for _, want := range []string{
		`meshbone_governor_evaluations_total{outcome="fail",policy="named-steward"} 1`,
		`meshbone_governor_violations_total{policy="named-steward",severity="INFO",status="OPEN"} 1`,
		`meshbone_governor_consumer_lag{partition=`,
		`meshbone_governor_transactions_total{result="committed"}`,
		`meshbone_governor_policy_reloads_total{result="failed"}`,
		fmt.Sprintf("meshbone_governor_policies %d", s.Policies().Len()),
		`meshbone_governor_phase_seconds_total{phase="decode"}`,
		`meshbone_governor_phase_seconds_total{phase="judge"}`,
		`meshbone_governor_phase_seconds_total{phase="write"}`,
		`meshbone_governor_phase_seconds_total{phase="commit"}`,
	} {
		if !strings.Contains(metrics, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
}
