package store_test

import (
	"context"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/meshbone/meshbone/internal/store"
	"github.com/meshbone/meshbone/internal/store/storetest"
	"github.com/meshbone/meshbone/pkg/events"
)

// BenchmarkSearch runs the indexer bench's query mix (internal/bench) on
// Search directly, over MESH_BENCH_PRODUCTS products (default 20000)
// loaded through Apply; MESH_BENCH_DB keeps the database between runs.
func BenchmarkSearch(b *testing.B) {
	ctx := context.Background()
	n := 20000
	if v, err := strconv.Atoi(os.Getenv("MESH_BENCH_PRODUCTS")); err == nil && v > 0 {
		n = v
	}
	path := os.Getenv("MESH_BENCH_DB")
	if path == "" {
		path = filepath.Join(b.TempDir(), "view.db")
	}
	_, statErr := os.Stat(path)
	s, err := store.Open(ctx, path, store.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	stream := storetest.NewStream(n, 7)
	if statErr != nil {
		topics := events.MeshTopics("")
		off := int64(0)
		for loaded := 0; loaded < 2*n; {
			bt := store.Batch{}
			for range min(5000, 2*n-loaded) {
				ev := stream.Next()
				off++
				bt.Records = append(bt.Records, store.Record{Topic: topics.For(ev.Kind()), Offset: off, Event: ev})
				loaded++
			}
			if _, err := s.Apply(ctx, bt); err != nil {
				b.Fatal(err)
			}
		}
	}
	queries := benchQueries(stream, 3000)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		i := rand.IntN(len(queries))
		for pb.Next() {
			if _, err := s.Search(ctx, queries[i%len(queries)]); err != nil {
				b.Error(err)
				return
			}
			i++
		}
	})
}

// benchQueries is internal/bench's searchQueries as SearchParams.
func benchQueries(s *storetest.Stream, n int) []store.SearchParams {
	rng := rand.New(rand.NewPCG(3, 4))
	word := func() string { return storetest.Words[rng.IntN(len(storetest.Words))] }
	rare := func() string {
		p := s.Product(rng.IntN(1000), "1.0.0")
		return strings.Fields(*p.Description)[2]
	}
	facets := []func(*store.SearchParams){
		func(p *store.SearchParams) { p.Domain = []string{storetest.Domains[rng.IntN(len(storetest.Domains))]} },
		func(p *store.SearchParams) { p.State = []string{[]string{"active", "deprecated"}[rng.IntN(2)]} },
		func(p *store.SearchParams) {
			p.Compliance = []string{[]string{"compliant", "non_compliant", "unknown"}[rng.IntN(3)]}
		},
		func(p *store.SearchParams) {
			p.Sensitivity = []string{[]string{"public", "internal", "confidential", "restricted"}[rng.IntN(4)]}
		},
		func(p *store.SearchParams) { p.Tag = []string{word()} },
	}
	out := make([]store.SearchParams, n)
	for i := range out {
		var q string
		switch i % 6 {
		case 0:
			q = word() + " "
		case 1:
			q = word() + " " + word() + " "
		case 2:
			w := word()
			q = w[:min(len(w), 3+rng.IntN(3))]
		case 3:
			q = rare() + " "
		case 4:
			q = storetest.Domains[rng.IntN(len(storetest.Domains))] + " " + word()
		}
		out[i] = store.SearchParams{Query: q}
		facets[rng.IntN(len(facets))](&out[i])
	}
	return out
}
