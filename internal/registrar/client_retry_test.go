package registrar

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"

	"github.com/meshbone/meshbone/internal/httpx"
)

// A write answered 503 because the writer's transaction failed is sent
// again, as the answer asks; a read, or another 503, is answered as it
// comes.
func TestClientRetriesWhatTheWriterAsks(t *testing.T) {
	var calls atomic.Int32
	var failFirst atomic.Int32
	var msg atomic.Value
	failFirst.Store(2)
	msg.Store("kafka: publish the REGISTERED event of sales.x; " + writerRetry)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) <= failFirst.Load() {
			httpx.WriteError(w, &httpx.Error{Status: http.StatusServiceUnavailable, Code: httpx.CodeUnavailable, Message: msg.Load().(string)})
			return
		}
		httpx.WriteJSON(w, http.StatusOK, ActionResult{ID: "sales.x"})
	}))
	defer srv.Close()
	c := &Client{URL: srv.URL, HTTP: srv.Client()}
	ctx := context.Background()

	if res, err := c.Deprecate(ctx, "sales.x", DeprecateRequest{Reason: "r"}); err != nil || res.ID != "sales.x" || calls.Load() != 3 {
		t.Fatalf("write: %+v, %v after %d calls; want success on the third", res, err, calls.Load())
	}
	calls.Store(0)
	if _, err := c.Get(ctx, "sales.x"); err == nil || calls.Load() != 1 {
		t.Fatalf("read: %v after %d calls; want the 503, once", err, calls.Load())
	}
	calls.Store(0)
	msg.Store("schema registry: register the schema")
	if _, err := c.Deprecate(ctx, "sales.x", DeprecateRequest{Reason: "r"}); err == nil || calls.Load() != 1 {
		t.Fatalf("other 503: %v after %d calls; want it once", err, calls.Load())
	}
	calls.Store(0)
	failFirst.Store(10)
	msg.Store("kafka: x; " + writerRetry)
	if _, err := c.Deprecate(ctx, "sales.x", DeprecateRequest{Reason: "r"}); err == nil || calls.Load() != 4 {
		t.Fatalf("always 503: %v after %d calls; want four tries", err, calls.Load())
	}
}
