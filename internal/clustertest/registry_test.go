//go:build cluster

package clustertest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/meshbone/meshbone/internal/registrar"
	"github.com/meshbone/meshbone/pkg/events"
)

const salesToken = "sales-secret"

// registryCtl runs scripts/registry.sh (stop, resume) on the registry that
// make test-cluster started.
func registryCtl(t *testing.T, cmd string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, registryScript, cmd).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", registryScript, cmd, err, out)
	}
}

// descriptor is a one-port product of the sales domain.
func descriptor(name string) string {
	return fmt.Sprintf(`apiVersion: meshbone/v1
kind: DataProduct
metadata: {domain: sales, name: %s, owner: sales-team, description: Product %s}
spec:
  version: 1.0.0
  sensitivity: internal
  retentionDays: 30
  outputPorts:
    - name: events
      partitions: 3
      schema: '{"type": "record", "name": "E_%s", "namespace": "com.example", "fields": [{"name": "id", "type": "string"}]}'
`, name, name, name)
}

type answer struct {
	status int
	body   map[string]any
	raw    []byte
}

func (a answer) code() string {
	e, _ := a.body["error"].(map[string]any)
	s, _ := e["code"].(string)
	return s
}

func call(t *testing.T, method, url, token string, body []byte) answer {
	t.Helper()
	req, err := http.NewRequest(method, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/yaml")
	}
	cl := &http.Client{Timeout: 3 * time.Minute}
	resp, err := cl.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	a := answer{status: resp.StatusCode, raw: raw}
	_ = json.Unmarshal(raw, &a.body)
	return a
}

// TestRegistryStoppedAndStarted stops the schema registry while a registrar,
// an indexer and a publisher run: a registration answers 503 and leaves
// nothing behind, a publisher whose schema is known goes on, and once the
// registry is back (on its stored data) the same registration succeeds, the
// ids given before the stop still resolve, and the indexer catches up.
func TestRegistryStoppedAndStarted(t *testing.T) {
	c := newCluster(t)
	env := c.env
	ctx := context.Background()

	reg, rr := startRegistrar(t, c)
	ix, x := startIndexer(t, indexerOptions(t, env))
	defer x.stop(t)
	defer func() {
		if t.Failed() {
			x.dumpLogs(t, 30)
		}
	}()

	// Whatever happens, the registry is running again for the next test.
	stopped := false
	defer func() {
		if stopped {
			registryCtl(t, "resume")
		}
	}()

	products := reg.URL() + "/api/v1/products"
	if a := call(t, http.MethodPost, products, salesToken, []byte(descriptor("alpha"))); a.status != http.StatusCreated {
		t.Fatalf("register sales.alpha: %d %s", a.status, a.raw)
	}
	subject := events.Subject(env.Prefix + "sales.alpha.events.v1")
	rcl := env.RegistryClient()
	alpha, err := rcl.SchemaByVersion(ctx, subject, -1)
	if err != nil {
		t.Fatalf("schema of sales.alpha: %v", err)
	}

	opts := []events.PublisherOpt{events.Domain("sales")}
	for _, o := range env.EventOpts() {
		opts = append(opts, o)
	}
	pub, err := events.NewPublisher(opts...)
	if err != nil {
		t.Fatal(err)
	}
	defer pub.Close()
	if err := pub.Publish(ctx, qualityEvent(1)); err != nil {
		t.Fatal(err)
	}
	lifecycleBefore := c.endOffsets(env.Topics.Lifecycle)

	registryCtl(t, "stop")
	stopped = true

	// A registration needs the registry: 503, and nothing half-written.
	a := call(t, http.MethodPost, products, salesToken, []byte(descriptor("beta")))
	t.Logf("register with the registry down: %d %s", a.status, bytes.TrimSpace(a.raw))
	if a.status != http.StatusServiceUnavailable || a.code() != registrar.CodeUnavailable {
		t.Errorf("register sales.beta with the registry down: %d %s, want 503 %s", a.status, a.raw, registrar.CodeUnavailable)
	}
	td, err := env.Admin().ListTopics(ctx, env.Prefix+"sales.beta.events.v1")
	if err != nil {
		t.Fatal(err)
	}
	if d, ok := td[env.Prefix+"sales.beta.events.v1"]; ok && d.Err == nil {
		t.Errorf("the topic of sales.beta was created while the registry was down")
	}
	if now := c.endOffsets(env.Topics.Lifecycle); fmt.Sprint(now) != fmt.Sprint(lifecycleBefore) {
		t.Errorf("the lifecycle topic moved while the registration failed: %v, before %v", now, lifecycleBefore)
	}
	// A publisher whose schema id it already has needs no registry.
	pctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	err = pub.Publish(pctx, qualityEvent(2))
	cancel()
	if err != nil {
		t.Errorf("publish with the registry down (schema known): %v", err)
	}

	registryCtl(t, "resume")
	stopped = false

	// The registry is back on its stored data: the id it gave before the
	// stop still names the same schema, and the registration now works.
	got, err := rcl.SchemaByID(ctx, alpha.ID)
	if err != nil || got.Schema != alpha.Schema.Schema {
		t.Errorf("schema id %d after the restart: %v %q, want %q", alpha.ID, err, got.Schema, alpha.Schema.Schema)
	}
	var b answer
	for i := 0; i < 20; i++ {
		b = call(t, http.MethodPost, products, salesToken, []byte(descriptor("beta")))
		if b.status != http.StatusServiceUnavailable {
			break
		}
		time.Sleep(time.Second)
	}
	if b.status != http.StatusCreated {
		t.Fatalf("register sales.beta with the registry back: %d %s", b.status, b.raw)
	}
	if _, err := rcl.SchemaByVersion(ctx, events.Subject(env.Prefix+"sales.beta.events.v1"), -1); err != nil {
		t.Errorf("schema of sales.beta: %v", err)
	}

	// The indexer folds both products with their port schemas.
	last := map[string]map[int32]int64{}
	for tp, ps := range lastOffsets(c.readAll(env.Topics.Lifecycle)) {
		last[tp] = ps
	}
	wctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	if !ix.WaitFor(wctx, last) {
		t.Fatalf("the indexer did not fold the lifecycle topic: %+v", ix.Status())
	}
	for _, id := range []string{"sales.alpha", "sales.beta"} {
		p, err := ix.Store().Product(ctx, id)
		if err != nil {
			t.Errorf("indexer: product %s: %v", id, err)
			continue
		}
		if p == nil {
			t.Errorf("indexer: product %s missing", id)
		}
	}
	for _, e := range []*running{rr, x} {
		if early, err, _ := e.exitedEarly(); early {
			t.Errorf("%s exited: %v", e.name, err)
		}
	}
}

