package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"
	"unicode"
)

// memIndex holds, for every product, what search filters, counts and ranks
// on: the facet values and the tokens of the short, heavily weighted
// full-text columns (name, tags, domain, owner). SQLite's FTS5 finds the
// matching products; everything per match after that (filters, facet
// counts, the score, the sort) runs here, in memory: counting facets and
// computing bm25 in SQL over thousands of matches costs tens of
// milliseconds in the pure-Go SQLite.
//
// Apply updates it under mu's write lock together with its commit, and
// searches hold the read lock while they read their SQLite snapshot, so a
// search sees the index and the tables at the same commit.
type memIndex struct {
	mu  sync.RWMutex
	all []*entry // every product, densely
	rec []facRec // all[i]'s interned facet values and tags, densely, for scans
	// all[i]'s token masks and name key, densely: scoring and ordering
	// thousands of matches reads these, not the scattered entries.
	masks   [][4]uint64
	anyMask []uint64 // the masks ORed: no bit of a term, no term in any weighted column
	nameKey []uint64
	tagID   [][]uint32    // all[i]'s interned tags
	toks    []colToks     // all[i]'s weighted columns as vocab ids, dense
	vocab   vocab         // the tokens of the weighted columns
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
	text   *textIndex // the full-text matcher, by position in all
	// byFacet[f][v] lists, sorted, the positions in all of the products
	// with value v of facet f: what a search without text filters.
	byFacet [numFacets][][]int32
	// quality holds each product's latest quality run (by observed_at,
	// then event_id, as the quality history orders runs): its score is
	// the Summary's.
	quality map[string]qualityRun
}

// qualityRun is what a Summary needs of a product's latest quality run.
type qualityRun struct {
	at            int64 // observed_at, ms
	eventID       string
	passed, total int
}

// after reports whether r is later than o in the quality history's order.
func (r qualityRun) after(o qualityRun) bool {
	return r.at > o.at || (r.at == o.at && r.eventID > o.eventID)
}

// score is passed / total as SQLite computes it: nil for no checks.
func (r qualityRun) score() *float64 {
	if r.total == 0 {
		return nil
	}
	v := float64(r.passed) / float64(r.total)
	return &v
}

// runQuality records a run; the caller holds the write lock (or is loading).
func (m *memIndex) runQuality(productID string, r qualityRun) {
	if cur, ok := m.quality[productID]; !ok || r.after(cur) {
		m.quality[productID] = r
	}
}

// Facets as array indexes of memIndex.dicts and entry.facet.
const (
	fDomain = iota
	fState
	fSensitivity
	fCompliance
	fTag
	numFacets
)

var facetNames = [numFacets]string{FacetDomain, FacetState, FacetSensitivity, FacetCompliance, FacetTag}

// dict interns the values of one facet.
type dict struct {
	ids  map[string]uint32
	vals []string
}

func (d *dict) intern(v string) uint32 {
	if id, ok := d.ids[v]; ok {
		return id
	}
	if d.ids == nil {
		d.ids = map[string]uint32{}
	}
	id := uint32(len(d.vals))
	d.ids[v] = id
	d.vals = append(d.vals, v)
	return id
}

// entry is one product in the memIndex. Entries are never changed once
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
	// Hashes of what the product's last lifecycle event wrote to ports,
	// lineage and the full-text row, so an update that leaves them alone
	// does not rewrite them; 0 is unknown (loaded at start).
	portSum, inputSum, ftsSum uint64
}

// Column weights of the ranking (the FTS5 columns' order): name, tags,
// domain, owner, and any of description, port names, schema fields.
var (
	colWeight   = [4]float64{10, 5, 4, 3}
	otherWeight = 1.0
)

const bm25K1, bm25B = 1.2, 0.75

func newMemIndex(runes map[rune]runeInfo) *memIndex {
	return &memIndex{pos: map[int64]int{}, byID: map[string]int64{}, text: newTextIndex(runes), quality: map[string]qualityRun{}}
}

// index returns the position in all of a rowid's entry.
func (m *memIndex) index(rowid int64) (int, bool) {
	if rowid >= 0 && rowid < int64(len(m.rowIdx)) {
		i := m.rowIdx[rowid]
		return int(i) - 1, i > 0
	}
	i, ok := m.pos[rowid]
	return i, ok
}

