package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/meshbone/meshbone/internal/devstack"
	"github.com/meshbone/meshbone/internal/testkit"
)

// startDev runs `meshctl dev` (in-process, on free ports) on dir until the
// returned stop is called, and returns its endpoints once it is up.
func startDev(t *testing.T, dir string) (devstack.Endpoints, func()) {
	t.Helper()
	o := devstack.DefaultOptions()
	o.DataDir, o.KafkaPort, o.RegistryPort = dir, 0, 0
	o.RegistrarAddr, o.GovernorAddr, o.IndexerAddr, o.MonitorAddr = "127.0.0.1:0", "127.0.0.1:0", "127.0.0.1:0", "127.0.0.1:0"
	o.Policies = filepath.Join("..", "..", "policies")
	ctx, cancel := context.WithCancel(context.Background())
	up := make(chan devstack.Endpoints, 1)
	done := make(chan error, 1)
	var progress syncBuffer
	go func() {
		done <- devstack.Run(ctx, o, zap.NewNop(), &progress, func(ep devstack.Endpoints) { up <- ep })
	}()
	select {
	case ep := <-up:
		stopped := false
		stop := func() {
			if !stopped {
				stopped = true
				cancel()
				if err := <-done; err != nil {
					t.Errorf("meshctl dev stopped with %v", err)
				}
			}
		}
		t.Cleanup(stop)
		return ep, stop
	case err := <-done:
		cancel()
		t.Fatalf("meshctl dev: %v\n%s", err, progress.String())
	case <-time.After(3 * time.Minute):
		cancel()
		t.Fatalf("meshctl dev not up within 3 minutes:\n%s", progress.String())
	}
	return devstack.Endpoints{}, nil
}

