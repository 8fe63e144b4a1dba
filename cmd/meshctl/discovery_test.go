package main

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/hamba/avro/v2"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sr"

	"github.com/meshbone/meshbone/internal/indexer"
	"github.com/meshbone/meshbone/internal/kafka"
	"github.com/meshbone/meshbone/internal/store"
	"github.com/meshbone/meshbone/internal/store/storetest"
	"github.com/meshbone/meshbone/internal/testkit"
	"github.com/meshbone/meshbone/pkg/events"
)

// discoveryEnv is a testkit Env with an indexer that has folded evs.
type discoveryEnv struct {
	env *testkit.Env
	url string
}

func startIndexer(t *testing.T, evs func(env *testkit.Env) []events.Event) discoveryEnv {
	t.Helper()
	env := testkit.New(t)
	t.Logf("meshctl discovery on %s", env.Backend)
	ix, err := indexer.New(indexer.Options{
		Kafka: kafka.Config{Brokers: env.Brokers, RegistryURL: env.Registry, TopicPrefix: env.Prefix},
		DB:    t.TempDir() + "/view.db", Listen: "127.0.0.1:0",
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- ix.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			t.Error("indexer did not stop")
		}
	})
	wait := env.ProduceEvents(evs(env)...)
	wctx, wcancel := context.WithTimeout(ctx, 30*time.Second)
	defer wcancel()
	if !ix.WaitFor(wctx, wait) {
		t.Fatal("indexer did not fold the events within 30s")
	}
	return discoveryEnv{env: env, url: ix.URL()}
}

func TestDiscoveryCommands(t *testing.T) {
	d := startIndexer(t, func(*testkit.Env) []events.Event { return storetest.Mesh(nil) })
	run := func(args ...string) (string, error) {
		t.Helper()
		return meshctl(t, append(args, "--indexer", d.url)...)
	}

	out, err := run("search", "orders")
	if err != nil || !strings.Contains(out, storetest.Orders) || !strings.Contains(out, storetest.Legacy) || !strings.Contains(out, "of 2") {
		t.Errorf("search orders: %v\n%s", err, out)
	}
	out, err = run("search", "--domain", "finance", "-o", "json")
	var res store.SearchResult
	if err != nil || json.Unmarshal([]byte(out), &res) != nil || res.Total != 2 {
		t.Errorf("search --domain finance -o json: %v\n%s", err, out)
	}
	out, err = run("search", "--state", "deprecated", "--state", "retired")
	if err != nil || !strings.Contains(out, storetest.Legacy) || !strings.Contains(out, storetest.OldLeads) {
		t.Errorf("search deprecated|retired: %v\n%s", err, out)
	}
	if _, err := run("search", "--state", "archived"); err == nil || !strings.Contains(err.Error(), "state") {
		t.Errorf("search --state archived: %v, want an error naming state", err)
	}

	out, err = run("show", storetest.Orders)
	for _, want := range []string{"v2.2.0", "non-compliant", "pii-masking", "upstream:   marketing.campaigns, product.catalog", "completeness", "alice@sales.example"} {
		if err != nil || !strings.Contains(out, want) {
			t.Errorf("show: %v, lacks %q\n%s", err, want, out)
		}
	}
	out, err = run("show", storetest.Orders, "-o", "json")
	var p store.Product
	if err != nil || json.Unmarshal([]byte(out), &p) != nil || p.ID != storetest.Orders {
		t.Errorf("show -o json: %v\n%s", err, out)
	}
	if _, err := run("show", "nope.nothing"); err == nil || !strings.Contains(err.Error(), "404") {
		t.Errorf("show unknown: %v, want a 404", err)
	}

	out, err = run("lineage", storetest.Segments, "--direction", "down", "--depth", "10")
	if err != nil || !strings.Contains(out, storetest.Attribution) || !strings.Contains(out, "READS FROM") {
		t.Errorf("lineage: %v\n%s", err, out)
	}
	out, err = run("lineage", storetest.Forecast, "--direction", "up", "--depth", "1")
	if err != nil || !strings.Contains(out, "not registered") {
		t.Errorf("lineage up with an unregistered input: %v\n%s", err, out)
	}
	if _, err := run("lineage", storetest.Orders, "--depth", "0"); err == nil || !strings.Contains(err.Error(), "depth") {
		t.Errorf("lineage --depth 0: %v", err)
	}
}

const clicksSchema = `{"type": "record", "name": "Click", "fields": [
 {"name": "user", "type": "string"}, {"name": "page", "type": "string"}, {"name": "ms", "type": "long"}]}`

