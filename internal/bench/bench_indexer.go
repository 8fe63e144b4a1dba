package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sr"

	"github.com/meshbone/meshbone/internal/indexer"
	"github.com/meshbone/meshbone/internal/kafka"
	"github.com/meshbone/meshbone/internal/store"
	"github.com/meshbone/meshbone/internal/store/storetest"
	"github.com/meshbone/meshbone/pkg/events"
)

// The indexer's benchmarks, one figure each (the harness prints a
// benchmark's last figure as its headline):
//
//   - indexer-fold: events/s the indexer folds from Kafka into the view,
//     over events/s of bare batched inserts of the very rows that fold
//     produced into an empty view of the same schema (indexer.fold.ratio).
//   - indexer-search: p99 latency of the search API at 100k products, 10
//     concurrent clients, mixed queries each with one facet filter. The
//     products are loaded straight into SQLite through the fold function
//     (store.Apply), not through Kafka.
//   - indexer-freshness: p99 from Publish returning to the product being
//     visible through the search API, at a steady 200 events/s.
//   - indexer-rebuild: seconds for `--rebuild` to replay the dataset (1M
//     events by default, -indexer-events).
//
// indexer-fold and indexer-rebuild share one dataset, produced once.
func init() {
	register("indexer-fold", benchIndexerFold)
	register("indexer-search", benchIndexerSearch)
	register("indexer-freshness", benchIndexerFreshness)
	register("indexer-rebuild", benchIndexerRebuild)
}

var (
	ixEvents   = flag.Int("indexer-events", 1_000_000, "events in the indexer's fold and rebuild dataset (-quick: 100000)")
	ixProducts = flag.Int("indexer-products", 100_000, "products in the indexer's search benchmark (-quick: 20000)")
)

// ixDataset is the mesh stream produced once for the fold and rebuild
// benchmarks.
type ixDataset struct {
	prefix string
	n      int
	last   map[string]map[int32]int64 // last offset per partition
	db     string                     // the view the fold benchmark built
	dir    string
}

var (
	ixDataOnce sync.Once
	ixData     *ixDataset
	ixDataErr  error
)

func ixDatasetSize(env *Env) (events, products int) {
	events = *ixEvents
	if env.Quick && events == 1_000_000 {
		events = 100_000
	}
	return events, max(events/50, 100)
}

func ixCreateTopics(ctx context.Context, env *Env, prefix string) error {
	cl, err := kgo.NewClient(kgo.SeedBrokers(env.Brokers...))
	if err != nil {
		return err
	}
	defer cl.Close()
	_, err = kafka.EnsureMeshTopics(ctx, kadm.NewClient(cl), events.MeshTopics(prefix), kafka.DefaultTopicSpec)
	return err
}

// dataset produces the stream once (events from storetest.Stream, encoded
// with the mesh codec, produced asynchronously, acks=all).
func dataset(ctx context.Context, env *Env, logf func(string, ...any)) (*ixDataset, error) {
	ixDataOnce.Do(func() {
		n, products := ixDatasetSize(env)
		d := &ixDataset{prefix: env.Prefix("indexer"), n: n, last: map[string]map[int32]int64{}}
		if d.dir, ixDataErr = os.MkdirTemp("", "meshbone-bench-indexer-"); ixDataErr != nil {
			return
		}
		if ixDataErr = ixCreateTopics(ctx, env, d.prefix); ixDataErr != nil {
			return
		}
		reg, err := sr.NewClient(sr.URLs(env.Registry))
		if err != nil {
			ixDataErr = err
			return
		}
		codec := events.NewCodec(reg, events.MeshTopics(d.prefix))
		cl, err := kgo.NewClient(kgo.SeedBrokers(env.Brokers...), kgo.RequiredAcks(kgo.AllISRAcks()), kgo.ProducerLinger(5*time.Millisecond))
		if err != nil {
			ixDataErr = err
			return
		}
		defer cl.Close()
		logf("producing %d events over %d products to %s*", n, products, d.prefix)
		start := time.Now()
		var mu sync.Mutex
		var firstErr error
		s := storetest.NewStream(products, 42)
		for range n {
			r, err := codec.Encode(ctx, s.Next(), "/domains/bench")
			if err != nil {
				ixDataErr = err
				return
			}
			cl.Produce(ctx, r, func(r *kgo.Record, err error) {
				mu.Lock()
				defer mu.Unlock()
				if err != nil {
					if firstErr == nil {
						firstErr = err
					}
					return
				}
				if d.last[r.Topic] == nil {
					d.last[r.Topic] = map[int32]int64{}
				}
				d.last[r.Topic][r.Partition] = max(d.last[r.Topic][r.Partition], r.Offset)
			})
		}
		if err := cl.Flush(ctx); err != nil {
			ixDataErr = err
			return
		}
		if firstErr != nil {
			ixDataErr = firstErr
			return
		}
		logf("produced %d events in %.1fs", n, time.Since(start).Seconds())
		ixData = d
	})
	return ixData, ixDataErr
}

