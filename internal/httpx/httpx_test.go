package httpx_test

import (
	"encoding/json"
	"math"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/meshbone/meshbone/internal/httpx"
)

func TestWriteError(t *testing.T) {
	rec := httptest.NewRecorder()
	httpx.WriteError(rec, &httpx.Error{Status: http.StatusBadRequest, Code: "bad_request", Message: "size: <0> is not 1 or more", Field: "size"})
	if rec.Code != http.StatusBadRequest {
		t.Errorf("status %d", rec.Code)
	}
	if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type %q", ct)
	}
	if cc := rec.Header().Get("Cache-Control"); cc != "no-store" {
		t.Errorf("Cache-Control %q", cc)
	}
	want := `{"error":{"code":"bad_request","message":"size: <0> is not 1 or more","field":"size"}}` + "\n"
	if got := rec.Body.String(); got != want {
		t.Errorf("body\n%s\nwant\n%s", got, want)
	}
	// What a client decodes is what the server meant, but for the status,
	// which the client takes from the answer.
	var body httpx.ErrorBody
	if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil || body.Error == nil {
		t.Fatalf("decode %q: %v", rec.Body.String(), err)
	}
	body.Error.Status = rec.Code
	if got, want := body.Error.Error(), "bad_request (HTTP 400): size: <0> is not 1 or more [field size]"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
}

func TestErrorWithoutField(t *testing.T) {
	e := &httpx.Error{Status: 404, Code: httpx.CodeNotFound, Message: "no product sales.x"}
	if got, want := e.Error(), "not_found (HTTP 404): no product sales.x"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
	rec := httptest.NewRecorder()
	httpx.WriteError(rec, e)
	if got, want := rec.Body.String(), `{"error":{"code":"not_found","message":"no product sales.x"}}`+"\n"; got != want {
		t.Errorf("body %s, want %s", got, want)
	}
}

func TestWriteJSONCannotEncode(t *testing.T) {
	rec := httptest.NewRecorder()
	httpx.WriteJSON(rec, http.StatusCreated, map[string]float64{"x": math.Inf(1)})
	if rec.Code != http.StatusInternalServerError {
		t.Errorf("status %d, want 500", rec.Code)
	}
	if got, want := rec.Body.String(), `{"error":{"code":"internal","message":"encode the answer"}}`+"\n"; got != want {
		t.Errorf("body %s, want %s", got, want)
	}
}

func TestInstrument(t *testing.T) {
	for _, c := range []struct {
		name string
		h    http.HandlerFunc
		want int
	}{
		{"status", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusCreated) }, http.StatusCreated},
		{"body only", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("hi")) }, http.StatusOK},
		{"nothing", func(http.ResponseWriter, *http.Request) {}, http.StatusOK},
		{"first status counts", func(w http.ResponseWriter, _ *http.Request) {
			w.WriteHeader(http.StatusNotFound)
			w.WriteHeader(http.StatusOK) // ignored by net/http too
		}, http.StatusNotFound},
		{"error", func(w http.ResponseWriter, _ *http.Request) {
			httpx.WriteError(w, &httpx.Error{Status: http.StatusServiceUnavailable, Code: httpx.CodeUnavailable, Message: "later"})
		}, http.StatusServiceUnavailable},
	} {
		t.Run(c.name, func(t *testing.T) {
			calls, got := 0, 0
			h := httpx.Instrument(c.h, func(status int, d time.Duration) {
				calls++
				got = status
				if d < 0 {
					t.Errorf("negative duration %s", d)
				}
			})
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))
			if calls != 1 || got != c.want {
				t.Errorf("observed %d times, status %d; want once, %d", calls, got, c.want)
			}
			if rec.Code != c.want {
				t.Errorf("the client got %d, want %d", rec.Code, c.want)
			}
		})
	}
}

// The recorder does not hide what the real writer can do.
func TestStatusRecorderUnwraps(t *testing.T) {
	rec := httptest.NewRecorder()
	h := httpx.Instrument(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write([]byte("part"))
		if err := http.NewResponseController(w).Flush(); err != nil {
			t.Errorf("Flush: %v", err)
		}
	}), func(int, time.Duration) {})
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))
	if !rec.Flushed {
		t.Error("the flush did not reach the writer")
	}
}
