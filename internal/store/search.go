package store

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"strings"

	"github.com/meshbone/meshbone/internal/store/searchindex"
)

// Search's parameters, results and limits are the search index's
// (internal/store/searchindex); the view names them too, so that its
// callers see one API.
type (
	SearchParams = searchindex.Params
	SearchResult = searchindex.Result
	Summary      = searchindex.Summary
	FacetCount   = searchindex.FacetCount
)

// Search limits and facet names (see searchindex).
const (
	DefaultPageSize = searchindex.DefaultPageSize
	MaxPageSize     = searchindex.MaxPageSize
	MaxResultWindow = searchindex.MaxResultWindow

	FacetDomain      = searchindex.FacetDomain
	FacetTag         = searchindex.FacetTag
	FacetSensitivity = searchindex.FacetSensitivity
	FacetCompliance  = searchindex.FacetCompliance
	FacetState       = searchindex.FacetState
)

// Search runs a search on the search index, which Apply keeps at the
// view's last commit (see searchindex.Index.Search). Errors in the
// parameters are *ParamError.
func (s *Store) Search(ctx context.Context, p SearchParams) (*SearchResult, error) {
	return s.idx.Search(ctx, p)
}

// fullText is products_fts as the search index's searchindex.FullText: it
// matches the text the index cannot tokenize, on a snapshot of the reader
// pool (the index holds its read lock meanwhile, so Apply cannot commit).
type fullText struct{ s *Store }

func (f fullText) Match(ctx context.Context, match string, rowids []int64, fn func(rowid int64)) error {
	q, args := `SELECT group_concat(rowid) FROM products_fts WHERE products_fts MATCH ?`, []any{match}
	if rowids != nil {
		q += ` AND rowid IN (` + placeholders(len(rowids)) + `)`
		for _, r := range rowids {
			args = append(args, r)
		}
	}
	// One row with every matching rowid: much cheaper than a row per
	// match through database/sql.
	var ids sql.NullString
	if err := f.s.readTx(ctx, func(tx *sql.Tx) error { return tx.QueryRowContext(ctx, q, args...).Scan(&ids) }); err != nil {
		return err
	}
	for id := range strings.SplitSeq(ids.String, ",") {
		if id == "" {
			continue
		}
		r, err := strconv.ParseInt(id, 10, 64)
		if err != nil {
			return fmt.Errorf("full-text rowid %q: %w", id, err)
		}
		fn(r)
	}
	return nil
}
