package indexer_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"path/filepath"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sr"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"

	"github.com/meshbone/meshbone/internal/indexer"
	"github.com/meshbone/meshbone/internal/kafka"
	"github.com/meshbone/meshbone/internal/store/storetest"
	"github.com/meshbone/meshbone/internal/testkit"
	"github.com/meshbone/meshbone/pkg/events"
)

// kafkaConfig points the indexer at env.
func kafkaConfig(env *testkit.Env) kafka.Config {
	return kafka.Config{Brokers: env.Brokers, RegistryURL: env.Registry, TopicPrefix: env.Prefix}
}

// start runs an indexer on env with a view at db (and its options edited
// by edits) until the test ends (or stop is called); stop waits for Run to
// return and fails on its error.
func start(t *testing.T, env *testkit.Env, db string, rebuild bool, edits ...func(*indexer.Options)) (*indexer.Indexer, func()) {
	t.Helper()
	opts := indexer.Options{Kafka: kafkaConfig(env), DB: db, Rebuild: rebuild, Listen: "127.0.0.1:0", MaxBatch: 100}
	for _, edit := range edits {
		edit(&opts)
	}
	ix, err := indexer.New(opts, zaptest.NewLogger(t, zaptest.Level(zap.WarnLevel)))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- ix.Run(ctx) }()
	stopped := false
	stop := func() {
		t.Helper()
		if stopped {
			return
		}
		stopped = true
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("indexer run: %v", err)
			}
		case <-time.After(30 * time.Second):
			t.Errorf("indexer did not stop within 30s")
		}
	}
	t.Cleanup(stop)
	return ix, stop
}

// publisher encodes events with the mesh codec and produces them, keeping
// the last offset per partition for wait_for.
type publisher struct {
	t     *testing.T
	cl    *kgo.Client
	codec *events.Codec
	last  map[string]map[int32]int64
}

func newPublisher(t *testing.T, env *testkit.Env) *publisher {
	return &publisher{t: t, cl: env.Client(kgo.RequiredAcks(kgo.AllISRAcks())), codec: events.NewCodec(env.RegistryClient(), env.Topics), last: map[string]map[int32]int64{}}
}

func (p *publisher) publish(evs ...events.Event) {
	p.t.Helper()
	ctx := context.Background()
	recs := make([]*kgo.Record, 0, len(evs))
	for _, ev := range evs {
		r, err := p.codec.Encode(ctx, ev, "/domains/test")
		if err != nil {
			p.t.Fatalf("encode %s: %v", ev.ID(), err)
		}
		recs = append(recs, r)
	}
	p.produce(recs...)
}

func (p *publisher) produce(recs ...*kgo.Record) {
	p.t.Helper()
	for i := 0; i < len(recs); i += 500 {
		res := p.cl.ProduceSync(context.Background(), recs[i:min(i+500, len(recs))]...)
		if err := res.FirstErr(); err != nil {
			p.t.Fatalf("produce: %v", err)
		}
		for _, r := range res {
			if p.last[r.Record.Topic] == nil {
				p.last[r.Record.Topic] = map[int32]int64{}
			}
			p.last[r.Record.Topic][r.Record.Partition] = max(p.last[r.Record.Topic][r.Record.Partition], r.Record.Offset)
		}
	}
}

// waitQuery is the wait_for parameters for everything published so far.
func (p *publisher) waitQuery() string {
	v := url.Values{}
	for t, ps := range p.last {
		for part, o := range ps {
			v.Add("wait_for", fmt.Sprintf("%s:%d:%d", t, part, o))
		}
	}
	v.Set("timeout", "30s")
	return v.Encode()
}

// waitIndexed waits through the status API until the indexer at base has
// folded everything published.
func (p *publisher) waitIndexed(base string) {
	p.t.Helper()
	var st indexer.Status
	if code := getJSON(p.t, base+"/api/v1/status?"+p.waitQuery(), &st); code != 200 || st.Reached == nil || !*st.Reached {
		p.t.Fatalf("status wait_for: %d, reached %v; partitions %+v", code, st.Reached, st.Partitions)
	}
}

// registerOrdersSchema registers storetest.OrdersSchema and returns its id.
func registerOrdersSchema(t *testing.T, env *testkit.Env) int32 {
	t.Helper()
	ss, err := env.RegistryClient().CreateSchema(context.Background(), env.Prefix+"sales.customer-orders.orders.v1-value", sr.Schema{Schema: storetest.OrdersSchema, Type: sr.TypeAvro})
	if err != nil {
		t.Fatal(err)
	}
	return int32(ss.ID)
}

var client = &http.Client{Timeout: 60 * time.Second}

// get fetches url and returns the status and body.
func get(t *testing.T, u string) (int, []byte) {
	t.Helper()
	resp, err := client.Get(u)
	if err != nil {
		t.Fatalf("GET %s: %v", u, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: %v", u, err)
	}
	return resp.StatusCode, b
}

// getJSON fetches url and decodes a JSON answer into out.
func getJSON(t *testing.T, u string, out any) int {
	t.Helper()
	code, b := get(t, u)
	if err := json.Unmarshal(b, out); err != nil {
		t.Fatalf("GET %s: %d, not JSON: %v\n%s", u, code, err, b)
	}
	return code
}

type apiErr struct {
	Error struct {
		Code, Message, Field string
	} `json:"error"`
}

func dbPath(t *testing.T) string { return filepath.Join(t.TempDir(), "view.db") }
