package store

import (
	"context"
	"database/sql"
	"fmt"
	"math/bits"
	"slices"
	"strings"
	"sync"
	"unicode/utf8"
)

// The in-memory full-text matcher. products_fts (FTS5) stays the durable
// full-text index; textIndex answers the same MATCH queries that FTSQuery
// builds, from posting lists kept in memory, so a search does not pay for
// FTS5 materializing thousands of matching rowids.
//
// Equivalence with FTS5 is by construction, not by imitation: the
// tokenizer below handles ASCII as unicode61 does, and every other rune it
// accepts has its behaviour learned from products_fts's own tokenizer at
// start (learnRunes). Text holding a rune outside that table is left to
// FTS5: such a product is "exotic" (matched by FTS5 restricted to the exotic
// rowids), and such a query runs on FTS5 alone.

// ftsTokenizer is products_fts's tokenizer (see ddl).
const ftsTokenizer = `unicode61 remove_diacritics 2`

// Rune kinds of the tokenizer.
const (
	runeUnknown = iota // not learned: the text goes to FTS5
	runeSep            // separates tokens
	runeAlnum          // a token character, folded
	runeInner          // a token character only inside a token (combining diacritics), folded
)

// learnedRanges are the non-ASCII runes whose tokenization is learned:
// Latin-1, Latin Extended A and B, IPA, spacing modifiers, combining
// diacritics, Greek, Cyrillic, Armenian, Latin Extended Additional, general
// punctuation, currency, letterlike symbols, arrows, mathematical and
// technical symbols, and the emoji blocks.
var learnedRanges = [][2]rune{{0x80, 0x590}, {0x1E00, 0x1F00}, {0x2000, 0x2070}, {0x20A0, 0x20D0}, {0x2100, 0x2400}, {0x1F300, 0x1FB00}}

// runeInfo is what the tokenizer does with one learned rune.
type runeInfo struct {
	kind uint8
	fold rune // 0: dropped
}

var (
	runeOnce  sync.Once
	runeTable map[rune]runeInfo
	runeErr   error
)

// learnedRunes returns the rune table, learning it on first use (once per
// process: it depends only on the SQLite build).
func learnedRunes() (map[rune]runeInfo, error) {
	runeOnce.Do(func() { runeTable, runeErr = learnRunes(context.Background()) })
	return runeTable, runeErr
}

// learnRunes tokenizes probes of every rune of learnedRanges with FTS5 in
// a private in-memory database: "x<r>x" tells a separator (two tokens) from
// a token character and shows its folding; "<r>x" tells whether it can
// start a token.
func learnRunes(ctx context.Context) (map[rune]runeInfo, error) {
	db, err := sql.Open("sqlite", "file::memory:")
	if err != nil {
		return nil, fmt.Errorf("store: learn the tokenizer: %w", err)
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	fail := func(err error) (map[rune]runeInfo, error) {
		return nil, fmt.Errorf("store: learn the tokenizer: %w", err)
	}
	for _, q := range []string{
		`CREATE VIRTUAL TABLE probe USING fts5(t, tokenize = '` + ftsTokenizer + `')`,
		`CREATE VIRTUAL TABLE probe_vocab USING fts5vocab(probe, 'instance')`,
	} {
		if _, err := db.ExecContext(ctx, q); err != nil {
			return fail(err)
		}
	}
	var runes []rune
	for _, rg := range learnedRanges {
		for r := rg[0]; r < rg[1]; r++ {
			if utf8.ValidRune(r) {
				runes = append(runes, r)
			}
		}
	}
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return fail(err)
	}
	defer tx.Rollback()
	for i, r := range runes {
		// rowid 2i: inside a token; 2i+1: at its start.
		if _, err := tx.ExecContext(ctx, `INSERT INTO probe(rowid, t) VALUES (?, ?), (?, ?)`,
			2*i, "x"+string(r)+"x", 2*i+1, string(r)+"x"); err != nil {
			return fail(err)
		}
	}
	rows, err := tx.QueryContext(ctx, `SELECT doc, term FROM probe_vocab ORDER BY doc, offset`)
	if err != nil {
		return fail(err)
	}
	toks := make([][]string, 2*len(runes))
	for rows.Next() {
		var doc int
		var term string
		if err := rows.Scan(&doc, &term); err != nil {
			rows.Close()
			return fail(err)
		}
		if doc >= 0 && doc < len(toks) {
			toks[doc] = append(toks[doc], term)
		}
	}
	if err := rows.Close(); err != nil {
		return fail(err)
	}
	out := make(map[rune]runeInfo, len(runes))
	for i, r := range runes {
		inside, start := toks[2*i], toks[2*i+1]
		switch {
		case slices.Equal(inside, []string{"x", "x"}) && slices.Equal(start, []string{"x"}):
			out[r] = runeInfo{kind: runeSep}
		case len(inside) == 1 && strings.HasPrefix(inside[0], "x") && strings.HasSuffix(inside[0], "x") && len(inside[0]) >= 2:
			mid := inside[0][1 : len(inside[0])-1]
			var fold rune
			if mid != "" {
				f, n := utf8.DecodeRuneInString(mid)
				if n != len(mid) {
					continue // folds to more than one rune: leave it to FTS5
				}
				fold = f
			}
			switch {
			case len(start) == 1 && start[0] == mid+"x":
				out[r] = runeInfo{kind: runeAlnum, fold: fold}
				if fold == 0 {
					// Dropped: whether it starts a token cannot be
					// told, nor does it matter unless the token is
					// empty; leave such runes to FTS5.
					delete(out, r)
				}
			case slices.Equal(start, []string{"x"}):
				out[r] = runeInfo{kind: runeInner, fold: fold}
			}
		}
		// Anything else is not learned: the text goes to FTS5.
	}
	return out, nil
}