func kafkaCfg(env *Env, prefix string) kafka.Config {
	return kafka.Config{Brokers: env.Brokers, RegistryURL: env.Registry, TopicPrefix: prefix}
}

// foldAll runs an indexer on the dataset's topics into db until it has
// folded everything, and returns how long that took from New.
func foldAll(ctx context.Context, env *Env, d *ixDataset, db string, rebuild bool) (time.Duration, indexer.Status, error) {
	start := time.Now()
	ix, err := indexer.New(indexer.Options{Kafka: kafkaCfg(env, d.prefix), DB: db, Rebuild: rebuild, Listen: "127.0.0.1:0"}, nil)
	if err != nil {
		return 0, indexer.Status{}, err
	}
	rctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- ix.Run(rctx) }()
	wctx, wcancel := context.WithTimeout(ctx, 15*time.Minute)
	ok := ix.WaitFor(wctx, d.last)
	wcancel()
	took := time.Since(start)
	st := ix.Status()
	cancel()
	if err := <-done; err != nil {
		return 0, st, err
	}
	if !ok {
		return 0, st, fmt.Errorf("the indexer did not fold %d events within 15 minutes (%d folded)", d.n, st.EventsFolded)
	}
	return took, st, nil
}

// benchIndexerFold times the indexer folding the bench's events from Kafka
// into a fresh view, against bare batched inserts of the resulting rows into
// the same schema. The headline baseline opens its database exactly like the
// store's writer (cache, checkpoints), so the ratio is the fold's own work;
// indexer.fold.ratio_vs_sqlite_defaults is against SQLite's defaults.
func benchIndexerFold(ctx context.Context, env *Env, logf func(string, ...any)) ([]Figure, error) {
	d, err := dataset(ctx, env, logf)
	if err != nil {
		return nil, err
	}
	d.db = filepath.Join(d.dir, "fold.db")
	took, st, err := foldAll(ctx, env, d, d.db, true)
	if err != nil {
		return nil, err
	}
	rate := float64(d.n) / took.Seconds()
	logf("indexer folded %d records (%d events new to the view) in %.2fs: %.0f events/s", d.n, st.EventsFolded, took.Seconds(), rate)

	tables, rows, err := readView(ctx, d.db)
	if err != nil {
		return nil, err
	}
	bare := filepath.Join(d.dir, "bare.db")
	base, err := bareInserts(ctx, tables, bare, store.WriterDSN(bare), indexer.DefaultMaxBatch)
	if err != nil {
		return nil, err
	}
	baseRate := float64(d.n) / base.Seconds()
	logf("bare inserts of the same %d rows, %d per transaction, opened like the store's writer: %.2fs (%.0f rows/s, %.0f events/s equivalent)", rows, indexer.DefaultMaxBatch, base.Seconds(), float64(rows)/base.Seconds(), baseRate)
	// The same inserts on SQLite's default cache (2 MiB) and checkpoints
	// (every 1,000 pages), WAL and synchronous NORMAL as the store: how much
	// of the fold's rate is the store's tuning.
	plain := filepath.Join(d.dir, "bare-defaults.db")
	basePlain, err := bareInserts(ctx, tables, plain, "file:"+plain+"?_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)&_txlock=immediate", indexer.DefaultMaxBatch)
	if err != nil {
		return nil, err
	}
	plainRate := float64(d.n) / basePlain.Seconds()
	logf("the same inserts on SQLite's default cache and checkpoints: %.2fs (%.0f events/s equivalent)", basePlain.Seconds(), plainRate)
	return []Figure{
		{Name: "indexer.fold.events_per_s", Value: rate, Unit: "events/s (Kafka -> decode -> fold -> commit; target >= 20000)"},
		{Name: "indexer.fold.bare_events_per_s", Value: baseRate, Unit: "events/s equivalent of bare inserts of the same rows, opened like the store"},
		{Name: "indexer.fold.bare_defaults_events_per_s", Value: plainRate, Unit: "events/s equivalent of the same inserts on SQLite's defaults"},
		{Name: "indexer.fold.rows", Value: float64(rows), Unit: "rows in the view"},
		{Name: "indexer.fold.ratio_vs_sqlite_defaults", Value: rate / plainRate},
		{Name: "indexer.fold.ratio", Value: rate / baseRate},
	}, nil
}

