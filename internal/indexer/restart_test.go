package indexer_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/meshbone/meshbone/internal/indexer"
	"github.com/meshbone/meshbone/internal/store"
	"github.com/meshbone/meshbone/internal/store/storetest"
	"github.com/meshbone/meshbone/internal/testkit"
	"github.com/meshbone/meshbone/pkg/events"
)

func streamEvents(s *storetest.Stream, n int) []events.Event {
	out := make([]events.Event, n)
	for i := range out {
		out[i] = s.Next()
	}
	return out
}

func digest(t *testing.T, path string) (string, map[string]string) {
	t.Helper()
	s, err := store.Open(context.Background(), path, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	d, per, err := s.Digest(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return d, per
}

func compareDigests(t *testing.T, what string, a, b string) {
	t.Helper()
	da, pa := digest(t, a)
	db, pb := digest(t, b)
	if da != db {
		for k := range pa {
			if pa[k] != pb[k] {
				t.Errorf("%s: table %s differs", what, k)
			}
		}
		t.Fatalf("%s: digest %s != %s", what, da, db)
	}
	t.Logf("%s: identical views, digest %s", what, da)
}

// TestResumeEqualsRebuild stops an indexer mid-way, publishes more,
// resumes on the same view, and expects the view of a rebuild.
func TestResumeEqualsRebuild(t *testing.T) {
	env := testkit.New(t)
	t.Logf("resume suite on %s", env.Backend)
	s := storetest.NewStream(60, 1)
	pub := newPublisher(t, env)
	pub.publish(streamEvents(s, 400)...)
	db := dbPath(t)
	ix, stop := start(t, env, db, false)
	pub.waitIndexed(ix.URL())
	stop()

	pub.publish(streamEvents(s, 400)...)
	ix2, stop2 := start(t, env, db, false)
	pub.waitIndexed(ix2.URL())
	st := ix2.Status()
	stop2()
	if st.EventsFolded > 400 {
		t.Errorf("resumed indexer folded %d events, want at most the 400 new ones", st.EventsFolded)
	}

	fresh := dbPath(t)
	ix3, stop3 := start(t, env, fresh, true)
	pub.waitIndexed(ix3.URL())
	stop3()
	compareDigests(t, "resumed vs rebuilt", db, fresh)
}

// proc is an indexer process.
type proc struct {
	cmd  *exec.Cmd
	url  string
	mu   sync.Mutex
	logs bytes.Buffer
	done chan error
}

func (p *proc) log() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.logs.String()
}

// buildIndexer builds cmd/indexer into a temporary directory.
func buildIndexer(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "indexer")
	args := []string{"build", "-o", bin}
	if raceEnabled {
		args = append(args, "-race")
	}
	cmd := exec.Command(filepath.Join(runtime.GOROOT(), "bin", "go"), append(args, "github.com/meshbone/meshbone/cmd/indexer")...)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build cmd/indexer: %v\n%s", err, out)
	}
	return bin
}

// startProc starts the indexer binary on env and waits until it serves.
func startProc(t *testing.T, bin string, env *testkit.Env, db string, extra ...string) *proc {
	t.Helper()
	cfg := kafkaConfig(env)
	args := append([]string{"--kafka-brokers", joinComma(cfg.Brokers), "--registry-url", cfg.RegistryURL, "--topic-prefix", cfg.TopicPrefix,
		"--db", db, "--listen", "127.0.0.1:0", "--log-json"}, extra...)
	p := &proc{cmd: exec.Command(bin, args...), done: make(chan error, 1)}
	p.cmd.Env = cleanEnv()
	stderr, err := p.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	urlc := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			line := sc.Bytes()
			p.mu.Lock()
			p.logs.Write(line)
			p.logs.WriteByte('\n')
			p.mu.Unlock()
			var l struct{ Msg, URL string }
			if json.Unmarshal(line, &l) == nil && l.Msg == "indexer serving" {
				select {
				case urlc <- l.URL:
				default:
				}
			}
		}
		_, _ = io.Copy(io.Discard, stderr)
		p.done <- p.cmd.Wait()
	}()
	t.Cleanup(func() {
		if p.cmd.ProcessState == nil {
			_ = p.cmd.Process.Kill()
			<-p.done
		}
		if t.Failed() {
			t.Logf("indexer %s log:\n%s", db, p.log())
		}
	})
	select {
	case p.url = <-urlc:
	case err := <-p.done:
		t.Fatalf("indexer exited before serving: %v\n%s", err, p.log())
	case <-time.After(60 * time.Second):
		t.Fatalf("indexer did not serve within 60s\n%s", p.log())
	}
	return p
}

