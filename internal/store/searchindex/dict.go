package searchindex

import (
	"slices"
	"strings"
	"sync"
)

// terms is the index's one term dictionary: every token of the products'
// full text (and so of their weighted columns), by id, with the posting
// list of each and the ids in term order for prefixes. Matching reads the
// posting lists; ranking reads the ids of the weighted columns' tokens.
// Terms are never removed.
type terms struct {
	ids  map[string]uint32
	text []string // by id
	// post[id] lists, sorted, the positions of the products whose full
	// text holds the term (exotic products excepted: see Index.exotic).
	post   [][]int32
	sorted []uint32 // ids in term order, for prefixes
	fresh  []uint32 // ids not yet in sorted
}

// intern returns t's id, adding it if new (call finish after a batch).
func (d *terms) intern(t []byte) uint32 {
	if id, ok := d.ids[string(t)]; ok {
		return id
	}
	if d.ids == nil {
		d.ids = map[string]uint32{}
	}
	id := uint32(len(d.text))
	s := string(t)
	d.ids[s] = id
	d.text = append(d.text, s)
	d.post = append(d.post, nil)
	d.fresh = append(d.fresh, id)
	return id
}

// finish merges the terms new since the last call into the sorted list.
func (d *terms) finish() {
	if len(d.fresh) == 0 {
		return
	}
	byText := func(a, b uint32) int { return strings.Compare(d.text[a], d.text[b]) }
	slices.SortFunc(d.fresh, byText)
	merged := make([]uint32, 0, len(d.sorted)+len(d.fresh))
	i, j := 0, 0
	for i < len(d.sorted) && j < len(d.fresh) {
		if byText(d.sorted[i], d.fresh[j]) <= 0 {
			merged = append(merged, d.sorted[i])
			i++
		} else {
			merged = append(merged, d.fresh[j])
			j++
		}
	}
	d.sorted, d.fresh = append(append(merged, d.sorted[i:]...), d.fresh[j:]...), d.fresh[:0]
}

// prefixed returns the ids of the terms that start with p, in term order
// (a part of sorted: do not change it).
func (d *terms) prefixed(p string) []uint32 {
	lo, _ := slices.BinarySearchFunc(d.sorted, p, func(id uint32, p string) int { return strings.Compare(d.text[id], p) })
	hi := lo
	for hi < len(d.sorted) && strings.HasPrefix(d.text[d.sorted[hi]], p) {
		hi++
	}
	return d.sorted[lo:hi]
}

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

// bitSets pools the zeroed bit sets of searches.
var bitSets sync.Pool

// getBits returns a zeroed bit set of n words; give it back with putBits.
func getBits(n int) []uint64 {
	if p, ok := bitSets.Get().(*[]uint64); ok && cap(*p) >= n {
		return (*p)[:n]
	}
	return make([]uint64, n, n+n/4) // room for growth: fewer misses
}

// putBits zeroes set and pools it.
func putBits(set []uint64) {
	clear(set)
	bitSets.Put(&set)
}