// viewTable is one table of a view, its rows read into memory.
type viewTable struct {
	name, cols string
	rows       [][]any
}

// readView reads every row of the view at src (the full-text rows included)
// and returns them by table, with their count.
func readView(ctx context.Context, src string) ([]*viewTable, int, error) {
	from, err := sql.Open("sqlite", "file:"+src+"?_pragma=query_only(1)")
	if err != nil {
		return nil, 0, err
	}
	defer from.Close()
	var tables []*viewTable
	names, err := from.QueryContext(ctx, `SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name NOT LIKE 'products_fts%'`)
	if err != nil {
		return nil, 0, err
	}
	for names.Next() {
		var n string
		if err := names.Scan(&n); err != nil {
			return nil, 0, err
		}
		tables = append(tables, &viewTable{name: n})
	}
	names.Close()
	tables = append(tables, &viewTable{name: "products_fts", cols: "rowid, name, tags, domain, owner, description, ports, fields"})
	total := 0
	for _, t := range tables {
		cols := t.cols
		if cols == "" {
			cols = "*"
		}
		rows, err := from.QueryContext(ctx, "SELECT "+cols+" FROM "+t.name)
		if err != nil {
			return nil, 0, err
		}
		names, _ := rows.Columns()
		t.cols = strings.Join(names, ", ")
		for rows.Next() {
			vals := make([]any, len(names))
			ptrs := make([]any, len(names))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			if err := rows.Scan(ptrs...); err != nil {
				rows.Close()
				return nil, 0, err
			}
			t.rows = append(t.rows, vals)
		}
		rows.Close()
		total += len(t.rows)
	}
	return tables, total, nil
}

// bareInserts writes tables into an empty view of the same schema at dst
// with prepared INSERTs, batch rows per transaction, on a connection opened
// with dstDSN, and times only the inserts.
func bareInserts(ctx context.Context, tables []*viewTable, dst, dstDSN string, batch int) (time.Duration, error) {
	s, err := store.Open(ctx, dst, store.Options{}) // creates the schema
	if err != nil {
		return 0, err
	}
	s.Close()
	to, err := sql.Open("sqlite", dstDSN)
	if err != nil {
		return 0, err
	}
	defer to.Close()
	to.SetMaxOpenConns(1)

	start := time.Now()
	for _, t := range tables {
		n := len(strings.Split(t.cols, ","))
		q := "INSERT INTO " + t.name + "(" + t.cols + ") VALUES(" + strings.TrimSuffix(strings.Repeat("?,", n), ",") + ")"
		st, err := to.PrepareContext(ctx, q)
		if err != nil {
			return 0, err
		}
		for i := 0; i < len(t.rows); i += batch {
			tx, err := to.BeginTx(ctx, nil)
			if err != nil {
				return 0, err
			}
			ts := tx.StmtContext(ctx, st)
			for _, r := range t.rows[i:min(i+batch, len(t.rows))] {
				if _, err := ts.ExecContext(ctx, r...); err != nil {
					tx.Rollback()
					return 0, fmt.Errorf("bare insert into %s: %w", t.name, err)
				}
			}
			if err := tx.Commit(); err != nil {
				return 0, err
			}
		}
		st.Close()
	}
	return time.Since(start), nil
}

