package policy

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/meshbone/meshbone/pkg/events"
)

func TestLoadDefaultPolicies(t *testing.T) {
	s, err := Load(RootDirs("../../policies"))
	if err != nil {
		t.Fatalf("load the default policies: %v", err)
	}
	want := []string{"access-approval", "audit-logging", "data-lineage", "deprecation", "encryption-at-rest", "freshness", "ownership",
		"pii-masking", "quality-slo", "reported-vs-observed", "retention-policy", "upstream-deprecation", "campaign-attribution", "orders-retention"}
	var got []string
	for _, p := range s.Policies() {
		got = append(got, p.ID)
		if len(p.Version) != 12 {
			t.Errorf("%s: version %q, want 12 hex digits", p.ID, p.Version)
		}
	}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("policies %v, want %v", got, want)
	}
	// Only the lifecycle policies that read a product's inputs judge its
	// re-judgements.
	var upstream []string
	for _, p := range s.For("sales", TriggerUpstream) {
		upstream = append(upstream, p.ID)
	}
	if got, want := strings.Join(upstream, ","), "data-lineage,upstream-deprecation"; got != want {
		t.Errorf("upstream policies %s, want %s", got, want)
	}
	if p, _ := s.Get("orders-retention"); p.Scope != events.ScopeDomain || p.Domain != "sales" {
		t.Errorf("orders-retention: scope %s domain %q, want DOMAIN sales", p.Scope, p.Domain)
	}
	// sales products get the globals plus sales' own, marketing's never.
	ids := func(ps []*Policy) string {
		var out []string
		for _, p := range ps {
			out = append(out, p.ID)
		}
		return strings.Join(out, ",")
	}
	if got := ids(s.For("sales", TriggerLifecycle)); !strings.HasSuffix(got, ",orders-retention") || strings.Contains(got, "campaign") {
		t.Errorf("lifecycle policies for sales: %s", got)
	}
	if got := ids(s.For("finance", TriggerFreshness)); got != "freshness" {
		t.Errorf("freshness policies for finance: %s, want freshness", got)
	}
}

// TestBadPolicies holds the exact error of each bad file under testdata/bad.
func TestBadPolicies(t *testing.T) {
	cases := map[string]string{
		"undeclared.yaml":       `testdata/bad/undeclared.yaml:6: policy "encryption-at-rest": spec.require: 1:1: undeclared reference to 'prodcut' (did you mean 'product'?)`,
		"undefined-field.yaml":  `testdata/bad/undefined-field.yaml:7: policy "typo-field": spec.require: 1:17: undefined field 'encrypted'`,
		"not-bool.yaml":         `testdata/bad/not-bool.yaml:6: policy "not-bool": spec.require: 1:1: must be a bool expression, this one is int`,
		"syntax.yaml":           `testdata/bad/syntax.yaml:6: policy "syntax": spec.require: 1:25: Syntax error: mismatched input '<EOF>' expecting {'[', '{', '(', '.', '-', '!', 'true', 'false', 'null', NUM_FLOAT, NUM_INT, NUM_UINT, STRING, BYTES, IDENTIFIER}`,
		"bad-placeholder.yaml":  `testdata/bad/bad-placeholder.yaml:7: policy "bad-placeholder": spec.message: 1:8: undefined field 'nme'`,
		"unknown-field.yaml":    `testdata/bad/unknown-field.yaml:6: policy "unknown-field": spec.requre: unknown field (did you mean "require"?) (known: on, when, require, message)` + "\n" + `testdata/bad/unknown-field.yaml:5: policy "unknown-field": spec.require: is required (a CEL expression that must be true)`,
		"bad-enums.yaml":        `testdata/bad/bad-enums.yaml:3: policy "Bad_ID": metadata.id: "Bad_ID" is not lower-case letters, digits and dashes (at most 63)` + "\n" + `testdata/bad/bad-enums.yaml:3: policy "Bad_ID": metadata.severity: "fatal" is not info, warning or critical` + "\n" + `testdata/bad/bad-enums.yaml:5: policy "Bad_ID": spec.on[1]: "audit" is not one of lifecycle, quality, freshness, access`,
		"duplicate-key.yaml":    `testdata/bad/duplicate-key.yaml:7: policy "dup": spec.require: duplicate key`,
		"header.yaml":           `testdata/bad/header.yaml:1: policy "header": apiVersion: is "meshbone/v2", want "meshbone/v1"` + "\n" + `testdata/bad/header.yaml:2: policy "header": kind: is "DataProduct", want "Policy"`,
		"garbage.yaml":          `testdata/bad/garbage.yaml: line 1: did not find expected ',' or ']'`,
		"empty.yaml":            `testdata/bad/empty.yaml: file is empty`,
		"two-docs.yaml":         `testdata/bad/two-docs.yaml:5: a policy file holds one YAML document, found a second one`,
		"domain-in-global.yaml": `testdata/bad/domain-in-global.yaml:3: policy "sneaky": metadata.scope: a domain policy belongs in the directory of its domain, not with the global policies`,
	}
	entries, _ := os.ReadDir("testdata/bad")
	if len(entries) != len(cases) {
		t.Errorf("%d files in testdata/bad, %d cases", len(entries), len(cases))
	}
	for name, want := range cases {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join("testdata/bad", name)
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			_, err = LoadFiles(map[string][]byte{path: data})
			if err == nil {
				t.Fatal("loaded, want an error")
			}
			if !errors.Is(err, ErrInvalid) {
				t.Errorf("errors.Is(err, ErrInvalid) is false for %v", err)
			}
			if err.Error() != want {
				t.Errorf("error\n%s\nwant\n%s", err, want)
			}
		})
	}
}
