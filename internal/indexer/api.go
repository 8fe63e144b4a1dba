package indexer

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/meshbone/meshbone/internal/httpx"
	"github.com/meshbone/meshbone/internal/store"
	"github.com/meshbone/meshbone/pkg/events"
)

// routes mounts the API and the web page on the ops server's mux.
func (ix *Indexer) routes() {
	mux := ix.srv.Mux
	handle := func(pattern, route string, h http.HandlerFunc) {
		mux.Handle(pattern, ix.instrument(route, h))
	}
	handle("GET /api/v1/search", "search", ix.apiSearch)
	handle("GET /api/v1/products/{id}", "product", ix.apiProduct)
	handle("GET /api/v1/products/{id}/consumers", "consumers", ix.apiConsumers)
	handle("GET /api/v1/lineage/{id}", "lineage", ix.apiLineage)
	handle("GET /api/v1/notices", "notices", ix.apiNotices)
	handle("GET /api/v1/domains", "domains", ix.apiDomains)
	handle("GET /api/v1/status", "status", ix.apiStatus)
	handle("/api/", "unknown", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, ix.log, &httpx.Error{Status: http.StatusNotFound, Code: httpx.CodeNotFound, Message: "no API route " + r.Method + " " + r.URL.Path})
	})
	handle("GET /{$}", "web_search", ix.web.search)
	handle("GET /products/{id}", "web_product", ix.web.product)
	handle("POST /products/{id}/access", "web_access_request", ix.web.requestAccess)
	handle("GET /domains", "web_domains", ix.web.domains)
	mux.Handle("GET /static/", ix.web.static())
}

// instrument counts and times h under route in the indexer's metrics.
func (ix *Indexer) instrument(route string, h http.HandlerFunc) http.Handler {
	return httpx.Instrument(h, func(status int, d time.Duration) {
		ix.m.latency.WithLabelValues(route).Observe(d.Seconds())
		ix.m.requests.WithLabelValues(route, strconv.Itoa(status)).Inc()
		if route == "search" || route == "web_search" {
			ix.m.search.Observe(d.Seconds())
		}
	})
}

// CodeInvalidParameter is the error code of a bad URL parameter.
const CodeInvalidParameter = "invalid_parameter"

// toAPIError maps every error the handlers see to an answer, in one place.
func toAPIError(err error) *httpx.Error {
	var ae *httpx.Error
	var pe *store.ParamError
	switch {
	case errors.As(err, &ae):
		return ae
	case errors.As(err, &pe):
		return &httpx.Error{Status: http.StatusBadRequest, Code: CodeInvalidParameter, Message: pe.Error(), Field: pe.Field}
	case errors.Is(err, store.ErrNotFound):
		return &httpx.Error{Status: http.StatusNotFound, Code: httpx.CodeNotFound, Message: err.Error()}
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return &httpx.Error{Status: http.StatusServiceUnavailable, Code: httpx.CodeUnavailable, Message: "the request was cancelled or timed out"}
	}
	return &httpx.Error{Status: http.StatusInternalServerError, Code: httpx.CodeInternal, Message: "internal error; see the indexer's log"}
}

func writeError(w http.ResponseWriter, log *zap.Logger, err error) {
	ae := toAPIError(err)
	if ae.Status >= 500 {
		log.Error("request failed", zap.Error(err))
	}
	httpx.WriteError(w, ae)
}

// query reads URL parameters strictly: unknown names are an error, and
// names that take one value may appear once.
type query struct {
	v   url.Values
	err error
}

func newQuery(r *http.Request, allowed ...string) *query {
	q := &query{v: r.URL.Query()}
	for name := range q.v {
		ok := false
		for _, a := range allowed {
			ok = ok || a == name
		}
		if !ok {
			msg := "unknown parameter; allowed: " + strings.Join(allowed, ", ")
			if len(allowed) == 0 {
				msg = "unknown parameter; this route takes none"
			}
			q.err = &store.ParamError{Field: name, Message: msg}
			break
		}
	}
	return q
}

func (q *query) one(name string) string {
	vs := q.v[name]
	if len(vs) > 1 && q.err == nil {
		q.err = &store.ParamError{Field: name, Message: "given more than once"}
	}
	if len(vs) == 0 {
		return ""
	}
	return vs[0]
}

