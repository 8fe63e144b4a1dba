package registrar_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"

	"github.com/meshbone/meshbone/internal/registrar"
)

// instance is one of several registrars sharing a world's Env.
type instance struct {
	svc   *registrar.Service
	crash *registrar.Crashable
	url   string
}

// spawn starts one more registrar on w's Env, crashable at provisioning step
// crashAt ("" for never), and waits until it is ready: it is the writer or
// knows which instance is. The test's cleanup stops it.
func (w *world) spawn(crashAt string, tweak ...func(*registrar.Options)) *instance {
	w.t.Helper()
	opts := w.options()
	for _, f := range tweak {
		f(&opts)
	}
	c, err := registrar.NewCrashable(opts, zaptest.NewLogger(w.t, zaptest.Level(zap.WarnLevel)), crashAt)
	if err != nil {
		w.t.Fatalf("registrar.NewCrashable: %v", err)
	}
	in := &instance{svc: c.Service, crash: c, url: c.URL()}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	w.t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil && !in.crash.Dead() {
				w.t.Errorf("registrar.Run: %v", err)
			}
		case <-time.After(30 * time.Second):
			w.t.Errorf("registrar did not stop within 30s")
		}
	})
	// Cleanups run last-first: a write blocked at the crash is released
	// before Run is waited for.
	w.t.Cleanup(c.Release)
	w.env.Eventually(func() bool { return ready(in.url) }, "registrar ready")
	return in
}

