package main

import (
	"context"
	"encoding/json"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/meshbone/meshbone/internal/registrar"
	"github.com/meshbone/meshbone/internal/registrar/registrartest"
	"github.com/meshbone/meshbone/internal/testkit"
	"github.com/meshbone/meshbone/pkg/events"
)

// TestNoticesCommand: sales deprecates customer-orders, which an approved
// agreement and marketing.campaigns read; meshctl notices lists both
// notices, filters by consumer and product, prints JSON, and --follow
// prints the retirement's notices as they come.
func TestNoticesCommand(t *testing.T) {
	env := testkit.New(t)
	t.Logf("meshctl notices on %s", env.Backend)
	url, tokens := registrartest.Start(t, env, "sales", "marketing", "governance")
	t.Setenv("MESHBONE_REGISTRAR", url)
	kargs := []string{"--kafka-brokers", strings.Join(env.Brokers, ","), "--registry-url", env.Registry, "--topic-prefix", env.Prefix}
	run := func(args ...string) string {
		t.Helper()
		out, err := meshctl(t, append(args, kargs...)...)
		if err != nil {
			t.Fatalf("meshctl %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return out
	}
	for _, ex := range []string{"sales/customer-orders.yaml", "marketing/campaigns.yaml"} {
		domain, _, _ := strings.Cut(ex, "/")
		run("--token", tokens[domain], "product", "apply", "-f", filepath.Join("..", "..", "examples", ex))
	}
	out := run("-o", "json", "--token", tokens["marketing"], "access", "request", "sales.customer-orders", "--port", "orders",
		"--consumer", "application:campaign-dashboard", "--channel", "slack:#campaign-dash", "--principal", "User:campaign-dashboard",
		"--group-prefix", "campaign-dashboard-", "--purpose", "attribute orders to campaigns")
	var req registrar.AccessResult
	if err := json.Unmarshal([]byte(out), &req); err != nil {
		t.Fatal(err)
	}
	run("--token", tokens["sales"], "access", "approve", req.AgreementID)

	if out := run("notices"); out != strings.Join(noticeHeader, "  ")+"\n" {
		t.Errorf("notices before any: %q", out)
	}
	run("--token", tokens["sales"], "product", "deprecate", "sales.customer-orders", "--reason", "one order model", "--sunset", "2099-01-31")

	out = run("notices")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	agreement := regexp.MustCompile(`^\S+Z  sales\.customer-orders  DEPRECATED  application:campaign-dashboard  slack:#campaign-dash  sales\.customer-orders 2\.1\.0 is deprecated \(one order model\); it will be retired on 2099-01-31T00:00:00Z$`)
	downstream := regexp.MustCompile(`^\S+Z  sales\.customer-orders  DEPRECATED  downstream:marketing\.campaigns +-  +sales\.customer-orders 2\.1\.0 is deprecated`)
	if len(lines) != 3 || !strings.HasPrefix(lines[0], "TIME") || !agreement.MatchString(lines[1]) && !agreement.MatchString(lines[2]) ||
		!downstream.MatchString(lines[1]) && !downstream.MatchString(lines[2]) {
		t.Fatalf("notices:\n%s", out)
	}

	var ns []events.Notice
	for _, consumer := range []string{"application:campaign-dashboard", "campaign-dashboard", req.AgreementID} {
		out = run("-o", "json", "notices", "--consumer", consumer)
		if err := json.Unmarshal([]byte(out), &ns); err != nil || len(ns) != 1 || ns[0].Recipient.ID != req.AgreementID ||
			ns[0].Type != events.NoticeDeprecated || *ns[0].Recipient.Principal != "User:campaign-dashboard" || ns[0].SunsetAt == nil {
			t.Errorf("notices --consumer %s -o json: %v\n%s", consumer, err, out)
		}
	}
	if out = run("notices", "--consumer", "marketing.campaigns"); strings.Count(out, "\n") != 2 || !strings.Contains(out, "downstream:marketing.campaigns") {
		t.Errorf("notices --consumer marketing.campaigns:\n%s", out)
	}
	if out = run("-o", "json", "notices", "--product", "sales.nothing"); strings.TrimSpace(out) != "[]" {
		t.Errorf("notices --product sales.nothing -o json: %q", out)
	}

	ctx, cancel := context.WithCancel(context.Background())
	var fout, ferr syncBuffer
	done := make(chan error, 1)
	go func() {
		root := newRoot(&fout, &ferr)
		root.SetArgs(append([]string{"notices", "--follow", "--product", "sales.customer-orders"}, kargs...))
		done <- root.ExecuteContext(ctx)
	}()
	out, err := meshctl(t, "--token", tokens["sales"], "product", "retire", "sales.customer-orders")
	if err == nil || !strings.Contains(err.Error(), "is still an input of marketing.campaigns") {
		t.Fatalf("retire by its owner: %v\n%s", err, out)
	}
	// The forced retirement names the reader and the agreement left.
	out = run("--token", tokens["governance"], "product", "retire", "sales.customer-orders", "--force")
	wantRetire := regexp.MustCompile(`(?m)^orphaned readers   marketing\.campaigns\n` +
		`active agreements  ` + regexp.QuoteMeta(req.AgreementID) + ` \(application campaign-dashboard, User:campaign-dashboard\)$`)
	if !wantRetire.MatchString(out) || !strings.Contains(out, "result             RETIRED\n") {
		t.Errorf("retire --force:\n%s", out)
	}
	retired := regexp.MustCompile(`(?m)^\S+Z  sales\.customer-orders     RETIRED        application:campaign-dashboard +slack:#campaign-dash +sales\.customer-orders 2\.1\.0 is retired`)
	env.Eventually(func() bool { return retired.MatchString(fout.String()) && strings.Count(fout.String(), "RETIRED") == 2 }, "followed retirement notices")
	cancel()
	if err := <-done; err != nil {
		t.Errorf("notices --follow: %v", err)
	}
	if strings.Count(fout.String(), "DEPRECATED") != 2 {
		t.Errorf("--follow did not start at the beginning of the topic:\n%s", fout.String())
	}
}
