package main

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/meshbone/meshbone/internal/registrar"
)

// dryRunCopy copies the example sales.customer-orders into a temp dir with
// its version set and its order schema edited by edit, and returns the
// descriptor's path.
func dryRunCopy(t *testing.T, version string, edit func(schema string) string) string {
	t.Helper()
	src := filepath.Join("..", "..", "examples", "sales")
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, "schemas"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"customer-orders.yaml", "schemas/order.avsc", "schemas/daily-order-totals.avsc"} {
		data, err := os.ReadFile(filepath.Join(src, name))
		if err != nil {
			t.Fatal(err)
		}
		text := string(data)
		switch name {
		case "customer-orders.yaml":
			text = strings.Replace(text, "version: 2.1.0", "version: "+version, 1)
		case "schemas/order.avsc":
			text = edit(text)
		}
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return filepath.Join(dir, "customer-orders.yaml")
}

// tableRows splits a table's lines into cells (two spaces or more apart).
func tableRows(out string) [][]string {
	sep := regexp.MustCompile(`\s{2,}`)
	var rows [][]string
	for _, line := range strings.Split(out, "\n") {
		if line = strings.TrimSpace(line); line != "" {
			rows = append(rows, sep.Split(line, -1))
		}
	}
	return rows
}

func hasRow(rows [][]string, want ...string) bool {
	return slices.ContainsFunc(rows, func(r []string) bool { return slices.Equal(r, want) })
}

func exitStatus(err error) int {
	var ee exitError
	if errors.As(err, &ee) {
		return int(ee)
	}
	if err != nil {
		return 1
	}
	return 0
}