func ready(url string) bool {
	resp, err := http.Get(url + "/readyz")
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

// postTo posts a descriptor to a registrar; safe in any goroutine.
func postTo(url, token, doc string) (int, []byte, error) {
	req, err := http.NewRequest(http.MethodPost, url+registrar.RouteProducts, bytes.NewReader([]byte(doc)))
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/yaml")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return resp.StatusCode, body, err
}

// wantOneRegistered fails the test unless statuses are one 201 and the
// rest 200.
func wantOneRegistered(t *testing.T, statuses []int) {
	t.Helper()
	sorted := slices.Clone(statuses)
	slices.Sort(sorted)
	if sorted[0] != 200 || sorted[len(sorted)-2] != 200 || sorted[len(sorted)-1] != 201 {
		t.Fatalf("statuses %v, want one 201 and the others 200", statuses)
	}
}

// writers returns how many of the instances are the writer now.
func writers(ins ...*instance) int {
	n := 0
	for _, in := range ins {
		if in.svc.IsWriter() {
			n++
		}
	}
	return n
}

// Eight identical registrations spread over two or three instances: the
// writer registers the product once, every other answer is UNCHANGED, and
// every instance then shows the product.
func TestSeveralInstancesRegisterOnce(t *testing.T) {
	for _, n := range []int{2, 3} {
		t.Run(fmt.Sprintf("%d instances", n), func(t *testing.T) {
			w := prepare(t)
			var ins []*instance
			for range n {
				ins = append(ins, w.spawn(""))
			}
			if got := writers(ins...); got != 1 {
				t.Fatalf("%d writers among %d instances, want 1", got, n)
			}
			doc := desc{domain: "sales", name: "orders", version: "1.0.0", extraPort: true}.yaml()
			statuses := make([]int, 8)
			errs := make([]error, 8)
			var wg sync.WaitGroup
			for i := range statuses {
				wg.Go(func() { statuses[i], _, errs[i] = postTo(ins[i%n].url, salesToken, doc) })
			}
			wg.Wait()
			for i, err := range errs {
				if err != nil {
					t.Fatalf("post %d: %v", i, err)
				}
			}
			wantOneRegistered(t, statuses)
			evs, _ := w.lifecycle(1)
			if got := w.env.ReadFor(w.env.Topics.Lifecycle, 2, time.Second); len(got) != 1 {
				t.Fatalf("lifecycle holds %d records, want 1", len(got))
			}
			if evs[0].Type != "REGISTERED" || evs[0].Product.ID != "sales.orders" {
				t.Fatalf("lifecycle event %+v", evs[0])
			}
			// Every instance reads the product, the forwarders included:
			// they answered once their own view had the event.
			for i, in := range ins {
				w.url = in.url
				if g := w.get("sales.orders"); g.Status != 200 || g.str("status") != "ACTIVE" {
					t.Fatalf("instance %d answers %d %s", i, g.Status, g.Raw)
				}
			}
			// A deprecation sent to a non-writer is forwarded too.
			for _, in := range ins {
				if !in.svc.IsWriter() {
					w.url = in.url
					break
				}
			}
			w.postJSON("/api/v1/products/sales.orders/deprecate", salesToken, map[string]string{"reason": "test"}).want(t, 200, "")
			if g := w.get("sales.orders"); g.str("status") != "DEPRECATED" {
				t.Fatalf("view of the forwarder %s", g.Raw)
			}
		})
	}
}

// The writer dies (no leave, no transaction end) between provisioning steps
// of a registration; once the other instance has taken over, nothing of the
// registration is left, and the same registration succeeds there.
func TestWriterKilledMidProvisioning(t *testing.T) {
	for _, step := range []string{"topics", "schemas"} {
		t.Run("after "+step, func(t *testing.T) {
			w := prepare(t)
			short := func(o *registrar.Options) { o.LeaseTimeout = 6 * time.Second } // the brokers' minimum
			a := w.spawn(step, short)
			if !a.svc.IsWriter() {
				t.Fatal("the first instance is not the writer")
			}
			b := w.spawn("", short)
			d := desc{domain: "sales", name: "orders", version: "1.0.0", extraPort: true}
			topics := []string{w.topic("sales.orders.events.v1"), w.topic("sales.orders.daily.v1"),
				w.topic("sales.orders.events.v1.dlq"), w.topic("sales.orders.daily.v1.dlq")}
			subjects := []string{w.subject("sales.orders.events.v1"), w.subject("sales.orders.daily.v1")}

			answered := make(chan int, 1)
			go func() {
				status, _, _ := postTo(b.url, salesToken, d.yaml()) // forwarded to a
				answered <- status
			}()
			select {
			case id := <-a.crash.Crashed:
				if id != "sales.orders" {
					t.Fatalf("crashed provisioning %s", id)
				}
			case <-time.After(30 * time.Second):
				t.Fatal("the writer never reached the crash")
			}
			// Half-provisioned indeed: the topics exist (and the subjects
			// after "schemas").
			for _, topic := range topics {
				w.createdTopic(topic)
			}
			if step == "schemas" {
				for _, s := range subjects {
					if w.versions(s) == nil {
						t.Fatalf("subject %s not registered before the crash", s)
					}
				}
			}
			if status := <-answered; status == 200 || status == 201 {
				t.Fatalf("the crashed registration was answered %d", status)
			}

			w.env.Eventually(b.svc.IsWriter, "the survivor takes over")
			for _, topic := range topics {
				if parts, _ := w.topicInfo(topic); parts != -1 {
					t.Errorf("topic %s left behind after the takeover", topic)
				}
			}
			for _, s := range subjects {
				if vs := w.versions(s); vs != nil {
					t.Errorf("subject %s left with versions %v after the takeover", s, vs)
				}
			}
			if got := w.env.ReadFor(w.env.Topics.Lifecycle, 1, time.Second); len(got) != 0 {
				t.Fatalf("lifecycle holds %d records, want 0", len(got))
			}
			// The registration, repeated, now succeeds on the survivor.
			w.url = b.url
			w.post(salesToken, d.yaml()).want(t, http.StatusCreated, "")
			for _, topic := range topics {
				w.createdTopic(topic)
			}
			for _, s := range subjects {
				if vs := w.versions(s); len(vs) != 1 {
					t.Fatalf("subject %s has versions %v, want 1", s, vs)
				}
			}
		})
	}
}

// Instances joining do not take the lease from the writer; when the writer
// dies, another takes over with a view that holds every committed event.
func TestLeaseMovesOnlyWhenTheWriterDies(t *testing.T) {
	w := prepare(t)
	short := func(o *registrar.Options) { o.LeaseTimeout = 6 * time.Second }
	a := w.spawn("", short)
	b := w.spawn("", short)
	c := w.spawn("", short)
	if !a.svc.IsWriter() || b.svc.IsWriter() || c.svc.IsWriter() {
		t.Fatalf("writers: a %v, b %v, c %v; want a only", a.svc.IsWriter(), b.svc.IsWriter(), c.svc.IsWriter())
	}
	w.url = c.url
	w.post(salesToken, desc{domain: "sales", name: "orders", version: "1.0.0"}.yaml()).want(t, 201, "")

	a.crash.Kill()
	w.env.Eventually(func() bool { return writers(b, c) == 1 }, "a new writer")
	// The new writer's view holds what the old one registered.
	w.post(salesToken, desc{domain: "sales", name: "orders", version: "1.0.0"}.yaml()).want(t, 200, "")
	w.post(salesToken, desc{domain: "sales", name: "orders", version: "1.1.0"}.yaml()).want(t, 201, "")
	evs, _ := w.lifecycle(2)
	if evs[0].Type != "REGISTERED" || evs[1].Type != "VERSION_PUBLISHED" {
		t.Fatalf("lifecycle %s, %s", evs[0].Type, evs[1].Type)
	}
}
