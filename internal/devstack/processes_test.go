package devstack

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/meshbone/meshbone/examples"
	"github.com/meshbone/meshbone/internal/registrar"
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

// The three services run as separate processes against the embedded broker
// and registry of `meshctl dev --no-services`, exactly as they run apart.
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
	for _, name := range []string{"registrar", "governor", "indexer"} {
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
}
