package searchindex

import "strings"

// Column weights of the ranking (the full-text columns' order): name, tags,
// domain, owner, and any of description, port names, schema fields.
var (
	colWeight   = [4]float64{10, 5, 4, 3}
	otherWeight = 1.0
)

const bm25K1, bm25B = 1.2, 0.75

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

// scoreTerm is a query token resolved against the term dictionary.
type scoreTerm struct {
	text   string
	prefix bool
	bit    uint64   // tokenBit of the term, or every bit
	id     uint32   // exact terms: the term id (noToken if none)
	set    []uint64 // prefix terms: the ids of the terms it prefixes
}

const noToken = ^uint32(0)

// scoreTerms resolves q's tokens, the last one as a prefix if q says so;
// the caller holds the read lock, and gives the terms back with
// releaseTerms when done.
func (x *Index) scoreTerms(q query) []scoreTerm {
	out := make([]scoreTerm, len(q.toks))
	for k, t := range q.toks {
		st := scoreTerm{text: t, prefix: q.prefix && k == len(q.toks)-1, bit: tokenBit(t), id: noToken}
		switch {
		case st.prefix:
			if len(t) < 2 {
				st.bit = ^uint64(0)
			}
			st.set = getBits((len(x.terms.text) + 63) / 64)
			for _, id := range x.terms.prefixed(t) {
				st.set[id>>6] |= 1 << (id & 63)
			}
		default:
			if id, ok := x.terms.ids[t]; ok {
				st.id = id
			}
		}
		out[k] = st
	}
	return out
}

func releaseTerms(terms []scoreTerm) {
	for _, t := range terms {
		if t.set != nil {
			putBits(t.set)
		}
	}
}

// score ranks a product that matched terms: per term, the best of a bm25
// term score in each weighted column (term frequency saturated, normalized
// by the column's length against its average) times the column's weight,
// or otherWeight when the term only occurs in the long columns
// (description, ports, fields). n is the number of products.
func (x *Index) score(i int32, terms []scoreTerm, n int) float64 {
	hit, all := false, x.anyMask[i]
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
	ct := &x.toks[i]
	if ct.n[0] == tooLong {
		return x.scoreSlow(i, terms, n)
	}
	var s float64
	masks := &x.masks[i]
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
			best = max(best, x.colScore(c, tf, len(toks), n))
		}
		s += best
	}
	return s
}

// colScore is the weighted bm25 score of a term found tf times in column c
// of length toks, among n products.
func (x *Index) colScore(c, tf, toks, n int) float64 {
	avg := float64(x.lenSum[c]) / float64(max(n, 1))
	norm := 1 - bm25B + bm25B*float64(toks)/max(avg, 1)
	return colWeight[c] * float64(tf) * (bm25K1 + 1) / (float64(tf) + bm25K1*norm)
}

// scoreSlow is score for a product whose tokens are not dense: it compares
// the entry's token strings.
func (x *Index) scoreSlow(i int32, terms []scoreTerm, n int) float64 {
	var s float64
	masks := &x.masks[i]
	e := x.all[i]
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
			best = max(best, x.colScore(c, tf, len(toks), n))
		}
		s += best
	}
	return s
}
