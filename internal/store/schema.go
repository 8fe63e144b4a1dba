package store

import "github.com/meshbone/meshbone/internal/store/searchindex"

// SchemaVersion is the layout version written to PRAGMA user_version. A
// database with another version is refused; rebuild it from the topics.
const SchemaVersion = 4

// ddl creates the view. Times are Unix milliseconds (the contracts'
// timestamp-millis), so they sort and compare as integers.
var ddl = []string{
	// products: the current state of each product, from its lifecycle
	// events only (compliance and quality have their own tables; search
	// filters and counts them in memory).
	`CREATE TABLE products (
		id            TEXT PRIMARY KEY,
		name          TEXT NOT NULL,
		domain        TEXT NOT NULL,
		owner_team    TEXT NOT NULL,
		description   TEXT NOT NULL,
		version       TEXT NOT NULL,
		sensitivity   TEXT NOT NULL,
		state         TEXT NOT NULL,
		tags          TEXT NOT NULL,          -- JSON array
		registered_at INTEGER NOT NULL,
		updated_at    INTEGER NOT NULL,
		reason        TEXT,
		successor     TEXT,
		sunset_at     INTEGER
	)`,
	`CREATE INDEX products_domain ON products(domain)`,
	// descriptors: each product's descriptor as last published, apart from
	// products so the rows search reads (and quality and compliance
	// update) stay small.
	`CREATE TABLE descriptors (
		product_id TEXT PRIMARY KEY,
		descriptor TEXT NOT NULL               -- JSON of events.DataProduct
	)`,
	`CREATE TABLE product_tags (
		product_id TEXT NOT NULL,
		tag        TEXT NOT NULL,
		PRIMARY KEY (product_id, tag)
	) WITHOUT ROWID`,
	`CREATE INDEX product_tags_tag ON product_tags(tag, product_id)`,
	// product_versions: every lifecycle event, the version history.
	`CREATE TABLE product_versions (
		event_id    TEXT PRIMARY KEY,
		product_id  TEXT NOT NULL,
		type        TEXT NOT NULL,
		version     TEXT NOT NULL,
		occurred_at INTEGER NOT NULL,
		actor       TEXT NOT NULL,
		reason      TEXT,
		successor   TEXT
	)`,
	`CREATE INDEX product_versions_product ON product_versions(product_id, occurred_at)`,
	`CREATE TABLE ports (
		product_id     TEXT NOT NULL,
		name           TEXT NOT NULL,
		topic          TEXT NOT NULL,
		schema_subject TEXT NOT NULL,
		schema_id      INTEGER,
		format         TEXT NOT NULL,
		partitions     INTEGER NOT NULL,
		fields         TEXT NOT NULL,          -- JSON array of Field
		PRIMARY KEY (product_id, name)
	) WITHOUT ROWID`,
	// schemas: registry schemas by id (immutable), fetched once.
	`CREATE TABLE schemas (
		id     INTEGER PRIMARY KEY,
		schema TEXT NOT NULL
	)`,
	// lineage: upstream -> downstream, from each product's inputs.
	`CREATE TABLE lineage (
		upstream   TEXT NOT NULL,
		downstream TEXT NOT NULL,
		PRIMARY KEY (downstream, upstream)
	) WITHOUT ROWID`,
	`CREATE INDEX lineage_upstream ON lineage(upstream, downstream)`,
	`CREATE TABLE quality_runs (
		event_id        TEXT PRIMARY KEY,
		product_id      TEXT NOT NULL,
		product_version TEXT NOT NULL,
		run_id          TEXT NOT NULL,
		observed_at     INTEGER NOT NULL,
		watermark       INTEGER,
		passed          INTEGER NOT NULL,
		total           INTEGER NOT NULL,
		checks          TEXT NOT NULL,         -- JSON array of events.QualityCheck
		origin          TEXT NOT NULL,         -- REPORTED (also when the event says nothing) or OBSERVED
		port            TEXT,                  -- the port an observed run measured
		window_start    INTEGER,               -- and its event-time window [start, end)
		window_end      INTEGER
	)`,
	`CREATE INDEX quality_runs_product ON quality_runs(product_id, observed_at, event_id)`,
	`CREATE TABLE violations (
		violation_id     TEXT PRIMARY KEY,
		product_id       TEXT NOT NULL,
		domain           TEXT NOT NULL,
		policy_id        TEXT NOT NULL,
		policy_version   TEXT NOT NULL,
		scope            TEXT NOT NULL,
		severity         TEXT NOT NULL,
		status           TEXT NOT NULL,
		message          TEXT NOT NULL,
		evidence         TEXT NOT NULL,        -- JSON object
		source_event_id  TEXT NOT NULL,
		source_topic     TEXT NOT NULL,
		source_partition INTEGER NOT NULL,
		source_offset    INTEGER NOT NULL,
		detected_at      INTEGER NOT NULL,
		resolved_at      INTEGER
	)`,
	`CREATE INDEX violations_product ON violations(product_id, status, detected_at)`,
	`CREATE TABLE compliance (
		product_id      TEXT PRIMARY KEY,
		product_version TEXT NOT NULL,
		domain          TEXT NOT NULL,
		status          TEXT NOT NULL,
		open_violations TEXT NOT NULL,         -- JSON array of events.OpenViolation
		evaluated_at    INTEGER NOT NULL
	)`,
	`CREATE TABLE audit (
		event_id TEXT PRIMARY KEY,
		actor    TEXT NOT NULL,
		domain   TEXT NOT NULL,
		action   TEXT NOT NULL,
		target   TEXT NOT NULL,
		outcome  TEXT NOT NULL,
		at       INTEGER NOT NULL,
		details  TEXT NOT NULL                 -- JSON object
	)`,
	`CREATE INDEX audit_target ON audit(target, at)`,
	`CREATE INDEX audit_at ON audit(at, event_id)`,
	// access_events: every access event folded, by id (a redelivered event
	// is skipped), the history of the agreements.
	`CREATE TABLE access_events (
		event_id     TEXT PRIMARY KEY,
		agreement_id TEXT NOT NULL,
		product_id   TEXT NOT NULL,
		type         TEXT NOT NULL,
		actor        TEXT NOT NULL,
		occurred_at  INTEGER NOT NULL,
		reason       TEXT
	)`,
	`CREATE INDEX access_events_agreement ON access_events(agreement_id, occurred_at)`,
	// agreements: each access agreement as its last event states it. The
	// events of one agreement share its product's key, hence a partition,
	// so the last folded is the last published.
	`CREATE TABLE agreements (
		agreement_id TEXT PRIMARY KEY,
		product_id   TEXT NOT NULL,
		status       TEXT NOT NULL,
		agreement    TEXT NOT NULL,            -- JSON of events.AccessAgreement
		reason       TEXT,
		updated_at   INTEGER NOT NULL
	)`,
	`CREATE INDEX agreements_product ON agreements(product_id, status)`,
	// notices: every notice, by its deterministic id (a notice sent again
	// is the same row), with the recipient's ids to filter by.
	`CREATE TABLE notices (
		notice_id    TEXT PRIMARY KEY,
		product_id   TEXT NOT NULL,
		issued_at    INTEGER NOT NULL,
		recipient_id TEXT NOT NULL,
		consumer_id  TEXT,
		principal    TEXT,
		notice       TEXT NOT NULL             -- JSON of events.Notice
	)`,
	`CREATE INDEX notices_product ON notices(product_id, issued_at)`,
	`CREATE INDEX notices_consumer ON notices(consumer_id, issued_at)`,
	// offsets: the last offset folded per topic-partition.
	`CREATE TABLE offsets (
		topic     TEXT NOT NULL,
		partition INTEGER NOT NULL,
		offset    INTEGER NOT NULL,
		PRIMARY KEY (topic, partition)
	) WITHOUT ROWID`,
	// products_fts: full text; rowid = products.rowid. The search index
	// answers its matches from memory (searchindex) and asks it for the
	// text it cannot tokenize. Column weights are in rankConfig.
	`CREATE VIRTUAL TABLE products_fts USING fts5(
		name, tags, domain, owner, description, ports, fields,
		tokenize = '` + searchindex.FTS5Tokenizer + `'
	)`,
	rankConfig,
}

