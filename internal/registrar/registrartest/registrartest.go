// Package registrartest runs a registrar for the tests of other packages
// (meshctl, the examples): on a testkit Env, with a fresh token per domain.
package registrartest

import (
	"context"
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"github.com/meshbone/meshbone/internal/kafka"
	"github.com/meshbone/meshbone/internal/registrar"
	"github.com/meshbone/meshbone/internal/testkit"
)

// Governance, given as a domain to Start, gets a token of the governance
// role.
const Governance = "governance"

// Start runs a registrar on env until the test ends and returns its URL and
// a token per given domain, once it is ready. The registrar's Run must end
// without error when the test stops it.
func Start(t *testing.T, env *testkit.Env, domains ...string) (string, map[string]string) {
	t.Helper()
	tokens := map[string]string{}
	var entries []registrar.Token
	for _, d := range domains {
		tok, err := registrar.NewToken()
		if err != nil {
			t.Fatal(err)
		}
		tokens[d] = tok
		e := registrar.Token{SHA256: registrar.HashToken(tok), Principal: d + "-team", Domain: d, Role: registrar.RoleDomainOwner}
		if d == Governance {
			e.Domain, e.Role = "", registrar.RoleGovernance
		}
		entries = append(entries, e)
	}
	file := filepath.Join(t.TempDir(), "tokens.yaml")
	if err := registrar.WriteTokenFile(file, entries); err != nil {
		t.Fatal(err)
	}
	opts := registrar.DefaultOptions()
	opts.Kafka = kafka.Config{Brokers: env.Brokers, TopicPrefix: env.Prefix, RegistryURL: env.Registry}
	opts.Listen, opts.TokenFile = "127.0.0.1:0", file
	svc, err := registrar.New(opts, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- svc.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Error(err)
			}
		case <-time.After(30 * time.Second):
			t.Error("registrar did not stop")
		}
	})
	env.Eventually(func() bool {
		resp, err := http.Get(svc.URL() + "/readyz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	}, "registrar ready")
	return svc.URL(), tokens
}
