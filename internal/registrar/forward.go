package registrar

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
	"time"

	"go.uber.org/zap"

	"github.com/meshbone/meshbone/internal/httpx"
)

// HeaderForwardedBy marks a write one registrar forwarded to the writer,
// with the forwarding instance's id. A forwarded write is never forwarded
// again: an instance that is not (or no longer) the writer answers it 421,
// and the forwarder tries again once it knows the new writer.
const HeaderForwardedBy = "Meshbone-Forwarded-By"

// forwardPoll is how often a forwarder looks for a writer while none
// answers; readYourWritePoll how often it looks for the forwarded write's
// event in its own view.
const (
	forwardPoll       = 50 * time.Millisecond
	readYourWritePoll = 10 * time.Millisecond
)

// forwardWrite sends a write request to the writer when this instance is
// not it, and copies the answer back; it reports whether it answered. A
// request it cannot forward before the write timeout (no writer answers) is
// left to the local handler, which answers 503. The writer audits what it
// does; a forwarder audits only what it answers itself.
func (s *Service) forwardWrite(w http.ResponseWriter, r *http.Request) bool {
	if r.Header.Get(HeaderForwardedBy) != "" {
		if s.isWriter() {
			return false
		}
		httpx.WriteError(w, &httpx.Error{Status: http.StatusMisdirectedRequest, Code: CodeUnavailable,
			Message: "this registrar is not the writer; ask the current writer"})
		return true
	}
	if s.isWriter() {
		return false
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, s.opts.MaxBodyBytes+1))
	rest := r.Body
	r.Body = io.NopCloser(io.MultiReader(bytes.NewReader(body), rest))
	if err != nil || int64(len(body)) > s.opts.MaxBodyBytes {
		return false // the local handler answers 400 or 413
	}
	ctx, cancel := context.WithTimeout(r.Context(), s.opts.WriteTimeout)
	defer cancel()
	for {
		if s.isWriter() {
			r.Body = io.NopCloser(bytes.NewReader(body))
			return false
		}
		if target := s.writerURL(); target != "" {
			resp, err := s.send(ctx, target, r, body)
			switch {
			case err == nil && resp.StatusCode != http.StatusMisdirectedRequest:
				s.relay(ctx, w, resp)
				s.metrics.forwarded.WithLabelValues("relayed").Inc()
				return true
			case err == nil:
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			case !dialErr(err) && ctx.Err() == nil:
				// Sent, but no answer: the write may have been done.
				s.metrics.forwarded.WithLabelValues("no_answer").Inc()
				s.log.Warn("the writer did not answer a forwarded write", zap.String("writer", target), zap.Error(err))
				writeError(w, unavailable(err, "the writer %s did not answer; the write may or may not have been done (a registration is safe to repeat)", target))
				return true
			}
		}
		select {
		case <-ctx.Done():
		case <-s.runCtx.Done():
		case <-time.After(forwardPoll):
			continue
		}
		s.metrics.forwarded.WithLabelValues("no_writer").Inc()
		r.Body = io.NopCloser(bytes.NewReader(body))
		return false
	}
}

// writerURL returns the URL of the writer as the lease topic announces it,
// or "" while the last writer announced is this instance (deposed, or not
// serving yet).
func (s *Service) writerURL() string {
	rec := s.lease.current()
	if rec == nil || rec.Instance == s.instance || rec.URL == "" {
		return ""
	}
	return rec.URL
}

// send forwards r (with body) to the writer at base.
func (s *Service) send(ctx context.Context, base string, r *http.Request, body []byte) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, r.Method, base+r.URL.RequestURI(), bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	for _, h := range []string{"Authorization", "Content-Type", "Accept", "User-Agent"} {
		if v := r.Header.Get(h); v != "" {
			req.Header.Set(h, v)
		}
	}
	req.Header.Set(HeaderForwardedBy, s.instance)
	return s.forwarder.Do(req)
}

// relay copies the writer's answer to w. After a successful write it waits
// (within ctx) until this instance's view holds the write's event, so that
// the client reads its own write from this instance too.
func (s *Service) relay(ctx context.Context, w http.ResponseWriter, resp *http.Response) {
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		writeError(w, unavailable(err, "read the writer's answer"))
		return
	}
	if resp.StatusCode < 300 {
		var res struct {
			ID      string `json:"id"`
			EventID string `json:"event_id"`
		}
		if json.Unmarshal(data, &res) == nil && res.ID != "" && res.EventID != "" {
			for !s.view.hasEvent(res.ID, res.EventID) && ctx.Err() == nil {
				select {
				case <-ctx.Done():
				case <-time.After(readYourWritePoll):
				}
			}
		}
	}
	if ct := resp.Header.Get("Content-Type"); ct != "" {
		w.Header().Set("Content-Type", ct)
	}
	w.WriteHeader(resp.StatusCode)
	_, _ = w.Write(data)
}

// dialErr reports whether err is a failure to connect: the request was
// never sent, so sending it elsewhere is safe.
func dialErr(err error) bool {
	var oe *net.OpError
	return errors.As(err, &oe) && oe.Op == "dial"
}

// validBaseURL reports whether s is an absolute http(s) URL with a host.
func validBaseURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != ""
}
