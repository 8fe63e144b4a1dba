package registrar_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sr"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"

	"github.com/meshbone/meshbone/internal/kafka"
	"github.com/meshbone/meshbone/internal/kafka/topicread"
	"github.com/meshbone/meshbone/internal/registrar"
	"github.com/meshbone/meshbone/internal/testkit"
	"github.com/meshbone/meshbone/pkg/events"
)

// Tokens of the test world.
const (
	salesToken      = "sales-secret"
	marketingToken  = "marketing-secret"
	governanceToken = "governance-secret"
)

// world is one test's registrar on one testkit Env.
type world struct {
	t      *testing.T
	env    *testkit.Env
	svc    *registrar.Service
	url    string
	tokens string // token file
	stop   func()
}

func writeTokens(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "tokens.yaml")
	err := registrar.WriteTokenFile(path, []registrar.Token{
		{SHA256: registrar.HashToken(salesToken), Principal: "ada@sales", Domain: "sales", Role: registrar.RoleDomainOwner},
		{SHA256: registrar.HashToken(marketingToken), Principal: "bob@marketing", Domain: "marketing", Role: registrar.RoleDomainOwner},
		{SHA256: registrar.HashToken(governanceToken), Principal: "gov-bot", Role: registrar.RoleGovernance},
	})
	if err != nil {
		t.Fatal(err)
	}
	return path
}

// newWorld starts a registrar on a fresh Env.
func newWorld(t *testing.T, tweak ...func(*registrar.Options)) *world {
	t.Helper()
	w := prepare(t)
	w.start(tweak...)
	return w
}

// prepare returns a world with a fresh Env and token file, and no registrar
// running yet.
func prepare(t *testing.T) *world {
	t.Helper()
	env := testkit.New(t)
	t.Logf("registrar suite on %s", env.Backend)
	return &world{t: t, env: env, tokens: writeTokens(t)}
}

func (w *world) options() registrar.Options {
	opts := registrar.DefaultOptions()
	opts.Kafka = kafka.Config{Brokers: w.env.Brokers, TopicPrefix: w.env.Prefix, RegistryURL: w.env.Registry}
	opts.Listen = "127.0.0.1:0"
	opts.TokenFile = w.tokens
	return opts
}

