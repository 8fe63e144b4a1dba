package store

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
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

// filter is SearchParams' filters as interned facet values: nil for a
// facet without a filter, else the set of accepted values.
type filter [numFacets][]bool

// compile turns p's filters into a filter on the index's values; a value
// the index has never seen matches nothing. The caller holds the index's
// read lock.
func (p *SearchParams) compile(m *memIndex) *filter {
	var f filter
	for i, vals := range [numFacets][]string{p.Domain, p.State, p.Sensitivity, p.Compliance, p.Tag} {
		if len(vals) == 0 {
			continue
		}
		f[i] = make([]bool, len(m.dicts[i].vals))
		for _, v := range vals {
			if id, ok := m.dicts[i].ids[v]; ok {
				f[i][id] = true
			}
		}
	}
	return &f
}

// browse returns the positions of the products that pass f: the products
// of the filtered facet with the fewest, checked against the other
// filters; in buf's array when it is large enough. The caller holds the
// read lock.
func (m *memIndex) browse(f *filter, buf []int32) []int32 {
	best, size := -1, len(m.all)
	for k, vals := range f {
		if vals == nil {
			continue
		}
		n := 0
		for v, ok := range vals {
			if ok && v < len(m.byFacet[k]) {
				n += len(m.byFacet[k][v])
			}
		}
		if best < 0 || n < size {
			best, size = k, n
		}
	}
	var cand []int32
	switch {
	case best < 0:
		cand = slices.Grow(buf[:0], len(m.all))[:len(m.all)]
		for i := range cand {
			cand[i] = int32(i)
		}
		return cand
	default:
		var lists [][]int32
		for v, ok := range f[best] {
			if ok && v < len(m.byFacet[best]) {
				lists = append(lists, m.byFacet[best][v])
			}
		}
		if len(lists) == 1 {
			cand = lists[0]
		} else {
			// Several values (several tags can be one product's): the
			// union, without duplicates.
			cand = slices.Concat(lists...)
			slices.Sort(cand)
			cand = slices.Compact(cand)
		}
	}
	out := slices.Grow(buf[:0], len(cand))
	for _, i := range cand {
		if f.accepts(m, int(i)) {
			out = append(out, i)
		}
	}
	return out
}

// accepts reports whether product i of the index passes the filter.
func (f *filter) accepts(m *memIndex, i int) bool {
	fac := &m.rec[i].fac
	for k := range fTag {
		if f[k] != nil && !f[k][fac[k]] {
			return false
		}
	}
	if f[fTag] == nil {
		return true
	}
	for _, t := range m.tags(int32(i)) {
		if f[fTag][t] {
			return true
		}
	}
	return false
}

func placeholders(n int) string {
	return strings.TrimSuffix(strings.Repeat("?,", n), ",")
}

// summaryCols are a Summary's columns over summaryFrom: compliance from its
// table, the quality score from the latest run (passed / total checks).
const (
	summaryCols = `p.id, p.name, p.domain, p.description, p.tags, p.version, p.sensitivity,
		COALESCE(c.status, 'UNKNOWN'), p.state,
		(SELECT CAST(q.passed AS REAL) / q.total FROM quality_runs q WHERE q.product_id = p.id ORDER BY q.observed_at DESC, q.event_id DESC LIMIT 1),
		p.updated_at`
	summaryFrom = `products p LEFT JOIN compliance c ON c.product_id = p.id`
)

