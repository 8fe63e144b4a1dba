package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
)

// Lineage directions.
const (
	DirectionUp   = "up"   // towards the products this one reads
	DirectionDown = "down" // towards the products that read this one
	DirectionBoth = "both"
)

// Lineage limits.
const (
	DefaultLineageDepth = 3
	MaxLineageDepth     = 10
	MaxLineageNodes     = 1000 // a graph stops growing at this many nodes
)

// Graph is the lineage around a product.
type Graph struct {
	Root      string `json:"root"`
	Direction string `json:"direction"`
	Depth     int    `json:"depth"`
	Nodes     []Node `json:"nodes"`
	Edges     []Edge `json:"edges"`
	// Truncated says the graph hit MaxLineageNodes.
	Truncated bool `json:"truncated,omitempty"`
}

// Node is a product in a lineage graph. Level is its distance from the
// root: negative upstream, positive downstream, 0 for the root. An input
// the view holds no product for has Known false.
type Node struct {
	ID         string `json:"id"`
	Name       string `json:"name"`
	Domain     string `json:"domain"`
	State      string `json:"state,omitempty"`
	Compliance string `json:"compliance,omitempty"`
	Known      bool   `json:"known"`
	Level      int    `json:"level"`
}

// Edge says data flows from From (upstream) to To (downstream).
type Edge struct {
	From string `json:"from"`
	To   string `json:"to"`
}

// Lineage returns the graph around id, following direction up to depth
// hops. Cycles are followed once. Bad parameters are *ParamError; a root
// the view does not know is ErrNotFound.
func (s *Store) Lineage(ctx context.Context, id, direction string, depth int) (*Graph, error) {
	switch direction {
	case DirectionUp, DirectionDown, DirectionBoth:
	default:
		return nil, &ParamError{Field: "direction", Message: fmt.Sprintf("%q is not up, down or both", direction)}
	}
	if depth < 1 || depth > MaxLineageDepth {
		return nil, &ParamError{Field: "depth", Message: fmt.Sprintf("%d is not between 1 and %d", depth, MaxLineageDepth)}
	}
	var g *Graph
	err := s.readTx(ctx, func(tx *sql.Tx) error {
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM products WHERE id = ?`, id).Scan(&n); err != nil {
			return err
		}
		if n == 0 {
			return ErrNotFound
		}
		var err error
		g, err = lineage(ctx, tx, id, direction, depth)
		return err
	})
	if errors.Is(err, ErrNotFound) {
		return nil, fmt.Errorf("product %q: %w", id, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("store: lineage %s: %w", id, err)
	}
	return g, nil
}

func lineage(ctx context.Context, tx *sql.Tx, root, direction string, depth int) (*Graph, error) {
	g := &Graph{Root: root, Direction: direction, Depth: depth, Edges: []Edge{}}
	level := map[string]int{root: 0}
	edges := map[Edge]bool{}
	walk := func(up bool) error {
		frontier := []string{root}
		sign := 1
		q := `SELECT upstream, downstream FROM lineage WHERE upstream IN (%s)`
		if up {
			sign = -1
			q = `SELECT upstream, downstream FROM lineage WHERE downstream IN (%s)`
		}
		for d := 1; d <= depth && len(frontier) > 0; d++ {
			var next []string
			for chunk := range slices.Chunk(frontier, 500) {
				args := make([]any, len(chunk))
				for i, c := range chunk {
					args[i] = c
				}
				rows, err := tx.QueryContext(ctx, fmt.Sprintf(q, placeholders(len(chunk))), args...)
				if err != nil {
					return err
				}
				var found []Edge
				for rows.Next() {
					var e Edge
					if err := rows.Scan(&e.From, &e.To); err != nil {
						rows.Close()
						return err
					}
					found = append(found, e)
				}
				rows.Close()
				if err := rows.Err(); err != nil {
					return err
				}
				slices.SortFunc(found, func(a, b Edge) int { return strings.Compare(a.From+"\x00"+a.To, b.From+"\x00"+b.To) })
				for _, e := range found {
					other := e.To
					if up {
						other = e.From
					}
					if _, seen := level[other]; !seen {
						if len(level) >= MaxLineageNodes {
							g.Truncated = true
							continue
						}
						level[other] = sign * d
						next = append(next, other)
					}
					edges[e] = true
				}
			}
			frontier = next
		}
		return nil
	}
	if direction != DirectionDown {
		if err := walk(true); err != nil {
			return nil, err
		}
	}
	if direction != DirectionUp {
		if err := walk(false); err != nil {
			return nil, err
		}
	}
	ids := make([]string, 0, len(level))
	for id := range level {
		ids = append(ids, id)
	}
	info := map[string]Node{}
	for chunk := range slices.Chunk(ids, 500) {
		args := make([]any, len(chunk))
		for i, c := range chunk {
			args[i] = c
		}
		rows, err := tx.QueryContext(ctx, `SELECT p.id, p.name, p.domain, p.state, COALESCE(c.status, 'UNKNOWN') FROM `+summaryFrom+` WHERE p.id IN (`+placeholders(len(chunk))+`)`, args...)
		if err != nil {
			return nil, err
		}
		for rows.Next() {
			var n Node
			if err := rows.Scan(&n.ID, &n.Name, &n.Domain, &n.State, &n.Compliance); err != nil {
				rows.Close()
				return nil, err
			}
			n.Known = true
			info[n.ID] = n
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
	}
	for _, id := range ids {
		n, ok := info[id]
		if !ok {
			// An input the view has no product for: name it from its id.
			n = Node{ID: id, Name: id}
			if d, name, ok := strings.Cut(id, "."); ok {
				n.Domain, n.Name = d, name
			}
		}
		n.Level = level[id]
		g.Nodes = append(g.Nodes, n)
	}
	slices.SortFunc(g.Nodes, func(a, b Node) int {
		if a.Level != b.Level {
			return a.Level - b.Level
		}
		return strings.Compare(a.ID, b.ID)
	})
	for e := range edges {
		g.Edges = append(g.Edges, e)
	}
	slices.SortFunc(g.Edges, func(a, b Edge) int { return strings.Compare(a.From+"\x00"+a.To, b.From+"\x00"+b.To) })
	return g, nil
}
