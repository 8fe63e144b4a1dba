package indexer

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/meshbone/meshbone/internal/apiclient"
	"github.com/meshbone/meshbone/internal/store"
	"github.com/meshbone/meshbone/pkg/events"
)

// Client calls an indexer's HTTP API (/api/v1); meshctl's discovery
// commands use it. Failures the API answers are *APIError.
type Client struct {
	// URL is the indexer's base URL, e.g. "http://127.0.0.1:8080".
	URL string
	// Token, if set, is sent as a bearer token (the indexer itself does
	// not ask for one; a proxy in front of it may).
	Token string
	// HTTP is the HTTP client; nil means one with apiclient.DefaultTimeout.
	HTTP *http.Client
}

// APIError is an error answer of the API.
type APIError = apiclient.Error

// Search runs a search: GET /api/v1/search. Zero Page and Size are left
// to the indexer's defaults.
func (c *Client) Search(ctx context.Context, p store.SearchParams) (*store.SearchResult, error) {
	q := url.Values{}
	if p.Query != "" {
		q.Set("q", p.Query)
	}
	for _, f := range []struct {
		name string
		vals []string
	}{
		{store.FacetDomain, p.Domain},
		{store.FacetTag, p.Tag},
		{store.FacetSensitivity, p.Sensitivity},
		{store.FacetCompliance, p.Compliance},
		{store.FacetState, p.State},
	} {
		for _, v := range f.vals {
			q.Add(f.name, v)
		}
	}
	if p.Page != 0 {
		q.Set("page", strconv.Itoa(p.Page))
	}
	if p.Size != 0 {
		q.Set("size", strconv.Itoa(p.Size))
	}
	var res store.SearchResult
	if err := c.get(ctx, "/api/v1/search", q, &res); err != nil {
		return nil, err
	}
	return &res, nil
}

// Product returns a product's page: GET /api/v1/products/{id}.
func (c *Client) Product(ctx context.Context, id string) (*store.Product, error) {
	var p store.Product
	if err := c.get(ctx, "/api/v1/products/"+url.PathEscape(id), nil, &p); err != nil {
		return nil, err
	}
	return &p, nil
}

// Consumers returns who reads product id, port by port (the consumers
// whose agreement is in force and the pending requests): GET
// /api/v1/products/{id}/consumers.
func (c *Client) Consumers(ctx context.Context, id string) (*store.Access, error) {
	var acc store.Access
	if err := c.get(ctx, "/api/v1/products/"+url.PathEscape(id)+"/consumers", nil, &acc); err != nil {
		return nil, err
	}
	return &acc, nil
}

// Notices returns notices newest first, as f selects them: GET
// /api/v1/notices. A zero Limit is left to the indexer's default.
func (c *Client) Notices(ctx context.Context, f store.NoticeFilter) ([]events.Notice, error) {
	q := url.Values{}
	if f.Product != "" {
		q.Set("product", f.Product)
	}
	if f.Consumer != "" {
		q.Set("consumer", f.Consumer)
	}
	if f.Limit != 0 {
		q.Set("limit", strconv.Itoa(f.Limit))
	}
	var res NoticeList
	if err := c.get(ctx, "/api/v1/notices", q, &res); err != nil {
		return nil, err
	}
	return res.Notices, nil
}

// Lineage returns the products around id: GET /api/v1/lineage/{id}.
// direction is store.DirectionUp, DirectionDown or DirectionBoth ("" is
// both); depth, the hops to follow, is always sent (the indexer checks it is
// 1 to store.MaxLineageDepth; store.DefaultLineageDepth is its default).
func (c *Client) Lineage(ctx context.Context, id, direction string, depth int) (*store.Graph, error) {
	q := url.Values{"depth": {strconv.Itoa(depth)}}
	if direction != "" {
		q.Set("direction", direction)
	}
	var g store.Graph
	if err := c.get(ctx, "/api/v1/lineage/"+url.PathEscape(id), q, &g); err != nil {
		return nil, err
	}
	return &g, nil
}

// Domains returns every domain with its counts: GET /api/v1/domains.
func (c *Client) Domains(ctx context.Context) ([]store.Domain, error) {
	var res struct {
		Domains []store.Domain `json:"domains"`
	}
	if err := c.get(ctx, "/api/v1/domains", nil, &res); err != nil {
		return nil, err
	}
	return res.Domains, nil
}

// Status returns the view's progress without waiting: GET /api/v1/status.
func (c *Client) Status(ctx context.Context) (Status, error) {
	var st Status
	err := c.get(ctx, "/api/v1/status", nil, &st)
	return st, err
}

// WaitFor waits until the view includes every given record (topic ->
// partition -> offset of a record, as a producer learns it) or timeout
// passes on the indexer's side (0 is the indexer's DefaultWait; at most
// its MaxWait): GET /api/v1/status?wait_for=…. The answer's Reached says
// whether the view got there.
func (c *Client) WaitFor(ctx context.Context, targets map[string]map[int32]int64, timeout time.Duration) (Status, error) {
	q := url.Values{}
	for topic, ps := range targets {
		for p, o := range ps {
			q.Add("wait_for", fmt.Sprintf("%s:%d:%d", topic, p, o))
		}
	}
	return c.wait(ctx, q, timeout)
}

// ChangedSince waits until a batch after generation gen is committed, or
// timeout passes as for WaitFor: GET /api/v1/status?changed_since=….
func (c *Client) ChangedSince(ctx context.Context, gen uint64, timeout time.Duration) (Status, error) {
	return c.wait(ctx, url.Values{"changed_since": {strconv.FormatUint(gen, 10)}}, timeout)
}

func (c *Client) wait(ctx context.Context, q url.Values, timeout time.Duration) (Status, error) {
	if timeout > 0 {
		q.Set("timeout", timeout.String())
	}
	var st Status
	err := c.get(ctx, "/api/v1/status", q, &st)
	return st, err
}

func (c *Client) get(ctx context.Context, path string, q url.Values, out any) error {
	u := strings.TrimRight(c.URL, "/") + path
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	api := apiclient.Client{Token: c.Token, HTTP: c.HTTP}
	return api.Do(ctx, http.MethodGet, u, nil, "", out)
}