// byRow returns the entry of a rowid, nil if none.
func (m *memIndex) byRow(rowid int64) *entry {
	if i, ok := m.index(rowid); ok {
		return m.all[i]
	}
	return nil
}

func newEntry(rowid int64, id, name, domain, owner, state, sensitivity, compliance string, tags []string) *entry {
	e := &entry{rowid: rowid, id: id, name: name, domain: domain, state: state, sensitivity: sensitivity, compliance: compliance, tags: tags}
	e.cols[0] = tokens(name)
	e.cols[1] = tokens(strings.Join(tags, " "))
	e.cols[2] = tokens(domain)
	e.cols[3] = tokens(owner)
	for c, toks := range e.cols {
		for _, t := range toks {
			e.masks[c] |= tokenBit(t)
		}
	}
	for i := range 8 {
		e.nameKey <<= 8
		if i < len(name) {
			e.nameKey |= uint64(name[i])
		}
	}
	return e
}

func anyMask(masks [4]uint64) uint64 {
	return masks[0] | masks[1] | masks[2] | masks[3]
}

// tokenBit maps a token to one of 64 bits by its first two bytes, which
// every token a term matches (exactly, or as a prefix of at least two
// bytes) shares with it.
func tokenBit(t string) uint64 {
	h := uint64(0)
	if len(t) > 0 {
		h = uint64(t[0])
	}
	if len(t) > 1 {
		h = h*31 + uint64(t[1])
	}
	return 1 << (h * 0x9E3779B97F4A7C15 >> 58)
}

// load reads every product.
func (m *memIndex) load(ctx context.Context, db *sql.DB) error {
	rows, err := db.QueryContext(ctx, `SELECT p.rowid, p.id, p.name, p.domain, p.owner_team, p.state, p.sensitivity, COALESCE(c.status, 'UNKNOWN'), p.tags,
			p.description, p.version, p.updated_at
		FROM products p LEFT JOIN compliance c ON c.product_id = p.id`)
	if err != nil {
		return fmt.Errorf("store: load the search index: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			rowid                                                    int64
			id, name, domain, owner, state, sens, compliance, tagsJS string
			desc, version                                            string
			updated                                                  int64
			tags                                                     []string
		)
		if err := rows.Scan(&rowid, &id, &name, &domain, &owner, &state, &sens, &compliance, &tagsJS, &desc, &version, &updated); err != nil {
			return err
		}
		if err := json.Unmarshal([]byte(tagsJS), &tags); err != nil {
			return fmt.Errorf("store: product %s: tags: %w", id, err)
		}
		e := newEntry(rowid, id, name, domain, owner, state, sens, compliance, tags)
		e.description, e.version, e.updatedAt = desc, version, updated
		m.put(e, nil)
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("store: load the search index: %w", err)
	}
	if err := m.loadQuality(ctx, db); err != nil {
		return err
	}
	return m.loadText(ctx, db)
}

// loadQuality reads every product's latest quality run.
func (m *memIndex) loadQuality(ctx context.Context, db *sql.DB) error {
	rows, err := db.QueryContext(ctx, `SELECT product_id, observed_at, event_id, passed, total FROM quality_runs`)
	if err != nil {
		return fmt.Errorf("store: load the quality scores: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			id string
			r  qualityRun
		)
		if err := rows.Scan(&id, &r.at, &r.eventID, &r.passed, &r.total); err != nil {
			return fmt.Errorf("store: load the quality scores: %w", err)
		}
		m.runQuality(id, r)
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("store: load the quality scores: %w", err)
	}
	return nil
}

// loadText reads every full-text row into the matcher.
func (m *memIndex) loadText(ctx context.Context, db *sql.DB) error {
	rows, err := db.QueryContext(ctx, `SELECT rowid, name, tags, domain, owner, description, ports, fields FROM products_fts`)
	if err != nil {
		return fmt.Errorf("store: load the full text: %w", err)
	}
	defer rows.Close()
	cols := make([]string, 7)
	ptrs := make([]any, 8)
	var rowid int64
	ptrs[0] = &rowid
	for i := range cols {
		ptrs[i+1] = &cols[i]
	}
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			return fmt.Errorf("store: load the full text: %w", err)
		}
		if i, ok := m.index(rowid); ok {
			m.text.set(int32(i), cols)
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("store: load the full text: %w", err)
	}
	m.text.finish()
	m.vocab.finish()
	return nil
}