// tokenizer splits text into tokens as products_fts does.
type tokenizer struct {
	runes map[rune]runeInfo
	buf   []byte
}

// tokens calls fn with each token of text (fn must copy what it keeps);
// false if text holds a rune the tokenizer has not learned (fn may have
// been called for some tokens already).
func (t *tokenizer) tokens(text string, fn func(tok []byte)) bool {
	out := t.buf[:0]
	in := false
	emit := func() {
		if len(out) > 0 {
			fn(out)
		}
		out, in = out[:0], false
	}
	for i := 0; i < len(text); {
		c := text[i]
		if c < utf8.RuneSelf {
			i++
			switch {
			case c >= 'a' && c <= 'z' || c >= '0' && c <= '9':
				out, in = append(out, c), true
			case c >= 'A' && c <= 'Z':
				out, in = append(out, c+('a'-'A')), true
			default:
				if in {
					emit()
				}
			}
			continue
		}
		r, n := utf8.DecodeRuneInString(text[i:])
		i += n
		info, ok := t.runes[r]
		if !ok || (r == utf8.RuneError && n == 1) {
			t.buf = out
			return false
		}
		switch info.kind {
		case runeSep:
			if in {
				emit()
			}
		case runeAlnum:
			if info.fold != 0 {
				out = utf8.AppendRune(out, info.fold)
			}
			in = true
		case runeInner:
			if in && info.fold != 0 {
				out = utf8.AppendRune(out, info.fold)
			}
		}
	}
	if in {
		emit()
	}
	t.buf = out
	return true
}

// textIndex maps terms to the sorted positions (in memIndex.all) of the
// products whose full-text row holds them.
type textIndex struct {
	tok    tokenizer
	ids    map[string]uint32
	terms  []string  // by term id
	post   [][]int32 // by term id: sorted positions
	sorted []uint32  // term ids in term order, for prefixes
	fresh  []uint32  // term ids not yet in sorted
	// docs[pos] is the sorted distinct term ids of the product at pos;
	// nil for a product without a full-text row or an exotic one.
	docs [][]uint32
	// exotic lists, sorted, the positions of products whose text holds a
	// rune the tokenizer has not learned: FTS5 matches those.
	exotic []int32
}

func newTextIndex(runes map[rune]runeInfo) *textIndex {
	return &textIndex{tok: tokenizer{runes: runes}, ids: map[string]uint32{}}
}

