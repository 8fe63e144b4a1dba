package store

import (
	"errors"

	"github.com/meshbone/meshbone/internal/store/searchindex"
)

// ErrNotFound is returned for a product the view does not hold.
var ErrNotFound = errors.New("not found")

// ParamError says which query parameter is wrong and why; the API answers
// it with 400. It is the search index's, so search, lineage and the API
// report bad parameters alike.
type ParamError = searchindex.ParamError
