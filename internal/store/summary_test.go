package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/meshbone/meshbone/internal/store/storetest"
	"github.com/meshbone/meshbone/pkg/events"
)

// TestSummariesMatchTables checks that the summaries search serves from
// memory are what the tables say, for every product: after folds with
// quality runs out of order, before their product and with ties, and after
// a reopen.
func TestSummariesMatchTables(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "view.db")
	s, err := Open(ctx, path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	apply := applier(t, ctx, s)
	stream := storetest.NewStream(200, 5)
	for range 6 {
		var evs []events.Event
		for range 150 {
			evs = append(evs, stream.Next())
		}
		apply(evs...)
	}
	// Runs of a product not yet registered, out of order, tied on
	// observed_at (event_id decides), one without checks.
	late := storetest.Product("sales", "late-runs", storetest.Tags("late"))
	t0 := storetest.T0.Add(time.Hour)
	pass := storetest.Check("c", events.DimensionCompleteness, 1, 0.5)
	fail := storetest.Check("c", events.DimensionCompleteness, 0, 0.5)
	apply(storetest.Quality("q-b", late.ID, "r2", t0.Add(time.Minute), pass, fail),
		storetest.Quality("q-a", late.ID, "r1", t0, pass))
	apply(storetest.Lifecycle("lc-late", events.LifecycleRegistered, late, t0))
	apply(storetest.Quality("q-c", late.ID, "r3", t0.Add(time.Minute), pass, pass, fail, fail),
		storetest.Quality("q-0", late.ID, "r0", t0.Add(-time.Minute), fail))
	empty := storetest.Product("sales", "no-checks", storetest.Tags("empty"))
	apply(storetest.Lifecycle("lc-empty", events.LifecycleRegistered, empty, t0), storetest.Quality("q-e", empty.ID, "r", t0))

	check := func(stage string) {
		t.Helper()
		got := s.idx.Snapshot()
		want := map[string]Summary{}
		err := s.readTx(ctx, func(tx *sql.Tx) error {
			rows, err := tx.QueryContext(ctx, "SELECT "+summaryCols+" FROM "+summaryFrom)
			if err != nil {
				return err
			}
			list, err := scanSummaries(rows)
			for _, sm := range list {
				want[sm.ID] = sm
			}
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != len(want) {
			t.Fatalf("%s: %d summaries in memory, %d products", stage, len(got), len(want))
		}
		for _, sm := range got {
			if w := want[sm.ID]; !reflect.DeepEqual(sm, w) {
				t.Errorf("%s: %s in memory:\n%s\nin the tables:\n%s", stage, sm.ID, show(sm), show(w))
			}
		}
	}
	check("folded")
	for _, sm := range s.idx.Snapshot() {
		switch q := sm.QualityScore; {
		case sm.ID == late.ID && (q == nil || *q != 0.5):
			t.Errorf("late-runs: score %v, want 0.5 (q-c: tied with q-b, later event id)", q)
		case sm.ID == empty.ID && q != nil:
			t.Errorf("no-checks: score %v, want none", *q)
		}
	}
	s.Close()
	if s, err = Open(ctx, path, Options{}); err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	check("reopened")
}

func show(sm Summary) string {
	q := "nil"
	if sm.QualityScore != nil {
		q = fmt.Sprint(*sm.QualityScore)
	}
	return fmt.Sprintf("%+v quality=%s", sm, q)
}

// scanSummaries reads rows of summaryCols, as search did before it served
// summaries from memory.
func scanSummaries(rows *sql.Rows) ([]Summary, error) {
	defer rows.Close()
	out := []Summary{}
	for rows.Next() {
		var (
			sm      Summary
			tags    string
			score   sql.NullFloat64
			updated int64
		)
		if err := rows.Scan(&sm.ID, &sm.Name, &sm.Domain, &sm.Description, &tags, &sm.Version, &sm.Sensitivity, &sm.Compliance, &sm.State, &score, &updated); err != nil {
			return nil, err
		}
		if err := json.Unmarshal([]byte(tags), &sm.Tags); err != nil {
			return nil, fmt.Errorf("product %s: tags: %w", sm.ID, err)
		}
		if score.Valid {
			sm.QualityScore = &score.Float64
		}
		sm.UpdatedAt = time.UnixMilli(updated).UTC()
		out = append(out, sm)
	}
	return out, rows.Err()
}