func benchIndexerRebuild(ctx context.Context, env *Env, logf func(string, ...any)) ([]Figure, error) {
	d, err := dataset(ctx, env, logf)
	if err != nil {
		return nil, err
	}
	db := d.db
	if db == "" { // the fold benchmark did not run: rebuild over an empty file
		db = filepath.Join(d.dir, "rebuild.db")
	}
	took, st, err := foldAll(ctx, env, d, db, true)
	if err != nil {
		return nil, err
	}
	logf("--rebuild replayed %d records (%d events folded) in %.2fs", d.n, st.EventsFolded, took.Seconds())
	defer os.RemoveAll(d.dir)
	return []Figure{
		{Name: "indexer.rebuild.events", Value: float64(d.n), Unit: "records replayed (target figure is for 1M)"},
		{Name: "indexer.rebuild.events_per_s", Value: float64(d.n) / took.Seconds(), Unit: "events/s"},
		{Name: "indexer.rebuild.s", Value: took.Seconds()},
	}, nil
}

func percentile(d []time.Duration, p float64) time.Duration {
	if len(d) == 0 {
		return 0
	}
	s := slices.Clone(d)
	slices.Sort(s)
	return s[min(int(float64(len(s))*p), len(s)-1)]
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// searchQueries builds n mixed queries, each with one facet filter: one
// common word, two words, a prefix as typed, a rare word, a domain name,
// and browsing with a filter only.
func searchQueries(s *storetest.Stream, n int) []string {
	rng := rand.New(rand.NewPCG(3, 4))
	word := func() string { return storetest.Words[rng.IntN(len(storetest.Words))] }
	rare := func() string {
		// a rare word from a product description
		p := s.Product(rng.IntN(1000), "1.0.0")
		f := strings.Fields(*p.Description)
		return f[2]
	}
	facets := []func() (string, string){
		func() (string, string) { return "domain", storetest.Domains[rng.IntN(len(storetest.Domains))] },
		func() (string, string) { return "state", []string{"active", "deprecated"}[rng.IntN(2)] },
		func() (string, string) {
			return "compliance", []string{"compliant", "non_compliant", "unknown"}[rng.IntN(3)]
		},
		func() (string, string) {
			return "sensitivity", []string{"public", "internal", "confidential", "restricted"}[rng.IntN(4)]
		},
		func() (string, string) { return "tag", word() },
	}
	out := make([]string, n)
	for i := range out {
		var q string
		switch i % 6 {
		case 0:
			q = word() + " "
		case 1:
			q = word() + " " + word() + " "
		case 2:
			w := word()
			q = w[:min(len(w), 3+rng.IntN(3))] // as typed, from the third letter
		case 3:
			q = rare() + " "
		case 4:
			q = storetest.Domains[rng.IntN(len(storetest.Domains))] + " " + word()
		case 5:
			q = ""
		}
		k, v := facets[rng.IntN(len(facets))]()
		out[i] = "/api/v1/search?" + url.Values{"q": {q}, k: {v}}.Encode()
	}
	return out
}

func benchIndexerSearch(ctx context.Context, env *Env, logf func(string, ...any)) ([]Figure, error) {
	products := *ixProducts
	if env.Quick && products == 100_000 {
		products = 20_000
	}
	dir, err := os.MkdirTemp("", "meshbone-bench-search-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	db := filepath.Join(dir, "search.db")

	// Load the products through the fold function: each product registered,
	// then as many mixed events again (quality, violations, compliance,
	// updates) so the facets have spread.
	start := time.Now()
	st, err := store.Open(ctx, db, store.Options{})
	if err != nil {
		return nil, err
	}
	s := storetest.NewStream(products, 7)
	topics := events.MeshTopics("")
	off := int64(0)
	for loaded := 0; loaded < 2*products; {
		b := store.Batch{}
		for range min(5000, 2*products-loaded) {
			ev := s.Next()
			off++
			b.Records = append(b.Records, store.Record{Topic: topics.For(ev.Kind()), Partition: 0, Offset: off, Event: ev})
			loaded++
		}
		if _, err := st.Apply(ctx, b); err != nil {
			st.Close()
			return nil, err
		}
	}
	st.Close()
	logf("loaded %d products (%d events) through the fold function in %.1fs", products, 2*products, time.Since(start).Seconds())

	prefix := env.Prefix("search")
	if err := ixCreateTopics(ctx, env, prefix); err != nil {
		return nil, err
	}
	ix, err := indexer.New(indexer.Options{Kafka: kafkaCfg(env, prefix), DB: db, Listen: "127.0.0.1:0"}, nil)
	if err != nil {
		return nil, err
	}
	rctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- ix.Run(rctx) }()
	defer func() { cancel(); <-done }()

	queries := searchQueries(s, 3000)
	hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 32}, Timeout: 30 * time.Second}
	get := func(u string) (int, error) {
		resp, err := hc.Get(ix.URL() + u)
		if err != nil {
			return 0, err
		}
		var r struct{ Total int }
		err = json.NewDecoder(resp.Body).Decode(&r)
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			return 0, fmt.Errorf("GET %s: %s", u, resp.Status)
		}
		return r.Total, err
	}
	const clients = 10
	warm, measure := 3*time.Second, 20*time.Second
	if env.Quick {
		warm, measure = time.Second, 5*time.Second
	}
	var (
		mu      sync.Mutex
		lat     []time.Duration
		hits    atomic.Int64
		next    atomic.Int64
		firstEr error
	)
	t0 := time.Now()
	var wg sync.WaitGroup
	for range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var mine []time.Duration
			for time.Since(t0) < warm+measure && ctx.Err() == nil {
				q := queries[int(next.Add(1))%len(queries)]
				qs := time.Now()
				total, err := get(q)
				d := time.Since(qs)
				if err != nil {
					mu.Lock()
					firstEr = errors.Join(firstEr, err)
					mu.Unlock()
					return
				}
				if qs.Sub(t0) >= warm {
					mine = append(mine, d)
					if total > 0 {
						hits.Add(1)
					}
				}
			}
			mu.Lock()
			lat = append(lat, mine...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	if firstEr != nil {
		return nil, firstEr
	}
	logf("%d searches by %d clients in %s (%.0f/s), %d with results; p50 %.2fms p95 %.2fms p99 %.2fms max %.2fms",
		len(lat), clients, measure, float64(len(lat))/measure.Seconds(), hits.Load(),
		ms(percentile(lat, .5)), ms(percentile(lat, .95)), ms(percentile(lat, .99)), ms(percentile(lat, 1)))
	return []Figure{
		{Name: "indexer.search.products", Value: float64(products), Unit: "products"},
		{Name: "indexer.search.qps", Value: float64(len(lat)) / measure.Seconds(), Unit: "searches/s"},
		{Name: "indexer.search.p50_ms", Value: ms(percentile(lat, .5)), Unit: "ms"},
		{Name: "indexer.search.p99_ms", Value: ms(percentile(lat, .99))},
	}, nil
}