// start runs a registrar instance and waits until it is ready; the test's
// cleanup stops it.
func (w *world) start(tweak ...func(*registrar.Options)) {
	w.t.Helper()
	opts := w.options()
	for _, f := range tweak {
		f(&opts)
	}
	svc, err := registrar.New(opts, zaptest.NewLogger(w.t, zaptest.Level(zap.WarnLevel)))
	if err != nil {
		w.t.Fatalf("registrar.New: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- svc.Run(ctx) }()
	var once bool
	w.stop = func() {
		if once {
			return
		}
		once = true
		cancel()
		select {
		case err := <-done:
			if err != nil {
				w.t.Errorf("registrar.Run: %v", err)
			}
		case <-time.After(30 * time.Second):
			w.t.Errorf("registrar did not stop within 30s")
		}
	}
	w.t.Cleanup(w.stop)
	w.svc, w.url = svc, svc.URL()
	w.env.Eventually(func() bool {
		resp, err := http.Get(w.url + "/readyz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	}, "registrar ready")
}

// restart stops the running instance and starts a new one on the same topics.
func (w *world) restart() {
	w.t.Helper()
	w.stop()
	w.start()
}

// answer is a decoded HTTP answer.
type answer struct {
	Status int
	Body   map[string]any
	Raw    []byte
}

// errCode returns error.code of an error answer.
func (a answer) errCode() string { return a.str("error", "code") }

func (a answer) str(path ...string) string {
	var v any = a.Body
	for _, p := range path {
		m, ok := v.(map[string]any)
		if !ok {
			return ""
		}
		v = m[p]
	}
	s, _ := v.(string)
	return s
}

// do sends a request and decodes its JSON answer. A write answered 503
// because a writer's transaction failed ("... the writer reconciles before
// it serves again; retry") is sent again, as the answer asks, up to three
// times (other 503s, a registry down, are answered as they come): on kfake under the whole race suite a transactional produce is
// now and then refused with OUT_OF_ORDER_SEQUENCE_NUMBER, which the
// registrar survives this way; each retry is logged.
func (w *world) do(method, path, token, contentType string, body []byte) answer {
	w.t.Helper()
	for attempt := 1; ; attempt++ {
		a := w.doOnce(method, path, token, contentType, body)
		if method == http.MethodGet || a.Status != http.StatusServiceUnavailable || !strings.Contains(a.str("error", "message"), "the writer") || attempt == 4 {
			return a
		}
		w.t.Logf("%s %s: 503 (%s); retrying as asked", method, path, a.str("error", "message"))
		time.Sleep(time.Duration(attempt) * 200 * time.Millisecond)
	}
}

func (w *world) doOnce(method, path, token, contentType string, body []byte) answer {
	w.t.Helper()
	req, err := http.NewRequest(method, w.url+path, bytes.NewReader(body))
	if err != nil {
		w.t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		w.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	a := answer{Status: resp.StatusCode, Raw: raw}
	if err := json.Unmarshal(raw, &a.Body); err != nil {
		w.t.Fatalf("%s %s: answer %d is not JSON: %q", method, path, resp.StatusCode, raw)
	}
	return a
}

func (w *world) post(token, doc string) answer {
	w.t.Helper()
	return w.do(http.MethodPost, "/api/v1/products", token, "application/yaml", []byte(doc))
}

func (w *world) postJSON(path, token string, v any) answer {
	w.t.Helper()
	body, _ := json.Marshal(v)
	return w.do(http.MethodPost, path, token, "application/json", body)
}

func (w *world) get(id string) answer {
	w.t.Helper()
	return w.do(http.MethodGet, "/api/v1/products/"+id, "", "", nil)
}

// want fails the test unless the answer has the status (and error code).
func (a answer) want(t *testing.T, status int, code string) {
	t.Helper()
	if a.Status != status || (code != "" && a.errCode() != code) {
		t.Fatalf("answer %d %s, want %d %s: %s", a.Status, a.errCode(), status, code, a.Raw)
	}
}

// topic returns the full name of a product port topic.
func (w *world) topic(name string) string { return w.env.Prefix + name }

// records returns how many records a topic holds, read_committed up to its
// last stable offset (transaction markers take offsets too, so end offsets
// do not count records); exact once the producer was acknowledged.
func (w *world) records(topic string) int64 {
	w.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), testkit.DefaultWait)
	defer cancel()
	var n int64
	if err := topicread.ReadCommitted(ctx, []kgo.Opt{kgo.SeedBrokers(w.env.Brokers...)}, topic, func(*kgo.Record) { n++ }); err != nil {
		w.t.Fatal(err)
	}
	return n
}

// topicInfo returns a topic's partition count and retention.ms, or -1, "" if
// it does not exist.
func (w *world) topicInfo(topic string) (int, string) {
	w.t.Helper()
	adm := w.env.Admin()
	ctx := context.Background()
	td, err := adm.ListTopics(ctx, topic)
	if err != nil {
		w.t.Fatal(err)
	}
	d, ok := td[topic]
	if !ok || d.Err != nil {
		return -1, ""
	}
	rc, err := adm.DescribeTopicConfigs(ctx, topic)
	if err != nil {
		w.t.Fatal(err)
	}
	retention := ""
	for _, c := range rc[0].Configs {
		if c.Key == "retention.ms" && c.Value != nil {
			retention = *c.Value
		}
	}
	return len(d.Partitions), retention
}

// createdTopic waits until a topic is in the metadata (a real broker learns
// of a new topic shortly after the controller created it) and returns its
// partition count and retention.ms.
func (w *world) createdTopic(topic string) (int, string) {
	w.t.Helper()
	var (
		parts     int
		retention string
	)
	w.env.Eventually(func() bool { parts, retention = w.topicInfo(topic); return parts != -1 }, "topic "+topic+" created")
	return parts, retention
}

// versions returns the versions of a subject (nil if none).
func (w *world) versions(subject string) []int {
	w.t.Helper()
	vs, err := w.env.RegistryClient().SubjectVersions(context.Background(), subject)
	if err != nil {
		return nil
	}
	return vs
}

// lifecycle reads the n lifecycle events of the topic, decoded.
func (w *world) lifecycle(n int) ([]*events.ProductLifecycleEvent, []*kgo.Record) {
	w.t.Helper()
	return decodeAll[*events.ProductLifecycleEvent](w, w.env.Topics.Lifecycle, n)
}

// audits reads the first n audit events, decoded.
func (w *world) audits(n int) []*events.AuditEvent {
	w.t.Helper()
	evs, _ := decodeAll[*events.AuditEvent](w, w.env.Topics.Audit, n)
	return evs
}

func decodeAll[E events.Event](w *world, topic string, n int) ([]E, []*kgo.Record) {
	w.t.Helper()
	codec := events.NewCodec(w.env.RegistryClient(), w.env.Topics)
	recs := w.env.ReadN(topic, n)
	out := make([]E, 0, len(recs))
	for _, r := range recs {
		ev, err := codec.Decode(context.Background(), r)
		if err != nil {
			w.t.Fatalf("decode %s offset %d: %v", topic, r.Offset, err)
		}
		out = append(out, ev.(E))
	}
	return out, recs
}

// findAudit returns the first audit event matching, failing the test if
// none of the first n does.
func (w *world) findAudit(n int, match func(*events.AuditEvent) bool) *events.AuditEvent {
	w.t.Helper()
	for _, a := range w.audits(n) {
		if match(a) {
			return a
		}
	}
	w.t.Fatalf("no matching audit event among the first %d", n)
	return nil
}

// subject returns a product port subject.
func (w *world) subject(topic string) string { return events.Subject(w.topic(topic)) }

// latestSchema returns the latest schema text of a subject.
func (w *world) latestSchema(subject string) sr.SubjectSchema {
	w.t.Helper()
	ss, err := w.env.RegistryClient().SchemaByVersion(context.Background(), subject, -1)
	if err != nil {
		w.t.Fatalf("latest schema of %s: %v", subject, err)
	}
	return ss
}

// descriptor builds a product descriptor document: one port "events" per
// schema given as fields (Avro field JSON), plus any extra spec lines.
type desc struct {
	domain, name, version string
	description           string
	retentionDays         int
	partitions            int
	fields                []string // Avro fields of port "events"
	extraPort             bool     // add a port "daily" with a fixed schema
	inputs                []string
}

func (d desc) yaml() string {
	if d.retentionDays == 0 {
		d.retentionDays = 30
	}
	if d.partitions == 0 {
		d.partitions = 2
	}
	if d.description == "" {
		d.description = "Test product " + d.name
	}
	if len(d.fields) == 0 {
		d.fields = []string{`{"name": "id", "type": "string"}`, `{"name": "amount", "type": "double"}`}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "apiVersion: meshbone/v1\nkind: DataProduct\nmetadata:\n  domain: %s\n  name: %s\n  owner: %s-team\n  description: %s\n", d.domain, d.name, d.domain, d.description)
	fmt.Fprintf(&b, "spec:\n  version: %s\n  sensitivity: internal\n  retentionDays: %d\n  outputPorts:\n", d.version, d.retentionDays)
	fmt.Fprintf(&b, "    - name: events\n      partitions: %d\n      schema: '{\"type\": \"record\", \"name\": \"Event\", \"namespace\": \"com.example\", \"fields\": [%s]}'\n", d.partitions, strings.Join(d.fields, ", "))
	if d.extraPort {
		b.WriteString("    - name: daily\n      schema: '{\"type\": \"record\", \"name\": \"Daily\", \"fields\": [{\"name\": \"day\", \"type\": \"string\"}]}'\n")
	}
	if len(d.inputs) > 0 {
		fmt.Fprintf(&b, "  inputs: [%s]\n", strings.Join(d.inputs, ", "))
	}
	return b.String()
}
