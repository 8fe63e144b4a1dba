package searchindex

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
)

// Search runs a search on the index as it is after the last Apply. The
// products whose full text has every term (the last one as a prefix while
// typing; see FTSQuery and match) are filtered, counted per facet and
// ranked (see score); without text, the filtered products are listed by
// name. Errors in the parameters are *ParamError.
func (x *Index) Search(ctx context.Context, p Params) (*Result, error) {
	p = p.Clone()
	if err := p.Normalize(); err != nil {
		return nil, err
	}
	match, err := FTSQuery(p.Query)
	if err != nil {
		return nil, err
	}
	var q query
	if match != "" {
		q = x.tok.query(p.Query)
	}
	res := &Result{Page: p.Page, Size: p.Size, Results: []Summary{}, Facets: map[string][]FacetCount{}}
	// The read lock keeps Apply from publishing, and so the store from
	// committing, until this search is done: the index and, if FullText
	// has to answer, the store's tables agree.
	x.mu.RLock()
	defer x.mu.RUnlock()
	flt := p.compile(x)
	// matched (indexes into x.all) lives in a pooled buffer: nothing of
	// the result refers to it.
	buf := matchBufs.Get().(*[]int32)
	defer func() { matchBufs.Put(buf) }()
	var matched []int32
	if match == "" {
		matched = x.browse(flt, *buf)
	} else if matched, err = x.match(ctx, q, match, flt, *buf); err != nil {
		return nil, fmt.Errorf("searchindex: full text: %w", err)
	}
	*buf = matched[:0]
	res.Total = len(matched)
	res.Facets = x.countFacets(matched)
	from := (p.Page - 1) * p.Size
	if from >= len(matched) {
		return res, nil
	}
	var page []*entry
	if match != "" {
		terms, total := x.scoreTerms(q), len(x.all)
		page = x.topN(matched, from+p.Size, func(i int32) float64 { return x.score(i, terms, total) })
		releaseTerms(terms)
	} else {
		page = x.topN(matched, from+p.Size, func(int32) float64 { return 0 })
	}
	page = page[from:min(from+p.Size, len(page))]
	res.Results = x.summaries(page)
	return res, nil
}

// matchBufs holds the buffers of searches' matches.
var matchBufs = sync.Pool{New: func() any { return new([]int32) }}

// filter is Params' filters as interned facet values: nil for a facet
// without a filter, else the set of accepted values.
type filter [numFacets][]bool

// compile turns p's filters into a filter on the index's values; a value
// the index has never seen matches nothing. The caller holds the read
// lock.
func (p *Params) compile(x *Index) *filter {
	var f filter
	for i, vals := range [numFacets][]string{p.Domain, p.State, p.Sensitivity, p.Compliance, p.Tag} {
		if len(vals) == 0 {
			continue
		}
		f[i] = make([]bool, len(x.dicts[i].vals))
		for _, v := range vals {
			if id, ok := x.dicts[i].ids[v]; ok {
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
func (x *Index) browse(f *filter, buf []int32) []int32 {
	best, size := -1, len(x.all)
	for k, vals := range f {
		if vals == nil {
			continue
		}
		n := 0
		for v, ok := range vals {
			if ok && v < len(x.byFacet[k]) {
				n += len(x.byFacet[k][v])
			}
		}
		if best < 0 || n < size {
			best, size = k, n
		}
	}
	var cand []int32
	switch {
	case best < 0:
		cand = slices.Grow(buf[:0], len(x.all))[:len(x.all)]
		for i := range cand {
			cand[i] = int32(i)
		}
		return cand
	default:
		var lists [][]int32
		for v, ok := range f[best] {
			if ok && v < len(x.byFacet[best]) {
				lists = append(lists, x.byFacet[best][v])
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
		if f.accepts(x, int(i)) {
			out = append(out, i)
		}
	}
	return out
}

// accepts reports whether product i of the index passes the filter.
func (f *filter) accepts(x *Index, i int) bool {
	fac := &x.rec[i].fac
	for k := range fTag {
		if f[k] != nil && !f[k][fac[k]] {
			return false
		}
	}
	if f[fTag] == nil {
		return true
	}
	for _, t := range x.tags(int32(i)) {
		if f[fTag][t] {
			return true
		}
	}
	return false
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
func (x *Index) topN(matched []int32, n int, score func(int32) float64) []*entry {
	type scored struct {
		i   int32
		s   float64
		key uint64 // x.nameKey[i]
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
		return byName(x.all[a.i], x.all[b.i])
	}
	var top []scored
	if n > 200 { // a deep page: sort everything
		top = make([]scored, len(matched))
		for k, i := range matched {
			top[k] = scored{i, score(i), x.nameKey[i]}
		}
		slices.SortFunc(top, cmp)
		top = top[:min(n, len(top))]
	} else {
		// Keep the best n in a sorted slice: pages are small, matches many.
		top = make([]scored, 0, n+1)
		for _, i := range matched {
			s := scored{i, score(i), x.nameKey[i]}
			if len(top) == n && cmp(s, top[n-1]) >= 0 {
				continue
			}
			k, _ := slices.BinarySearchFunc(top, s, cmp)
			top = slices.Insert(top, k, s)
			if len(top) > n {
				top = top[:n]
			}
		}
	}
	out := make([]*entry, len(top))
	for k, s := range top {
		out[k] = x.all[s.i]
	}
	return out
}

// countFacets counts every facet over the matching products; the tag
// facet keeps the DefaultTagFacets most frequent tags. The caller holds the
// read lock.
func (x *Index) countFacets(matched []int32) map[string][]FacetCount {
	var counts [numFacets][]int
	for i := range counts {
		counts[i] = make([]int, len(x.dicts[i].vals))
	}
	for _, j := range matched {
		fac := &x.rec[j].fac
		for i := range fTag {
			counts[i][fac[i]]++
		}
		for _, t := range x.tags(j) {
			counts[fTag][t]++
		}
	}
	out := make(map[string][]FacetCount, numFacets)
	for i, cs := range counts {
		list := []FacetCount{}
		for id, c := range cs {
			if c > 0 {
				list = append(list, FacetCount{Value: x.dicts[i].vals[id], Count: c})
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
