package meshacl_test

import (
	"context"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sasl/scram"
	"github.com/twmb/franz-go/pkg/sr/srfake"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"

	"github.com/meshbone/meshbone/internal/governor"
	"github.com/meshbone/meshbone/internal/indexer"
	"github.com/meshbone/meshbone/internal/kafka"
	"github.com/meshbone/meshbone/internal/meshacl"
	"github.com/meshbone/meshbone/internal/monitor"
	"github.com/meshbone/meshbone/internal/policy"
	"github.com/meshbone/meshbone/internal/registrar"
	"github.com/meshbone/meshbone/internal/testkit"
	"github.com/meshbone/meshbone/pkg/events"
)

const salesToken = "sales-secret"

// descriptor is a product with one port whose volume the monitor measures.
const descriptor = `apiVersion: meshbone/v1
kind: DataProduct
metadata: {domain: sales, name: orders, owner: sales-team, description: Orders}
spec:
  version: 1.0.0
  sensitivity: internal
  retentionDays: 30
  quality:
    - {dimension: volume, port: events, operator: ">=", threshold: 1, window: 1m}
  outputPorts:
    - name: events
      partitions: 1
      schema: '{"type": "record", "name": "Order", "namespace": "com.example", "fields": [{"name": "id", "type": "string"}]}'
      rules:
        - {name: not-test, rule: "id != 'test'", onFailure: dlq}
`