func benchIndexerFreshness(ctx context.Context, env *Env, logf func(string, ...any)) ([]Figure, error) {
	prefix := env.Prefix("fresh")
	if err := ixCreateTopics(ctx, env, prefix); err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "meshbone-bench-fresh-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	ix, err := indexer.New(indexer.Options{Kafka: kafkaCfg(env, prefix), DB: filepath.Join(dir, "fresh.db"), Listen: "127.0.0.1:0"}, nil)
	if err != nil {
		return nil, err
	}
	rctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- ix.Run(rctx) }()
	defer func() { cancel(); <-done }()

	pub, err := events.NewPublisher(events.SeedBrokers(env.Brokers...), events.RegistryURLs(env.Registry), events.TopicPrefix(prefix))
	if err != nil {
		return nil, err
	}
	defer pub.Close()
	hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}, Timeout: 30 * time.Second}
	// visible waits until a search for token finds it: search; if not
	// there, wait for the view's next commit (status?changed_since) and
	// search again. No sleeping, no polling interval.
	visible := func(token string) error {
		deadline := time.Now().Add(10 * time.Second)
		for time.Now().Before(deadline) {
			resp, err := hc.Get(ix.URL() + "/api/v1/search?q=" + token)
			if err != nil {
				return err
			}
			var r struct{ Total int }
			err = json.NewDecoder(resp.Body).Decode(&r)
			resp.Body.Close()
			if err != nil {
				return err
			}
			if r.Total > 0 {
				return nil
			}
			gen := resp.Header.Get("X-Meshbone-Generation")
			w, err := hc.Get(ix.URL() + "/api/v1/status?timeout=5s&changed_since=" + gen)
			if err != nil {
				return err
			}
			_, _ = io.Copy(io.Discard, w.Body)
			w.Body.Close()
		}
		return fmt.Errorf("%s not visible within 10s", token)
	}
	// Warm up: register the contracts and see one product through.
	p0 := storetest.Product("fresh", "warmup")
	if err := pub.Publish(ctx, storetest.Lifecycle("fresh-warmup", events.LifecycleRegistered, p0, time.Now())); err != nil {
		return nil, err
	}
	if err := visible("warmup"); err != nil {
		return nil, err
	}

	const rate = 200
	dur := 30 * time.Second
	if env.Quick {
		dur = 8 * time.Second
	}
	var (
		mu      sync.Mutex
		lat     []time.Duration
		firstEr error
		wg      sync.WaitGroup
	)
	tick := time.NewTicker(time.Second / rate)
	defer tick.Stop()
	end := time.Now().Add(dur)
	for i := 0; time.Now().Before(end) && ctx.Err() == nil; i++ {
		<-tick.C
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			token := "fresh" + strconv.Itoa(i) + "x"
			p := storetest.Product("fresh", token, storetest.Desc("freshness probe "+token))
			err := pub.Publish(ctx, storetest.Lifecycle("fresh-"+strconv.Itoa(i), events.LifecycleRegistered, p, time.Now()))
			t0 := time.Now()
			if err == nil {
				err = visible(token)
			}
			d := time.Since(t0)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				firstEr = errors.Join(firstEr, err)
				return
			}
			lat = append(lat, d)
		}(i)
	}
	wg.Wait()
	if firstEr != nil {
		return nil, firstEr
	}
	logf("%d products published at %d/s for %s; Publish returned -> visible in search: p50 %.1fms p95 %.1fms p99 %.1fms max %.1fms",
		len(lat), rate, dur, ms(percentile(lat, .5)), ms(percentile(lat, .95)), ms(percentile(lat, .99)), ms(percentile(lat, 1)))
	return []Figure{
		{Name: "indexer.freshness.samples", Value: float64(len(lat)), Unit: "events"},
		{Name: "indexer.freshness.p50_ms", Value: ms(percentile(lat, .5)), Unit: "ms"},
		{Name: "indexer.freshness.p99_ms", Value: ms(percentile(lat, .99))},
	}, nil
}
