package searchindex

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"
	"sync"
	"unicode/utf8"

	_ "modernc.org/sqlite" // the "sqlite" database/sql driver, whose FTS5 the tokenizer is learned from
)

// learnedRanges are the non-ASCII runes whose tokenization is learned:
// Latin-1, Latin Extended A and B, IPA, spacing modifiers, combining
// diacritics, Greek, Cyrillic, Armenian, Latin Extended Additional, general
// punctuation, currency, letterlike symbols, arrows, mathematical and
// technical symbols, and the emoji blocks.
var learnedRanges = [][2]rune{{0x80, 0x590}, {0x1E00, 0x1F00}, {0x2000, 0x2070}, {0x20A0, 0x20D0}, {0x2100, 0x2400}, {0x1F300, 0x1FB00}}

var (
	learnOnce sync.Once
	learned   *Tokenizer
	learnErr  error
)

// LearnTokenizer returns FTS5Tokenizer as a Tokenizer, learning it on
// first use (once per process: it depends only on the SQLite build).
func LearnTokenizer() (*Tokenizer, error) {
	learnOnce.Do(func() {
		var runes map[rune]runeInfo
		runes, learnErr = learnRunes(context.Background())
		learned = &Tokenizer{runes: runes}
	})
	return learned, learnErr
}

// learnRunes tokenizes probes of every rune of learnedRanges with FTS5 in
// a private in-memory database: "x<r>x" tells a separator (two tokens) from
// a token character and shows its folding; "<r>x" tells whether it can
// start a token.
func learnRunes(ctx context.Context) (map[rune]runeInfo, error) {
	db, err := sql.Open("sqlite", "file::memory:")
	if err != nil {
		return nil, fmt.Errorf("searchindex: learn the tokenizer: %w", err)
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	fail := func(err error) (map[rune]runeInfo, error) {
		return nil, fmt.Errorf("searchindex: learn the tokenizer: %w", err)
	}
	for _, q := range []string{
		`CREATE VIRTUAL TABLE probe USING fts5(t, tokenize = '` + FTS5Tokenizer + `')`,
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
		// Anything else is not learned: text holding it goes to FTS5.
	}
	return out, nil
}
