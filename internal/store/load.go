package store

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/meshbone/meshbone/internal/store/searchindex"
)

// loadChunk is how many products or quality runs load hands the search
// index at a time.
const loadChunk = 8192

// load brings back at Open what the view keeps in memory beside its
// tables: the search index (every product with its full-text row, and
// each product's latest quality run) and the tags the fold last wrote of
// each product.
func (s *Store) load(ctx context.Context) error {
	rows, err := s.w.QueryContext(ctx, `SELECT p.rowid, p.id, p.name, p.domain, p.owner_team, p.state, p.sensitivity, COALESCE(c.status, 'UNKNOWN'), p.tags,
			p.description, p.version, p.updated_at, f.name, f.tags, f.domain, f.owner, f.description, f.ports, f.fields
		FROM products p LEFT JOIN compliance c ON c.product_id = p.id LEFT JOIN products_fts f ON f.rowid = p.rowid`)
	if err != nil {
		return fmt.Errorf("store: load the search index: %w", err)
	}
	defer rows.Close()
	var b searchindex.Batch
	for rows.Next() {
		var (
			d      searchindex.Doc
			tagsJS string
			text   [7]*string
		)
		if err := rows.Scan(&d.Rowid, &d.ID, &d.Name, &d.Domain, &d.Owner, &d.State, &d.Sensitivity, &d.Compliance, &tagsJS,
			&d.Description, &d.Version, &d.UpdatedAt, &text[0], &text[1], &text[2], &text[3], &text[4], &text[5], &text[6]); err != nil {
			return fmt.Errorf("store: load the search index: %w", err)
		}
		if err := json.Unmarshal([]byte(tagsJS), &d.Tags); err != nil {
			return fmt.Errorf("store: product %s: tags: %w", d.ID, err)
		}
		if text[0] != nil { // the product has a full-text row
			d.Text = make([]string, len(text))
			for i, t := range text {
				if t != nil {
					d.Text[i] = *t
				}
			}
		}
		s.written[d.ID] = written{tags: d.Tags}
		b.Docs = append(b.Docs, d)
		if err := s.feed(&b, false); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("store: load the search index: %w", err)
	}
	if err := s.feed(&b, true); err != nil {
		return err
	}
	return s.loadQuality(ctx)
}

// feed hands the search index what b holds once it holds loadChunk
// products or runs, or at the last call, and empties it.
func (s *Store) feed(b *searchindex.Batch, last bool) error {
	if !last && len(b.Docs) < loadChunk && len(b.Runs) < loadChunk {
		return nil
	}
	err := s.idx.Apply(*b, nil)
	b.Docs, b.Runs = b.Docs[:0], b.Runs[:0]
	return err
}

// loadQuality hands the search index every quality run, a chunk at a time:
// it keeps each product's latest.
func (s *Store) loadQuality(ctx context.Context) error {
	rows, err := s.w.QueryContext(ctx, `SELECT product_id, observed_at, event_id, passed, total FROM quality_runs`)
	if err != nil {
		return fmt.Errorf("store: load the quality scores: %w", err)
	}
	defer rows.Close()
	var b searchindex.Batch
	for rows.Next() {
		var r searchindex.Run
		if err := rows.Scan(&r.ProductID, &r.At, &r.EventID, &r.Passed, &r.Total); err != nil {
			return fmt.Errorf("store: load the quality scores: %w", err)
		}
		b.Runs = append(b.Runs, r)
		if err := s.feed(&b, false); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("store: load the quality scores: %w", err)
	}
	return s.feed(&b, true)
}
