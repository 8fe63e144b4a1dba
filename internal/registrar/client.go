package registrar

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/meshbone/meshbone/pkg/product"
)

// DefaultClientTimeout bounds one Client call when Client.HTTP is nil.
const DefaultClientTimeout = 60 * time.Second

// Client calls a registrar's HTTP API; meshctl dev uses it to load the
// example mesh, tests and benchmarks to drive the service.
type Client struct {
	// URL is the registrar's base URL, e.g. "http://127.0.0.1:8090".
	URL string
	// Token is the bearer token of writes.
	Token string
	// HTTP is the HTTP client; default one with DefaultClientTimeout.
	HTTP *http.Client
}

// APIError is an error answer of the API.
type APIError struct {
	Status  int    `json:"-"`
	Code    string `json:"code"`
	Message string `json:"message"`
	Field   string `json:"field,omitempty"`
}

func (e *APIError) Error() string {
	s := fmt.Sprintf("registrar: %d %s: %s", e.Status, e.Code, e.Message)
	if e.Field != "" {
		s += " (field " + e.Field + ")"
	}
	return s
}

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
	_, err := c.do(ctx, http.MethodPost, RouteProducts, body, contentType, &res)
	return res, err
}

// Get returns the registrar's view of a product.
func (c *Client) Get(ctx context.Context, id string) (Product, error) {
	var p Product
	_, err := c.do(ctx, http.MethodGet, RouteProducts+"/"+url.PathEscape(id), nil, "", &p)
	return p, err
}

// List returns every product the registrar knows.
func (c *Client) List(ctx context.Context) ([]Product, error) {
	var l ProductList
	_, err := c.do(ctx, http.MethodGet, RouteProducts, nil, "", &l)
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
	_, err = c.do(ctx, http.MethodPost, RouteProducts+"/"+url.PathEscape(id)+"/"+verb, body, "application/json", &res)
	return res, err
}

func (c *Client) do(ctx context.Context, method, path string, body []byte, contentType string, out any) (int, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, strings.TrimRight(c.URL, "/")+path, rd)
	if err != nil {
		return 0, err
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if c.Token != "" {
		req.Header.Set("Authorization", "Bearer "+c.Token)
	}
	hc := c.HTTP
	if hc == nil {
		hc = &http.Client{Timeout: DefaultClientTimeout}
	}
	resp, err := hc.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return resp.StatusCode, err
	}
	if resp.StatusCode/100 != 2 {
		var eb struct {
			Error *APIError `json:"error"`
		}
		if json.Unmarshal(data, &eb) == nil && eb.Error != nil {
			eb.Error.Status = resp.StatusCode
			return resp.StatusCode, eb.Error
		}
		return resp.StatusCode, &APIError{Status: resp.StatusCode, Code: http.StatusText(resp.StatusCode), Message: strings.TrimSpace(string(data))}
	}
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			return resp.StatusCode, fmt.Errorf("registrar: decode answer of %s %s: %w", method, path, err)
		}
	}
	return resp.StatusCode, nil
}
