// Package apiclient calls meshbone's HTTP APIs (the registrar's and the
// indexer's): a request with an optional body and bearer token, a JSON answer,
// and the error body every API answers a failure with (internal/httpx's),
// returned as an *Error.
package apiclient

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/meshbone/meshbone/internal/httpx"
)

// DefaultTimeout bounds one call when Client.HTTP is nil.
const DefaultTimeout = 60 * time.Second

// maxAnswer bounds how much of an answer is read.
const maxAnswer = 64 << 20

// Error is an API's error answer, the one the servers write.
type Error = httpx.Error

// Client sends requests to meshbone APIs. The zero value works.
type Client struct {
	// Token, if set, is sent as "Authorization: Bearer <Token>".
	Token string
	// HTTP is the HTTP client; nil means one with DefaultTimeout.
	HTTP *http.Client
}

var defaultHTTP = &http.Client{Timeout: DefaultTimeout}

// Do sends method url with body (nil for none) of contentType and decodes a
// 2xx JSON answer into out, if out is not nil. Any other answer is an *Error:
// the API's own error body, or, for an answer without one, its status and
// text.
func (c *Client) Do(ctx context.Context, method, url string, body []byte, contentType string, out any) error {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, url, rd)
	if err != nil {
		return err
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	req.Header.Set("Accept", "application/json")
	if c.Token != "" {
		req.Header.Set("Authorization", "Bearer "+c.Token)
	}
	hc := c.HTTP
	if hc == nil {
		hc = defaultHTTP
	}
	resp, err := hc.Do(req)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, url, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswer))
	if err != nil {
		return fmt.Errorf("%s %s: read answer: %w", method, url, err)
	}
	if resp.StatusCode/100 != 2 {
		var wrapped httpx.ErrorBody
		if json.Unmarshal(data, &wrapped) == nil && wrapped.Error != nil {
			wrapped.Error.Status = resp.StatusCode
			return wrapped.Error
		}
		return &Error{Status: resp.StatusCode, Code: http.StatusText(resp.StatusCode), Message: strings.TrimSpace(string(data))}
	}
	if out != nil && len(data) > 0 {
		if err := json.Unmarshal(data, out); err != nil {
			return fmt.Errorf("%s %s: decode answer: %w", method, url, err)
		}
	}
	return nil
}
