package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/meshbone/meshbone/pkg/events"
)

// Search limits and defaults.
const (
	DefaultPageSize  = 20
	MaxPageSize      = 100
	MaxResultWindow  = 10000 // (page-1)*size beyond this is refused
	MaxFilterValues  = 20
	MaxFilterLength  = 200
	DefaultTagFacets = 20 // the tag facet lists the most frequent tags only
)

// Facet names, as they appear in SearchResult.Facets and as filters.
const (
	FacetDomain      = "domain"
	FacetTag         = "tag"
	FacetSensitivity = "sensitivity"
	FacetCompliance  = "compliance"
	FacetState       = "state"
)

// SearchParams is a search: text, filters (values of one facet are ORed,
// facets are ANDed) and a page.
type SearchParams struct {
	Query       string
	Domain      []string
	Tag         []string
	Sensitivity []string
	Compliance  []string
	State       []string
	Page        int // from 1; 0 means 1
	Size        int // 1..MaxPageSize; 0 means DefaultPageSize
}

// Summary is a product as search lists it.
type Summary struct {
	ID           string    `json:"id"`
	Name         string    `json:"name"`
	Domain       string    `json:"domain"`
	Description  string    `json:"description"`
	Tags         []string  `json:"tags"`
	Version      string    `json:"version"`
	Sensitivity  string    `json:"sensitivity"`
	Compliance   string    `json:"compliance"`
	State        string    `json:"state"`
	QualityScore *float64  `json:"quality_score"`
	UpdatedAt    time.Time `json:"updated_at"`
}

// FacetCount is how many matching products have one value of a facet.
type FacetCount struct {
	Value string `json:"value"`
	Count int    `json:"count"`
}

// SearchResult is one page of a search, with the total and the facet
// counts over every matching product.
type SearchResult struct {
	Total   int                     `json:"total"`
	Page    int                     `json:"page"`
	Size    int                     `json:"size"`
	Results []Summary               `json:"results"`
	Facets  map[string][]FacetCount `json:"facets"`
}

var enumValues = map[string][]string{
	FacetSensitivity: {string(events.SensitivityPublic), string(events.SensitivityInternal), string(events.SensitivityConfidential), string(events.SensitivityRestricted)},
	FacetCompliance:  {string(events.Compliant), string(events.NonCompliant), string(events.Unknown)},
	FacetState:       States,
}

// Clone returns a copy of p that shares no slices with it.
func (p SearchParams) Clone() SearchParams {
	q := p
	q.Domain, q.Tag, q.Sensitivity = slices.Clone(p.Domain), slices.Clone(p.Tag), slices.Clone(p.Sensitivity)
	q.Compliance, q.State = slices.Clone(p.Compliance), slices.Clone(p.State)
	return q
}

// Normalize validates the parameters and fills in defaults; enum filters
// are upper-cased (in place). Errors are *ParamError.
func (p *SearchParams) Normalize() error {
	if p.Size == 0 {
		p.Size = DefaultPageSize
	}
	if p.Page == 0 {
		p.Page = 1
	}
	switch {
	case p.Size < 1 || p.Size > MaxPageSize:
		return &ParamError{Field: "size", Message: fmt.Sprintf("%d is not between 1 and %d", p.Size, MaxPageSize)}
	case p.Page < 1:
		return &ParamError{Field: "page", Message: fmt.Sprintf("%d is not 1 or more", p.Page)}
	case (p.Page-1)*p.Size > MaxResultWindow:
		return &ParamError{Field: "page", Message: fmt.Sprintf("page %d of size %d is beyond the first %d results; narrow the search", p.Page, p.Size, MaxResultWindow)}
	}
	if _, err := FTSQuery(p.Query); err != nil {
		return err
	}
	for _, f := range []struct {
		name string
		vals *[]string
	}{{FacetDomain, &p.Domain}, {FacetTag, &p.Tag}, {FacetSensitivity, &p.Sensitivity}, {FacetCompliance, &p.Compliance}, {FacetState, &p.State}} {
		if len(*f.vals) > MaxFilterValues {
			return &ParamError{Field: f.name, Message: fmt.Sprintf("more than %d values", MaxFilterValues)}
		}
		allowed := enumValues[f.name]
		for i, v := range *f.vals {
			if len(v) > MaxFilterLength {
				return &ParamError{Field: f.name, Message: fmt.Sprintf("value longer than %d bytes", MaxFilterLength)}
			}
			if v == "" {
				return &ParamError{Field: f.name, Message: "empty value"}
			}
			if allowed != nil {
				u := strings.ToUpper(v)
				if !slices.Contains(allowed, u) {
					return &ParamError{Field: f.name, Message: fmt.Sprintf("%q is not one of %s", v, strings.Join(allowed, ", "))}
				}
				(*f.vals)[i] = u
			}
		}
	}
	return nil
}

