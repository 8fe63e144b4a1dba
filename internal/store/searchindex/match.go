package searchindex

import (
	"context"
	"math/bits"
	"slices"
)

// maxExotic is how many exotic products (whose full text the tokenizer
// cannot split as FTS5 does) a search has FullText check by rowid; beyond
// it, FullText answers the whole match.
const maxExotic = 64

// query is user text as the index reads it: the tokens of FTSQuery's
// quoted terms, the last one maybe a prefix.
type query struct {
	toks   []string
	prefix bool
	// exact: every term is one token of learned runes, so the posting
	// lists answer the match as FTS5 would; else FullText must (an
	// unlearned rune, or a term of several tokens, which FTS5 reads as a
	// phrase). Ranking reads toks either way.
	exact bool
}

// query reads user text (already accepted by FTSQuery) as FTSQuery does.
func (t *Tokenizer) query(text string) query {
	fields := queryFields(text)
	q := query{toks: make([]string, 0, len(fields)), exact: len(fields) > 0}
	var buf []byte
	n := 0
	for _, f := range fields {
		var known bool
		n = 0
		buf, known = t.tokens(buf, f, func(b []byte) { n++; q.toks = append(q.toks, string(b)) })
		q.exact = q.exact && known && n == 1
	}
	q.prefix = n > 0 && prefixLast(text, fields[len(fields)-1])
	return q
}

// match returns the positions of the products whose full text matches
// match, the FTS5 query FTSQuery built from the text q was read from, and
// that pass flt; in buf's array when it is large enough. The posting lists
// answer, with FullText checking the exotic products; FullText alone
// answers an inexact query and catalogs with many exotic products. The
// caller holds the read lock.
func (x *Index) match(ctx context.Context, q query, match string, flt *filter, buf []int32) ([]int32, error) {
	matched := buf[:0]
	accept := func(i int32) {
		if flt.accepts(x, int(i)) {
			matched = append(matched, i)
		}
	}
	if !q.exact || len(x.exotic) > maxExotic {
		return matched, x.fullText(ctx, match, nil, accept)
	}
	// Filtered in place: accept writes no further than it has read.
	got := x.matchText(q, buf)
	matched = got[:0]
	for _, i := range got {
		accept(i)
	}
	if len(x.exotic) == 0 {
		return matched, nil
	}
	rowids := make([]int64, len(x.exotic))
	for i, pos := range x.exotic {
		rowids[i] = x.all[pos].rowid
	}
	return matched, x.fullText(ctx, match, rowids, accept)
}

// fullText calls fn with the position of each product FullText matches,
// among rowids unless nil.
func (x *Index) fullText(ctx context.Context, match string, rowids []int64, fn func(int32)) error {
	return x.ft.Match(ctx, match, rowids, func(rowid int64) {
		if i, ok := x.index(rowid); ok {
			fn(int32(i))
		}
	})
}

// matchText returns the sorted positions of the non-exotic products
// holding every token of an exact q (the last as a prefix if q says so),
// in buf's array when it is large enough. The caller holds the read lock.
func (x *Index) matchText(q query, buf []int32) []int32 {
	lists := make([][]int32, 0, len(q.toks))
	for i, t := range q.toks {
		if i == len(q.toks)-1 && q.prefix {
			lists = append(lists, x.prefixed(t))
			continue
		}
		id, ok := x.terms.ids[t]
		if !ok {
			return buf[:0]
		}
		lists = append(lists, x.terms.post[id])
	}
	slices.SortFunc(lists, func(a, b []int32) int { return len(a) - len(b) })
	out := append(buf[:0], lists[0]...)
	for _, l := range lists[1:] {
		if len(out) == 0 {
			break
		}
		out = intersect(out, l)
	}
	return out
}

// prefixed returns the sorted positions of products holding a term that
// starts with p.
func (x *Index) prefixed(p string) []int32 {
	ids := x.terms.prefixed(p)
	switch len(ids) {
	case 0:
		return nil
	case 1:
		return x.terms.post[ids[0]]
	}
	set := getBits((len(x.all) + 63) / 64)
	defer putBits(set)
	for _, id := range ids {
		for _, pos := range x.terms.post[id] {
			set[pos>>6] |= 1 << (pos & 63)
		}
	}
	count := 0
	for _, b := range set {
		count += bits.OnesCount64(b)
	}
	out := make([]int32, 0, count)
	for w, b := range set {
		for b != 0 {
			out = append(out, int32(w*64+bits.TrailingZeros64(b)))
			b &= b - 1
		}
	}
	return out
}

// intersect keeps in a (sorted) the elements also in b (sorted), in place.
func intersect(a, b []int32) []int32 {
	out := a[:0]
	j := 0
	for _, v := range a {
		if len(b)-j > 8*len(a) { // b much longer: search it
			k, ok := slices.BinarySearch(b[j:], v)
			j += k
			if ok {
				out = append(out, v)
			}
			continue
		}
		for j < len(b) && b[j] < v {
			j++
		}
		if j < len(b) && b[j] == v {
			out = append(out, v)
		}
	}
	return out
}
