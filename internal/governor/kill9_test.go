package governor

import (
	"fmt"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

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
	procs := testkit.NewProcesses(t, "governor", "../../cmd/governor")
	policies, err := filepath.Abs("../../policies")
	if err != nil {
		t.Fatal(err)
	}
	evs := eosEvents(3000, uint64(time.Now().UnixNano()))
	want := expectedViolations(t, evs)
	w.publishAll(evs)
	start := func(instance int) *exec.Cmd {
		return procs.Start(
			"--kafka-brokers", w.env.Brokers[0], "--registry-url", w.env.Registry, "--topic-prefix", w.env.Prefix,
			"--policies", policies, "--group", w.group, "--instance-id", fmt.Sprintf("%s-%d", w.group, instance),
			"--listen", "127.0.0.1:0", "--max-batch", "20", "--policy-poll-interval", "-1s", "--log-level", "warn")
	}
	// The siblings run throughout; instance 0 is killed when the committed
	// progress passes random points of the input, and restarted.
	for i := 1; i < instances; i++ {
		defer procs.Stop(start(i))
	}
	procs.KillNine(w.env, func() *exec.Cmd { return start(0) }, func() int64 { return w.env.Committed(w.group) }, int64(len(evs)))
	defer procs.Stop(start(0))
	w.checkExactlyOnce(want)
}
