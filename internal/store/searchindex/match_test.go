package searchindex

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/meshbone/meshbone/internal/store/storetest"
	"github.com/meshbone/meshbone/pkg/events"
)

// textCorpus are words for products and queries: plain, upper case,
// diacritics (precomposed and combining), other scripts, symbols, FTS5
// syntax and text the tokenizer leaves to FTS5.
var textCorpus = []string{
	"orders", "Orders", "ORDERS", "order", "customer", "customers", "café", "cafe", "CAFÉ", "cafe\u0301",
	"naïve", "naive", "Ærø", "straße", "strasse", "ﬁle", "Ελληνικά", "ελληνικα", "Москва", "москва",
	"Đà", "Nẵng", "nang", "Łódź", "lodz", "ǅemal", "ŉ", "İstanbul", "istanbul", "x²", "½", "µs",
	"日本語", "データ", "😀", "emoji😀mix", "“quoted”", "—dash—", "€uro", "snake_case", "kebab-case",
	"NEAR", "NEAR(a", "*", "-", "(", ")", "\"", "'", "a:b", "{x}", "^caret", "AND", "OR", "NOT",
	"e\u0301", "\u0301x", "abc123", "123abc", "x\u200by", "tab\tsep", "ק", "ع", "हिन्दी", "ไทย",
}

// TestMatchIsFTS5s checks the index's matching against FTS5 on the same
// rows: every query gives the same products either way, after products
// are registered, after some are rewritten (swapping plain and exotic
// text), and in an index loaded in one batch.
func TestMatchIsFTS5s(t *testing.T) {
	ctx := context.Background()
	x := newTestIndex(t)
	rng := rand.New(rand.NewPCG(1, 2))
	words := func(n int) string {
		w := make([]string, n)
		for i := range w {
			w[i] = textCorpus[rng.IntN(len(textCorpus))]
		}
		return strings.Join(w, []string{" ", " ", "-", ", ", "/"}[rng.IntN(5)])
	}
	products := make([]events.DataProduct, 300)
	for i := range products {
		opts := []storetest.ProductOpt{storetest.Desc(words(6)), storetest.Tags(words(1), words(1)), storetest.Owner(words(1)),
			storetest.Port(words(1), nil, words(1))}
		name := fmt.Sprintf("p%d-%s", i, words(2))
		if i%10 != 0 { // most products plain, so the posting lists answer them
			opts = []storetest.ProductOpt{storetest.Desc(fmt.Sprintf("orders customer cafe café Straße—%d", i)), storetest.Tags("orders", "naïve")}
			name = fmt.Sprintf("p%d-orders", i)
		}
		products[i] = storetest.Product(storetest.Domains[i%len(storetest.Domains)], name, opts...)
	}
	check := func(stage string, x *testIndex) {
		t.Helper()
		var queries []string
		for _, w := range textCorpus {
			queries = append(queries, w, w+" ", w[:min(len(w), 3)], "orders "+w, w+" cafe")
		}
		for range 300 {
			queries = append(queries, words(1+rng.IntN(3)), words(1+rng.IntN(2))+" ")
		}
		answered := 0
		for _, text := range queries {
			match, err := FTSQuery(text)
			if err != nil || match == "" {
				continue
			}
			var want []int32
			if err := x.fullText(ctx, match, nil, func(i int32) { want = append(want, i) }); err != nil {
				t.Fatalf("%q: FTS5: %v", text, err)
			}
			q := x.tok.query(text)
			x.mu.RLock()
			got, err := x.match(ctx, q, match, &filter{}, nil)
			x.mu.RUnlock()
			if err != nil {
				t.Fatalf("%q: %v", text, err)
			}
			slices.Sort(want)
			slices.Sort(got)
			if !slices.Equal(got, want) {
				t.Errorf("%s: %q (%s): index %v, FTS5 %v", stage, text, match, got, want)
			}
			if q.exact {
				answered++
			}
		}
		t.Logf("%s: %d of %d queries answered from the posting lists, %d of %d products exotic", stage, answered, len(queries), len(x.exotic), len(x.all))
		if exotic := len(x.exotic); answered == 0 || exotic == 0 || exotic > maxExotic {
			t.Errorf("%s: %d queries answered from the posting lists, %d of %d products exotic: the corpus does not exercise every path", stage, answered, exotic, len(x.all))
		}
	}
	x.apply(t, products...)
	check("registered", x)
	// Updates rewrite some products' text (and swap plain and exotic).
	var upd []events.DataProduct
	for i := 0; i < len(products); i += 7 {
		desc := words(5)
		if i%2 == 0 {
			desc = "customer cafe"
		}
		products[i] = storetest.Product(products[i].Domain, products[i].Name, storetest.Desc(desc))
		upd = append(upd, products[i])
	}
	x.apply(t, upd...)
	check("updated", x)
	// Loaded in one batch, as the store does at Open.
	loaded := newTestIndex(t)
	loaded.apply(t, products...)
	check("loaded", loaded)
}

// TestTokenizerSplitsAsFTS5 checks Tokenizer against FTS5's own split of
// the corpus: the same tokens wherever the tokenizer says it knows every
// rune, and known for plain text.
func TestTokenizerSplitsAsFTS5(t *testing.T) {
	x := newTestIndex(t)
	if _, err := x.db.Exec(`CREATE VIRTUAL TABLE fts_vocab USING fts5vocab(fts, 'instance')`); err != nil {
		t.Fatal(err)
	}
	texts := append(slices.Clone(textCorpus), "Customer-Orders_v2 ÉTÉ", "plain ascii text 123")
	for i, text := range texts {
		if _, err := x.db.Exec(`INSERT INTO fts(rowid, name) VALUES (?, ?)`, i+1, text); err != nil {
			t.Fatal(err)
		}
	}
	known := 0
	for i, text := range texts {
		rows, err := x.db.Query(`SELECT term FROM fts_vocab WHERE doc = ? ORDER BY offset`, i+1)
		if err != nil {
			t.Fatal(err)
		}
		want := []string{}
		for rows.Next() {
			var s string
			if err := rows.Scan(&s); err != nil {
				t.Fatal(err)
			}
			want = append(want, s)
		}
		rows.Close()
		got := []string{}
		_, ok := x.tok.tokens(nil, text, func(b []byte) { got = append(got, string(b)) })
		if !ok {
			continue
		}
		known++
		if !slices.Equal(got, want) {
			t.Errorf("%q: tokens %q, FTS5 %q", text, got, want)
		}
	}
	if known < len(texts)/2 {
		t.Errorf("only %d of %d texts known to the tokenizer", known, len(texts))
	}
}