// put publishes e and, unless nil, its new full-text columns (call
// text.finish after a batch of puts); the caller holds the write lock (or
// is loading).
func (m *memIndex) put(e *entry, text []string) {
	var fac [fTag]uint32
	fac[fDomain] = m.dicts[fDomain].intern(e.domain)
	fac[fState] = m.dicts[fState].intern(e.state)
	fac[fSensitivity] = m.dicts[fSensitivity].intern(e.sensitivity)
	fac[fCompliance] = m.dicts[fCompliance].intern(e.compliance)
	tags := make([]uint32, len(e.tags))
	for i, t := range e.tags {
		tags[i] = m.dicts[fTag].intern(t)
	}
	for i := range m.lenSum {
		m.lenSum[i] += len(e.cols[i])
	}
	if i, ok := m.pos[e.rowid]; ok {
		for c := range m.lenSum {
			m.lenSum[c] -= len(m.all[i].cols[c])
		}
		for f := range fTag {
			m.unlist(f, m.rec[i].fac[f], int32(i))
		}
		for _, t := range m.tagID[i] {
			m.unlist(fTag, t, int32(i))
		}
		m.all[i], m.rec[i], m.tagID[i], m.masks[i], m.nameKey[i] = e, newFacRec(fac, tags), tags, e.masks, e.nameKey
		m.toks[i], m.anyMask[i] = m.colToksOf(e), anyMask(e.masks)
	} else {
		m.pos[e.rowid] = len(m.all)
		m.all = append(m.all, e)
		m.rec = append(m.rec, newFacRec(fac, tags))
		m.tagID = append(m.tagID, tags)
		m.masks = append(m.masks, e.masks)
		m.nameKey = append(m.nameKey, e.nameKey)
		m.toks = append(m.toks, m.colToksOf(e))
		m.anyMask = append(m.anyMask, anyMask(e.masks))
	}
	i := int32(m.pos[e.rowid])
	for f := range fTag {
		m.list(f, fac[f], i)
	}
	for _, t := range tags {
		m.list(fTag, t, i)
	}
	m.byID[e.id] = e.rowid
	if e.rowid >= 0 && e.rowid < 1<<26 {
		for int64(len(m.rowIdx)) <= e.rowid {
			m.rowIdx = append(m.rowIdx, 0)
		}
		m.rowIdx[e.rowid] = int32(m.pos[e.rowid] + 1)
	}
	if text != nil {
		m.text.set(int32(m.pos[e.rowid]), text)
	}
}

// list adds position i to the products with value v of facet f.
func (m *memIndex) list(f int, v uint32, i int32) {
	for int(v) >= len(m.byFacet[f]) {
		m.byFacet[f] = append(m.byFacet[f], nil)
	}
	l := m.byFacet[f][v]
	if n := len(l); n == 0 || l[n-1] < i {
		m.byFacet[f][v] = append(l, i)
		return
	}
	if j, ok := slices.BinarySearch(l, i); !ok {
		m.byFacet[f][v] = slices.Insert(l, j, i)
	}
}

// unlist removes position i from the products with value v of facet f.
func (m *memIndex) unlist(f int, v uint32, i int32) {
	if int(v) >= len(m.byFacet[f]) {
		return
	}
	l := m.byFacet[f][v]
	if j, ok := slices.BinarySearch(l, i); ok {
		m.byFacet[f][v] = slices.Delete(l, j, j+1)
	}
}

// get returns the published entry of a product id (the caller is Apply,
// the only writer, so it needs no lock to read).
func (m *memIndex) get(id string) *entry {
	if r, ok := m.byID[id]; ok {
		return m.byRow(r)
	}
	return nil
}

// tokens splits text as FTS5's unicode61 tokenizer with remove_diacritics
// does (close enough for ranking; matching is FTS5's own): runs of letters,
// digits and marks, lower-cased, Latin diacritics folded.
func tokens(text string) []string {
	f := strings.FieldsFunc(text, func(r rune) bool {
		return !(unicode.IsLetter(r) || unicode.IsNumber(r) || unicode.IsMark(r))
	})
	for i, t := range f {
		f[i] = fold(t)
	}
	return f
}

