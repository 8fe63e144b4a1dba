package registrar

import (
	"net/http"
	"path/filepath"
	"strings"
	"testing"
)

func TestLoadTokensErrors(t *testing.T) {
	cases := map[string]string{
		"unknown-field.yaml": `token file testdata/tokens/unknown-field.yaml: error unmarshaling JSON: while decoding JSON: json: unknown field "expires"`,
		"bad-hash.yaml":      `token file testdata/tokens/bad-hash.yaml: tokens[1].sha256: must be the lowercase hex SHA-256 of the token (64 characters), got "secret"`,
		"bad-role.yaml":      `token file testdata/tokens/bad-role.yaml: tokens[0].role: must be "domain-owner" or "governance", got "admin"`,
		"no-domain.yaml":     `token file testdata/tokens/no-domain.yaml: tokens[0].domain: is required for role domain-owner`,
		"duplicate.yaml":     `token file testdata/tokens/duplicate.yaml: tokens[1].sha256: same token as tokens[0]`,
		"empty.yaml":         `token file testdata/tokens/empty.yaml: tokens: at least one token is required`,
		"no-principal.yaml":  `token file testdata/tokens/no-principal.yaml: tokens[0].principal: is required`,
		"bad-domain.yaml":    `token file testdata/tokens/bad-domain.yaml: tokens[0].domain: must be a lowercase DNS label, got "Sales_EU"`,
	}
	for file, want := range cases {
		t.Run(file, func(t *testing.T) {
			_, err := LoadTokens(filepath.Join("testdata", "tokens", file))
			if err == nil || err.Error() != want {
				t.Fatalf("error\n%v\nwant\n%s", err, want)
			}
		})
	}
	if _, err := LoadTokens("testdata/tokens/missing.yaml"); err == nil || !strings.Contains(err.Error(), "missing.yaml") {
		t.Fatalf("missing file: %v", err)
	}
}

func TestNewNamesTheBadTokenFile(t *testing.T) {
	opts := DefaultOptions()
	opts.Listen = "127.0.0.1:0"
	opts.TokenFile = "testdata/tokens/bad-role.yaml"
	_, err := New(opts, nil)
	if err == nil || !strings.Contains(err.Error(), "bad-role.yaml: tokens[0].role") {
		t.Fatalf("New: %v", err)
	}
	opts.TokenFile = ""
	if _, err := New(opts, nil); err == nil || err.Error() != "registrar: token-file: is required" {
		t.Fatalf("New without a token file: %v", err)
	}
}

func TestAuthenticate(t *testing.T) {
	tokens, err := LoadTokens("testdata/tokens/good.yaml")
	if err != nil {
		t.Fatal(err)
	}
	ts := newTokenSet(tokens)
	for header, want := range map[string]string{
		"":                   "missing Authorization header",
		"Basic c2VjcmV0":     "is not \"Bearer <token>\"",
		"Bearer ":            "is not \"Bearer <token>\"",
		"Bearer not-the-one": "unknown bearer token",
		"Bearer secret":      "",
		"bearer   secret   ": "",
	} {
		r, _ := http.NewRequest(http.MethodPost, "/", nil)
		if header != "" {
			r.Header.Set("Authorization", header)
		}
		p, err := ts.authenticate(r)
		switch {
		case want == "" && (err != nil || p.Name != "ada" || p.Domain != "sales"):
			t.Errorf("%q: %+v, %v", header, p, err)
		case want != "" && (err == nil || !strings.Contains(err.Error(), want)):
			t.Errorf("%q: error %v, want %q", header, err, want)
		}
	}
	if !(principal{Role: RoleGovernance}).mayActOn("finance") || (principal{Role: RoleDomainOwner, Domain: "sales"}).mayActOn("finance") {
		t.Fatal("mayActOn")
	}
}

func TestWriteTokenFileRoundTrip(t *testing.T) {
	tok, err := NewToken()
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "tokens.yaml")
	want := []Token{{SHA256: HashToken(tok), Principal: "gov", Role: RoleGovernance}}
	if err := WriteTokenFile(path, want); err != nil {
		t.Fatal(err)
	}
	got, err := LoadTokens(path)
	if err != nil || len(got) != 1 || got[0] != want[0] {
		t.Fatalf("read back %+v, %v", got, err)
	}
	if err := WriteTokenFile(path, []Token{{SHA256: tok, Principal: "x", Role: RoleGovernance}}); err == nil {
		t.Fatal("WriteTokenFile accepted a token in clear")
	}
}

func TestCompareVersions(t *testing.T) {
	ordered := []string{"0.9.9", "1.0.0-alpha", "1.0.0-alpha.1", "1.0.0-alpha.beta", "1.0.0-beta", "1.0.0-beta.2", "1.0.0-beta.11", "1.0.0-rc.1", "1.0.0", "1.0.1", "1.2.0", "1.10.0", "2.0.0", "10.0.0"}
	for i := range ordered {
		for j := range ordered {
			want := 0
			if i < j {
				want = -1
			} else if i > j {
				want = 1
			}
			if got := compareVersions(ordered[i], ordered[j]); got != want {
				t.Errorf("compareVersions(%s, %s) = %d, want %d", ordered[i], ordered[j], got, want)
			}
		}
	}
	if compareVersions("1.0.0+build.1", "1.0.0+build.2") != 0 {
		t.Error("build metadata must not count")
	}
}
