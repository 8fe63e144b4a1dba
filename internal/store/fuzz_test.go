package store_test

import (
	"context"
	"errors"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/meshbone/meshbone/internal/store"
	"github.com/meshbone/meshbone/internal/store/searchindex"
	"github.com/meshbone/meshbone/internal/store/storetest"
	"github.com/meshbone/meshbone/pkg/events"
)

// FuzzSearch sends any query text, filters and page through the store's
// search over a small catalog: a *searchindex.ParamError (the API's 400) or
// a page that keeps its promises (no more results than the page size and
// the total, every result within the filters, the same answer twice), and
// never a panic or another error.
func FuzzSearch(f *testing.F) {
	ctx := context.Background()
	s, err := store.Open(ctx, filepath.Join(f.TempDir(), "view.db"), store.Options{})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { s.Close() })
	stream := storetest.NewStream(200, 5)
	topics := events.MeshTopics("")
	b := store.Batch{}
	for i := range 600 {
		ev := stream.Next()
		b.Records = append(b.Records, store.Record{Topic: topics.For(ev.Kind()), Offset: int64(i), Event: ev})
	}
	if _, err := s.Apply(ctx, b); err != nil {
		f.Fatal(err)
	}
	for _, w := range storetest.Words[:min(8, len(storetest.Words))] {
		f.Add(w, "", "", "", "", 1, 20)
		f.Add(w[:min(3, len(w))], "", "", "confidential", "", 2, 5)
	}
	f.Add("", "sales", "orders", "", "ACTIVE", 0, 0)
	f.Add(`"quoted" OR NEAR(a b) * - ^`, "", "", "", "", 1, 100)
	f.Add("ünïcödé 注文 \xff", "x", "", "PUBLIC", "RETIRED", 500, 20)
	f.Add(strings.Repeat("a ", 20), "", "", "", "", -1, 101)

	f.Fuzz(func(t *testing.T, q, domain, tag, sensitivity, state string, page, size int) {
		p := store.SearchParams{Query: q, Page: page, Size: size}
		for _, v := range []struct {
			to  *[]string
			val string
		}{{&p.Domain, domain}, {&p.Tag, tag}, {&p.Sensitivity, sensitivity}, {&p.State, state}} {
			if v.val != "" {
				*v.to = strings.Split(v.val, ",")
			}
		}
		again := p.Clone()
		res, err := s.Search(ctx, p)
		if err != nil {
			var pe *searchindex.ParamError
			if !errors.As(err, &pe) {
				t.Fatalf("%+v: not a ParamError: %T %v", p, err, err)
			}
			return
		}
		if len(res.Results) > res.Size || len(res.Results) > res.Total {
			t.Fatalf("%+v: %d results on a page of %d, total %d", p, len(res.Results), res.Size, res.Total)
		}
		for _, r := range res.Results {
			if len(p.Domain) > 0 && !slices.Contains(p.Domain, r.Domain) {
				t.Fatalf("%+v: result %s of domain %s", p, r.ID, r.Domain)
			}
			if len(p.Sensitivity) > 0 && !slices.ContainsFunc(p.Sensitivity, func(v string) bool { return strings.EqualFold(v, r.Sensitivity) }) {
				t.Fatalf("%+v: result %s of sensitivity %s", p, r.ID, r.Sensitivity)
			}
			if len(p.State) > 0 && !slices.ContainsFunc(p.State, func(v string) bool { return strings.EqualFold(v, r.State) }) {
				t.Fatalf("%+v: result %s in state %s", p, r.ID, r.State)
			}
			if len(p.Tag) > 0 && !slices.ContainsFunc(p.Tag, func(v string) bool { return slices.Contains(r.Tags, v) }) {
				t.Fatalf("%+v: result %s with tags %v", p, r.ID, r.Tags)
			}
		}
		res2, err := s.Search(ctx, again)
		if err != nil {
			t.Fatalf("%+v: the same search failed the second time: %v", again, err)
		}
		if !reflect.DeepEqual(res, res2) {
			t.Fatalf("%+v: two answers to one search:\n%+v\n%+v", p, res, res2)
		}
	})
}