// set replaces the full text of the product at pos (the caller holds the
// write lock). Call finish after a batch of sets.
func (x *textIndex) set(pos int32, cols []string) {
	for int(pos) >= len(x.docs) {
		x.docs = append(x.docs, nil)
	}
	for _, id := range x.docs[pos] {
		p := x.post[id]
		if i, ok := slices.BinarySearch(p, pos); ok {
			x.post[id] = slices.Delete(p, i, i+1)
		}
	}
	x.docs[pos] = nil
	if i, ok := slices.BinarySearch(x.exotic, pos); ok {
		x.exotic = slices.Delete(x.exotic, i, i+1)
	}
	var ids []uint32
	known := true
	for _, c := range cols {
		known = known && x.tok.tokens(c, func(tok []byte) {
			id, ok := x.ids[string(tok)]
			if !ok {
				id = uint32(len(x.terms))
				s := string(tok)
				x.ids[s] = id
				x.terms = append(x.terms, s)
				x.post = append(x.post, nil)
				x.fresh = append(x.fresh, id)
			}
			ids = append(ids, id)
		})
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
		p := x.post[id]
		if n := len(p); n == 0 || p[n-1] < pos {
			x.post[id] = append(p, pos)
			continue
		}
		i, _ := slices.BinarySearch(p, pos)
		x.post[id] = slices.Insert(p, i, pos)
	}
}

// finish merges the terms new since the last call into the sorted list.
func (x *textIndex) finish() {
	if len(x.fresh) == 0 {
		return
	}
	byText := func(a, b uint32) int { return strings.Compare(x.terms[a], x.terms[b]) }
	slices.SortFunc(x.fresh, byText)
	merged := make([]uint32, 0, len(x.sorted)+len(x.fresh))
	i, j := 0, 0
	for i < len(x.sorted) && j < len(x.fresh) {
		if byText(x.sorted[i], x.fresh[j]) <= 0 {
			merged = append(merged, x.sorted[i])
			i++
		} else {
			merged = append(merged, x.fresh[j])
			j++
		}
	}
	merged = append(append(merged, x.sorted[i:]...), x.fresh[j:]...)
	x.sorted, x.fresh = merged, x.fresh[:0]
}

// textQuery is user text as the matcher reads it: the tokens FTSQuery's
// quoted terms hold, the last one maybe a prefix.
type textQuery struct {
	toks   []string
	prefix bool
}

// compile reads user text (already accepted by FTSQuery, with terms) as
// FTSQuery does; false when the matcher cannot answer it exactly and FTS5
// must (a rune not learned, or a quoted term that is not exactly one token:
// FTS5 reads that as a phrase).
func (x *textIndex) compile(text string) (textQuery, bool) {
	terms := queryFields(text)
	q := textQuery{toks: make([]string, 0, len(terms))}
	for _, t := range terms {
		n := 0
		var tok string
		if !x.tok.tokens(t, func(b []byte) { n++; tok = string(b) }) || n != 1 {
			return q, false
		}
		q.toks = append(q.toks, tok)
	}
	q.prefix = len(terms) > 0 && prefixLast(text, terms[len(terms)-1])
	return q, len(q.toks) > 0
}

// match returns the sorted positions of the non-exotic products holding
// every token of q (the last as a prefix if q says so), in buf's array
// when it is large enough. The caller holds the read lock.
func (x *textIndex) match(q textQuery, n int, buf []int32) []int32 {
	lists := make([][]int32, 0, len(q.toks))
	for i, t := range q.toks {
		if i == len(q.toks)-1 && q.prefix {
			lists = append(lists, x.prefixed(t, n))
			continue
		}
		id, ok := x.ids[t]
		if !ok {
			return nil
		}
		lists = append(lists, x.post[id])
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
// starts with p; n is the number of positions.
func (x *textIndex) prefixed(p string, n int) []int32 {
	lo, _ := slices.BinarySearchFunc(x.sorted, p, func(id uint32, p string) int { return strings.Compare(x.terms[id], p) })
	hi := lo
	for hi < len(x.sorted) && strings.HasPrefix(x.terms[x.sorted[hi]], p) {
		hi++
	}
	switch hi - lo {
	case 0:
		return nil
	case 1:
		return x.post[x.sorted[lo]]
	}
	set := getBits((n + 63) / 64)
	defer putBits(set)
	for _, id := range x.sorted[lo:hi] {
		for _, pos := range x.post[id] {
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