// rankConfig makes ORDER BY rank use bm25 with the name weighted highest,
// then tags, domain, owner, description, port names and schema fields.
// Search no longer orders by rank (searchindex ranks in memory, with the
// same weights for name, tags, domain and owner); the setting stays so
// that databases of this SchemaVersion keep one layout.
const rankConfig = `INSERT INTO products_fts(products_fts, rank) VALUES('rank', 'bm25(10.0, 5.0, 4.0, 3.0, 2.0, 2.0, 1.0)')`

// tables lists every table of the view with the columns and order that
// Digest and Reset use (rowids are left out: they depend on the order
// partitions interleave, which the view does not).
var tables = []struct {
	name, cols, order string
}{
	{"products", "id, name, domain, owner_team, description, version, sensitivity, state, tags, registered_at, updated_at, reason, successor, sunset_at", "id"},
	{"descriptors", "product_id, descriptor", "product_id"},
	{"product_tags", "product_id, tag", "product_id, tag"},
	{"product_versions", "event_id, product_id, type, version, occurred_at, actor, reason, successor", "event_id"},
	{"ports", "product_id, name, topic, schema_subject, schema_id, format, partitions, fields", "product_id, name"},
	{"schemas", "id, schema", "id"},
	{"lineage", "upstream, downstream", "downstream, upstream"},
	{"quality_runs", "event_id, product_id, product_version, run_id, observed_at, watermark, passed, total, checks, origin, port, window_start, window_end", "event_id"},
	{"violations", "violation_id, product_id, domain, policy_id, policy_version, scope, severity, status, message, evidence, source_event_id, source_topic, source_partition, source_offset, detected_at, resolved_at", "violation_id"},
	{"compliance", "product_id, product_version, domain, status, open_violations, evaluated_at", "product_id"},
	{"audit", "event_id, actor, domain, action, target, outcome, at, details", "event_id"},
	{"access_events", "event_id, agreement_id, product_id, type, actor, occurred_at, reason", "event_id"},
	{"agreements", "agreement_id, product_id, status, agreement, reason, updated_at", "agreement_id"},
	{"notices", "notice_id, product_id, issued_at, recipient_id, consumer_id, principal, notice", "notice_id"},
	{"offsets", "topic, partition, offset", "topic, partition"},
}
