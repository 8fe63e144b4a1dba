package testkit

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
)

// This file holds what the process-level (kill -9) tests of the services
// share: building a main, running it with its log kept, killing it at
// random points of its committed progress and stopping it.

// BuildCmd builds the main package at pkg (a path relative to the test's
// package, e.g. "../../cmd/monitor") into a temporary directory and returns
// the binary's path.
func BuildCmd(t testing.TB, pkg string) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), filepath.Base(pkg))
	if out, err := exec.Command("go", "build", "-o", bin, pkg).CombinedOutput(); err != nil {
		t.Fatalf("go build %s: %v\n%s", pkg, err, out)
	}
	return bin
}

// Processes runs the processes of one binary for a test, their output in
// one log whose tail the test prints if it fails.
type Processes struct {
	t    testing.TB
	name string
	bin  string
	log  *os.File
}

// NewProcesses builds the main package at pkg (see BuildCmd) for a test
// that runs it as processes named name.
func NewProcesses(t testing.TB, name, pkg string) *Processes {
	t.Helper()
	bin := BuildCmd(t, pkg)
	path := filepath.Join(t.TempDir(), name+".log")
	log, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = log.Close()
		if !t.Failed() {
			return
		}
		if b, err := os.ReadFile(path); err == nil {
			if len(b) > 4000 {
				b = b[len(b)-4000:]
			}
			t.Logf("%s log:\n%s", name, b)
		}
	})
	return &Processes{t: t, name: name, bin: bin, log: log}
}

// Start starts a process with args. Whatever happens to the test, it does
// not outlive it.
func (p *Processes) Start(args ...string) *exec.Cmd {
	p.t.Helper()
	cmd := exec.Command(p.bin, args...)
	cmd.Stdout, cmd.Stderr = p.log, p.log
	if err := cmd.Start(); err != nil {
		p.t.Fatal(err)
	}
	p.t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
	})
	return cmd
}

// Stop stops cmd with SIGTERM and fails the test if it does not exit
// within DefaultWait (it is killed then) or exits with an error.
func (p *Processes) Stop(cmd *exec.Cmd) {
	p.t.Helper()
	_ = cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			p.t.Errorf("%s stopped with %v after SIGTERM", p.name, err)
		}
	case <-time.After(DefaultWait):
		_ = cmd.Process.Kill()
		<-done
		p.t.Errorf("%s did not stop on SIGTERM", p.name)
	}
}

// KillNine runs start's process three times, each killed with SIGKILL once
// progress passes a random point of total (one in each of [5%, 25%),
// [30%, 50%) and [55%, 75%)).
func (p *Processes) KillNine(e *Env, start func() *exec.Cmd, progress func() int64, total int64) {
	p.t.Helper()
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 1))
	for i, at := range []float64{0.05 + 0.2*rng.Float64(), 0.3 + 0.2*rng.Float64(), 0.55 + 0.2*rng.Float64()} {
		cmd := start()
		threshold := int64(at * float64(total))
		e.Eventually(func() bool { return progress() >= threshold }, fmt.Sprintf("%s run %d past %d of %d", p.name, i, threshold, total))
		if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
			p.t.Fatal(err)
		}
		_ = cmd.Wait()
		p.t.Logf("%s run %d killed with %d of %d records committed (threshold %d)", p.name, i, progress(), total, threshold)
	}
}

// Committed returns how many records group has committed over every
// partition it consumes (the sum of its committed offsets), or 0 when they
// cannot be fetched.
func (e *Env) Committed(group string) int64 {
	offs, err := kadm.NewClient(e.Client()).FetchOffsets(context.Background(), group)
	if err != nil {
		return 0
	}
	var n int64
	offs.Each(func(o kadm.OffsetResponse) {
		if o.Err == nil && o.At > 0 {
			n += o.At
		}
	})
	return n
}
