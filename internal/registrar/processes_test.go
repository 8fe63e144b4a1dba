package registrar_test

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// process is a registrar started from the built command.
type process struct {
	cmd  *exec.Cmd
	url  string
	logs *strings.Builder
}

// writerNow reports whether the process says it is the writer (its
// meshbone_registrar_writer gauge).
func (p *process) writerNow() bool {
	resp, err := http.Get(p.url + "/metrics")
	if err != nil {
		return false
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if sc.Text() == "meshbone_registrar_writer 1" {
			return true
		}
	}
	return false
}

// Two registrar processes started with identical flags apart from their
// listen ports: eight identical registrations spread over both register
// the product once; after kill -9 of the writer the other takes over and
// registers what it is sent.
func TestTwoRegistrarProcesses(t *testing.T) {
	w := prepare(t)
	exe := filepath.Join(t.TempDir(), "registrar")
	build := exec.Command("go", "build", "-o", exe, "./cmd/registrar")
	build.Dir = filepath.Join("..", "..")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build the registrar: %v\n%s", err, out)
	}
	start := func() *process {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := ln.Addr().String()
		ln.Close()
		p := &process{url: "http://" + addr, logs: &strings.Builder{}}
		p.cmd = exec.Command(exe, "--kafka-brokers", strings.Join(w.env.Brokers, ","), "--registry-url", w.env.Registry,
			"--topic-prefix", w.env.Prefix, "--token-file", w.tokens, "--listen", addr, "--lease-timeout", "6s", "--log-level", "info")
		var mu sync.Mutex
		p.cmd.Stdout, p.cmd.Stderr = lockedWriter{&mu, p.logs}, lockedWriter{&mu, p.logs}
		if err := p.cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			if p.cmd.ProcessState == nil {
				_ = p.cmd.Process.Signal(syscall.SIGTERM)
				waited := make(chan error, 1)
				go func() { waited <- p.cmd.Wait() }()
				select {
				case <-waited:
				case <-time.After(30 * time.Second):
					_ = p.cmd.Process.Kill()
					<-waited
					t.Errorf("a registrar did not stop on SIGTERM within 30s")
				}
			}
			if t.Failed() {
				mu.Lock()
				t.Logf("registrar %s output:\n%s", p.url, p.logs.String())
				mu.Unlock()
			}
		})
		w.env.Eventually(func() bool { return ready(p.url) }, "registrar process ready")
		return p
	}
	procs := []*process{start(), start()}

	doc := desc{domain: "sales", name: "orders", version: "1.0.0", extraPort: true}.yaml()
	statuses := make([]int, 8)
	errs := make([]error, 8)
	var wg sync.WaitGroup
	for i := range statuses {
		wg.Go(func() { statuses[i], _, errs[i] = postTo(procs[i%2].url, salesToken, doc) })
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	wantOneRegistered(t, statuses)
	if n := w.records(w.env.Topics.Lifecycle); n != 1 {
		t.Fatalf("lifecycle holds %d records, want 1", n)
	}

	// kill -9 the writer; the survivor takes the next registration.
	var writer, survivor *process
	w.env.Eventually(func() bool {
		switch {
		case procs[0].writerNow():
			writer, survivor = procs[0], procs[1]
		case procs[1].writerNow():
			writer, survivor = procs[1], procs[0]
		}
		return writer != nil
	}, "one process is the writer")
	if err := writer.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = writer.cmd.Wait()
	killed := time.Now()
	var status int
	var body []byte
	var err error
	w.env.Eventually(func() bool {
		status, body, err = postTo(survivor.url, salesToken, desc{domain: "sales", name: "orders", version: "1.1.0", extraPort: true}.yaml())
		return err == nil && status != http.StatusServiceUnavailable
	}, "the survivor takes writes")
	if status != http.StatusCreated || !strings.Contains(string(body), `"VERSION_PUBLISHED"`) {
		t.Fatalf("answer %d %s", status, body)
	}
	t.Logf("the survivor registered %s after the writer's kill -9", time.Since(killed).Round(100*time.Millisecond))
	if !survivor.writerNow() {
		t.Fatal("the survivor is not the writer")
	}
	if n := w.records(w.env.Topics.Lifecycle); n != 2 {
		t.Fatalf("lifecycle holds %d records, want 2", n)
	}
}

// lockedWriter serialises a process's stdout and stderr into one builder.
type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}
