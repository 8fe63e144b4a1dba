//go:build cluster

package clustertest

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/meshbone/meshbone/internal/kafka"
	"github.com/meshbone/meshbone/internal/testkit"
)

// Environment that scripts/kafka.sh cluster run and scripts/registry.sh run
// set.
const (
	envScript = "MESH_CLUSTER_SCRIPT" // path of scripts/kafka.sh
	envNodes  = "MESH_CLUSTER_NODES"  // how many nodes it started
)

// registryScript is scripts/registry.sh, from this package's directory (go
// test runs a package's tests there).
const registryScript = "../../scripts/registry.sh"

// cluster is one test's view of the three-node cluster.
type cluster struct {
	t      *testing.T
	env    *testkit.Env
	script string
	mu     sync.Mutex
	down   map[int32]bool // nodes this test killed and has not restarted
}

// newCluster returns the cluster the test runs on, with a fresh testkit Env
// (its mesh topics replicated 3). It fails the test, never skips it, when
// the cluster is not there.
func newCluster(t *testing.T) *cluster {
	t.Helper()
	script := os.Getenv(envScript)
	nodes, _ := strconv.Atoi(os.Getenv(envNodes))
	if script == "" || nodes < 3 || os.Getenv(testkit.EnvKafka) == "" || os.Getenv(testkit.EnvRegistry) == "" {
		t.Fatalf("the cluster tests need a three-node cluster and a real registry: run `make test-cluster` "+
			"(%s=%q %s=%q %s=%q %s=%q)", envScript, script, envNodes, os.Getenv(envNodes),
			testkit.EnvKafka, os.Getenv(testkit.EnvKafka), testkit.EnvRegistry, os.Getenv(testkit.EnvRegistry))
	}
	env := testkit.New(t)
	if env.Spec.ReplicationFactor != 3 {
		t.Fatalf("the mesh topics got replication factor %d, want 3: the cluster lists fewer than 3 brokers", env.Spec.ReplicationFactor)
	}
	c := &cluster{t: t, env: env, script: script, down: map[int32]bool{}}
	// The test's topics go when it ends (runs last: after the nodes are
	// back), so that a node killed later has fewer logs to recover.
	t.Cleanup(c.deleteTopics)
	// Whatever happens to the test, the next one gets every node back.
	t.Cleanup(func() {
		c.mu.Lock()
		var ids []int32
		for id := range c.down {
			ids = append(ids, id)
		}
		c.mu.Unlock()
		for _, id := range ids {
			c.restart(id)
		}
	})
	return c
}

// run runs the cluster script with args, bounded in time.
func (c *cluster) run(args ...string) {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 6*time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, c.script, args...).CombinedOutput()
	if err != nil {
		c.t.Fatalf("%s %s: %v\n%s", c.script, strings.Join(args, " "), err, out)
	}
}

// kill kills node id with SIGKILL.
func (c *cluster) kill(id int32) {
	c.t.Helper()
	c.run("cluster", "kill", strconv.Itoa(int(id)))
	c.mu.Lock()
	c.down[id] = true
	c.mu.Unlock()
}

// restart starts node id again on its data and waits until the cluster
// lists it.
func (c *cluster) restart(id int32) {
	c.t.Helper()
	c.run("cluster", "restart", strconv.Itoa(int(id)))
	c.mu.Lock()
	delete(c.down, id)
	c.mu.Unlock()
}

