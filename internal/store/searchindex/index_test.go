package searchindex

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"testing"

	"github.com/meshbone/meshbone/pkg/events"
)

// testIndex is an Index with an FTS5 table of the same full text beside
// it, as the store keeps them: the table is its FullText, and the
// reference its matches are checked against.
type testIndex struct {
	*Index
	db     *sql.DB
	rowids map[string]int64 // product id -> rowid
}

func newTestIndex(t *testing.T) *testIndex {
	t.Helper()
	tok, err := LearnTokenizer()
	if err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("sqlite", "file::memory:")
	if err != nil {
		t.Fatal(err)
	}
	db.SetMaxOpenConns(1) // one connection: one in-memory database
	t.Cleanup(func() { db.Close() })
	if _, err := db.Exec(`CREATE VIRTUAL TABLE fts USING fts5(name, tags, domain, owner, description, ports, fields, tokenize = '` + FTS5Tokenizer + `')`); err != nil {
		t.Fatal(err)
	}
	x := &testIndex{db: db, rowids: map[string]int64{}}
	x.Index = New(tok, x)
	return x
}

// Match is FullText on the FTS5 table.
func (x *testIndex) Match(ctx context.Context, query string, rowids []int64, fn func(int64)) error {
	q, args := `SELECT rowid FROM fts WHERE fts MATCH ?`, []any{query}
	if rowids != nil {
		q += ` AND rowid IN (` + strings.TrimSuffix(strings.Repeat("?,", len(rowids)), ",") + `)`
		for _, r := range rowids {
			args = append(args, r)
		}
	}
	rows, err := x.db.QueryContext(ctx, q, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var r int64
		if err := rows.Scan(&r); err != nil {
			return err
		}
		fn(r)
	}
	return rows.Err()
}

// apply registers or replaces products in the index and the table, as one
// batch.
func (x *testIndex) apply(t *testing.T, products ...events.DataProduct) {
	t.Helper()
	var b Batch
	for _, p := range products {
		r, ok := x.rowids[p.ID]
		if !ok {
			r = int64(len(x.rowids) + 1)
			x.rowids[p.ID] = r
		}
		d := doc(r, p)
		if _, err := x.db.Exec(`DELETE FROM fts WHERE rowid = ?`, r); err != nil {
			t.Fatal(err)
		}
		args := []any{r}
		for _, v := range d.Text {
			args = append(args, v)
		}
		if _, err := x.db.Exec(`INSERT INTO fts(rowid, name, tags, domain, owner, description, ports, fields) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, args...); err != nil {
			t.Fatal(err)
		}
		b.Docs = append(b.Docs, d)
	}
	if err := x.Apply(b, nil); err != nil {
		t.Fatal(err)
	}
}

// doc is p as the store's fold hands it to the index.
func doc(rowid int64, p events.DataProduct) Doc {
	desc := ""
	if p.Description != nil {
		desc = *p.Description
	}
	var ports, fields []string
	for _, port := range p.OutputPorts {
		ports = append(ports, port.Name)
		fields = append(fields, port.Fields...)
	}
	return Doc{Rowid: rowid, ID: p.ID, Name: p.Name, Domain: p.Domain, Owner: p.OwnerTeam, State: StateActive,
		Sensitivity: string(p.Sensitivity), Compliance: string(events.Unknown), Tags: p.Tags, Description: desc, Version: p.Version,
		Text: []string{p.Name, strings.Join(p.Tags, " "), p.Domain, p.OwnerTeam, desc, strings.Join(ports, " "), strings.Join(fields, " ")}}
}

// TestApplyWaitsForTheCommit checks that a batch whose commit fails
// leaves the index as it was, and that one whose commit succeeds is
// published with its compliance and quality runs.
func TestApplyWaitsForTheCommit(t *testing.T) {
	x := newTestIndex(t)
	p := events.DataProduct{ID: "sales.orders", Name: "orders", Domain: "sales", OwnerTeam: "team", Sensitivity: events.SensitivityInternal, Tags: []string{"a"}}
	x.apply(t, p)
	q := p
	q.Name = "refunds"
	fail := fmt.Errorf("disk full")
	b := Batch{Docs: []Doc{doc(1, q)}, Compliance: map[string]string{p.ID: "COMPLIANT"}, Runs: []Run{{ProductID: p.ID, At: 1, EventID: "e", Passed: 1, Total: 2}}}
	if err := x.Apply(b, func() error { return fail }); err != fail {
		t.Fatalf("Apply: %v, want the commit's error", err)
	}
	if got := x.Snapshot(); len(got) != 1 || got[0].Name != "orders" || got[0].Compliance != "UNKNOWN" || got[0].QualityScore != nil {
		t.Fatalf("after a failed commit: %+v", got)
	}
	if err := x.Apply(b, func() error { return nil }); err != nil {
		t.Fatal(err)
	}
	got := x.Snapshot()
	if len(got) != 1 || got[0].Name != "refunds" || got[0].Compliance != "COMPLIANT" || got[0].QualityScore == nil || *got[0].QualityScore != 0.5 {
		t.Fatalf("after the commit: %+v", got)
	}
	r, err := x.Search(context.Background(), Params{Query: "refunds "})
	if err != nil || r.Total != 1 {
		t.Fatalf("search for the new name: %+v %v", r, err)
	}
	if r, _ := x.Search(context.Background(), Params{Query: "orders "}); r.Total != 0 {
		t.Fatalf("the old name still matches: %+v", r)
	}
}

// TestSearchSeesWholeBatches runs searches while batches rename every
// product back and forth: each search sees all of a batch or none of it.
func TestSearchSeesWholeBatches(t *testing.T) {
	x := newTestIndex(t)
	const n = 50
	batch := func(word string) Batch {
		var b Batch
		for i := range n {
			p := events.DataProduct{ID: fmt.Sprintf("sales.p%d", i), Name: fmt.Sprintf("%s-%d", word, i), Domain: "sales", OwnerTeam: "team"}
			b.Docs = append(b.Docs, doc(int64(i+1), p))
		}
		return b
	}
	if err := x.Apply(batch("alpha"), nil); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	errs := make(chan error, 4)
	for range cap(errs) {
		go func() {
			for {
				select {
				case <-done:
					errs <- nil
					return
				default:
				}
				for _, q := range []string{"alpha ", "bet"} {
					r, err := x.Search(context.Background(), Params{Query: q})
					if err == nil && r.Total != 0 && r.Total != n {
						err = fmt.Errorf("%q: %d of %d products: a batch seen in part", q, r.Total, n)
					}
					if err != nil {
						errs <- err
						return
					}
				}
			}
		}()
	}
	for i := range 40 {
		if err := x.Apply(batch([]string{"beta", "alpha"}[i%2]), func() error { return nil }); err != nil {
			t.Fatal(err)
		}
	}
	close(done)
	for range cap(errs) {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
}
