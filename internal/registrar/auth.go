package registrar

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"net/http"
	"os"
	"regexp"
	"strings"

	"sigs.k8s.io/yaml"
)

// Role is what a token's principal may do.
type Role string

// Roles.
const (
	// RoleDomainOwner acts on the products of its own domain only.
	RoleDomainOwner Role = "domain-owner"
	// RoleGovernance acts on the products of every domain, and may force the
	// retirement of a product other products still read.
	RoleGovernance Role = "governance"
)

// Token is one entry of a token file. The token itself is never stored: only
// the hex SHA-256 of it (HashToken).
type Token struct {
	SHA256    string `json:"sha256"`
	Principal string `json:"principal"`
	// Domain is the domain a domain-owner acts on; optional for governance.
	Domain string `json:"domain,omitempty"`
	Role   Role   `json:"role"`
}

// TokenFile is the document of a token file:
//
//	tokens:
//	  - sha256: 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08
//	    principal: ada@example.com
//	    domain: sales
//	    role: domain-owner
//	  - sha256: ...
//	    principal: governance-bot
//	    role: governance
type TokenFile struct {
	Tokens []Token `json:"tokens"`
}

// HashToken returns the hex SHA-256 of a bearer token, as token files hold it.
func HashToken(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// NewToken returns a fresh random bearer token (32 random bytes, base64url).
func NewToken() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// WriteTokenFile writes tokens to path (mode 0600) after checking them as
// LoadTokens would.
func WriteTokenFile(path string, tokens []Token) error {
	if err := checkTokens(path, tokens); err != nil {
		return err
	}
	data, err := yaml.Marshal(TokenFile{Tokens: tokens})
	if err != nil {
		return err
	}
	return os.WriteFile(path, data, 0o600)
}

// LoadTokens reads and checks a token file. Unknown fields, a bad hash, a
// missing principal, an unknown role, a domain-owner without a domain and a
// hash listed twice are errors naming the file and the entry.
func LoadTokens(path string) ([]Token, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("token file: %w", err)
	}
	var tf TokenFile
	if err := yaml.UnmarshalStrict(data, &tf); err != nil {
		return nil, fmt.Errorf("token file %s: %w", path, err)
	}
	if err := checkTokens(path, tf.Tokens); err != nil {
		return nil, err
	}
	return tf.Tokens, nil
}

var (
	hexSHA256 = regexp.MustCompile(`^[0-9a-f]{64}$`)
	dnsLabel  = regexp.MustCompile(`^[a-z]([a-z0-9-]{0,61}[a-z0-9])?$`)
)

func checkTokens(path string, tokens []Token) error {
	if len(tokens) == 0 {
		return fmt.Errorf("token file %s: tokens: at least one token is required", path)
	}
	seen := map[string]int{}
	for i, t := range tokens {
		fail := func(field, format string, args ...any) error {
			return fmt.Errorf("token file %s: tokens[%d].%s: %s", path, i, field, fmt.Sprintf(format, args...))
		}
		switch {
		case !hexSHA256.MatchString(t.SHA256):
			return fail("sha256", "must be the lowercase hex SHA-256 of the token (64 characters), got %q", t.SHA256)
		case strings.TrimSpace(t.Principal) == "":
			return fail("principal", "is required")
		case t.Role != RoleDomainOwner && t.Role != RoleGovernance:
			return fail("role", "must be %q or %q, got %q", RoleDomainOwner, RoleGovernance, t.Role)
		case t.Role == RoleDomainOwner && t.Domain == "":
			return fail("domain", "is required for role %s", RoleDomainOwner)
		case t.Domain != "" && !dnsLabel.MatchString(t.Domain):
			return fail("domain", "must be a lowercase DNS label, got %q", t.Domain)
		}
		if j, dup := seen[t.SHA256]; dup {
			return fail("sha256", "same token as tokens[%d]", j)
		}
		seen[t.SHA256] = i
	}
	return nil
}

// principal is who a request acts as.
type principal struct {
	Name   string
	Domain string
	Role   Role
}

// mayActOn reports whether p may change the products of domain.
func (p principal) mayActOn(domain string) bool {
	return p.Role == RoleGovernance || p.Domain == domain
}

// tokenSet authenticates bearer tokens against hashed entries.
type tokenSet struct {
	hashes [][]byte
	tokens []Token
}

func newTokenSet(tokens []Token) *tokenSet {
	ts := &tokenSet{tokens: tokens}
	for _, t := range tokens {
		h, _ := hex.DecodeString(t.SHA256) // checked by checkTokens
		ts.hashes = append(ts.hashes, h)
	}
	return ts
}

// authenticate returns the principal of the request's bearer token. Every
// entry is compared, in constant time, whether or not an earlier one matched.
func (ts *tokenSet) authenticate(r *http.Request) (principal, error) {
	auth := r.Header.Get("Authorization")
	if auth == "" {
		return principal{}, newError(ErrUnauthenticated, "Authorization", "missing Authorization header: send \"Authorization: Bearer <token>\"")
	}
	scheme, token, ok := strings.Cut(auth, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(token) == "" {
		return principal{}, newError(ErrUnauthenticated, "Authorization", "Authorization header is not \"Bearer <token>\"")
	}
	sum := sha256.Sum256([]byte(strings.TrimSpace(token)))
	found := -1
	for i, h := range ts.hashes {
		if subtle.ConstantTimeCompare(sum[:], h) == 1 {
			found = i
		}
	}
	if found < 0 {
		return principal{}, newError(ErrUnauthenticated, "Authorization", "unknown bearer token")
	}
	t := ts.tokens[found]
	return principal{Name: t.Principal, Domain: t.Domain, Role: t.Role}, nil
}
