package main

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/meshbone/meshbone/internal/registrar"
	"github.com/meshbone/meshbone/internal/registrar/registrartest"
	"github.com/meshbone/meshbone/internal/testkit"
)

// startRegistrar runs a registrar on a fresh testkit Env and returns its URL
// and a token per given domain ("governance" gives the governance role).
func startRegistrar(t *testing.T, domains ...string) (string, map[string]string) {
	t.Helper()
	env := testkit.New(t)
	t.Logf("meshctl product on %s", env.Backend)
	return registrartest.Start(t, env, domains...)
}

func TestProductCommands(t *testing.T) {
	url, tokens := startRegistrar(t, "sales", "marketing", "governance")
	example := filepath.Join("..", "..", "examples", "sales", "customer-orders.yaml")

	out, err := meshctl(t, "--registrar", url, "--token", tokens["sales"], "product", "apply", "-f", example)
	if err != nil || !strings.Contains(out, "REGISTERED") || !strings.Contains(out, "sales.customer-orders.orders.v2") {
		t.Fatalf("apply: %v\n%s", err, out)
	}
	// Flags from the environment; applying again changes nothing.
	t.Setenv("MESHBONE_REGISTRAR", url)
	t.Setenv("MESHBONE_TOKEN", tokens["sales"])
	if out, err := meshctl(t, "product", "apply", "-f", example); err != nil || !strings.Contains(out, "UNCHANGED") {
		t.Fatalf("apply again: %v\n%s", err, out)
	}

	out, err = meshctl(t, "product", "get", "sales.customer-orders")
	if err != nil || !strings.Contains(out, "ACTIVE") || !strings.Contains(out, "6 partitions") {
		t.Fatalf("get: %v\n%s", err, out)
	}
	out, err = meshctl(t, "-o", "json", "product", "get", "sales.customer-orders")
	var view registrar.Product
	if err != nil || json.Unmarshal([]byte(out), &view) != nil || view.Product.Version != "2.1.0" {
		t.Fatalf("get -o json: %v\n%s", err, out)
	}
	if out, err := meshctl(t, "product", "list"); err != nil || !strings.Contains(out, "sales.customer-orders") {
		t.Fatalf("list: %v\n%s", err, out)
	}

	// Errors come out as the API gave them.
	_, err = meshctl(t, "--token", tokens["marketing"], "product", "apply", "-f", example)
	if err == nil || !strings.Contains(err.Error(), "forbidden (HTTP 403)") {
		t.Fatalf("cross-domain apply: %v", err)
	}
	_, err = meshctl(t, "product", "get", "sales.nothing")
	if err == nil || !strings.Contains(err.Error(), "not_found (HTTP 404)") {
		t.Fatalf("get unknown: %v", err)
	}
	_, err = meshctl(t, "product", "retire", "sales.customer-orders")
	if err == nil || !strings.Contains(err.Error(), "deprecate it before retiring it") {
		t.Fatalf("retire active: %v", err)
	}
	_, err = meshctl(t, "product", "apply", "-f", filepath.Join("..", "..", "examples", "README.md"))
	if err == nil {
		t.Fatal("apply of a non-descriptor succeeded")
	}

	out, err = meshctl(t, "product", "deprecate", "sales.customer-orders", "--reason", "split into per-channel products", "--sunset", "2099-01-31")
	if err != nil || !strings.Contains(out, "DEPRECATED") {
		t.Fatalf("deprecate: %v\n%s", err, out)
	}
	_, err = meshctl(t, "product", "retire", "sales.customer-orders", "--force")
	if err == nil || !strings.Contains(err.Error(), "forbidden (HTTP 403)") {
		t.Fatalf("retire --force by a domain owner: %v", err)
	}
	out, err = meshctl(t, "product", "retire", "sales.customer-orders")
	if err != nil || !strings.Contains(out, "RETIRED") {
		t.Fatalf("retire: %v\n%s", err, out)
	}
}
