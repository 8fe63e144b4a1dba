package httpx

import (
	"net/http"
	"time"
)

// StatusRecorder is a ResponseWriter that remembers the status it answered:
// the first WriteHeader's, or 200 once the body is written without one.
type StatusRecorder struct {
	http.ResponseWriter
	// Status is 0 until the handler answers.
	Status int
}

// WriteHeader records code (the first time) and passes it on.
func (r *StatusRecorder) WriteHeader(code int) {
	if r.Status == 0 {
		r.Status = code
	}
	r.ResponseWriter.WriteHeader(code)
}

// Write passes b on, recording 200 if no status was written.
func (r *StatusRecorder) Write(b []byte) (int, error) {
	if r.Status == 0 {
		r.Status = http.StatusOK
	}
	return r.ResponseWriter.Write(b)
}

// Unwrap returns the wrapped ResponseWriter, for http.ResponseController.
func (r *StatusRecorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

// Instrument wraps h so that observe gets each request's status and
// duration once h returns. A handler that wrote nothing answered 200.
func Instrument(h http.Handler, observe func(status int, d time.Duration)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &StatusRecorder{ResponseWriter: w}
		h.ServeHTTP(rec, r)
		if rec.Status == 0 {
			rec.Status = http.StatusOK
		}
		observe(rec.Status, time.Since(start))
	})
}
