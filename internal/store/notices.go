package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"

	"github.com/meshbone/meshbone/pkg/events"
)

// Limits of a notice listing.
const (
	DefaultNotices = 100
	MaxNotices     = 1000
	// NoticesShown is how many notices Product returns of each list.
	NoticesShown = 20
)

// NoticeFilter selects notices; zero fields select all.
type NoticeFilter struct {
	// Product is the product the notices are about.
	Product string
	// Consumer is a recipient: an agreement's consumer id or Kafka
	// principal, an agreement id, or a downstream product's id.
	Consumer string
	// Limit is the most notices returned, newest first: 1 to MaxNotices,
	// 0 for DefaultNotices.
	Limit int
}

// notice folds a notice once: its id is deterministic, so a notice issued
// again is the one already held.
func (f *folder) notice(ctx context.Context, n *events.Notice) (bool, error) {
	r := &n.Recipient
	res, err := f.tx.ExecContext(ctx, `INSERT OR IGNORE INTO notices(notice_id, product_id, issued_at, recipient_id, consumer_id, principal, notice)
		VALUES(?,?,?,?,?,?,?)`, n.NoticeID, n.ProductID, ms(n.IssuedAt), r.ID, strPtr(r.ConsumerID), strPtr(r.Principal), jsonText(n))
	if err != nil {
		return false, err
	}
	k, _ := res.RowsAffected()
	return k > 0, nil
}

// Notices returns the notices f selects, newest first.
func (s *Store) Notices(ctx context.Context, f NoticeFilter) ([]events.Notice, error) {
	switch {
	case f.Limit == 0:
		f.Limit = DefaultNotices
	case f.Limit < 1 || f.Limit > MaxNotices:
		return nil, &ParamError{Field: "limit", Message: fmt.Sprintf("%d is not 1 to %d", f.Limit, MaxNotices)}
	}
	var out []events.Notice
	err := s.readTx(ctx, func(tx *sql.Tx) error {
		var err error
		out, err = queryNotices(ctx, tx, f)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("store: notices: %w", err)
	}
	return out, nil
}

func queryNotices(ctx context.Context, tx *sql.Tx, f NoticeFilter) ([]events.Notice, error) {
	rows, err := tx.QueryContext(ctx, `SELECT notice FROM notices
		WHERE (?1 = '' OR product_id = ?1) AND (?2 = '' OR consumer_id = ?2 OR principal = ?2 OR recipient_id = ?2)
		ORDER BY issued_at DESC, notice_id LIMIT ?3`, f.Product, f.Consumer, f.Limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []events.Notice{}
	for rows.Next() {
		var text string
		if err := rows.Scan(&text); err != nil {
			return nil, err
		}
		var n events.Notice
		if err := json.Unmarshal([]byte(text), &n); err != nil {
			return nil, err
		}
		out = append(out, n)
	}
	return out, rows.Err()
}

// productNotices loads the newest notices about a product (sent to its
// consumers and downstream products) and sent to it as a downstream
// product.
func (s *Store) productNotices(ctx context.Context, tx *sql.Tx, p *Product) error {
	var err error
	if p.Notices, err = queryNotices(ctx, tx, NoticeFilter{Product: p.ID, Limit: NoticesShown}); err != nil {
		return err
	}
	p.NoticesReceived, err = queryNotices(ctx, tx, NoticeFilter{Consumer: p.ID, Limit: NoticesShown})
	return err
}