// startRegistrar runs a registrar on the test's Env (its topics replicated
// like the Env's) until the test ends, and waits until it is ready; a test
// that fails shows the registrar's last log lines. Each of mods changes the
// options first.
func startRegistrar(t *testing.T, c *cluster, mods ...func(*registrar.Options)) (*registrar.Service, *running) {
	t.Helper()
	tokens := filepath.Join(t.TempDir(), "tokens.yaml")
	if err := registrar.WriteTokenFile(tokens, []registrar.Token{
		{SHA256: registrar.HashToken(salesToken), Principal: "ada@sales", Domain: "sales", Role: registrar.RoleDomainOwner},
	}); err != nil {
		t.Fatal(err)
	}
	opts := registrar.DefaultOptions()
	opts.Kafka = kafkaConfig(c.env)
	opts.Listen = "127.0.0.1:0"
	opts.TokenFile = tokens
	opts.Topics = c.env.Spec
	for _, m := range mods {
		m(&opts)
	}
	log, logs := newLogger()
	svc, err := registrar.New(opts, log)
	if err != nil {
		t.Fatal(err)
	}
	r := &running{name: "registrar", logs: logs}
	r.start(svc.Run)
	t.Cleanup(func() { r.stop(t) })
	t.Cleanup(func() {
		if t.Failed() {
			r.dumpLogs(t, 30)
		}
	})
	c.env.Eventually(func() bool {
		resp, err := http.Get(svc.URL() + "/readyz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	}, "registrar ready")
	return svc, r
}

// TestRegistrarWithABrokerDown provisions a product with one broker of
// three dead: Kafka still creates a topic replicated 3 (KRaft places a
// replica on the fenced broker when too few others are left; it catches up
// on restart) and acks=all writes reach min.insync.replicas=2, so the
// registration succeeds, and the topic is whole once the broker is back.
// (With two of three dead, see TestRegistrarWithoutQuorum.)
func TestRegistrarWithABrokerDown(t *testing.T) {
	c := newCluster(t)
	env := c.env
	ctx := context.Background()
	svc, r := startRegistrar(t, c)
	products := svc.URL() + "/api/v1/products"

	victim, _ := c.leaderOfMost(env.Topics.Lifecycle)
	c.kill(victim)
	c.waitBrokers(2)
	a := call(t, http.MethodPost, products, salesToken, []byte(descriptor("gamma")))
	t.Logf("register with one broker of three down: %d %s", a.status, bytes.TrimSpace(a.raw))
	if a.status != http.StatusCreated {
		t.Fatalf("register sales.gamma with one broker of three down: %d %s, want 201", a.status, a.raw)
	}
	c.restart(victim)
	topic := env.Prefix + "sales.gamma.events.v1"
	env.Eventually(func() bool {
		td, err := env.Admin().ListTopics(ctx, topic)
		if err != nil || td[topic].Err != nil {
			return false
		}
		for _, p := range td[topic].Partitions {
			if len(p.Replicas) != 3 || len(p.ISR) != 3 {
				return false
			}
		}
		return len(td[topic].Partitions) > 0
	}, "the topic of sales.gamma with three replicas in sync after the restart")
	if early, err, _ := r.exitedEarly(); early {
		t.Errorf("registrar exited: %v", err)
	}
}

// waitBrokers waits (at most a minute) until the cluster lists n brokers:
// the controller fences a dead one after its session timeout.
func (c *cluster) waitBrokers(n int) {
	c.t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		brokers, err := c.env.Admin().ListBrokers(ctx)
		cancel()
		if err == nil && len(brokers) == n {
			return
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("the cluster lists %d brokers (%v) a minute after a kill, want %d", len(brokers), err, n)
		}
		time.Sleep(500 * time.Millisecond)
	}
}
