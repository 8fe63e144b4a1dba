package main

import (
	"context"

	"github.com/meshbone/meshbone/internal/apiclient"
)

// call sends a request to a meshbone API (the registrar's or the indexer's)
// with the --token, and decodes a 2xx JSON answer into out (if not nil). Any
// other answer is an *apiclient.Error as the API gave it.
func (g *globals) call(ctx context.Context, method, url string, body []byte, contentType string, out any) error {
	c := apiclient.Client{Token: g.Token}
	return c.Do(ctx, method, url, body, contentType, out)
}
