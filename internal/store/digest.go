package store

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"fmt"
)

// Digest returns a SHA-256 over the content of every table of the view
// (full-text rows keyed by product id, not rowid) in a fixed order: two
// views folded from the same records have the same digest, whatever order
// their partitions interleaved in. The digests of the single tables are in
// the map, for telling which one differs.
func (s *Store) Digest(ctx context.Context) (string, map[string]string, error) {
	all := sha256.New()
	per := map[string]string{}
	queries := make([]struct{ name, q string }, 0, len(tables)+1)
	for _, t := range tables {
		queries = append(queries, struct{ name, q string }{t.name, "SELECT " + t.cols + " FROM " + t.name + " ORDER BY " + t.order})
	}
	queries = append(queries, struct{ name, q string }{"products_fts", `SELECT p.id, f.name, f.tags, f.domain, f.owner, f.description, f.ports, f.fields
		FROM products_fts f JOIN products p ON p.rowid = f.rowid ORDER BY p.id`})
	err := s.readTx(ctx, func(tx *sql.Tx) error {
		for _, q := range queries {
			h := sha256.New()
			rows, err := tx.QueryContext(ctx, q.q)
			if err != nil {
				return fmt.Errorf("%s: %w", q.name, err)
			}
			cols, _ := rows.Columns()
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			for rows.Next() {
				if err := rows.Scan(ptrs...); err != nil {
					rows.Close()
					return err
				}
				for _, v := range vals {
					fmt.Fprintf(h, "%T:%v\x1f", v, v)
				}
				h.Write([]byte{'\n'})
			}
			rows.Close()
			if err := rows.Err(); err != nil {
				return err
			}
			sum := h.Sum(nil)
			per[q.name] = hex.EncodeToString(sum)
			fmt.Fprintf(all, "%s=%x\n", q.name, sum)
		}
		return nil
	})
	if err != nil {
		return "", nil, fmt.Errorf("store: digest: %w", err)
	}
	return hex.EncodeToString(all.Sum(nil)), per, nil
}
