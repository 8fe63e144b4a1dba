package searchindex

import (
	"context"
	"slices"
	"strings"
	"sync"
	"time"
)

// Doc is one product as the index holds it: a Summary's fields, its owner
// and, when it changes, its full text.
type Doc struct {
	// Rowid is the product's row in the store; FullText answers with
	// rowids.
	Rowid                          int64
	ID, Name, Domain, Owner        string
	State, Sensitivity, Compliance string
	Tags                           []string
	Description, Version           string
	UpdatedAt                      int64 // ms
	// Text is the full-text row: name, tags, domain, owner, description,
	// port names, schema fields. Nil keeps what the index holds.
	Text []string
}

// Run is what a Summary needs of a product's quality run.
type Run struct {
	ProductID     string
	At            int64 // observed_at, ms
	EventID       string
	Passed, Total int
}

// after reports whether r is later than o in the quality history's order
// (by observed_at, then event_id).
func (r Run) after(o Run) bool {
	return r.At > o.At || (r.At == o.At && r.EventID > o.EventID)
}

// score is passed / total as SQLite computes it: nil for no checks.
func (r Run) score() *float64 {
	if r.Total == 0 {
		return nil
	}
	v := float64(r.Passed) / float64(r.Total)
	return &v
}

// Batch is what one committed transaction of the store changed.
type Batch struct {
	// Docs are the products the batch registered or changed, as they now
	// are; at most one per product.
	Docs []Doc
	// Compliance is the compliance status each product had at the end of
	// the batch, by product id; applied after Docs. A product the index
	// does not hold yet is skipped: its Doc will carry it.
	Compliance map[string]string
	// Runs are the quality runs the batch added; a product's Summary
	// scores its latest.
	Runs []Run
}

// FullText is the durable full-text table the index answers for (the
// store's products_fts, FTS5). It matches the products and the queries the
// index cannot tokenize.
type FullText interface {
	// Match calls fn with the rowid of each product whose full text
	// matches query (built by FTSQuery), among rowids unless nil. The
	// index holds its read lock meanwhile, so the store's latest commit
	// is the one the index shows.
	Match(ctx context.Context, query string, rowids []int64, fn func(rowid int64)) error
}

// Index holds, for every product, what search matches, filters, counts and
// ranks on, and its Summary.
type Index struct {
	tok *Tokenizer
	ft  FullText

	// mu is held for writing by Apply, for reading by searches.
	mu  sync.RWMutex
	all []*entry // every product, densely
	rec []facRec // all[i]'s interned facet values and tags, densely, for scans
	// all[i]'s token masks and name key, densely: scoring and ordering
	// thousands of matches reads these, not the scattered entries.
	masks   [][4]uint64
	anyMask []uint64 // the masks ORed: no bit of a term, no term in any weighted column
	nameKey []uint64
	tagID   [][]uint32    // all[i]'s interned tags
	toks    []colToks     // all[i]'s weighted columns as term ids, dense
	terms   terms         // the one term dictionary, of matching and ranking
	pos     map[int64]int // rowid -> index in all
	// rowIdx[rowid] is 1 + the position in all (0: none); products' rowids
	// are dense as products are never deleted. pos holds the same, for
	// rowids too large for the slice.
	rowIdx []int32
	byID   map[string]int64 // product id -> rowid
	dicts  [numFacets]dict  // facet values interned to small numbers
	// Sums of the token counts per weighted column, for bm25's average
	// lengths.
	lenSum [4]int
	// byFacet[f][v] lists, sorted, the positions in all of the products
	// with value v of facet f: what a search without text filters.
	byFacet [numFacets][][]int32
	// docs[pos] is the sorted distinct term ids of the full text of the
	// product at pos; nil for a product without full text or an exotic
	// one.
	docs [][]uint32
	// exotic lists, sorted, the positions of products whose full text
	// holds a rune the tokenizer has not learned: FullText matches those.
	exotic []int32
	// quality holds each product's latest quality run.
	quality map[string]Run
	buf     []byte // the tokenizer's, under the write lock
}

// Facets as array indexes of Index.dicts and facRec.fac.
const (
	fDomain = iota
	fState
	fSensitivity
	fCompliance
	fTag
	numFacets
)

var facetNames = [numFacets]string{FacetDomain, FacetState, FacetSensitivity, FacetCompliance, FacetTag}

