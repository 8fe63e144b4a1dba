package store

import (
	"context"
	"database/sql"
	"fmt"
)

// Domain is one domain's products and their compliance.
type Domain struct {
	Name           string `json:"name"`
	Products       int    `json:"products"`
	Active         int    `json:"active"`
	Deprecated     int    `json:"deprecated"`
	Retired        int    `json:"retired"`
	Compliant      int    `json:"compliant"`
	NonCompliant   int    `json:"non_compliant"`
	Unknown        int    `json:"unknown"`
	OpenViolations int    `json:"open_violations"`
}

// Domains returns every domain with a product, by name.
func (s *Store) Domains(ctx context.Context) ([]Domain, error) {
	out := []Domain{}
	err := s.readTx(ctx, func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, `SELECT p.domain, count(*),
			sum(p.state = 'ACTIVE'), sum(p.state = 'DEPRECATED'), sum(p.state = 'RETIRED'),
			sum(COALESCE(c.status, '') = 'COMPLIANT'), sum(COALESCE(c.status, '') = 'NON_COMPLIANT'),
			sum(COALESCE(c.status, '') NOT IN ('COMPLIANT', 'NON_COMPLIANT'))
			FROM `+summaryFrom+` GROUP BY p.domain ORDER BY p.domain`)
		if err != nil {
			return err
		}
		defer rows.Close()
		idx := map[string]int{}
		for rows.Next() {
			var d Domain
			if err := rows.Scan(&d.Name, &d.Products, &d.Active, &d.Deprecated, &d.Retired, &d.Compliant, &d.NonCompliant, &d.Unknown); err != nil {
				return err
			}
			idx[d.Name] = len(out)
			out = append(out, d)
		}
		if err := rows.Err(); err != nil {
			return err
		}
		vrows, err := tx.QueryContext(ctx, `SELECT p.domain, count(*) FROM violations v JOIN products p ON p.id = v.product_id
			WHERE v.status = 'OPEN' GROUP BY p.domain`)
		if err != nil {
			return err
		}
		defer vrows.Close()
		for vrows.Next() {
			var name string
			var n int
			if err := vrows.Scan(&name, &n); err != nil {
				return err
			}
			if i, ok := idx[name]; ok {
				out[i].OpenViolations = n
			}
		}
		return vrows.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("store: domains: %w", err)
	}
	return out, nil
}
