package main

import (
	"github.com/meshbone/meshbone/internal/indexer"
	"github.com/meshbone/meshbone/internal/registrar"
)

// registrar returns a client of the --registrar API with the --token. Its
// failures are the API's *registrar.APIError as the API gave it.
func (g *globals) registrar() *registrar.Client {
	return &registrar.Client{URL: g.Registrar, Token: g.Token}
}

// indexer returns a client of the --indexer API with the --token. Its
// failures are the API's *indexer.APIError as the API gave it.
func (g *globals) indexer() *indexer.Client {
	return &indexer.Client{URL: g.Indexer, Token: g.Token}
}