// TestProductApplyDryRun: the table and JSON of a breaking change (a field
// removed without a default: its agreement and the downstream products,
// direct and transitive), an incompatible one and a compatible one, with
// their exit statuses; another domain is refused; nothing is registered.
func TestProductApplyDryRun(t *testing.T) {
	url, tokens := startRegistrar(t, "sales", "marketing", "product")
	t.Setenv("MESHBONE_REGISTRAR", url)
	for domain, file := range map[string]string{"sales": "sales/customer-orders.yaml", "marketing": "marketing/campaigns.yaml"} {
		if out, err := meshctl(t, "--token", tokens[domain], "product", "apply", "-f", filepath.Join("..", "..", "examples", file)); err != nil {
			t.Fatalf("apply %s: %v\n%s", file, err, out)
		}
	}
	// A reader of a reader: lineage is transitive.
	sentiment := filepath.Join(t.TempDir(), "sentiment.yaml")
	doc := "apiVersion: meshbone/v1\nkind: DataProduct\nmetadata: {domain: marketing, name: sentiment, owner: m, description: Sentiment per campaign.}\n" +
		"spec:\n  version: 1.0.0\n  sensitivity: internal\n  retentionDays: 30\n  inputs: [marketing.campaigns]\n  outputPorts:\n" +
		"    - {name: scores, schema: '{\"type\": \"record\", \"name\": \"S\", \"fields\": [{\"name\": \"id\", \"type\": \"string\"}]}'}\n"
	if err := os.WriteFile(sentiment, []byte(doc), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := meshctl(t, "--token", tokens["marketing"], "product", "apply", "-f", sentiment); err != nil {
		t.Fatalf("apply sentiment: %v\n%s", err, out)
	}
	client := &registrar.Client{URL: url, Token: tokens["marketing"]}
	agr, err := client.RequestAccess(context.Background(), registrar.AccessRequest{
		Product: "sales.customer-orders", Ports: []string{"orders"}, Consumer: registrar.ConsumerSpec{Type: "application", ID: "attribution"},
		Principal: "User:attribution", GroupPrefix: "attribution-", Purpose: "attribute orders to campaigns",
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("MESHBONE_TOKEN", tokens["sales"])

	removeCustomer := func(s string) string {
		i := strings.Index(s, `    {"name": "customer_id"`)
		j := strings.Index(s, `    {"name": "customer_email"`)
		return s[:i] + s[j:]
	}
	breaking := dryRunCopy(t, "2.2.0", removeCustomer)
	out, err := meshctl(t, "product", "apply", "--dry-run", "-f", breaking)
	if exitStatus(err) != exitBreaking {
		t.Fatalf("dry run of a breaking change: %v, want exit status %d\n%s", err, exitBreaking, out)
	}
	t.Logf("meshctl product apply --dry-run:\n%s", out)
	rows := tableRows(out)
	for _, want := range [][]string{
		{"product", "sales.customer-orders"},
		{"version", "2.2.0 (registered 2.1.0)"},
		{"apply would publish", "VERSION_PUBLISHED"},
		{"verdict", "BREAKING"},
		{"orders", "customer_id", "REMOVED", "string", "-", "FORWARD", "removed without a default: readers of the current schema cannot read new records"},
		{"orders", "agreement", agr.AgreementID, "application:attribution User:attribution PENDING"},
		{"orders", "product", "marketing.campaigns", "reads sales.customer-orders"},
		{"orders", "product", "marketing.sentiment", "reads marketing.campaigns (depth 2)"},
	} {
		if !hasRow(rows, want...) {
			t.Errorf("dry run table lacks the row %q:\n%s", want, out)
		}
	}
	if !slices.ContainsFunc(rows, func(r []string) bool {
		return len(r) == 6 && r[0] == "orders" && r[1] == "BREAKING" && r[2] == "BACKWARD" && r[3] == "yes" && strings.HasSuffix(r[4], "sales.customer-orders.orders.v2") // a real broker's test prefix first
	}) || !slices.ContainsFunc(rows, func(r []string) bool { return len(r) == 6 && r[0] == "daily-totals" && r[1] == "UNCHANGED" }) {
		t.Errorf("dry run ports table:\n%s", out)
	}

	out, err = meshctl(t, "-o", "json", "product", "apply", "--dry-run", "-f", breaking)
	var res registrar.DryRunResult
	if exitStatus(err) != exitBreaking || json.Unmarshal([]byte(out), &res) != nil {
		t.Fatalf("dry run -o json: %v\n%s", err, out)
	}
	if res.Verdict != registrar.VerdictBreaking || len(res.Downstream) != 2 || len(res.Ports) != 2 || !slices.Equal(res.Ports[0].Breaks, []string{"customer_id"}) {
		t.Errorf("dry run -o json: %+v", res)
	}

	retyped := dryRunCopy(t, "2.2.0", func(s string) string {
		return strings.Replace(s, `{"name": "quantity", "type": "int"`, `{"name": "quantity", "type": "string"`, 1)
	})
	out, err = meshctl(t, "product", "apply", "--dry-run", "-f", retyped)
	if exitStatus(err) != exitIncompatible || !hasRow(tableRows(out), "verdict", "INCOMPATIBLE") ||
		!hasRow(tableRows(out), "orders", "lines[].quantity", "TYPE_CHANGED", "int", "string", "BACKWARD,FORWARD", "the new type cannot read int data; readers of int cannot read string data") {
		t.Errorf("dry run of an incompatible change: %v, want exit status %d\n%s", err, exitIncompatible, out)
	}

	compatible := dryRunCopy(t, "2.2.0", func(s string) string {
		return strings.Replace(s, `    {"name": "placed_at"`, `    {"name": "coupon", "type": ["null", "string"], "default": null},`+"\n"+`    {"name": "placed_at"`, 1)
	})
	out, err = meshctl(t, "product", "apply", "--dry-run", "-f", compatible)
	if err != nil || !hasRow(tableRows(out), "verdict", "OK") || !hasRow(tableRows(out), "orders", "coupon", "ADDED", "-", "null|string", "-", "added with a default") ||
		strings.Contains(out, "AFFECTS") {
		t.Errorf("dry run of a compatible change: %v\n%s", err, out)
	}

	_, err = meshctl(t, "--token", tokens["marketing"], "product", "apply", "--dry-run", "-f", breaking)
	if exitStatus(err) != 1 || !strings.Contains(err.Error(), "forbidden (HTTP 403)") {
		t.Errorf("another domain's dry run: %v", err)
	}
	// Nothing was registered.
	out, err = meshctl(t, "-o", "json", "product", "get", "sales.customer-orders")
	var view registrar.Product
	if err != nil || json.Unmarshal([]byte(out), &view) != nil || view.Product.Version != "2.1.0" || len(view.History) != 1 {
		t.Errorf("after the dry runs: %v\n%s", err, out)
	}
}
