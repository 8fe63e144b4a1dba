package devstack

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/meshbone/meshbone/examples"
	"github.com/meshbone/meshbone/internal/registrar"
	"github.com/meshbone/meshbone/pkg/events"
	"github.com/meshbone/meshbone/pkg/product"
)

// freeAddr returns a loopback address nobody listens on.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// The four services run as separate processes against the embedded broker
// and registry of `meshctl dev --no-services`, exactly as they run apart: a
// registered product is judged by the governor and shown by the indexer,
// and a product's port objective is measured by the monitor, its observed
// run shown by the indexer.
func TestServicesAsProcessesOnTheEmbeddedStack(t *testing.T) {
	dir := t.TempDir()
	o := DefaultOptions()
	o.DataDir, o.Services, o.KafkaPort, o.RegistryPort = dir, false, 0, 0
	ctx, cancel := context.WithCancel(context.Background())
	up := make(chan Endpoints, 1)
	stopped := make(chan struct{})
	var runErr error
	go func() {
		defer close(stopped)
		runErr = Run(ctx, o, zap.NewNop(), os.Stderr, func(ep Endpoints) { up <- ep })
	}()
	// Cleanups run last-first: the processes stop before the stack does.
	t.Cleanup(func() { cancel(); <-stopped })
	var ep Endpoints
	select {
	case ep = <-up:
	case <-stopped:
		t.Fatal(runErr)
	case <-time.After(time.Minute):
		t.Fatal("the embedded stack did not come up")
	}

	bin := t.TempDir()
	root := filepath.Join("..", "..")
	addrs := map[string]string{}
	for _, name := range []string{"registrar", "governor", "indexer", "monitor"} {
		exe := filepath.Join(bin, name)
		build := exec.Command("go", "build", "-o", exe, "./cmd/"+name)
		build.Dir = root
		if out, err := build.CombinedOutput(); err != nil {
			t.Fatalf("build %s: %v\n%s", name, err, out)
		}
		addrs[name] = freeAddr(t)
		args := []string{"--kafka-brokers", ep.Kafka, "--registry-url", ep.Registry, "--listen", addrs[name], "--log-level", "warn"}
		switch name {
		case "registrar":
			args = append(args, "--token-file", filepath.Join(dir, hashedTokens))
		case "governor":
			args = append(args, "--policies", filepath.Join(root, "policies"))
		case "indexer":
			args = append(args, "--db", filepath.Join(dir, "separate.db"))
		case "monitor":
			// A window closes as soon as a record of a later one is read.
			args = append(args, "--allowed-lateness", "0s", "--idle-probe", "100ms")
		}
		cmd := exec.Command(exe, args...)
		var logs strings.Builder
		cmd.Stdout, cmd.Stderr = &logs, &logs
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			_ = cmd.Process.Signal(os.Interrupt)
			waited := make(chan error, 1)
			go func() { waited <- cmd.Wait() }()
			select {
			case <-waited:
			case <-time.After(20 * time.Second):
				_ = cmd.Process.Kill()
				t.Errorf("%s did not stop on SIGINT within 20s", name)
			}
			if t.Failed() {
				t.Logf("%s output:\n%s", name, logs.String())
			}
		})
		if err := waitReady(ctx, nil, "http://"+addrs[name]); err != nil {
			t.Fatalf("%s not ready: %v", name, err)
		}
	}

	tokens, err := devTokens(dir)
	if err != nil {
		t.Fatal(err)
	}
	descs, err := examples.Descriptors()
	if err != nil {
		t.Fatal(err)
	}
	cl := registrar.Client{URL: "http://" + addrs["registrar"], Token: tokens[descs[0].Metadata.Domain]}
	if _, err := cl.Apply(ctx, descs[0]); err != nil {
		t.Fatal(err)
	}
	// The governor judged it and the indexer shows it, with its compliance.
	wctx, wcancel := context.WithTimeout(ctx, 60*time.Second)
	defer wcancel()
	for {
		var p struct {
			ID         string `json:"id"`
			Compliance string `json:"compliance"`
		}
		err := getJSON(wctx, fmt.Sprintf("http://%s/api/v1/products/%s", addrs["indexer"], descs[0].ID()), &p)
		if err == nil && p.ID == descs[0].ID() && p.Compliance != "" && p.Compliance != "UNKNOWN" {
			break
		}
		if wctx.Err() != nil {
			t.Fatalf("the indexer process never showed %s judged by the governor process (last: %+v, %v)", descs[0].ID(), p, err)
		}
		time.Sleep(100 * time.Millisecond)
	}

	// A product with a volume objective per minute on its port: two
	// records five minutes apart, and the monitor process closes the first
	// one's minute; the indexer process shows the observed run.
	d, err := product.Parse([]byte(measured))
	if err == nil {
		err = d.Validate()
	}
	if err != nil {
		t.Fatal(err)
	}
	cl.Token = tokens[d.Metadata.Domain]
	if _, err := cl.Apply(ctx, d); err != nil {
		t.Fatal(err)
	}
	pw, err := events.NewPortWriter(d.ID(), "events", events.SeedBrokers(ep.Kafka), events.RegistryURLs(ep.Registry))
	if err != nil {
		t.Fatal(err)
	}
	defer pw.Close()
	now := time.Now()
	for i, at := range []time.Time{now.Add(-5 * time.Minute), now} {
		if err := pw.WriteAt(ctx, at, fmt.Sprint(i), map[string]any{"id": fmt.Sprint(i)}); err != nil {
			t.Fatal(err)
		}
	}
	first := now.Add(-5 * time.Minute)
	for {
		var p struct {
			Quality struct {
				Runs []apiRun `json:"runs"`
			} `json:"quality"`
		}
		err := getJSON(wctx, fmt.Sprintf("http://%s/api/v1/products/%s", addrs["indexer"], d.ID()), &p)
		i := slices.IndexFunc(p.Quality.Runs, func(r apiRun) bool { return !first.Before(r.WindowStart) && first.Before(r.WindowEnd) })
		if err == nil && i >= 0 {
			if r := p.Quality.Runs[i]; r.Origin != string(events.OriginObserved) || r.Port != "events" || r.Passed != 1 || r.Total != 1 {
				t.Fatalf("the first record's window: %+v, want OBSERVED on events, 1 of 1 passed", r)
			}
			break
		}
		if wctx.Err() != nil {
			t.Fatalf("the indexer process never showed the window of %s's first record observed by the monitor process (last: %+v, %v)", d.ID(), p, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// apiRun is what the test reads of a quality run of the indexer's API.
type apiRun struct {
	Origin      string    `json:"origin"`
	Port        string    `json:"port"`
	WindowStart time.Time `json:"window_start"`
	WindowEnd   time.Time `json:"window_end"`
	Passed      int       `json:"passed"`
	Total       int       `json:"total"`
}

// measured is a product whose port the monitor measures: at least one
// record per minute.
const measured = `apiVersion: meshbone/v1
kind: DataProduct
metadata: {domain: sales, name: process-check, owner: sales-data-team, description: Records the monitor process counts}
spec:
  version: 1.0.0
  sensitivity: internal
  retentionDays: 7
  quality:
    - {dimension: volume, port: events, operator: ">=", threshold: 1, window: 1m}
  outputPorts:
    - name: events
      schema: '{"type": "record", "name": "Check", "namespace": "com.example", "fields": [{"name": "id", "type": "string"}]}'
`
