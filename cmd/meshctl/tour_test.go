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
	salesToken := ""
	for _, line := range strings.Split(string(tokens), "\n") {
		if v, ok := strings.CutPrefix(line, "MESHBONE_TOKEN_SALES="); ok {
			salesToken = v
		}
	}
	if salesToken == "" {
		t.Fatalf("no sales token in %s:\n%s", ep.TokensFile, tokens)
	}
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

	// 4. Search for it and open it.
	wantIn("search", run("search", "returns"), "sales.order-returns", "non-compliant")
	wantIn("show", run("show", "sales.order-returns"), "OPEN VIOLATIONS (1)", "quality-slo", "upstream:   sales.customer-orders", "reason  ")

	// 5. Subscribe to the product's port.
	wantIn("subscribe", run("subscribe", "sales.order-returns", "returns", "--max", "2"), `"return_id":"r-1001"`, `"return_id":"r-1002"`)

	// Stop, start again on the same data: everything is still there.
	stop()
	ep, _ = startDev(t, dir)
	t.Setenv("MESHBONE_REGISTRAR", ep.Registrar)
	t.Setenv("MESHBONE_INDEXER", ep.Indexer)
	t.Setenv("MESHBONE_KAFKA_BROKERS", ep.Kafka)
	t.Setenv("MESHBONE_REGISTRY_URL", ep.Registry)
	wantIn("search after restart", run("search", ""), "sales.order-returns", "product.usage-feedback", "1-6 of 6")
	wantIn("product get after restart", run("product", "get", "sales.order-returns"), "1.0.0")
	wantIn("violations after restart", run("violations"), "encryption-at-rest", "sales.order-returns", "quality-slo")
	wantIn("subscribe after restart (schemas kept)", run("subscribe", "sales.order-returns", "returns", "--max", "1"), `"schema_id"`)
}