// deleteTopics deletes every topic of the test's prefix.
func (c *cluster) deleteTopics() {
	cl, err := kgo.NewClient(kgo.SeedBrokers(c.env.Brokers...))
	if err != nil {
		c.t.Logf("delete the test's topics: %v", err)
		return
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	td, err := adm.ListTopics(ctx)
	if err != nil {
		c.t.Logf("delete the test's topics: %v", err)
		return
	}
	var mine []string
	for _, name := range td.Names() {
		if strings.HasPrefix(name, c.env.Prefix) {
			mine = append(mine, name)
		}
	}
	if _, err := adm.DeleteTopics(ctx, mine...); err != nil {
		c.t.Logf("delete the test's topics: %v", err)
	}
}

// leaderOfMost returns the broker that leads the most partitions of topics
// (the lowest id among equals), and how many it leads.
func (c *cluster) leaderOfMost(topics ...string) (int32, int) {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	td, err := c.env.Admin().ListTopics(ctx, topics...)
	if err != nil {
		c.t.Fatal(err)
	}
	led := map[int32]int{}
	for _, d := range td {
		for _, p := range d.Partitions {
			led[p.Leader]++
		}
	}
	best, n := int32(-1), -1
	for id, k := range led {
		if k > n || (k == n && id < best) {
			best, n = id, k
		}
	}
	if best < 0 {
		c.t.Fatalf("no leader for %v", topics)
	}
	return best, n
}

// endOffsets returns the end offset of every partition of topic.
func (c *cluster) endOffsets(topic string) map[int32]int64 {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	offs, err := c.env.Admin().ListEndOffsets(ctx, topic)
	if err != nil {
		c.t.Fatal(err)
	}
	out := map[int32]int64{}
	offs.Each(func(o kadm.ListedOffset) {
		if o.Err != nil {
			c.t.Fatalf("end offset of %s/%d: %v", topic, o.Partition, o.Err)
		}
		out[o.Partition] = o.Offset
	})
	return out
}

// readAll reads topic read_committed from the start to its end as of the
// call, and returns its records. A partition whose last entries are
// transaction markers (or aborted records) never shows a record at its end
// offset, so the read also stops when nothing more arrives for quiet.
func (c *cluster) readAll(topic string) []*kgo.Record {
	c.t.Helper()
	const quiet = 5 * time.Second
	end := c.endOffsets(topic)
	cl := c.env.Client(
		kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()),
	)
	deadline := time.Now().Add(2 * time.Minute)
	next := map[int32]int64{}
	done := func() bool {
		for p, e := range end {
			if next[p] < e {
				return false
			}
		}
		return true
	}
	var out []*kgo.Record
	for !done() && time.Now().Before(deadline) {
		ctx, cancel := context.WithTimeout(context.Background(), quiet)
		fetches := cl.PollFetches(ctx)
		cancel()
		recs := fetches.Records()
		if len(recs) == 0 && ctx.Err() != nil {
			break
		}
		for _, r := range recs {
			out = append(out, r)
			next[r.Partition] = r.Offset + 1
		}
	}
	return out
}

// lastOffsets returns the offset of the last record of each partition of
// recs: what a consumer that has folded everything has reached.
func lastOffsets(recs []*kgo.Record) map[string]map[int32]int64 {
	out := map[string]map[int32]int64{}
	for _, r := range recs {
		if out[r.Topic] == nil {
			out[r.Topic] = map[int32]int64{}
		}
		if o, ok := out[r.Topic][r.Partition]; !ok || r.Offset > o {
			out[r.Topic][r.Partition] = r.Offset
		}
	}
	return out
}

// kafkaConfig is the services' connection to the Env.
func kafkaConfig(env *testkit.Env) kafka.Config {
	return kafka.Config{Brokers: env.Brokers, TopicPrefix: env.Prefix, RegistryURL: env.Registry}
}

// figures collects a test's figures and prints them as "name: value" lines
// when the test ends, sorted by name.
type figures struct {
	mu sync.Mutex
	m  map[string]string
}

func newFigures(t *testing.T) *figures {
	f := &figures{m: map[string]string{}}
	t.Cleanup(func() {
		f.mu.Lock()
		defer f.mu.Unlock()
		names := make([]string, 0, len(f.m))
		for k := range f.m {
			names = append(names, k)
		}
		sort.Strings(names)
		for _, k := range names {
			fmt.Printf("%s: %s\n", k, f.m[k])
		}
	})
	return f
}

func (f *figures) set(name string, v any) {
	f.mu.Lock()
	f.m[name] = fmt.Sprint(v)
	f.mu.Unlock()
}
