package store

import (
	"slices"
	"strings"
)

// Dense per-product data that scoring and facet counting read for every
// match: fixed-size records in slices indexed by position, so a scan of
// thousands of matches reads contiguous memory instead of following each
// entry's pointers. A product with more than fits keeps its data in the
// entry (and memIndex.tagID), read through the slow path.

// vocab interns the tokens of the weighted columns (memIndex tokens, not
// the matcher's), keeping them sorted too for prefix terms.
type vocab struct {
	ids    map[string]uint32
	terms  []string // by id
	sorted []uint32 // ids in term order
	fresh  []uint32 // ids not yet in sorted
}

func (v *vocab) intern(t string) uint32 {
	if id, ok := v.ids[t]; ok {
		return id
	}
	if v.ids == nil {
		v.ids = map[string]uint32{}
	}
	id := uint32(len(v.terms))
	v.ids[t] = id
	v.terms = append(v.terms, t)
	v.fresh = append(v.fresh, id)
	return id
}

// finish merges the tokens new since the last call into the sorted list.
func (v *vocab) finish() {
	if len(v.fresh) == 0 {
		return
	}
	byText := func(a, b uint32) int { return strings.Compare(v.terms[a], v.terms[b]) }
	slices.SortFunc(v.fresh, byText)
	merged := make([]uint32, 0, len(v.sorted)+len(v.fresh))
	i, j := 0, 0
	for i < len(v.sorted) && j < len(v.fresh) {
		if byText(v.sorted[i], v.fresh[j]) <= 0 {
			merged = append(merged, v.sorted[i])
			i++
		} else {
			merged = append(merged, v.fresh[j])
			j++
		}
	}
	v.sorted, v.fresh = append(append(merged, v.sorted[i:]...), v.fresh[j:]...), v.fresh[:0]
}

// prefixed returns a set (bit per id) of the tokens starting with p; give
// it back with putBits.
func (v *vocab) prefixed(p string) []uint64 {
	set := getBits((len(v.terms) + 63) / 64)
	lo, _ := slices.BinarySearchFunc(v.sorted, p, func(id uint32, p string) int { return strings.Compare(v.terms[id], p) })
	for _, id := range v.sorted[lo:] {
		if !strings.HasPrefix(v.terms[id], p) {
			break
		}
		set[id>>6] |= 1 << (id & 63)
	}
	return set
}

// colToks are a product's weighted columns as token ids: n[c] tokens of
// column c, in order, one after the other in ids.
type colToks struct {
	n   [4]uint8
	ids [12]uint32
}

// tooLong in n[0] marks a product whose tokens do not fit in ids.
const tooLong = 255

func (m *memIndex) colToksOf(e *entry) colToks {
	var ct colToks
	total := 0
	for _, toks := range e.cols {
		total += len(toks)
	}
	if total > len(ct.ids) {
		ct.n[0] = tooLong
		return ct
	}
	k := 0
	for c, toks := range e.cols {
		ct.n[c] = uint8(len(toks))
		for _, t := range toks {
			ct.ids[k] = m.vocab.intern(t)
			k++
		}
	}
	return ct
}

// facRec is a product's interned facet values and, when they fit, its
// interned tags (else nTag is tooLong and memIndex.tagID has them): what
// filters and facet counts read of each match, in 32 bytes.
type facRec struct {
	fac  [fTag]uint32
	nTag uint32
	tags [3]uint32
}

func newFacRec(fac [fTag]uint32, tags []uint32) facRec {
	r := facRec{fac: fac}
	if len(tags) > len(r.tags) {
		r.nTag = tooLong
		return r
	}
	r.nTag = uint32(copy(r.tags[:], tags))
	return r
}

// tags returns position i's interned tags.
func (m *memIndex) tags(i int32) []uint32 {
	r := &m.rec[i]
	if r.nTag == tooLong {
		return m.tagID[i]
	}
	return r.tags[:r.nTag]
}

// scoreTerm is a query term resolved against the vocab.
type scoreTerm struct {
	term
	bit uint64   // tokenBit of the term, or every bit
	id  uint32   // exact terms: the token id (noToken if none)
	set []uint64 // prefix terms: the ids of the tokens it prefixes
}

const noToken = ^uint32(0)

func releaseTerms(terms []scoreTerm) {
	for _, t := range terms {
		if t.set != nil {
			putBits(t.set)
		}
	}
}

// scoreTerms resolves terms; the caller holds the read lock, and gives
// the terms back with releaseTerms when done.
func (m *memIndex) scoreTerms(terms []term) []scoreTerm {
	out := make([]scoreTerm, len(terms))
	for k, t := range terms {
		st := scoreTerm{term: t, bit: tokenBit(t.text), id: noToken}
		if t.prefix && len(t.text) < 2 {
			st.bit = ^uint64(0)
		}
		if t.prefix {
			st.set = m.vocab.prefixed(t.text)
		} else if id, ok := m.vocab.ids[t.text]; ok {
			st.id = id
		}
		out[k] = st
	}
	return out
}
