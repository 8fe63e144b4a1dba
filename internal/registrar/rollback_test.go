package registrar_test

import (
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/meshbone/meshbone/internal/registrar"
	"github.com/meshbone/meshbone/pkg/events"
)

// flakyRegistry is a proxy in front of the test registry that can fail the
// registration of chosen subjects, or everything.
type flakyRegistry struct {
	url        string
	failSubjOf atomic.Value // string: fail POST /subjects/<...substring...>/versions
	down       atomic.Bool
}

func newFlakyRegistry(t *testing.T, target string) *flakyRegistry {
	t.Helper()
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	f := &flakyRegistry{}
	f.failSubjOf.Store("")
	proxy := httputil.NewSingleHostReverseProxy(u)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sub := f.failSubjOf.Load().(string)
		switch {
		case f.down.Load():
			http.Error(w, `{"error_code": 50003, "message": "registry down for the test"}`, http.StatusServiceUnavailable)
		case sub != "" && r.Method == http.MethodPost && strings.HasPrefix(r.URL.Path, "/subjects/") &&
			strings.HasSuffix(r.URL.Path, "/versions") && strings.Contains(r.URL.Path, sub):
			http.Error(w, `{"error_code": 50001, "message": "storage failure for the test"}`, http.StatusInternalServerError)
		default:
			proxy.ServeHTTP(w, r)
		}
	})}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	f.url = "http://" + ln.Addr().String()
	return f
}

func TestFailedRegistrationIsRolledBack(t *testing.T) {
	w := prepare(t)
	flaky := newFlakyRegistry(t, w.env.Registry)
	w.start(func(o *registrar.Options) { o.Kafka.RegistryURL = flaky.url })

	// The second port's schema cannot be registered: the first port's
	// subject and both topics, created already, are deleted again.
	flaky.failSubjOf.Store("orders.daily.v1")
	d := desc{domain: "sales", name: "orders", version: "1.0.0", extraPort: true}
	a := w.post(salesToken, d.yaml())
	a.want(t, http.StatusServiceUnavailable, registrar.CodeUnavailable)
	for _, topic := range []string{"sales.orders.events.v1", "sales.orders.daily.v1"} {
		for _, tp := range []string{w.topic(topic), events.PortDeadLetterTopic(w.topic(topic))} {
			w.env.Eventually(func() bool { parts, _ := w.topicInfo(tp); return parts == -1 }, "topic "+tp+" deleted")
		}
		if vs := w.versions(w.subject(topic)); vs != nil {
			t.Fatalf("subject of %s left with versions %v", topic, vs)
		}
	}
	if n := w.records(w.env.Topics.Lifecycle); n != 0 {
		t.Fatalf("lifecycle holds %d records, want 0", n)
	}
	w.get("sales.orders").want(t, http.StatusNotFound, registrar.CodeNotFound)

	// The registry down altogether: 503, nothing created.
	flaky.failSubjOf.Store("")
	flaky.down.Store(true)
	w.post(salesToken, d.yaml()).want(t, http.StatusServiceUnavailable, registrar.CodeUnavailable)
	for _, topic := range []string{w.topic("sales.orders.events.v1"), events.PortDeadLetterTopic(w.topic("sales.orders.events.v1"))} {
		if parts, _ := w.topicInfo(topic); parts != -1 {
			t.Fatalf("topic %s created while the registry was down", topic)
		}
	}

	// Back up: the same request now succeeds.
	flaky.down.Store(false)
	w.post(salesToken, d.yaml()).want(t, http.StatusCreated, "")
	if n := w.records(w.env.Topics.Lifecycle); n != 1 {
		t.Fatalf("lifecycle holds %d records, want 1", n)
	}
}
