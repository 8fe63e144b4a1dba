package store

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
)

func placeholders(n int) string {
	return strings.TrimSuffix(strings.Repeat("?,", n), ",")
}

// stmts are the fold's statements, prepared once on the writer connection.
type stmts struct {
	insVersion, getState, upsertProduct, upsertDescriptor,
	delTags, insTag, delPorts, insPort, delLineage, insLineage,
	insSchema, getSchema, insQuality, upsertViolation,
	upsertCompliance, insAudit, countAudit, pruneAudit,
	upsertOffset *sql.Stmt
	all []*sql.Stmt
}

func prepare(ctx context.Context, db *sql.DB) (*stmts, error) {
	s := &stmts{}
	for _, p := range []struct {
		dst **sql.Stmt
		q   string
	}{
		{&s.insVersion, `INSERT OR IGNORE INTO product_versions(event_id, product_id, type, version, occurred_at, actor, reason, successor) VALUES(?,?,?,?,?,?,?,?)`},
		// getState reads, in one round trip, what a lifecycle event needs:
		// the product's current state (NULLs when new) and its compliance
		// (for the search index).
		{&s.getState, `SELECT p.state, p.registered_at, p.reason, p.successor, p.sunset_at,
				(SELECT status FROM compliance WHERE product_id = ?1)
			FROM (SELECT 1) AS one
			LEFT JOIN products p ON p.id = ?1`},
		{&s.upsertProduct, `INSERT INTO products(id, name, domain, owner_team, description, version, sensitivity, state, tags, registered_at, updated_at, reason, successor, sunset_at)
			VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?,?)
			ON CONFLICT(id) DO UPDATE SET name=excluded.name, domain=excluded.domain, owner_team=excluded.owner_team,
				description=excluded.description, version=excluded.version, sensitivity=excluded.sensitivity, state=excluded.state,
				tags=excluded.tags, registered_at=excluded.registered_at, updated_at=excluded.updated_at, reason=excluded.reason,
				successor=excluded.successor, sunset_at=excluded.sunset_at
			RETURNING rowid`},
		{&s.upsertDescriptor, `INSERT OR REPLACE INTO descriptors(product_id, descriptor) VALUES(?,?)`},
		{&s.delTags, `DELETE FROM product_tags WHERE product_id = ?`},
		{&s.insTag, `INSERT OR IGNORE INTO product_tags(product_id, tag) SELECT ?1, value FROM json_each(?2)`},
		{&s.delPorts, `DELETE FROM ports WHERE product_id = ?`},
		{&s.insPort, `INSERT OR REPLACE INTO ports(product_id, name, topic, schema_subject, schema_id, format, partitions, fields) VALUES(?,?,?,?,?,?,?,?)`},
		{&s.delLineage, `DELETE FROM lineage WHERE downstream = ?`},
		{&s.insLineage, `INSERT OR IGNORE INTO lineage(upstream, downstream) SELECT value, ?1 FROM json_each(?2)`},
		{&s.insSchema, `INSERT OR IGNORE INTO schemas(id, schema) VALUES(?,?)`},
		{&s.getSchema, `SELECT schema FROM schemas WHERE id = ?`},
		{&s.insQuality, `INSERT OR IGNORE INTO quality_runs(event_id, product_id, product_version, run_id, observed_at, watermark, passed, total, checks, origin, port, window_start, window_end) VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?)`},
		{&s.upsertViolation, `INSERT INTO violations(violation_id, product_id, domain, policy_id, policy_version, scope, severity, status, message, evidence,
				source_event_id, source_topic, source_partition, source_offset, detected_at, resolved_at)
			VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)
			ON CONFLICT(violation_id) DO UPDATE SET status = excluded.status, resolved_at = excluded.resolved_at`},
		{&s.upsertCompliance, `INSERT OR REPLACE INTO compliance(product_id, product_version, domain, status, open_violations, evaluated_at) VALUES(?,?,?,?,?,?)`},
		{&s.insAudit, `INSERT OR IGNORE INTO audit(event_id, actor, domain, action, target, outcome, at, details) VALUES(?,?,?,?,?,?,?,?)`},
		{&s.countAudit, `SELECT count(*) FROM audit`},
		{&s.pruneAudit, `DELETE FROM audit WHERE event_id IN (SELECT event_id FROM audit ORDER BY at, event_id LIMIT ?)`},
		{&s.upsertOffset, `INSERT INTO offsets(topic, partition, offset) VALUES(?,?,?) ON CONFLICT(topic, partition) DO UPDATE SET offset = excluded.offset`},
	} {
		st, err := db.PrepareContext(ctx, p.q)
		if err != nil {
			s.close()
			return nil, fmt.Errorf("store: prepare: %w\n%s", err, p.q)
		}
		*p.dst = st
		s.all = append(s.all, st)
	}
	return s, nil
}

func (s *stmts) close() {
	for _, st := range s.all {
		st.Close()
	}
}

// bind returns the statements bound to tx.
func (s *stmts) bind(ctx context.Context, tx *sql.Tx) *stmts {
	b := &stmts{}
	for _, p := range []struct{ dst, src **sql.Stmt }{
		{&b.insVersion, &s.insVersion}, {&b.getState, &s.getState}, {&b.upsertProduct, &s.upsertProduct},
		{&b.upsertDescriptor, &s.upsertDescriptor}, {&b.delTags, &s.delTags},
		{&b.insTag, &s.insTag}, {&b.delPorts, &s.delPorts}, {&b.insPort, &s.insPort}, {&b.delLineage, &s.delLineage},
		{&b.insLineage, &s.insLineage}, {&b.insSchema, &s.insSchema},
		{&b.getSchema, &s.getSchema}, {&b.insQuality, &s.insQuality},
		{&b.upsertViolation, &s.upsertViolation}, {&b.upsertCompliance, &s.upsertCompliance},
		{&b.insAudit, &s.insAudit}, {&b.countAudit, &s.countAudit},
		{&b.pruneAudit, &s.pruneAudit}, {&b.upsertOffset, &s.upsertOffset},
	} {
		*p.dst = tx.StmtContext(ctx, *p.src)
	}
	return b
}