// TestServicesWithTheirACLs runs the four services on a broker that
// refuses what no ACL allows (kfake with SASL and ACLs), each as its own
// user with only the ACLs Bindings lists for it, without a topic prefix
// (the wildcard rules): a product registered through the registrar is
// judged by the governor, shown by the indexer, and its port measured by
// the monitor; access to it is granted (ACLs the registrar creates); audit
// events and dead letters are written. A service that starts using Kafka differently fails here
// (in make test) before it fails on a real cluster (TestMeshUnderACLs in
// internal/clustertest, which also runs with a topic prefix).
func TestServicesWithTheirACLs(t *testing.T) {
	opts := []kfake.Opt{kfake.NumBrokers(1), kfake.EnableSASL(), kfake.EnableACLs(),
		kfake.Superuser("SCRAM-SHA-256", "admin", "admin-pw")}
	for _, s := range append(meshacl.Services, meshacl.Publisher) {
		opts = append(opts, kfake.User("SCRAM-SHA-256", string(s), string(s)+"-pw"))
	}
	cluster, err := kfake.NewCluster(opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cluster.Close)
	reg := srfake.New()
	t.Cleanup(reg.Close)
	brokers := cluster.ListenAddrs()
	admin, err := kgo.NewClient(kgo.SeedBrokers(brokers...), kgo.SASL(scram.Auth{User: "admin", Pass: "admin-pw"}.AsSha256Mechanism()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(admin.Close)

	o := meshacl.DefaultOptions()
	o.Principals = map[meshacl.Service]string{}
	for _, s := range meshacl.Services {
		o.Principals[s] = "User:" + string(s)
	}
	acls, err := meshacl.Bindings(o)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := meshacl.Apply(context.Background(), kadm.NewClient(admin), acls); err != nil {
		t.Fatal(err)
	}
	as := func(s meshacl.Service) kafka.Config {
		return kafka.Config{Brokers: brokers, RegistryURL: reg.URL(), SASLMechanism: kafka.SASLScramSHA256, SASLUser: string(s), SASLPassword: string(s) + "-pw"}
	}
	log := func() *zap.Logger { return zaptest.NewLogger(t, zaptest.Level(zap.WarnLevel)) }
	type service interface{ Run(context.Context) error }
	run := func(name string, svc service) {
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- svc.Run(ctx) }()
		t.Cleanup(func() {
			cancel()
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("the %s: %v", name, err)
				}
			case <-time.After(time.Minute):
				t.Errorf("the %s did not stop within a minute", name)
			}
		})
	}

	ropts := registrar.DefaultOptions()
	ropts.Kafka, ropts.Listen = as(meshacl.Registrar), "127.0.0.1:0"
	ropts.TokenFile = filepath.Join(t.TempDir(), "tokens.yaml")
	if err := registrar.WriteTokenFile(ropts.TokenFile, []registrar.Token{
		{SHA256: registrar.HashToken(salesToken), Principal: "ada@sales", Domain: "sales", Role: registrar.RoleDomainOwner},
	}); err != nil {
		t.Fatal(err)
	}
	rs, err := registrar.New(ropts, log())
	if err != nil {
		t.Fatal(err)
	}
	run("registrar", rs)

	gopts := governor.DefaultOptions()
	gopts.Kafka, gopts.Listen = as(meshacl.Governor), "127.0.0.1:0"
	gopts.Policies = policy.RootDirs("../../policies")
	gopts.PolicyPollInterval = -1
	gs, err := governor.New(gopts, log())
	if err != nil {
		t.Fatal(err)
	}
	run("governor", gs)

	iopts := indexer.DefaultOptions()
	iopts.Kafka, iopts.Listen = as(meshacl.Indexer), "127.0.0.1:0"
	iopts.DB = filepath.Join(t.TempDir(), "view.db")
	ix, err := indexer.New(iopts, log())
	if err != nil {
		t.Fatal(err)
	}
	run("indexer", ix)

	mopts := monitor.DefaultOptions()
	mopts.Kafka, mopts.Listen = as(meshacl.Monitor), "127.0.0.1:0"
	mopts.AllowedLateness = 0
	mopts.IdleProbe = 50 * time.Millisecond
	mon, err := monitor.New(mopts, log())
	if err != nil {
		t.Fatal(err)
	}
	run("monitor", mon)

	testkit.Eventually(t, func() bool {
		resp, err := http.Get(rs.URL() + "/readyz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	}, "the registrar is ready")
	ctx := context.Background()
	// A record that is no event: the governor and the indexer dead-letter
	// it.
	if err := admin.ProduceSync(ctx, &kgo.Record{Topic: events.TopicLifecycle, Value: []byte("not an event")}).FirstErr(); err != nil {
		t.Fatal(err)
	}
	post := func(path, contentType, body string) string {
		t.Helper()
		req, _ := http.NewRequest(http.MethodPost, rs.URL()+path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+salesToken)
		req.Header.Set("Content-Type", contentType)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		raw, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusCreated {
			t.Fatalf("POST %s: %d %s", path, resp.StatusCode, raw)
		}
		return string(raw)
	}
	post(registrar.RouteProducts, "application/yaml", descriptor)
	testkit.Eventually(t, func() bool {
		p, err := ix.Store().Product(ctx, "sales.orders")
		return err == nil && p != nil && p.ComplianceStatus != nil
	}, "the indexer shows sales.orders with the governor's judgement")
	// An INTERNAL product: access is granted by rule, with ACLs the
	// registrar creates.
	if a := post(registrar.RouteAccess, "application/json", `{"product": "sales.orders", "ports": ["events"],
		"consumer": {"type": "application", "id": "dash"}, "principal": "User:dash", "group_prefix": "dash-",
		"purpose": "count orders"}`); !strings.Contains(a, `"status":"GRANTED"`) {
		t.Errorf("access to an INTERNAL product: %s, want GRANTED", a)
	}
	// The audit events and the dead letters are written (the governor's
	// and the indexer's).
	records := func(topic string) int64 {
		offs, err := kadm.NewClient(admin).ListEndOffsets(ctx, topic)
		if err != nil {
			t.Fatal(err)
		}
		var n int64
		offs.Each(func(o kadm.ListedOffset) { n += o.Offset })
		return n
	}
	testkit.Eventually(t, func() bool { return records(events.TopicAudit) > 0 && records(events.TopicDLQ) >= 2 },
		"audit events and the two dead letters written")

	// The domain's publisher, with only PublisherBindings' ACLs, writes
	// the port and dead-letters a record into the topic the registrar
	// created, never creating one.
	pacls, err := meshacl.PublisherBindings("User:"+string(meshacl.Publisher), "", "sales.orders.events.v1")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := meshacl.Apply(ctx, kadm.NewClient(admin), pacls); err != nil {
		t.Fatal(err)
	}
	pw, err := events.NewPortWriter("sales.orders", "events", events.SeedBrokers(brokers...), events.RegistryURLs(reg.URL()),
		events.KafkaOpts(kgo.SASL(scram.Auth{User: string(meshacl.Publisher), Pass: string(meshacl.Publisher) + "-pw"}.AsSha256Mechanism())))
	if err != nil {
		t.Fatalf("a port writer under the publisher's ACLs: %v", err)
	}
	defer pw.Close()
	for _, id := range []string{"o-0", "test"} {
		if err := pw.Write(ctx, id, map[string]any{"id": id}); err != nil {
			t.Fatalf("write %s under the publisher's ACLs: %v", id, err)
		}
	}
	if st := pw.Stats(); st != (events.PortWriterStats{Written: 1, DeadLettered: 1}) {
		t.Fatalf("port writer stats %+v", st)
	}
	if n := records("sales.orders.events.v1.dlq"); n != 1 {
		t.Fatalf("the dead-letter topic holds %d records, want 1", n)
	}

	// Two records a few minutes apart, written by the producing domain
	// (here the super user): the second closes the first one's window.
	t0 := time.Now().Add(-5 * time.Minute)
	for _, r := range []*kgo.Record{
		{Topic: "sales.orders.events.v1", Value: []byte("o-1"), Timestamp: t0},
		{Topic: "sales.orders.events.v1", Value: []byte("o-2"), Timestamp: time.Now()},
	} {
		if err := admin.ProduceSync(ctx, r).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
	testkit.Eventually(t, func() bool { return mon.Published() > 0 }, "the monitor publishes the port's quality")
}