func (q *query) int(name string, def int) int {
	s := q.one(name)
	if s == "" {
		return def
	}
	n, err := strconv.Atoi(s)
	if err != nil && q.err == nil {
		q.err = &store.ParamError{Field: name, Message: fmt.Sprintf("%q is not an integer", s)}
	}
	return n
}

// positive reads an optional integer parameter that must be 1 or more
// when given; 0 when absent.
func (q *query) positive(name string) int {
	n := q.int(name, 0)
	if _, given := q.v[name]; given && n < 1 {
		q.setErr(name, fmt.Sprintf("%d is not 1 or more", n))
	}
	return n
}

func (q *query) duration(name string, def, maxD time.Duration) time.Duration {
	s := q.one(name)
	if s == "" {
		return def
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		if n, err2 := strconv.Atoi(s); err2 == nil {
			d, err = time.Duration(n)*time.Millisecond, nil
		}
	}
	switch {
	case err != nil:
		q.setErr(name, fmt.Sprintf("%q is not a duration (e.g. 5s or 500ms)", s))
	case d < 0 || d > maxD:
		q.setErr(name, fmt.Sprintf("%s is not between 0 and %s", d, maxD))
	}
	return d
}

func (q *query) setErr(field, msg string) {
	if q.err == nil {
		q.err = &store.ParamError{Field: field, Message: msg}
	}
}

// searchParams reads a search from URL parameters.
func searchParams(q *query) store.SearchParams {
	return store.SearchParams{
		Query:       q.one("q"),
		Domain:      q.v["domain"],
		Tag:         q.v["tag"],
		Sensitivity: q.v["sensitivity"],
		Compliance:  q.v["compliance"],
		State:       q.v["state"],
		Page:        q.positive("page"),
		Size:        q.positive("size"),
	}
}

var searchNames = []string{"q", "domain", "tag", "sensitivity", "compliance", "state", "page", "size"}

func (ix *Indexer) apiSearch(w http.ResponseWriter, r *http.Request) {
	q := newQuery(r, searchNames...)
	p := searchParams(q)
	if q.err != nil {
		writeError(w, ix.log, q.err)
		return
	}
	// The generation read before the search: a client that does not find
	// what it looks for can wait for the next commit with
	// /api/v1/status?changed_since=<it>.
	gen := ix.prog.status().Generation
	res, err := ix.store.Search(r.Context(), p)
	if err != nil {
		writeError(w, ix.log, err)
		return
	}
	w.Header().Set("X-Meshbone-Generation", strconv.FormatUint(gen, 10))
	httpx.WriteJSON(w, http.StatusOK, res)
}

func (ix *Indexer) apiProduct(w http.ResponseWriter, r *http.Request) {
	if q := newQuery(r); q.err != nil {
		writeError(w, ix.log, q.err)
		return
	}
	p, err := ix.store.Product(r.Context(), r.PathValue("id"))
	if err != nil {
		writeError(w, ix.log, err)
		return
	}
	httpx.WriteJSON(w, http.StatusOK, p)
}

// apiConsumers answers who reads a product, port by port: the consumers
// whose agreement is in force and the pending requests.
func (ix *Indexer) apiConsumers(w http.ResponseWriter, r *http.Request) {
	if q := newQuery(r); q.err != nil {
		writeError(w, ix.log, q.err)
		return
	}
	acc, err := ix.store.Access(r.Context(), r.PathValue("id"))
	if err != nil {
		writeError(w, ix.log, err)
		return
	}
	httpx.WriteJSON(w, http.StatusOK, acc)
}

// apiNotices lists notices newest first: ?product= those about a product,
// ?consumer= those to a recipient (a consumer id or Kafka principal, an
// agreement id, a downstream product id), ?limit= at most so many.
func (ix *Indexer) apiNotices(w http.ResponseWriter, r *http.Request) {
	q := newQuery(r, "product", "consumer", "limit")
	f := store.NoticeFilter{Product: q.one("product"), Consumer: q.one("consumer"), Limit: q.positive("limit")}
	if q.err != nil {
		writeError(w, ix.log, q.err)
		return
	}
	ns, err := ix.store.Notices(r.Context(), f)
	if err != nil {
		writeError(w, ix.log, err)
		return
	}
	httpx.WriteJSON(w, http.StatusOK, NoticeList{Notices: ns})
}