func TestSubscribe(t *testing.T) {
	var topic string
	var schemaID int
	d := startIndexer(t, func(env *testkit.Env) []events.Event {
		ctx := context.Background()
		topic = env.Prefix + "web.clicks.clicks.v1"
		if _, err := env.Admin().CreateTopic(ctx, 1, 1, nil, topic); err != nil {
			t.Fatal(err)
		}
		ss, err := env.RegistryClient().CreateSchema(ctx, topic+"-value", sr.Schema{Schema: clicksSchema, Type: sr.TypeAvro})
		if err != nil {
			t.Fatal(err)
		}
		schemaID = ss.ID
		s := avro.MustParse(clicksSchema)
		cl := env.Client()
		for i := range 3 {
			body, err := avro.Marshal(s, map[string]any{"user": fmt.Sprintf("u%d", i), "page": "/home", "ms": int64(100 + i)})
			if err != nil {
				t.Fatal(err)
			}
			v := binary.BigEndian.AppendUint32([]byte{0}, uint32(ss.ID))
			if err := cl.ProduceSync(ctx, &kgo.Record{Topic: topic, Key: []byte(fmt.Sprint(i)), Value: append(v, body...)}).FirstErr(); err != nil {
				t.Fatal(err)
			}
		}
		id := int32(ss.ID)
		p := storetest.Product("web", "clicks", storetest.Port("clicks", &id, "user", "page", "ms"))
		p.OutputPorts[0].Topic = topic
		return []events.Event{storetest.Lifecycle("lc-clicks", events.LifecycleRegistered, p, storetest.T0)}
	})
	kafkaArgs := []string{"--indexer", d.url, "--kafka-brokers", strings.Join(d.env.Brokers, ","), "--registry-url", d.env.Registry, "--topic-prefix", d.env.Prefix}

	out, err := meshctl(t, append([]string{"subscribe", "web.clicks", "clicks", "--max", "3"}, kafkaArgs...)...)
	if err != nil {
		t.Fatalf("subscribe: %v\n%s", err, out)
	}
	var recs []events.PortRecord
	for _, line := range strings.Split(out, "\n") {
		if !strings.HasPrefix(line, "{") {
			continue
		}
		var r events.PortRecord
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			t.Fatalf("not a JSON line: %q", line)
		}
		recs = append(recs, r)
	}
	if len(recs) != 3 || recs[0].Topic != topic || recs[0].SchemaID != schemaID || recs[0].Value["user"] != "u0" || recs[2].Value["ms"] != float64(102) {
		t.Errorf("subscribe: %+v\n%s", recs, out)
	}
	if _, err := meshctl(t, append([]string{"subscribe", "web.clicks", "views"}, kafkaArgs...)...); err == nil || !strings.Contains(err.Error(), "ports: clicks") {
		t.Errorf("subscribe to an unknown port: %v", err)
	}
	if _, err := meshctl(t, append([]string{"subscribe", "web.nothing", "clicks"}, kafkaArgs...)...); err == nil || !strings.Contains(err.Error(), "404") {
		t.Errorf("subscribe to an unknown product: %v", err)
	}
}

// TestShowProductOwners: meshctl show prints every ownership field the
// descriptor names, the escalation path in its order, and none it leaves
// out.
func TestShowProductOwners(t *testing.T) {
	s := func(v string) *string { return &v }
	p := &store.Product{OwnerTeam: "sales-data-team", Descriptor: events.DataProduct{ID: "sales.orders", Ownership: &events.Ownership{
		BusinessOwner: s("bob@sales.example"), Developer: s("dev-team@sales.example"), Channel: s("slack:#sales-orders"),
		EscalationPath: []string{"alice@sales.example", "head-of-sales@sales.example"},
	}}}
	p.ID, p.Version = "sales.orders", "1.0.0"
	var out strings.Builder
	g := &globals{out: &out}
	g.showProduct(p)
	for _, want := range []string{
		"\nbusiness owner  bob@sales.example\n",
		"\ndeveloper       dev-team@sales.example\n",
		"\nchannel         slack:#sales-orders\n",
		"\nescalation      alice@sales.example > head-of-sales@sales.example\n",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("show lacks %q\n%s", want, out.String())
		}
	}
	for _, absent := range []string{"technical owner", "steward", "on call"} {
		if strings.Contains(out.String(), absent) {
			t.Errorf("show prints %s, which the descriptor does not name\n%s", absent, out.String())
		}
	}
}