// stop ends the process with SIGTERM and expects a clean exit.
func (p *proc) stop(t *testing.T) {
	t.Helper()
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-p.done:
		if err != nil {
			t.Fatalf("indexer exit: %v\n%s", err, p.log())
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("indexer did not stop within 30s of SIGTERM")
	}
}

// kill ends the process with SIGKILL: no shutdown at all.
func (p *proc) kill(t *testing.T) {
	t.Helper()
	if err := p.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	<-p.done
}

// waitGeneration blocks (bounded) until the process committed more than
// gen batches and returns its status.
func (p *proc) waitGeneration(t *testing.T, gen uint64) indexer.Status {
	t.Helper()
	var st indexer.Status
	getJSON(t, fmt.Sprintf("%s/api/v1/status?changed_since=%d&timeout=30s", p.url, gen), &st)
	if st.Reached == nil || !*st.Reached {
		t.Fatalf("indexer committed no batch after generation %d within 30s", gen)
	}
	return st
}

func joinComma(s []string) string {
	var b bytes.Buffer
	for i, x := range s {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(x)
	}
	return b.String()
}

// cleanEnv is the test's environment without MESHBONE_* settings, which
// would override the flags' defaults in the child.
func cleanEnv() []string {
	var out []string
	for _, kv := range os.Environ() {
		if len(kv) < 9 || kv[:9] != "MESHBONE_" {
			out = append(out, kv)
		}
	}
	return out
}

// TestKillMidStreamEqualsRebuild kills the indexer process with SIGKILL
// while it folds a stream that is still being published, restarts it on
// the same database, and expects exactly the view a fresh --rebuild makes.
func TestKillMidStreamEqualsRebuild(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the indexer binary")
	}
	env := testkit.New(t)
	t.Logf("kill -9 suite on %s", env.Backend)
	bin := buildIndexer(t)
	s := storetest.NewStream(150, 2)
	first, second := streamEvents(s, 1500), streamEvents(s, 1500)
	pub := newPublisher(t, env)
	pub.publish(first...)

	db := dbPath(t)
	p1 := startProc(t, bin, env, db, "--max-batch", "10")
	p1.waitGeneration(t, 0)
	published := make(chan struct{})
	go func() {
		defer close(published)
		pub.publish(second...)
	}()
	st := p1.waitGeneration(t, 5)
	p1.kill(t)
	<-published
	t.Logf("killed after %d batches, %d events folded of %d", st.Generation, st.EventsFolded, len(first)+len(second))

	p2 := startProc(t, bin, env, db)
	pub.waitIndexed(p2.url)
	var after indexer.Status
	getJSON(t, p2.url+"/api/v1/status", &after)
	p2.stop(t)
	if after.EventsFolded >= int64(len(first)+len(second)) {
		t.Errorf("the restarted indexer folded %d events: it did not resume from the stored offsets", after.EventsFolded)
	}

	fresh := dbPath(t)
	p3 := startProc(t, bin, env, fresh, "--rebuild")
	pub.waitIndexed(p3.url)
	p3.stop(t)
	compareDigests(t, "killed+restarted vs rebuilt", db, fresh)
}