// NoticeList is the answer of GET /api/v1/notices.
type NoticeList struct {
	Notices []events.Notice `json:"notices"`
}

func (ix *Indexer) apiLineage(w http.ResponseWriter, r *http.Request) {
	q := newQuery(r, "direction", "depth")
	dir := q.one("direction")
	if dir == "" {
		dir = store.DirectionBoth
	}
	depth := q.int("depth", store.DefaultLineageDepth)
	if q.err != nil {
		writeError(w, ix.log, q.err)
		return
	}
	g, err := ix.store.Lineage(r.Context(), r.PathValue("id"), dir, depth)
	if err != nil {
		writeError(w, ix.log, err)
		return
	}
	httpx.WriteJSON(w, http.StatusOK, g)
}

func (ix *Indexer) apiDomains(w http.ResponseWriter, r *http.Request) {
	if q := newQuery(r); q.err != nil {
		writeError(w, ix.log, q.err)
		return
	}
	d, err := ix.store.Domains(r.Context())
	if err != nil {
		writeError(w, ix.log, err)
		return
	}
	httpx.WriteJSON(w, http.StatusOK, map[string]any{"domains": d})
}

// apiStatus answers the view's progress. With wait_for=<topic>:<partition>:<offset>
// (repeatable) it first waits until the view includes those records; with
// changed_since=<generation> until a batch after that generation is
// committed. Either waits at most timeout (default 5s, at most MaxWait)
// and then answers with "reached".
func (ix *Indexer) apiStatus(w http.ResponseWriter, r *http.Request) {
	q := newQuery(r, "wait_for", "changed_since", "timeout")
	timeout := q.duration("timeout", DefaultWait, ix.opts.MaxWait)
	targets := map[tp]int64{}
	for _, s := range q.v["wait_for"] {
		k, o, err := ix.parseWaitFor(s)
		if err != nil {
			q.setErr("wait_for", err.Error())
			break
		}
		targets[k] = max(targets[k], o)
	}
	var since uint64
	waitGen := false
	if s := q.one("changed_since"); s != "" {
		n, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			q.setErr("changed_since", fmt.Sprintf("%q is not a generation number", s))
		}
		since, waitGen = n, true
	}
	if q.err != nil {
		writeError(w, ix.log, q.err)
		return
	}
	var reached *bool
	if len(targets) > 0 || waitGen {
		ctx, cancel := context.WithTimeout(r.Context(), timeout)
		ok := ix.prog.wait(ctx, func(p *progress) bool {
			return p.reached(targets) && (!waitGen || p.gen > since)
		})
		cancel()
		reached = &ok
	}
	st := ix.prog.status()
	st.Reached = reached
	httpx.WriteJSON(w, http.StatusOK, st)
}

// parseWaitFor parses <topic>:<partition>:<offset>; the topic must be a
// mesh event topic.
func (ix *Indexer) parseWaitFor(s string) (tp, int64, error) {
	i := strings.LastIndexByte(s, ':')
	j := -1
	if i > 0 {
		j = strings.LastIndexByte(s[:i], ':')
	}
	if j <= 0 {
		return tp{}, 0, fmt.Errorf("%q is not <topic>:<partition>:<offset>", s)
	}
	topic := s[:j]
	p, err1 := strconv.ParseInt(s[j+1:i], 10, 32)
	o, err2 := strconv.ParseInt(s[i+1:], 10, 64)
	if err1 != nil || err2 != nil || p < 0 || o < 0 {
		return tp{}, 0, fmt.Errorf("%q is not <topic>:<partition>:<offset> with a partition and offset of 0 or more", s)
	}
	if _, ok := ix.topics.KindOf(topic); !ok {
		return tp{}, 0, fmt.Errorf("%q is not a mesh event topic the indexer reads (%s)", topic, strings.Join(ix.readTopics(), ", "))
	}
	return tp{topic, int32(p)}, o, nil
}
