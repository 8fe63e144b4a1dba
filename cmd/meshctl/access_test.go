package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/meshbone/meshbone/internal/registrar"
	"github.com/meshbone/meshbone/pkg/events"
)

// TestAccessCommands: marketing asks for sales' CONFIDENTIAL orders, sales
// approves, governance revokes; a request for an INTERNAL product is
// approved by rule; export and -f round-trip through OAAS.
func TestAccessCommands(t *testing.T) {
	url, tokens := startRegistrar(t, "sales", "marketing", "governance")
	t.Setenv("MESHBONE_REGISTRAR", url)
	for _, ex := range []string{"sales/customer-orders.yaml", "marketing/campaigns.yaml"} {
		domain, _, _ := strings.Cut(ex, "/")
		if out, err := meshctl(t, "--token", tokens[domain], "product", "apply", "-f", filepath.Join("..", "..", "examples", ex)); err != nil {
			t.Fatalf("apply %s: %v\n%s", ex, err, out)
		}
	}
	request := []string{"--token", tokens["marketing"], "access", "request", "sales.customer-orders", "--port", "orders",
		"--consumer", "data-product:marketing.campaigns", "--principal", "User:campaigns", "--group-prefix", "marketing.campaigns.",
		"--purpose", "attribute orders to campaigns", "--valid-until", "2099-01-01", "--channel", "slack:#campaigns"}
	out, err := meshctl(t, append([]string{"-o", "json"}, request...)...)
	var res registrar.AccessResult
	if err != nil || json.Unmarshal([]byte(out), &res) != nil || res.Status != events.AgreementPending ||
		res.Consumer.Channel == nil || *res.Consumer.Channel != "slack:#campaigns" {
		t.Fatalf("request: %v\n%s", err, out)
	}
	id := res.AgreementID

	// Asking twice, or with a wildcard, is refused with the API's text.
	if _, err := meshctl(t, request...); err == nil || !strings.Contains(err.Error(), "already has agreement "+id+" (PENDING)") {
		t.Fatalf("second request: %v", err)
	}
	bad := append([]string(nil), request...)
	bad[10] = "User:*"
	if _, err := meshctl(t, bad...); err == nil || !strings.Contains(err.Error(), `principal "User:*" holds a wildcard`) {
		t.Fatalf("wildcard principal: %v", err)
	}
	if _, err := meshctl(t, "--token", tokens["marketing"], "access", "request", "sales.customer-orders", "--consumer", "robot"); err == nil ||
		err.Error() != `--consumer: "robot" is not TYPE:ID (team:<name>, application:<name> or data-product:<product id>)` {
		t.Fatalf("bad --consumer: %v", err)
	}

	out, err = meshctl(t, "access", "list", "--product", "sales.customer-orders", "--status", "pending")
	if err != nil || !strings.Contains(out, "ID") || !strings.Contains(out, id) || !strings.Contains(out, "data-product:marketing.campaigns") || !strings.Contains(out, "2099-01-01") {
		t.Fatalf("list: %v\n%s", err, out)
	}
	if _, err := meshctl(t, "--token", tokens["marketing"], "access", "approve", id); err == nil || !strings.Contains(err.Error(), "forbidden (HTTP 403)") {
		t.Fatalf("approve by marketing: %v", err)
	}
	out, err = meshctl(t, "--token", tokens["sales"], "access", "approve", id)
	if err != nil || !strings.Contains(out, "APPROVED") || !strings.Contains(out, "sales-team") {
		t.Fatalf("approve: %v\n%s", err, out)
	}

	// Export as OAAS, and ask again from the document after a revocation.
	doc, err := meshctl(t, "access", "export", id)
	if err != nil || !strings.Contains(doc, "kind: AccessAgreement") || !strings.Contains(doc, "approvedBy: sales-team") {
		t.Fatalf("export: %v\n%s", err, doc)
	}
	out, err = meshctl(t, "--token", tokens["governance"], "access", "revoke", id, "--reason", "campaign over")
	if err != nil || !strings.Contains(out, "REVOKED") || !strings.Contains(out, "campaign over") {
		t.Fatalf("revoke: %v\n%s", err, out)
	}
	file := filepath.Join(t.TempDir(), "agreement.yaml")
	if err := os.WriteFile(file, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err = meshctl(t, "-o", "json", "--token", tokens["marketing"], "access", "request", "-f", file)
	var again registrar.AccessResult
	if err != nil || json.Unmarshal([]byte(out), &again) != nil || again.Status != events.AgreementPending || again.AgreementID == id ||
		again.Principal != "User:campaigns" || again.GroupPrefix != "marketing.campaigns." || again.ValidUntil == nil ||
		again.Consumer.Channel == nil || *again.Consumer.Channel != "slack:#campaigns" {
		t.Fatalf("request -f: %v\n%s", err, out)
	}
	if _, err := meshctl(t, "--token", tokens["marketing"], "access", "request", "-f", file, "--principal", "User:x"); err == nil ||
		err.Error() != "-f: give the request either as an OAAS document or as arguments and flags, not both" {
		t.Fatalf("-f with flags: %v", err)
	}
	if out, err := meshctl(t, "--token", tokens["sales"], "access", "reject", again.AgreementID, "--reason", "ask with a narrower purpose"); err != nil || !strings.Contains(out, "REJECTED") {
		t.Fatalf("reject: %v\n%s", err, out)
	}
	if _, err := meshctl(t, "--token", tokens["sales"], "access", "reject", again.AgreementID, "--reason", "again"); err == nil || !strings.Contains(err.Error(), "is REJECTED already") {
		t.Fatalf("reject twice: %v", err)
	}

	// INTERNAL: approved by rule.
	out, err = meshctl(t, "--token", tokens["sales"], "access", "request", "marketing.campaigns", "--port", "campaigns",
		"--consumer", "team:sales-analytics", "--principal", "User:sales-analytics", "--group-prefix", "sales-analytics-", "--purpose", "campaign reach per region")
	if err != nil || !strings.Contains(out, "APPROVED") || !strings.Contains(out, "rule:access-approval") {
		t.Fatalf("request for an INTERNAL product: %v\n%s", err, out)
	}
}
