package devstack

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sr/srfake"

	"github.com/meshbone/meshbone/internal/srcompat"
)

// SchemasTopic is where the embedded registry logs its changes.
const SchemasTopic = "_schemas"

// change is one accepted mutating request, as logged to SchemasTopic.
// Replaying the requests in order through a fresh srfake rebuilds the same
// subjects, versions and ids: srfake assigns them deterministically.
type change struct {
	Method string `json:"method"`
	Path   string `json:"path"`
	Query  string `json:"query,omitempty"`
	Body   []byte `json:"body,omitempty"`
}

// Registry is a schema registry (srfake) whose state lives in Kafka.
type Registry struct {
	fake *srfake.Registry
	cl   *kgo.Client
	mu   sync.Mutex // serializes changes so the log order is the apply order
	ln   net.Listener
	srv  *http.Server
	// Replayed is how many logged changes were replayed at start.
	Replayed int
}

// StartRegistry starts the registry on addr (":0" picks a free port), after
// replaying SchemasTopic from the broker at brokers.
func StartRegistry(ctx context.Context, brokers []string, addr string) (*Registry, error) {
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...), kgo.RequiredAcks(kgo.AllISRAcks()), kgo.DefaultProduceTopic(SchemasTopic))
	if err != nil {
		return nil, err
	}
	r := &Registry{fake: srfake.NewRegistry(), cl: cl}
	srcompat.Install(r.fake) // srfake's own compatibility check says yes to anything
	if err := r.replay(ctx); err != nil {
		cl.Close()
		return nil, fmt.Errorf("replay %s: %w", SchemasTopic, err)
	}
	if r.ln, err = net.Listen("tcp", addr); err != nil {
		cl.Close()
		return nil, fmt.Errorf("schema registry listen on %s: %w", addr, err)
	}
	r.srv = &http.Server{Handler: r, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = r.srv.Serve(r.ln) }()
	return r, nil
}

// URL is the registry's base URL.
func (r *Registry) URL() string { return "http://" + r.ln.Addr().String() }

// Close stops serving and closes the Kafka client.
func (r *Registry) Close() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = r.srv.Shutdown(ctx)
	r.cl.Close()
}

// ServeHTTP serves the registry API. Reads go straight to srfake; a change is
// applied, and if srfake accepts it, logged to Kafka before the client hears
// of it, so an acknowledged schema is never lost.
func (r *Registry) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	if req.Method == http.MethodGet || req.Method == http.MethodHead {
		r.fake.Handler().ServeHTTP(w, req)
		return
	}
	body, err := io.ReadAll(io.LimitReader(req.Body, 16<<20))
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	rec := httptest.NewRecorder()
	r.fake.Handler().ServeHTTP(rec, cloneWithBody(req, body))
	if rec.Code/100 == 2 && !isCheckOnly(req) {
		c := change{Method: req.Method, Path: req.URL.Path, Query: req.URL.RawQuery, Body: body}
		v, _ := json.Marshal(c)
		if err := r.cl.ProduceSync(req.Context(), &kgo.Record{Value: v}).FirstErr(); err != nil {
			// srfake already applied it; the next start will not have it.
			// Say so rather than acknowledge a change that is not durable.
			http.Error(w, `{"error_code":50003,"message":"schema change not persisted to Kafka: `+jsonEscape(err.Error())+`"}`, http.StatusServiceUnavailable)
			return
		}
	}
	for k, vs := range rec.Header() {
		w.Header()[k] = vs
	}
	w.WriteHeader(rec.Code)
	_, _ = w.Write(rec.Body.Bytes())
}

// isCheckOnly reports requests that POST but change nothing: compatibility
// checks and schema lookups under a subject.
func isCheckOnly(req *http.Request) bool {
	p := req.URL.Path
	return req.Method == http.MethodPost && (strings.HasPrefix(p, "/compatibility/") || !strings.HasSuffix(p, "/versions"))
}

func cloneWithBody(req *http.Request, body []byte) *http.Request {
	c := req.Clone(req.Context())
	c.Body = io.NopCloser(bytes.NewReader(body))
	c.ContentLength = int64(len(body))
	return c
}

func jsonEscape(s string) string {
	b, _ := json.Marshal(s)
	return string(b[1 : len(b)-1])
}

// replay creates SchemasTopic if needed and applies every logged change.
func (r *Registry) replay(ctx context.Context) error {
	adm := kadm.NewClient(r.cl)
	resp, err := adm.CreateTopic(ctx, 1, 1, nil, SchemasTopic)
	if err == nil {
		err = resp.Err
	}
	if err != nil && !errors.Is(err, kerr.TopicAlreadyExists) {
		return err
	}
	ends, err := adm.ListEndOffsets(ctx, SchemasTopic)
	if err != nil {
		return err
	}
	end, _ := ends.Lookup(SchemasTopic, 0)
	if end.Offset <= 0 {
		return nil
	}
	rd, err := kgo.NewClient(kgo.SeedBrokers(r.cl.OptValue(kgo.SeedBrokers).([]string)...),
		kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{SchemasTopic: {0: kgo.NewOffset().AtStart()}}))
	if err != nil {
		return err
	}
	defer rd.Close()
	rctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	for next := int64(0); next < end.Offset; {
		fetches := rd.PollFetches(rctx)
		if err := rctx.Err(); err != nil {
			return fmt.Errorf("read %d of %d changes: %w", next, end.Offset, err)
		}
		for _, rec := range fetches.Records() {
			next = rec.Offset + 1
			var c change
			if err := json.Unmarshal(rec.Value, &c); err != nil {
				return fmt.Errorf("offset %d: %w", rec.Offset, err)
			}
			req := httptest.NewRequest(c.Method, c.Path+"?"+c.Query, bytes.NewReader(c.Body))
			req.Header.Set("Content-Type", "application/vnd.schemaregistry.v1+json")
			w := httptest.NewRecorder()
			r.fake.Handler().ServeHTTP(w, req)
			if w.Code/100 != 2 {
				return fmt.Errorf("offset %d: %s %s answered %d on replay: %s", rec.Offset, c.Method, c.Path, w.Code, w.Body.String())
			}
			r.Replayed++
		}
	}
	return nil
}