func fold(t string) string {
	var b strings.Builder
	b.Grow(len(t))
	for _, r := range t {
		if unicode.Is(unicode.Mn, r) {
			continue
		}
		r = unicode.ToLower(r)
		if f, ok := latinFold[r]; ok {
			r = f
		}
		b.WriteRune(r)
	}
	return b.String()
}

var latinFold = func() map[rune]rune {
	m := map[rune]rune{}
	for base, accented := range map[rune]string{
		'a': "àáâãäåāăą", 'c': "çćĉċč", 'd': "ďđ", 'e': "èéêëēĕėęě", 'g': "ĝğġģ", 'h': "ĥħ",
		'i': "ìíîïĩīĭįı", 'j': "ĵ", 'k': "ķ", 'l': "ĺļľŀł", 'n': "ñńņňŉ", 'o': "òóôõöōŏő",
		'r': "ŕŗř", 's': "śŝşš", 't': "ţťŧ", 'u': "ùúûüũūŭůűų", 'w': "ŵ", 'y': "ýÿŷ", 'z': "źżž",
	} {
		for _, r := range accented {
			m[r] = base
		}
	}
	return m
}()

// term is one query term for scoring.
type term struct {
	text   string
	prefix bool
}

// queryTerms returns the terms of user text as FTSQuery reads them.
func queryTerms(text string) []term {
	toks := tokens(text)
	out := make([]term, len(toks))
	for i, t := range toks {
		out[i] = term{text: t}
	}
	if n := len(out); n > 0 {
		out[n-1].prefix = prefixLast(text, toks[n-1])
	}
	return out
}

// score ranks a product that FTS5 matched for terms: per term, the best of
// a bm25 term score in each weighted column (term frequency saturated,
// normalized by the column's length against its average) times the
// column's weight, or otherWeight when the term only occurs in the long
// columns (description, ports, fields).
func (m *memIndex) score(i int32, terms []scoreTerm, n int) float64 {
	hit, all := false, m.anyMask[i]
	for k := range terms {
		hit = hit || all&terms[k].bit != 0
	}
	if !hit { // no term in any weighted column: otherWeight for each
		var s float64
		for range terms {
			s += otherWeight
		}
		return s
	}
	ct := &m.toks[i]
	if ct.n[0] == tooLong {
		return m.scoreSlow(i, terms, n)
	}
	var s float64
	masks := &m.masks[i]
	for k := range terms {
		t := &terms[k]
		best := otherWeight
		off := 0
		for c := range masks {
			toks := ct.ids[off : off+int(ct.n[c])]
			off += int(ct.n[c])
			if masks[c]&t.bit == 0 {
				continue
			}
			tf := 0
			if t.set != nil {
				for _, id := range toks {
					if t.set[id>>6]&(1<<(id&63)) != 0 {
						tf++
					}
				}
			} else {
				for _, id := range toks {
					if id == t.id {
						tf++
					}
				}
			}
			if tf == 0 {
				continue
			}
			best = max(best, m.colScore(c, tf, len(toks), n))
		}
		s += best
	}
	return s
}

// colScore is the weighted bm25 score of a term found tf times in column c
// of length toks, among n products.
func (m *memIndex) colScore(c, tf, toks, n int) float64 {
	avg := float64(m.lenSum[c]) / float64(max(n, 1))
	norm := 1 - bm25B + bm25B*float64(toks)/max(avg, 1)
	return colWeight[c] * float64(tf) * (bm25K1 + 1) / (float64(tf) + bm25K1*norm)
}

// scoreSlow is score for a product whose tokens are not dense: it compares
// the entry's token strings.
func (m *memIndex) scoreSlow(i int32, terms []scoreTerm, n int) float64 {
	var s float64
	masks := &m.masks[i]
	e := m.all[i]
	for _, t := range terms {
		best := otherWeight
		for c := range masks {
			if masks[c]&t.bit == 0 {
				continue
			}
			toks := e.cols[c]
			tf := 0
			for _, tok := range toks {
				if tok == t.text || (t.prefix && strings.HasPrefix(tok, t.text)) {
					tf++
				}
			}
			if tf == 0 {
				continue
			}
			best = max(best, m.colScore(c, tf, len(toks), n))
		}
		s += best
	}
	return s
}