// TestReadmeTour runs the README's five-minute tour, command by command,
// against meshctl dev, then restarts the mesh and checks that products,
// schemas and violations are all still there.
func TestReadmeTour(t *testing.T) {
	dir := t.TempDir()
	ep, stop := startDev(t, dir)
	tokens, err := os.ReadFile(ep.TokensFile)
	if err != nil {
		t.Fatal(err)
	}
	token := func(domain string) string {
		for _, line := range strings.Split(string(tokens), "\n") {
			if v, ok := strings.CutPrefix(line, "MESHBONE_TOKEN_"+domain+"="); ok {
				return v
			}
		}
		t.Fatalf("no %s token in %s:\n%s", domain, ep.TokensFile, tokens)
		return ""
	}
	salesToken, marketingToken := token("SALES"), token("MARKETING")
	t.Setenv("MESHBONE_REGISTRAR", ep.Registrar)
	t.Setenv("MESHBONE_INDEXER", ep.Indexer)
	t.Setenv("MESHBONE_KAFKA_BROKERS", ep.Kafka)
	t.Setenv("MESHBONE_REGISTRY_URL", ep.Registry)
	t.Setenv("MESHBONE_TOKEN", salesToken)
	ctx := context.Background()
	run := func(args ...string) string {
		t.Helper()
		out, errOut, err := govCtl(ctx, args...)
		if err != nil {
			t.Fatalf("meshctl %s: %v\n%s%s", strings.Join(args, " "), err, out, errOut)
		}
		return out
	}
	wantIn := func(what, out string, wants ...string) {
		t.Helper()
		for _, w := range wants {
			if !strings.Contains(out, w) {
				t.Errorf("%s: output lacks %q:\n%s", what, w, out)
			}
		}
	}

	// The example mesh is there, with its deliberate violation.
	wantIn("search", run("search", ""), "sales.customer-orders", "marketing.campaigns", "product.usage-feedback", "non-compliant")

	// 1. Register a product.
	wantIn("product apply", run("product", "apply", "-f", "../../docs/tour/order-returns.yaml"),
		"sales.order-returns", "REGISTERED", "sales.order-returns.returns.v1")

	// 2. A pipeline publishes data and a quality run with pkg/events.
	pipeline := exec.Command("go", "run", "./docs/tour/pipeline")
	pipeline.Dir = filepath.Join("..", "..")
	out, err := pipeline.CombinedOutput()
	if err != nil {
		t.Fatalf("go run ./docs/tour/pipeline: %v\n%s", err, out)
	}
	wantIn("pipeline", string(out), "wrote 2 returns to sales.order-returns.returns.v1")

	// 3. The violation arrives (--follow, stopped once it is there).
	fctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	var follow syncBuffer
	root := newRoot(&follow, &follow)
	root.SetArgs([]string{"violations", "--domain", "sales", "--follow"})
	followDone := make(chan error, 1)
	go func() { followDone <- root.ExecuteContext(fctx) }()
	testkit.Eventually(t, func() bool { return strings.Contains(follow.String(), "sales.order-returns") }, "violations --follow prints sales.order-returns")
	cancel()
	<-followDone
	wantIn("violations --follow", follow.String(), "sales.order-returns", "quality-slo", "OPEN", "reason_not_null")

	// 3b. The monitor closes the minute of the earlier return: its observed
	// volume (1) is below the objective (10).
	testkit.Eventually(t, func() bool {
		out, _, err := govCtl(ctx, "violations", "--domain", "sales")
		return err == nil && strings.Contains(out, "run returns ") && strings.Contains(out, "volume (VOLUME 1, SLO >= 10)")
	}, "the observed volume violation")
	wantIn("quality", run("quality", "sales.order-returns"), "completeness of reason", "observed on returns", "reported as reason_not_null", "1 !")

	// 4. Search for it and open it.
	wantIn("search", run("search", "returns"), "sales.order-returns", "non-compliant")
	wantIn("show", run("show", "sales.order-returns"), "OPEN VIOLATIONS (", "reason_not_null", "VOLUME 1", "upstream:   sales.customer-orders", "reason  ")

	// 5. Subscribe to the product's port.
	wantIn("subscribe", run("subscribe", "sales.order-returns", "returns", "--max", "2"), `"return_id":"r-1001"`, `"return_id":"r-1002"`)

	// 6. Request access and read: the owner approves, the consumers list it.
	runAs := func(tok string, args ...string) string {
		t.Helper()
		t.Setenv("MESHBONE_TOKEN", tok)
		defer t.Setenv("MESHBONE_TOKEN", salesToken)
		return run(args...)
	}
	requested := runAs(marketingToken, "access", "request", "sales.customer-orders", "--port", "orders",
		"--consumer", "data-product:marketing.campaigns", "--principal", "User:campaigns",
		"--group-prefix", "marketing.campaigns.", "--purpose", "attribute orders to campaigns", "--valid-until", "2027-06-30")
	wantIn("access request", requested, "PENDING")
	agreement := fieldOf(t, requested, "agreement")
	wantIn("access list", run("access", "list"), agreement, "User:campaigns", "PENDING")
	wantIn("access approve", run("access", "approve", agreement), "User:campaigns")
	testkit.Eventually(t, func() bool {
		out, _, err := govCtl(ctx, "consumers", "sales.customer-orders")
		return err == nil && strings.Contains(out, "data-product:marketing.campaigns") && strings.Contains(out, agreement)
	}, "meshctl consumers lists the approved consumer")

	// 7. Impact before a change: the dry run names the broken field and
	// the products downstream, writes nothing and exits 3.
	out2, errOut, err := govCtl(ctx, "product", "apply", "--dry-run", "-f", "../../docs/tour/customer-orders-2.2.yaml")
	if want := exitError(exitBreaking); err != want {
		t.Fatalf("apply --dry-run: %v, want %v\n%s%s", err, want, out2, errOut)
	}
	wantIn("apply --dry-run", out2, "BREAKING", "customer_email  REMOVED", agreement, "(depth 3)")
	wantIn("product get after the dry run", run("product", "get", "sales.customer-orders"), "2.1.0")

	// 8. Hear of changes: a consumer with a channel hears of the
	// deprecation, and the product cannot be retired while it reads.
	dash := runAs(marketingToken, "access", "request", "sales.order-returns", "--port", "returns",
		"--consumer", "application:returns-dashboard", "--channel", "slack:#returns-dash",
		"--principal", "User:returns-dashboard", "--group-prefix", "returns-dashboard-", "--purpose", "refund trends per region")
	wantIn("access request (approved by rule)", dash, "slack:#returns-dash")
	wantIn("product deprecate", run("product", "deprecate", "sales.order-returns", "--reason", "returns move into sales.customer-orders",
		"--successor", "sales.customer-orders", "--sunset", time.Now().AddDate(0, 0, 5).Format(time.DateOnly)), "DEPRECATED")
	testkit.Eventually(t, func() bool {
		out, _, err := govCtl(ctx, "notices", "--product", "sales.order-returns")
		return err == nil && strings.Contains(out, "DEPRECATED") && strings.Contains(out, "SUNSET_SOON")
	}, "meshctl notices shows the deprecation and the sunset to the dashboard")
	wantIn("notices", run("notices", "--product", "sales.order-returns"), "application:returns-dashboard", "slack:#returns-dash")
	if out, errOut, err := govCtl(ctx, "product", "retire", "sales.order-returns"); err == nil || !strings.Contains(err.Error()+errOut, "409") {
		t.Errorf("retire with an agreement in force: err %v, want a 409\n%s%s", err, out, errOut)
	}

	// Stop, start again on the same data: everything is still there.
	stop()
	ep, _ = startDev(t, dir)
	t.Setenv("MESHBONE_REGISTRAR", ep.Registrar)
	t.Setenv("MESHBONE_INDEXER", ep.Indexer)
	t.Setenv("MESHBONE_KAFKA_BROKERS", ep.Kafka)
	t.Setenv("MESHBONE_REGISTRY_URL", ep.Registry)
	wantIn("search after restart", run("search", ""), "sales.order-returns", "product.usage-feedback", "1-6 of 6")
	wantIn("product get after restart", run("product", "get", "sales.order-returns"), "1.0.0", "deprecated")
	wantIn("consumers after restart", run("consumers", "sales.customer-orders"), agreement)
	wantIn("violations after restart", run("violations"), "encryption-at-rest", "sales.order-returns", "quality-slo")
	wantIn("subscribe after restart (schemas kept)", run("subscribe", "sales.order-returns", "returns", "--max", "1"), `"schema_id"`)
}

// fieldOf returns the value of a "name  value" line of meshctl's table
// output.
func fieldOf(t *testing.T, out, name string) string {
	t.Helper()
	for _, line := range strings.Split(out, "\n") {
		if f := strings.Fields(line); len(f) == 2 && f[0] == name {
			return f[1]
		}
	}
	t.Fatalf("no %q line in:\n%s", name, out)
	return ""
}
