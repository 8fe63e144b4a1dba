package policy

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func writeFiles(t *testing.T, files map[string]string) string {
	t.Helper()
	root := t.TempDir()
	for name, body := range files {
		p := filepath.Join(root, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

const goodGlobal = `apiVersion: meshbone/v1
kind: Policy
metadata: {id: encryption-at-rest, severity: critical}
spec: {on: [lifecycle], require: product.security.encryption_at_rest, message: "x"}
`

func TestDomainDirectoryRules(t *testing.T) {
	cases := []struct {
		name  string
		files map[string]string
		want  string // "<file>:<line>: ..." relative to the root
	}{
		{"other domain", map[string]string{
			"global/enc.yaml": goodGlobal,
			"domains/sales/p.yaml": `apiVersion: meshbone/v1
kind: Policy
metadata: {id: marketing-thing, scope: domain, domain: marketing, severity: info}
spec: {on: [lifecycle], require: "true", message: "x"}
`}, `domains/sales/p.yaml:3: policy "marketing-thing": metadata.domain: "marketing" is not the domain of its directory ("sales"): a domain may only set policies for itself`},
		{"replace a global", map[string]string{
			"global/enc.yaml": goodGlobal,
			"domains/sales/p.yaml": `apiVersion: meshbone/v1
kind: Policy
metadata: {id: encryption-at-rest, domain: sales, severity: info}
spec: {on: [lifecycle], require: "true", message: "disabled"}
`}, `domains/sales/p.yaml:3: policy "encryption-at-rest": metadata.id: a domain policy may not replace or disable the global policy of the same id (ROOT/global/enc.yaml)`},
		{"global in a domain directory", map[string]string{
			"domains/sales/p.yaml": `apiVersion: meshbone/v1
kind: Policy
metadata: {id: mine, scope: global, severity: info}
spec: {on: [lifecycle], require: "true", message: "x"}
`}, `domains/sales/p.yaml:3: policy "mine": metadata.scope: a domain directory (sales) may not hold a global policy`},
		{"domain missing", map[string]string{
			"domains/sales/p.yaml": `apiVersion: meshbone/v1
kind: Policy
metadata: {id: mine, severity: info}
spec: {on: [lifecycle], require: "true", message: "x"}
`}, `domains/sales/p.yaml:3: policy "mine": metadata.domain: is required for a domain policy (its directory says "sales")`},
		{"duplicate global id", map[string]string{
			"global/a.yaml": goodGlobal,
			"global/b.yaml": goodGlobal,
		}, `global/b.yaml:3: policy "encryption-at-rest": metadata.id: duplicate policy id (also in ROOT/global/a.yaml)`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			root := writeFiles(t, c.files)
			_, err := Load(RootDirs(root))
			if err == nil {
				t.Fatal("loaded, want an error")
			}
			want := root + "/" + strings.ReplaceAll(c.want, "ROOT", root)
			if err.Error() != want {
				t.Errorf("error\n%s\nwant\n%s", err, want)
			}
		})
	}
}

func TestVersionIsContentHash(t *testing.T) {
	load := func(body string) *Policy {
		t.Helper()
		s, err := LoadFiles(map[string][]byte{"p.yaml": []byte(body)})
		if err != nil {
			t.Fatal(err)
		}
		return s.Policies()[0]
	}
	a := load(goodGlobal)
	b := load("# a comment changes nothing\n" + strings.ReplaceAll(goodGlobal, "severity: critical", "severity: CRITICAL"))
	c := load(strings.ReplaceAll(goodGlobal, `message: "x"`, `message: "y"`))
	if a.Version != b.Version {
		t.Errorf("same meaning, versions %s and %s", a.Version, b.Version)
	}
	if a.Version == c.Version {
		t.Errorf("different message, same version %s", a.Version)
	}
}

func TestRootDirsFallsBackToAFlatDirectory(t *testing.T) {
	root := writeFiles(t, map[string]string{"enc.yaml": goodGlobal})
	s, err := Load(RootDirs(root))
	if err != nil || s.Len() != 1 {
		t.Fatalf("Load(flat dir) = %v, %v; want one policy", s, err)
	}
}
