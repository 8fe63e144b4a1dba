package registrar

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/meshbone/meshbone/internal/apiclient"
	"github.com/meshbone/meshbone/internal/httpx"
	"github.com/meshbone/meshbone/pkg/product"
)

// Client calls a registrar's HTTP API; meshctl dev uses it to load the
// example mesh, tests and benchmarks to drive the service.
type Client struct {
	// URL is the registrar's base URL, e.g. "http://127.0.0.1:8090".
	URL string
	// Token is the bearer token of writes.
	Token string
	// HTTP is the HTTP client; nil means one with apiclient.DefaultTimeout.
	HTTP *http.Client
}

// APIError is an error answer of the API.
type APIError = apiclient.Error

// Apply registers d (sent as JSON, so its schemas must be inline: use
// product.ParseFile or product.Load to read it).
func (c *Client) Apply(ctx context.Context, d *product.Descriptor) (ApplyResult, error) {
	body, err := json.Marshal(d)
	if err != nil {
		return ApplyResult{}, err
	}
	return c.ApplyRaw(ctx, body, "application/json")
}

// ApplyRaw posts a descriptor document (YAML or JSON) as it is.
func (c *Client) ApplyRaw(ctx context.Context, body []byte, contentType string) (ApplyResult, error) {
	var res ApplyResult
	err := c.do(ctx, http.MethodPost, RouteProducts, body, contentType, &res)
	return res, err
}

// DryRun reports what applying d would do to each output port and whom it
// would affect; it changes nothing (d's schemas must be inline, as for
// Apply).
func (c *Client) DryRun(ctx context.Context, d *product.Descriptor) (DryRunResult, error) {
	body, err := json.Marshal(d)
	if err != nil {
		return DryRunResult{}, err
	}
	var res DryRunResult
	err = c.do(ctx, http.MethodPost, RouteProducts+"/"+url.PathEscape(d.ID())+"/dry-run", body, "application/json", &res)
	return res, err
}

// Get returns the registrar's view of a product.
func (c *Client) Get(ctx context.Context, id string) (Product, error) {
	var p Product
	err := c.do(ctx, http.MethodGet, RouteProducts+"/"+url.PathEscape(id), nil, "", &p)
	return p, err
}

// List returns every product the registrar knows.
func (c *Client) List(ctx context.Context) ([]Product, error) {
	var l ProductList
	err := c.do(ctx, http.MethodGet, RouteProducts, nil, "", &l)
	return l.Products, err
}

// Deprecate deprecates a product.
func (c *Client) Deprecate(ctx context.Context, id string, req DeprecateRequest) (ActionResult, error) {
	return c.action(ctx, id, "deprecate", req)
}

// Retire retires a deprecated product.
func (c *Client) Retire(ctx context.Context, id string, req RetireRequest) (ActionResult, error) {
	return c.action(ctx, id, "retire", req)
}

func (c *Client) action(ctx context.Context, id, verb string, req any) (ActionResult, error) {
	body, err := json.Marshal(req)
	if err != nil {
		return ActionResult{}, err
	}
	var res ActionResult
	err = c.do(ctx, http.MethodPost, RouteProducts+"/"+url.PathEscape(id)+"/"+verb, body, "application/json", &res)
	return res, err
}

// writerRetry is in the 503 answer to a write whose Kafka transaction
// failed: the writer has rolled the write back and asks for it again.
const writerRetry = "the writer reconciles before it serves again; retry"

// do sends the request; a write answered 503 with writerRetry is sent
// again, as the answer asks, up to three times.
func (c *Client) do(ctx context.Context, method, path string, body []byte, contentType string, out any) error {
	api := apiclient.Client{Token: c.Token, HTTP: c.HTTP}
	for attempt := 1; ; attempt++ {
		err := api.Do(ctx, method, strings.TrimRight(c.URL, "/")+path, body, contentType, out)
		var he *httpx.Error
		if method == http.MethodGet || attempt == 4 || !errors.As(err, &he) || he.Status != http.StatusServiceUnavailable || !strings.Contains(he.Message, writerRetry) {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(time.Duration(attempt) * 200 * time.Millisecond):
		}
	}
}

// RequestAccess asks for access to a product's ports.
func (c *Client) RequestAccess(ctx context.Context, req AccessRequest) (AccessResult, error) {
	body, err := json.Marshal(req)
	if err != nil {
		return AccessResult{}, err
	}
	var res AccessResult
	err = c.do(ctx, http.MethodPost, RouteAccess, body, "application/json", &res)
	return res, err
}

// ListAccess returns the agreements that match f.
func (c *Client) ListAccess(ctx context.Context, f AccessFilter) ([]Agreement, error) {
	q := url.Values{}
	for k, v := range map[string]string{"product": f.Product, "principal": f.Principal, "status": string(f.Status)} {
		if v != "" {
			q.Set(k, v)
		}
	}
	path := RouteAccess
	if len(q) > 0 {
		path += "?" + q.Encode()
	}
	var l AccessList
	err := c.do(ctx, http.MethodGet, path, nil, "", &l)
	return l.Agreements, err
}

// GetAccess returns one agreement.
func (c *Client) GetAccess(ctx context.Context, id string) (Agreement, error) {
	var a Agreement
	err := c.do(ctx, http.MethodGet, RouteAccess+"/"+url.PathEscape(id), nil, "", &a)
	return a, err
}

// ExportAccess returns an agreement as an OAAS document.
func (c *Client) ExportAccess(ctx context.Context, id string) (OAASDocument, error) {
	var doc OAASDocument
	err := c.do(ctx, http.MethodGet, RouteAccess+"/"+url.PathEscape(id)+"/oaas?format=json", nil, "", &doc)
	return doc, err
}

// ApproveAccess approves a pending request (the owning domain or
// governance).
func (c *Client) ApproveAccess(ctx context.Context, id, reason string) (AccessResult, error) {
	return c.accessDecision(ctx, id, "approve", reason)
}

// RejectAccess rejects a pending request, saying why.
func (c *Client) RejectAccess(ctx context.Context, id, reason string) (AccessResult, error) {
	return c.accessDecision(ctx, id, "reject", reason)
}

// RevokeAccess revokes an approved agreement, saying why.
func (c *Client) RevokeAccess(ctx context.Context, id, reason string) (AccessResult, error) {
	return c.accessDecision(ctx, id, "revoke", reason)
}

func (c *Client) accessDecision(ctx context.Context, id, verb, reason string) (AccessResult, error) {
	body, err := json.Marshal(AccessDecision{Reason: reason})
	if err != nil {
		return AccessResult{}, err
	}
	var res AccessResult
	err = c.do(ctx, http.MethodPost, RouteAccess+"/"+url.PathEscape(id)+"/"+verb, body, "application/json", &res)
	return res, err
}
