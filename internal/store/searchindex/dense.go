package searchindex

// Dense per-product data that scoring and facet counting read for every
// match: fixed-size records in slices indexed by position, so a scan of
// thousands of matches reads contiguous memory instead of following each
// entry's pointers. A product with more than fits keeps its data in the
// entry (and Index.tagID), read through the slow path.

// colToks are a product's weighted columns as term ids: n[c] tokens of
// column c, in order, one after the other in ids.
type colToks struct {
	n   [4]uint8
	ids [12]uint32
}

// tooLong in n[0] marks a product whose tokens do not fit in ids.
const tooLong = 255

// colToksOf interns e's weighted columns; the caller holds the write lock.
func (x *Index) colToksOf(e *entry) colToks {
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
			id, ok := x.terms.ids[t]
			if !ok {
				id = x.terms.intern([]byte(t))
			}
			ct.ids[k] = id
			k++
		}
	}
	return ct
}

// facRec is a product's interned facet values and, when they fit, its
// interned tags (else nTag is tooLong and Index.tagID has them): what
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
func (x *Index) tags(i int32) []uint32 {
	r := &x.rec[i]
	if r.nTag == tooLong {
		return x.tagID[i]
	}
	return r.tags[:r.nTag]
}