// Search runs a search on one snapshot of the view. FTS5 finds the products
// whose full text has every term (the last one as a prefix while typing);
// they are filtered, counted per facet and ranked (see memIndex.score)
// in memory. Without text, products are listed by name. Errors in the
// parameters are *ParamError.
func (s *Store) Search(ctx context.Context, p SearchParams) (*SearchResult, error) {
	p = p.Clone()
	if err := p.Normalize(); err != nil {
		return nil, err
	}
	match, err := FTSQuery(p.Query)
	if err != nil {
		return nil, err
	}
	res := &SearchResult{Page: p.Page, Size: p.Size, Results: []Summary{}, Facets: map[string][]FacetCount{}}
	// The read lock keeps Apply from committing until this search is done:
	// the index and, if FTS5 has to answer, the tables agree.
	s.idx.mu.RLock()
	defer s.idx.mu.RUnlock()
	flt := p.compile(s.idx)
	// matched (indexes into s.idx.all) lives in a pooled buffer: nothing
	// of the result refers to it.
	buf := matchBufs.Get().(*[]int32)
	defer func() { matchBufs.Put(buf) }()
	var matched []int32
	if match == "" {
		matched = s.idx.browse(flt, *buf)
	} else if matched, err = s.match(ctx, p.Query, match, flt, *buf); err != nil {
		return nil, fmt.Errorf("store: search: %w", err)
	}
	*buf = matched[:0]
	res.Total = len(matched)
	res.Facets = s.idx.countFacets(matched)
	from := (p.Page - 1) * p.Size
	if from >= len(matched) {
		return res, nil
	}
	var page []*entry
	if match != "" {
		terms, total := s.idx.scoreTerms(queryTerms(p.Query)), len(s.idx.all)
		page = topN(s.idx, matched, from+p.Size, func(i int32) float64 { return s.idx.score(i, terms, total) })
		releaseTerms(terms)
	} else {
		page = topN(s.idx, matched, from+p.Size, func(int32) float64 { return 0 })
	}
	page = page[from:min(from+p.Size, len(page))]
	res.Results = s.idx.summaries(page)
	return res, nil
}

// matchBufs holds the buffers of searches' matches.
var matchBufs = sync.Pool{New: func() any { return new([]int32) }}

// MaxExotic is how many products with text the in-memory matcher cannot
// tokenize (see textIndex) a search checks with FTS5 one rowid at a time;
// beyond it, FTS5 answers the whole match.
const maxExotic = 64

// match returns the positions in the index of the products that match the
// FTS5 query match (built from text) and pass flt. The in-memory matcher
// answers, with FTS5 checking the exotic products; FTS5 alone answers the
// queries the matcher cannot read and catalogs with many exotic products.
// The caller holds the index's read lock.
func (s *Store) match(ctx context.Context, text, match string, flt *filter, buf []int32) ([]int32, error) {
	matched := buf[:0]
	accept := func(i int32) {
		if flt.accepts(s.idx, int(i)) {
			matched = append(matched, i)
		}
	}
	x := s.idx.text
	q, ok := x.compile(text)
	if !ok || len(x.exotic) > maxExotic {
		return matched, s.ftsMatch(ctx, match, nil, accept)
	}
	// Filtered in place: accept writes no further than it has read.
	got := x.match(q, len(s.idx.all), buf)
	matched = got[:0]
	for _, i := range got {
		accept(i)
	}
	if len(x.exotic) == 0 {
		return matched, nil
	}
	rowids := make([]any, len(x.exotic))
	for i, pos := range x.exotic {
		rowids[i] = s.idx.all[pos].rowid
	}
	return matched, s.ftsMatch(ctx, match, rowids, accept)
}

// ftsMatch calls fn with the index position of each product FTS5 matches,
// among rowids unless nil. The caller holds the index's read lock, so the
// snapshot read agrees with the index.
func (s *Store) ftsMatch(ctx context.Context, match string, rowids []any, fn func(int32)) error {
	q, args := `SELECT group_concat(rowid) FROM products_fts WHERE products_fts MATCH ?`, []any{match}
	if rowids != nil {
		q += ` AND rowid IN (` + placeholders(len(rowids)) + `)`
		args = append(args, rowids...)
	}
	// One row with every matching rowid: much cheaper than a row per
	// match through database/sql.
	var ids sql.NullString
	if err := s.readTx(ctx, func(tx *sql.Tx) error { return tx.QueryRowContext(ctx, q, args...).Scan(&ids) }); err != nil {
		return err
	}
	for f := range strings.SplitSeq(ids.String, ",") {
		if f == "" {
			continue
		}
		r, err := strconv.ParseInt(f, 10, 64)
		if err != nil {
			return fmt.Errorf("full-text rowid %q: %w", f, err)
		}
		if i, ok := s.idx.index(r); ok {
			fn(int32(i))
		}
	}
	return nil
}

