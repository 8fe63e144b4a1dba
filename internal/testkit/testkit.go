package testkit

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/testcontainers/testcontainers-go"
	tckafka "github.com/testcontainers/testcontainers-go/modules/kafka"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sr"
	"github.com/twmb/franz-go/pkg/sr/srfake"

	"github.com/meshbone/meshbone/internal/kafka"
	"github.com/meshbone/meshbone/internal/srcompat"
	"github.com/meshbone/meshbone/pkg/events"
)

// Environment variables that select real backends.
const (
	EnvKafka    = "MESH_TEST_KAFKA" // comma-separated bootstrap addresses of a real broker
	EnvRegistry = "MESH_TEST_SR"    // URL of a real schema registry
	// EnvKafkaSASL names the SASL_PLAINTEXT (SCRAM-SHA-512) listeners of
	// the cluster that scripts/kafka.sh cluster runs, for the tests that
	// need an authorizing broker.
	EnvKafkaSASL = "MESH_TEST_KAFKA_SASL"
	// KafkaImage is the image testcontainers runs when Docker is there.
	KafkaImage = "apache/kafka:4.1.0"
)

// Backend names, as Env.Backend reports them.
const (
	BackendKfake          = "kfake"
	BackendKafka          = "kafka"
	BackendTestcontainers = "testcontainers"
)

// Env is one test's mesh world.
type Env struct {
	Backend  string   // which broker: kfake, kafka or testcontainers
	Brokers  []string // bootstrap addresses
	Registry string   // schema registry URL
	Prefix   string   // topic prefix unique to this test ("" on kfake)
	Topics   events.Topics
	// Spec is how the Env created the mesh topics, and how a test should
	// have services create theirs: kafka.DefaultTopicSpec on one broker;
	// on three or more, replication factor 3 with min.insync.replicas=2
	// (the fault tests kill a broker).
	Spec kafka.TopicSpec
	// Fake is the in-process cluster when Backend is kfake, else nil.
	Fake *kfake.Cluster
	t    testing.TB
}

// Real reports whether the broker is a real Apache Kafka.
func (e *Env) Real() bool { return e.Backend != BackendKfake }

// New returns a fresh Env for t, with the mesh topics created. Everything it
// starts is stopped when t ends.
func New(t testing.TB) *Env {
	t.Helper()
	e := &Env{t: t}
	e.Backend, e.Brokers, e.Fake = broker(t)
	e.Registry = registry(t)
	if e.Backend != BackendKfake {
		e.Prefix = Unique(t, "t") + "."
	}
	e.Topics = events.MeshTopics(e.Prefix)
	t.Logf("testkit: broker %s %v, registry %s, prefix %q", e.Backend, e.Brokers, e.Registry, e.Prefix)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	e.Spec = kafka.DefaultTopicSpec
	if e.Real() {
		brokers, err := e.Admin().ListBrokers(ctx)
		if err != nil {
			t.Fatalf("testkit: list brokers: %v", err)
		}
		if len(brokers) >= 3 {
			e.Spec = kafka.TopicSpec{Partitions: kafka.DefaultPartitions, ReplicationFactor: 3, MinInsyncReplicas: 2}
		}
	}
	if _, err := kafka.EnsureMeshTopics(ctx, e.Admin(), e.Topics, e.Spec); err != nil {
		t.Fatalf("testkit: create mesh topics: %v", err)
	}
	return e
}

// EventOpts returns the SDK options that point at this Env.
func (e *Env) EventOpts() []events.Opt {
	return []events.Opt{events.SeedBrokers(e.Brokers...), events.RegistryURLs(e.Registry), events.TopicPrefix(e.Prefix)}
}

// Client returns a franz-go client on the Env's broker, closed when the test
// ends.
func (e *Env) Client(opts ...kgo.Opt) *kgo.Client {
	e.t.Helper()
	cl, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(e.Brokers...)}, opts...)...)
	if err != nil {
		e.t.Fatalf("testkit: kafka client: %v", err)
	}
	e.t.Cleanup(cl.Close)
	return cl
}

// Admin returns an admin client on the Env's broker.
func (e *Env) Admin() *kadm.Client { return kadm.NewClient(e.Client()) }

// RegistryClient returns a schema registry client for the Env's registry.
func (e *Env) RegistryClient() *sr.Client {
	e.t.Helper()
	cl, err := sr.NewClient(sr.URLs(e.Registry))
	if err != nil {
		e.t.Fatalf("testkit: registry client: %v", err)
	}
	return cl
}

// Group returns a consumer group (or transactional id) name unique to this
// test.
func (e *Env) Group(name string) string { return Unique(e.t, name) }

var unsafeChars = regexp.MustCompile(`[^a-zA-Z0-9_-]+`)

// Unique returns name-<test>-<random>, safe as a topic, group or id.
func Unique(t testing.TB, name string) string {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	test := strings.ToLower(unsafeChars.ReplaceAllString(t.Name(), "-"))
	if len(test) > 40 {
		test = test[:40]
	}
	return name + "-" + test + "-" + hex.EncodeToString(b)
}

// broker picks the broker for t.
func broker(t testing.TB) (string, []string, *kfake.Cluster) {
	if addrs := os.Getenv(EnvKafka); addrs != "" {
		return BackendKafka, strings.Split(addrs, ","), nil
	}
	if addrs := containerBroker(t); addrs != nil {
		return BackendTestcontainers, addrs, nil
	}
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.DefaultNumPartitions(3))
	if err != nil {
		t.Fatalf("testkit: kfake: %v", err)
	}
	t.Cleanup(c.Close)
	return BackendKfake, c.ListenAddrs(), c
}

// registry picks the schema registry for t.
func registry(t testing.TB) string {
	if url := os.Getenv(EnvRegistry); url != "" {
		return url
	}
	reg := srfake.New()
	srcompat.Install(reg) // srfake's own compatibility check says yes to anything
	t.Cleanup(reg.Close)
	return reg.URL()
}

// One container serves every test of a test binary; started on first use.
var container struct {
	once  sync.Once
	addrs []string
}

// containerBroker returns the addresses of an Apache Kafka container, or nil
// when no Docker engine answers.
func containerBroker(t testing.TB) []string {
	container.once.Do(func() {
		if !dockerSocket() {
			return
		}
		// testcontainers panics when it finds no Docker host at all.
		defer func() {
			if r := recover(); r != nil {
				t.Logf("testkit: no usable Docker engine: %v", r)
			}
		}()
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		defer cancel()
		p, err := testcontainers.NewDockerProvider()
		if err != nil {
			return
		}
		defer p.Close()
		if err := p.Health(ctx); err != nil {
			return
		}
		c, err := tckafka.Run(ctx, KafkaImage)
		if err != nil {
			t.Logf("testkit: Docker answers but the Kafka container did not start: %v", err)
			return
		}
		// The container lives as long as the test binary; testcontainers'
		// reaper removes it when the binary exits.
		container.addrs, _ = c.Brokers(ctx)
	})
	return container.addrs
}

// dockerSocket reports whether a Docker engine could be there: DOCKER_HOST is
// set or the default socket exists.
func dockerSocket() bool {
	if os.Getenv("DOCKER_HOST") != "" {
		return true
	}
	_, err := os.Stat("/var/run/docker.sock")
	return err == nil
}
