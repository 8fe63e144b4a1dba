package governor

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

	"github.com/meshbone/meshbone/internal/testkit"
)

// TestExactlyOnceKill9 is the process-level exactly-once test: it builds
// cmd/governor, publishes a few thousand events, runs the governor as a
// process and kills it with SIGKILL at random points while it judges
// (three times), restarts it each time, and checks that a read_committed
// reader sees every expected violation exactly once.
func TestExactlyOnceKill9(t *testing.T) { kill9(t, 1) }

// TestTwoGovernorProcessesKill9 runs two governor processes started with
// the same flags but their instance ids (and so their own transactional
// ids), kills one of them with SIGKILL at random points while both judge,
// restarts it each time, and checks that every expected violation is seen
// exactly once: the survivor takes the partitions over, the restarted one
// fences its own predecessor and is not fenced by its sibling.
func TestTwoGovernorProcessesKill9(t *testing.T) { kill9(t, 2) }

func kill9(t *testing.T, instances int) {
	w := newWorld(t)
	if !w.env.Real() {
		t.Skipf("needs a real Kafka broker: set %s (e.g. %s=127.0.0.1:19092 after scripts/kafka.sh start); kfake runs TestExactlyOnceAcrossCrashes and TestTwoGovernorsAcrossCrashes instead", testkit.EnvKafka, testkit.EnvKafka)
	}
	t.Logf("kill -9 of one of %d governor processes on %s", instances, w.env.Backend)
	dir := t.TempDir()
	bin := filepath.Join(dir, "governor")
	build := exec.Command("go", "build", "-o", bin, "../../cmd/governor")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build cmd/governor: %v\n%s", err, out)
	}
	policies, err := filepath.Abs("../../policies")
	if err != nil {
		t.Fatal(err)
	}
	evs := eosEvents(3000, uint64(time.Now().UnixNano()))
	want := expectedViolations(t, evs)
	w.publishAll(evs)
	logPath := filepath.Join(dir, "governor.log")
	logf, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	defer logf.Close()
	start := func(instance int) *exec.Cmd {
		cmd := exec.Command(bin,
			"--kafka-brokers", w.env.Brokers[0], "--registry-url", w.env.Registry, "--topic-prefix", w.env.Prefix,
			"--policies", policies, "--group", w.group, "--instance-id", fmt.Sprintf("%s-%d", w.group, instance),
			"--listen", "127.0.0.1:0", "--max-batch", "20", "--policy-poll-interval", "-1s", "--log-level", "warn")
		cmd.Stdout, cmd.Stderr = logf, logf
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		// Whatever happens to the test, the process does not outlive it.
		t.Cleanup(func() {
			if cmd.ProcessState == nil {
				_ = cmd.Process.Kill()
				_ = cmd.Wait()
			}
		})
		return cmd
	}
	defer func() {
		if t.Failed() {
			if b, err := os.ReadFile(logPath); err == nil {
				t.Logf("governor log:\n%s", tail(b, 4000))
			}
		}
	}()
	stop := func(cmd *exec.Cmd) {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(testkit.DefaultWait):
			_ = cmd.Process.Kill()
			t.Error("governor did not stop on SIGTERM")
		}
	}
	// The siblings run throughout; instance 0 is killed when the committed
	// progress passes random points of the input, and restarted.
	for i := 1; i < instances; i++ {
		defer stop(start(i))
	}
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 1))
	total := int64(len(evs))
	points := []float64{0.05 + 0.2*rng.Float64(), 0.3 + 0.2*rng.Float64(), 0.55 + 0.2*rng.Float64()}
	for i, p := range points {
		cmd := start(0)
		threshold := int64(p * float64(total))
		w.env.Eventually(func() bool { return w.committed(context.Background()) >= threshold }, fmt.Sprintf("run %d judging past %d of %d", i, threshold, total))
		if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		_ = cmd.Wait()
		t.Logf("run %d killed with %d of %d records committed (threshold %d)", i, w.committed(context.Background()), total, threshold)
	}
	defer stop(start(0))
	w.checkExactlyOnce(want)
}

// committed returns how many input records the governor's group committed.
func (w *world) committed(ctx context.Context) int64 {
	adm := kadm.NewClient(w.env.Client())
	offs, err := adm.FetchOffsets(ctx, w.group)
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

func tail(b []byte, n int) string {
	if len(b) > n {
		b = b[len(b)-n:]
	}
	return string(b)
}