func byName(a, b *entry) int {
	if a.nameKey != b.nameKey {
		if a.nameKey < b.nameKey {
			return -1
		}
		return 1
	}
	if c := strings.Compare(a.name, b.name); c != 0 {
		return c
	}
	return strings.Compare(a.id, b.id)
}

// topN returns the first n of matched by score, highest first, then by
// name and id.
func topN(m *memIndex, matched []int32, n int, score func(int32) float64) []*entry {
	type scored struct {
		i   int32
		s   float64
		key uint64 // m.nameKey[i]
	}
	cmp := func(a, b scored) int {
		switch {
		case a.s > b.s:
			return -1
		case a.s < b.s:
			return 1
		case a.key < b.key:
			return -1
		case a.key > b.key:
			return 1
		}
		return byName(m.all[a.i], m.all[b.i])
	}
	var top []scored
	if n > 200 { // a deep page: sort everything
		top = make([]scored, len(matched))
		for k, i := range matched {
			top[k] = scored{i, score(i), m.nameKey[i]}
		}
		slices.SortFunc(top, cmp)
		top = top[:min(n, len(top))]
	} else {
		// Keep the best n in a sorted slice: pages are small, matches many.
		top = make([]scored, 0, n+1)
		for _, i := range matched {
			x := scored{i, score(i), m.nameKey[i]}
			if len(top) == n && cmp(x, top[n-1]) >= 0 {
				continue
			}
			k, _ := slices.BinarySearchFunc(top, x, cmp)
			top = slices.Insert(top, k, x)
			if len(top) > n {
				top = top[:n]
			}
		}
	}
	out := make([]*entry, len(top))
	for k, x := range top {
		out[k] = m.all[x.i]
	}
	return out
}

// summaries returns the Summary of each entry of page, in its order. The
// caller holds the read lock.
func (m *memIndex) summaries(page []*entry) []Summary {
	out := make([]Summary, len(page))
	for i, e := range page {
		out[i] = Summary{ID: e.id, Name: e.name, Domain: e.domain, Description: e.description, Tags: slices.Clone(e.tags),
			Version: e.version, Sensitivity: e.sensitivity, Compliance: e.compliance, State: e.state,
			UpdatedAt: time.UnixMilli(e.updatedAt).UTC()}
		if r, ok := m.quality[e.id]; ok {
			out[i].QualityScore = r.score()
		}
	}
	return out
}

// countFacets counts every facet over the matching products; the tag
// facet keeps the DefaultTagFacets most frequent tags. The caller holds the
// read lock.
func (m *memIndex) countFacets(matched []int32) map[string][]FacetCount {
	var counts [numFacets][]int
	for i := range counts {
		counts[i] = make([]int, len(m.dicts[i].vals))
	}
	for _, j := range matched {
		fac := &m.rec[j].fac
		for i := range fTag {
			counts[i][fac[i]]++
		}
		for _, t := range m.tags(j) {
			counts[fTag][t]++
		}
	}
	out := make(map[string][]FacetCount, numFacets)
	for i, cs := range counts {
		list := []FacetCount{}
		for id, c := range cs {
			if c > 0 {
				list = append(list, FacetCount{Value: m.dicts[i].vals[id], Count: c})
			}
		}
		slices.SortFunc(list, func(a, b FacetCount) int {
			if a.Count != b.Count {
				return b.Count - a.Count
			}
			return strings.Compare(a.Value, b.Value)
		})
		if i == fTag && len(list) > DefaultTagFacets {
			list = list[:DefaultTagFacets]
		}
		out[facetNames[i]] = list
	}
	return out
}
