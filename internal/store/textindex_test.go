package store

import (
	"context"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/meshbone/meshbone/internal/store/storetest"
	"github.com/meshbone/meshbone/pkg/events"
)

// textCorpus are words for products and queries: plain, upper case,
// diacritics (precomposed and combining), other scripts, symbols, FTS5
// syntax and text the matcher leaves to FTS5.
var textCorpus = []string{
	"orders", "Orders", "ORDERS", "order", "customer", "customers", "café", "cafe", "CAFÉ", "cafe\u0301",
	"naïve", "naive", "Ærø", "straße", "strasse", "ﬁle", "Ελληνικά", "ελληνικα", "Москва", "москва",
	"Đà", "Nẵng", "nang", "Łódź", "lodz", "ǅemal", "ŉ", "İstanbul", "istanbul", "x²", "½", "µs",
	"日本語", "データ", "😀", "emoji😀mix", "“quoted”", "—dash—", "€uro", "snake_case", "kebab-case",
	"NEAR", "NEAR(a", "*", "-", "(", ")", "\"", "'", "a:b", "{x}", "^caret", "AND", "OR", "NOT",
	"e\u0301", "\u0301x", "abc123", "123abc", "x\u200by", "tab\tsep", "ק", "ع", "हिन्दी", "ไทย",
}

// TestTextIndexMatchesFTS5 checks the in-memory matcher against FTS5 on
// the same rows: every query gives the same products either way.
func TestTextIndexMatchesFTS5(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, filepath.Join(t.TempDir(), "view.db"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	rng := rand.New(rand.NewPCG(1, 2))
	words := func(n int) string {
		w := make([]string, n)
		for i := range w {
			w[i] = textCorpus[rng.IntN(len(textCorpus))]
		}
		return strings.Join(w, []string{" ", " ", "-", ", ", "/"}[rng.IntN(5)])
	}
	var evs []events.Event
	names := make([]string, 300)
	for i := range 300 {
		opts := []storetest.ProductOpt{storetest.Desc(words(6)), storetest.Tags(words(1), words(1)), storetest.Owner(words(1)),
			storetest.Port(words(1), nil)}
		name := fmt.Sprintf("p%d-%s", i, words(2))
		if i%10 != 0 { // most products plain, so the matcher answers them
			opts = []storetest.ProductOpt{storetest.Desc(fmt.Sprintf("orders customer cafe café Straße—%d", i)), storetest.Tags("orders", "naïve")}
			name = fmt.Sprintf("p%d-orders", i)
		}
		names[i] = name
		p := storetest.Product(storetest.Domains[i%len(storetest.Domains)], name, opts...)
		evs = append(evs, storetest.Lifecycle(fmt.Sprintf("lc-%d", i), events.LifecycleRegistered, p, storetest.T0.Add(time.Duration(i)*time.Second)))
	}
	check := func(stage string) {
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
			var f filter
			s.idx.mu.RLock()
			err = func() error {
				var want []int32
				if err := s.ftsMatch(ctx, match, nil, func(i int32) { want = append(want, i) }); err != nil {
					return err
				}
				got, err := s.match(ctx, text, match, &f, nil)
				if err != nil {
					return err
				}
				slices.Sort(want)
				slices.Sort(got)
				if !slices.Equal(got, want) {
					t.Errorf("%s: %q (%s): matcher %v, FTS5 %v", stage, text, match, got, want)
				}
				if _, ok := s.idx.text.compile(text); ok {
					answered++
				}
				return nil
			}()
			s.idx.mu.RUnlock()
			if err != nil {
				t.Fatalf("%q: %v", text, err)
			}
		}
		t.Logf("%s: %d of %d queries answered in memory, %d of %d products exotic", stage, answered, len(queries), len(s.idx.text.exotic), len(s.idx.all))
		if exotic := len(s.idx.text.exotic); answered == 0 || exotic == 0 || exotic > maxExotic {
			t.Errorf("%s: %d queries answered in memory, %d of %d products exotic: the corpus does not exercise every path", stage, answered, exotic, len(s.idx.all))
		}
	}
	if _, err := s.Apply(ctx, Batch{Records: testRecords(evs)}); err != nil {
		t.Fatal(err)
	}
	check("registered")
	// Updates rewrite some products' text (and swap plain and exotic).
	var upd []events.Event
	for i := 0; i < 300; i += 7 {
		desc := words(5)
		if i%2 == 0 {
			desc = "customer cafe"
		}
		p := storetest.Product(storetest.Domains[i%len(storetest.Domains)], names[i], storetest.Desc(desc))
		upd = append(upd, storetest.Lifecycle(fmt.Sprintf("lc-u%d", i), events.LifecycleUpdated, p, storetest.T0.Add(time.Hour)))
	}
	if _, err := s.Apply(ctx, Batch{Records: testRecords(upd)}); err != nil {
		t.Fatal(err)
	}
	check("updated")
	// Reopened: the matcher is loaded from the FTS5 rows.
	path := s.Path()
	s.Close()
	if s, err = Open(ctx, path, Options{}); err != nil {
		t.Fatal(err)
	}
	check("reopened")
}

func testRecords(evs []events.Event) []Record {
	topics := events.MeshTopics("")
	out := make([]Record, len(evs))
	for i, ev := range evs {
		out[i] = Record{Topic: topics.For(ev.Kind()), Offset: int64(i), Event: ev}
	}
	return out
}
