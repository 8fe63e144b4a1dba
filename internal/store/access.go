package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/meshbone/meshbone/pkg/events"
)

// Agreement is an access agreement as its last event states it.
type Agreement struct {
	events.AccessAgreement
	Status events.AgreementStatus `json:"status"`
	// Reason is the last event's reason: why a request waits, was rejected
	// or revoked.
	Reason    *string   `json:"reason,omitempty"`
	UpdatedAt time.Time `json:"updated_at"`
}

// PortAccess is who reads one output port: the consumers whose agreement is
// in force (APPROVED or GRANTED) and the requests that wait for the owning
// domain, each oldest request first. An agreement on several ports is
// listed under each.
type PortAccess struct {
	Port      string      `json:"port"`
	Consumers []Agreement `json:"consumers"`
	Pending   []Agreement `json:"pending"`
}

// Access is who reads a product, port by port: every output port of the
// product, then any port it no longer has that an open agreement still
// names.
type Access struct {
	ProductID string       `json:"product_id"`
	Ports     []PortAccess `json:"ports"`
}

// Agreements returns each agreement of a once (an agreement on several
// ports is listed under each): consumers and pending requests, in port
// order.
func (a *Access) Agreements() []Agreement {
	var out []Agreement
	seen := map[string]bool{}
	for _, p := range a.Ports {
		for _, list := range [][]Agreement{p.Consumers, p.Pending} {
			for _, ag := range list {
				if !seen[ag.AgreementID] {
					seen[ag.AgreementID] = true
					out = append(out, ag)
				}
			}
		}
	}
	return out
}

// String writes a as one line per port, "port: consumers | pending", each
// agreement as id/status.
func (a *Access) String() string {
	var b strings.Builder
	for _, p := range a.Ports {
		fmt.Fprintf(&b, "%s:", p.Port)
		for _, ag := range p.Consumers {
			fmt.Fprintf(&b, " %s/%s", ag.AgreementID, ag.Status)
		}
		b.WriteString(" |")
		for _, ag := range p.Pending {
			fmt.Fprintf(&b, " %s/%s", ag.AgreementID, ag.Status)
		}
		b.WriteString("\n")
	}
	return b.String()
}

// access folds an access event: recorded once by id, and the agreement
// replaced by the event's statement of it.
func (f *folder) access(ctx context.Context, e *events.AccessEvent) (bool, error) {
	status, ok := e.Type.Status()
	if !ok {
		return false, fmt.Errorf("access event type %q is not one the view knows", e.Type)
	}
	a := &e.Agreement
	res, err := f.tx.ExecContext(ctx, `INSERT OR IGNORE INTO access_events(event_id, agreement_id, product_id, type, actor, occurred_at, reason)
		VALUES(?,?,?,?,?,?,?)`, e.EventID, a.AgreementID, a.ProductID, string(e.Type), e.Actor, ms(e.OccurredAt), strPtr(e.Reason))
	if err != nil {
		return false, err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return false, nil
	}
	agreement := *a
	if agreement.Ports == nil {
		agreement.Ports = []string{}
	}
	_, err = f.tx.ExecContext(ctx, `INSERT OR REPLACE INTO agreements(agreement_id, product_id, status, agreement, reason, updated_at)
		VALUES(?,?,?,?,?,?)`, a.AgreementID, a.ProductID, status, jsonText(agreement), strPtr(e.Reason), ms(e.OccurredAt))
	return err == nil, err
}

// Access returns who reads product id, port by port; ErrNotFound if the
// view holds no such product.
func (s *Store) Access(ctx context.Context, id string) (*Access, error) {
	var acc *Access
	err := s.readTx(ctx, func(tx *sql.Tx) error {
		var ports []string
		rows, err := tx.QueryContext(ctx, `SELECT name FROM ports WHERE product_id = ? ORDER BY name`, id)
		if err != nil {
			return err
		}
		for rows.Next() {
			var n string
			if err := rows.Scan(&n); err != nil {
				rows.Close()
				return err
			}
			ports = append(ports, n)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		if len(ports) == 0 {
			var one int
			if err := tx.QueryRowContext(ctx, `SELECT 1 FROM products WHERE id = ?`, id).Scan(&one); errors.Is(err, sql.ErrNoRows) {
				return ErrNotFound
			} else if err != nil {
				return err
			}
		}
		acc, err = accessOf(ctx, tx, id, ports)
		return err
	})
	if errors.Is(err, ErrNotFound) {
		return nil, fmt.Errorf("product %q: %w", id, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("store: access of %s: %w", id, err)
	}
	return acc, nil
}

// accessOf reads the open agreements of product id and lays them out by
// port: ports first, in their order, then the ports only agreements name.
func accessOf(ctx context.Context, tx *sql.Tx, id string, ports []string) (*Access, error) {
	rows, err := tx.QueryContext(ctx, `SELECT status, agreement, reason, updated_at FROM agreements
		WHERE product_id = ? AND status IN (?, ?, ?)`, id, events.AgreementPending, events.AgreementApproved, events.AgreementGranted)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var open []Agreement
	for rows.Next() {
		var a Agreement
		var text string
		var reason sql.NullString
		var updated int64
		if err := rows.Scan(&a.Status, &text, &reason, &updated); err != nil {
			return nil, err
		}
		if err := json.Unmarshal([]byte(text), &a.AccessAgreement); err != nil {
			return nil, err
		}
		a.Reason, a.UpdatedAt = sPtr(reason), tm(updated)
		open = append(open, a)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	slices.SortFunc(open, func(a, b Agreement) int {
		if c := a.RequestedAt.Compare(b.RequestedAt); c != 0 {
			return c
		}
		return strings.Compare(a.AgreementID, b.AgreementID)
	})
	acc := &Access{ProductID: id, Ports: []PortAccess{}}
	at := map[string]int{}
	add := func(port string) int {
		i, ok := at[port]
		if !ok {
			i = len(acc.Ports)
			at[port] = i
			acc.Ports = append(acc.Ports, PortAccess{Port: port, Consumers: []Agreement{}, Pending: []Agreement{}})
		}
		return i
	}
	for _, p := range ports {
		add(p)
	}
	var extra []string
	for _, a := range open {
		for _, p := range a.Ports {
			if _, ok := at[p]; !ok && !slices.Contains(extra, p) {
				extra = append(extra, p)
			}
		}
	}
	slices.Sort(extra)
	for _, p := range extra {
		add(p)
	}
	for _, a := range open {
		for _, p := range a.Ports {
			pa := &acc.Ports[at[p]]
			if a.Status == events.AgreementPending {
				pa.Pending = append(pa.Pending, a)
			} else {
				pa.Consumers = append(pa.Consumers, a)
			}
		}
	}
	return acc, nil
}

// productAccess loads the access of a product Product has read the ports
// of.
func (s *Store) productAccess(ctx context.Context, tx *sql.Tx, p *Product) error {
	ports := make([]string, 0, len(p.Ports))
	for _, pt := range p.Ports {
		ports = append(ports, pt.Name)
	}
	acc, err := accessOf(ctx, tx, p.ID, ports)
	if err != nil {
		return err
	}
	p.Access = *acc
	return nil
}