// entry is one product in the Index. Entries are never changed once
// published; Apply replaces them.
type entry struct {
	rowid                                  int64
	id, name                               string
	domain, state, sensitivity, compliance string
	tags                                   []string
	// The rest of a Summary: description, version, updated_at (ms).
	description, version string
	updatedAt            int64
	cols                 [4][]string // tokens of name, tags, domain, owner
	// masks[c] has bit tokenBit(t) set for each token t of cols[c]: a
	// term whose bit is clear has no (prefix) match in the column.
	masks [4]uint64
	// nameKey is the name's first 8 bytes, big-endian: comparing keys
	// orders names as strings.Compare does, unless the keys are equal.
	nameKey uint64
}

// New returns an empty index whose text tok splits and whose exotic
// products and queries ft matches.
func New(tok *Tokenizer, ft FullText) *Index {
	return &Index{tok: tok, ft: ft, pos: map[int64]int{}, byID: map[string]int64{}, quality: map[string]Run{}}
}

// Apply publishes b once commit (the store's commit of the same changes)
// has succeeded, under the write lock, so a search sees both or neither; a
// nil commit publishes at once (loading). If commit fails the index is
// unchanged and its error returned.
func (x *Index) Apply(b Batch, commit func() error) error {
	entries := make([]*entry, len(b.Docs))
	var buf []byte
	for i := range b.Docs {
		entries[i], buf = x.newEntry(&b.Docs[i], buf)
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	if commit != nil {
		if err := commit(); err != nil {
			return err
		}
	}
	for i, e := range entries {
		x.put(e, b.Docs[i].Text)
	}
	for id, c := range b.Compliance {
		if e := x.get(id); e != nil && e.compliance != c {
			n := *e
			n.compliance = c
			x.put(&n, nil)
		}
	}
	x.terms.finish()
	for _, r := range b.Runs {
		if cur, ok := x.quality[r.ProductID]; !ok || r.after(cur) {
			x.quality[r.ProductID] = r
		}
	}
	return nil
}

func (x *Index) newEntry(d *Doc, buf []byte) (*entry, []byte) {
	e := &entry{rowid: d.Rowid, id: d.ID, name: d.Name, domain: d.Domain, state: d.State, sensitivity: d.Sensitivity,
		compliance: d.Compliance, tags: d.Tags, description: d.Description, version: d.Version, updatedAt: d.UpdatedAt}
	for c, text := range [4]string{d.Name, strings.Join(d.Tags, " "), d.Domain, d.Owner} {
		buf, _ = x.tok.tokens(buf, text, func(t []byte) {
			s := string(t)
			e.cols[c] = append(e.cols[c], s)
			e.masks[c] |= tokenBit(s)
		})
	}
	for i := range 8 {
		e.nameKey <<= 8
		if i < len(d.Name) {
			e.nameKey |= uint64(d.Name[i])
		}
	}
	return e, buf
}

// index returns the position in all of a rowid's entry.
func (x *Index) index(rowid int64) (int, bool) {
	if rowid >= 0 && rowid < int64(len(x.rowIdx)) {
		i := x.rowIdx[rowid]
		return int(i) - 1, i > 0
	}
	i, ok := x.pos[rowid]
	return i, ok
}

// get returns the published entry of a product id, nil if none; the caller
// holds a lock.
func (x *Index) get(id string) *entry {
	if r, ok := x.byID[id]; ok {
		if i, ok := x.index(r); ok {
			return x.all[i]
		}
	}
	return nil
}

// put publishes e and, unless nil, its new full text (call terms.finish
// after a batch of puts); the caller holds the write lock.
func (x *Index) put(e *entry, text []string) {
	var fac [fTag]uint32
	fac[fDomain] = x.dicts[fDomain].intern(e.domain)
	fac[fState] = x.dicts[fState].intern(e.state)
	fac[fSensitivity] = x.dicts[fSensitivity].intern(e.sensitivity)
	fac[fCompliance] = x.dicts[fCompliance].intern(e.compliance)
	tags := make([]uint32, len(e.tags))
	for i, t := range e.tags {
		tags[i] = x.dicts[fTag].intern(t)
	}
	for i := range x.lenSum {
		x.lenSum[i] += len(e.cols[i])
	}
	if i, ok := x.pos[e.rowid]; ok {
		for c := range x.lenSum {
			x.lenSum[c] -= len(x.all[i].cols[c])
		}
		for f := range fTag {
			x.unlist(f, x.rec[i].fac[f], int32(i))
		}
		for _, t := range x.tagID[i] {
			x.unlist(fTag, t, int32(i))
		}
		x.all[i], x.rec[i], x.tagID[i], x.masks[i], x.nameKey[i] = e, newFacRec(fac, tags), tags, e.masks, e.nameKey
		x.toks[i], x.anyMask[i] = x.colToksOf(e), anyMask(e.masks)
	} else {
		x.pos[e.rowid] = len(x.all)
		x.all = append(x.all, e)
		x.rec = append(x.rec, newFacRec(fac, tags))
		x.tagID = append(x.tagID, tags)
		x.masks = append(x.masks, e.masks)
		x.nameKey = append(x.nameKey, e.nameKey)
		x.toks = append(x.toks, x.colToksOf(e))
		x.anyMask = append(x.anyMask, anyMask(e.masks))
	}
	i := int32(x.pos[e.rowid])
	for f := range fTag {
		x.list(f, fac[f], i)
	}
	for _, t := range tags {
		x.list(fTag, t, i)
	}
	x.byID[e.id] = e.rowid
	if e.rowid >= 0 && e.rowid < 1<<26 {
		for int64(len(x.rowIdx)) <= e.rowid {
			x.rowIdx = append(x.rowIdx, 0)
		}
		x.rowIdx[e.rowid] = i + 1
	}
	if text != nil {
		x.setText(i, text)
	}
}

// list adds position i to the products with value v of facet f.
func (x *Index) list(f int, v uint32, i int32) {
	for int(v) >= len(x.byFacet[f]) {
		x.byFacet[f] = append(x.byFacet[f], nil)
	}
	l := x.byFacet[f][v]
	if n := len(l); n == 0 || l[n-1] < i {
		x.byFacet[f][v] = append(l, i)
		return
	}
	if j, ok := slices.BinarySearch(l, i); !ok {
		x.byFacet[f][v] = slices.Insert(l, j, i)
	}
}

// unlist removes position i from the products with value v of facet f.
func (x *Index) unlist(f int, v uint32, i int32) {
	if int(v) >= len(x.byFacet[f]) {
		return
	}
	l := x.byFacet[f][v]
	if j, ok := slices.BinarySearch(l, i); ok {
		x.byFacet[f][v] = slices.Delete(l, j, j+1)
	}
}

// setText replaces the full text of the product at pos in the posting
// lists; the caller holds the write lock.
func (x *Index) setText(pos int32, cols []string) {
	for int(pos) >= len(x.docs) {
		x.docs = append(x.docs, nil)
	}
	for _, id := range x.docs[pos] {
		p := x.terms.post[id]
		if i, ok := slices.BinarySearch(p, pos); ok {
			x.terms.post[id] = slices.Delete(p, i, i+1)
		}
	}
	x.docs[pos] = nil
	if i, ok := slices.BinarySearch(x.exotic, pos); ok {
		x.exotic = slices.Delete(x.exotic, i, i+1)
	}
	var ids []uint32
	known := true
	for _, c := range cols {
		var ok bool
		x.buf, ok = x.tok.tokens(x.buf, c, func(tok []byte) { ids = append(ids, x.terms.intern(tok)) })
		known = known && ok
	}
	if !known {
		i, _ := slices.BinarySearch(x.exotic, pos)
		x.exotic = slices.Insert(x.exotic, i, pos)
		return
	}
	slices.Sort(ids)
	ids = slices.Clip(slices.Compact(ids))
	x.docs[pos] = ids
	for _, id := range ids {
		p := x.terms.post[id]
		if n := len(p); n == 0 || p[n-1] < pos {
			x.terms.post[id] = append(p, pos)
			continue
		}
		i, _ := slices.BinarySearch(p, pos)
		x.terms.post[id] = slices.Insert(p, i, pos)
	}
}

// Snapshot returns the Summary of every product the index holds, in no
// particular order: what a search would list of each.
func (x *Index) Snapshot() []Summary {
	x.mu.RLock()
	defer x.mu.RUnlock()
	return x.summaries(x.all)
}

// summaries returns the Summary of each entry of page, in its order. The
// caller holds the read lock.
func (x *Index) summaries(page []*entry) []Summary {
	out := make([]Summary, len(page))
	for i, e := range page {
		out[i] = Summary{ID: e.id, Name: e.name, Domain: e.domain, Description: e.description, Tags: slices.Clone(e.tags),
			Version: e.version, Sensitivity: e.sensitivity, Compliance: e.compliance, State: e.state,
			UpdatedAt: time.UnixMilli(e.updatedAt).UTC()}
		if r, ok := x.quality[e.id]; ok {
			out[i].QualityScore = r.score()
		}
	}
	return out
}