// filters returns the WHERE conditions and arguments of p's filters on
// products p.
func (p *SearchParams) filters() ([]string, []any) {
	var where []string
	var args []any
	in := func(col string, vals []string) {
		if len(vals) == 0 {
			return
		}
		where = append(where, col+" IN ("+placeholders(len(vals))+")")
		for _, v := range vals {
			args = append(args, v)
		}
	}
	in("p.domain", p.Domain)
	in("p.sensitivity", p.Sensitivity)
	in("p.compliance", p.Compliance)
	in("p.state", p.State)
	if len(p.Tag) > 0 {
		where = append(where, "p.id IN (SELECT product_id FROM product_tags WHERE tag IN ("+placeholders(len(p.Tag))+"))")
		for _, v := range p.Tag {
			args = append(args, v)
		}
	}
	return where, args
}

func placeholders(n int) string {
	return strings.TrimSuffix(strings.Repeat("?,", n), ",")
}

const summaryCols = `p.id, p.name, p.domain, p.description, p.tags, p.version, p.sensitivity, p.compliance, p.state, p.quality_score, p.updated_at`

// Search runs a search on one snapshot of the view. Full-text matches are
// ranked by bm25 (name weighted highest); without text, products are listed
// by name. Errors in the parameters are *ParamError.
func (s *Store) Search(ctx context.Context, p SearchParams) (*SearchResult, error) {
	p = p.Clone()
	if err := p.Normalize(); err != nil {
		return nil, err
	}
	match, err := FTSQuery(p.Query)
	if err != nil {
		return nil, err
	}
	where, args := p.filters()
	from, order := "products p", "p.name, p.id"
	if match != "" {
		from = "products_fts JOIN products p ON p.rowid = products_fts.rowid"
		order = "products_fts.rank, p.id"
		where = append([]string{"products_fts MATCH ?"}, where...)
		args = append([]any{match}, args...)
	}
	cond := ""
	if len(where) > 0 {
		cond = " WHERE " + strings.Join(where, " AND ")
	}
	res := &SearchResult{Page: p.Page, Size: p.Size, Results: []Summary{}, Facets: map[string][]FacetCount{}}
	err = s.readTx(ctx, func(tx *sql.Tx) error {
		q := "SELECT " + summaryCols + " FROM " + from + cond + " ORDER BY " + order + " LIMIT ? OFFSET ?"
		rows, err := tx.QueryContext(ctx, q, append(args, p.Size, (p.Page-1)*p.Size)...)
		if err != nil {
			return err
		}
		if res.Results, err = scanSummaries(rows); err != nil {
			return err
		}
		return s.facets(ctx, tx, from, cond, args, res)
	})
	if err != nil {
		return nil, fmt.Errorf("store: search: %w", err)
	}
	return res, nil
}

func scanSummaries(rows *sql.Rows) ([]Summary, error) {
	defer rows.Close()
	out := []Summary{}
	for rows.Next() {
		var (
			sm      Summary
			tags    string
			score   sql.NullFloat64
			updated int64
		)
		if err := rows.Scan(&sm.ID, &sm.Name, &sm.Domain, &sm.Description, &tags, &sm.Version, &sm.Sensitivity, &sm.Compliance, &sm.State, &score, &updated); err != nil {
			return nil, err
		}
		if err := json.Unmarshal([]byte(tags), &sm.Tags); err != nil {
			return nil, fmt.Errorf("product %s: tags: %w", sm.ID, err)
		}
		if score.Valid {
			sm.QualityScore = &score.Float64
		}
		sm.UpdatedAt = time.UnixMilli(updated).UTC()
		out = append(out, sm)
	}
	return out, rows.Err()
}

// facets counts every facet over the matching products in one statement
// (the matching set is materialized once); the total is the sum of the
// state counts, since every product has exactly one state.
func (s *Store) facets(ctx context.Context, tx *sql.Tx, from, cond string, args []any, res *SearchResult) error {
	q := `WITH m AS MATERIALIZED (SELECT p.id, p.domain, p.sensitivity, p.compliance, p.state FROM ` + from + cond + `)
		SELECT 'state', state, count(*) FROM m GROUP BY state
		UNION ALL SELECT 'domain', domain, count(*) FROM m GROUP BY domain
		UNION ALL SELECT 'sensitivity', sensitivity, count(*) FROM m GROUP BY sensitivity
		UNION ALL SELECT 'compliance', compliance, count(*) FROM m GROUP BY compliance
		UNION ALL SELECT 'tag', t.tag, count(*) FROM m JOIN product_tags t ON t.product_id = m.id GROUP BY t.tag`
	rows, err := tx.QueryContext(ctx, q, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for _, f := range []string{FacetDomain, FacetTag, FacetSensitivity, FacetCompliance, FacetState} {
		res.Facets[f] = []FacetCount{}
	}
	for rows.Next() {
		var f string
		var c FacetCount
		if err := rows.Scan(&f, &c.Value, &c.Count); err != nil {
			return err
		}
		res.Facets[f] = append(res.Facets[f], c)
		if f == FacetState {
			res.Total += c.Count
		}
	}
	if err := rows.Err(); err != nil {
		return err
	}
	for f, counts := range res.Facets {
		slices.SortFunc(counts, func(a, b FacetCount) int {
			if a.Count != b.Count {
				return b.Count - a.Count
			}
			return strings.Compare(a.Value, b.Value)
		})
		if f == FacetTag && len(counts) > DefaultTagFacets {
			res.Facets[f] = counts[:DefaultTagFacets]
		}
	}
	return nil
}
