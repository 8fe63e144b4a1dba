package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"sync"

	"github.com/meshbone/meshbone/internal/store/searchindex"
	_ "modernc.org/sqlite" // the "sqlite" database/sql driver (pure Go, FTS5 built in)
)

// Defaults of Options.
const (
	DefaultReaders    = 4
	DefaultAuditKeep  = 10000
	DefaultCacheKiB   = 256 << 10
	DefaultQualityRun = 30
)

// Options configure a Store.
type Options struct {
	// Readers is the size of the read connection pool; default 4.
	Readers int
	// AuditKeep is how many audit events the view keeps (the newest by
	// time); default 10000.
	AuditKeep int
	// QualityRuns is how many recent runs Product returns; default 30.
	QualityRuns int
}

func (o *Options) defaults() error {
	if o.Readers == 0 {
		o.Readers = DefaultReaders
	}
	if o.AuditKeep == 0 {
		o.AuditKeep = DefaultAuditKeep
	}
	if o.QualityRuns == 0 {
		o.QualityRuns = DefaultQualityRun
	}
	switch {
	case o.Readers < 1:
		return fmt.Errorf("store: readers %d: must be at least 1", o.Readers)
	case o.AuditKeep < 1:
		return fmt.Errorf("store: audit keep %d: must be at least 1", o.AuditKeep)
	case o.QualityRuns < 1:
		return fmt.Errorf("store: quality runs %d: must be at least 1", o.QualityRuns)
	}
	return nil
}

// Store is the discovery view in one SQLite file.
type Store struct {
	path string
	opts Options
	w    *sql.DB // the single writer connection
	r    *sql.DB // the reader pool

	wmu   sync.Mutex // serializes Apply (the writer has one connection anyway)
	stmts *stmts
	known map[int32]bool // schema ids present in the schemas table
	fold  *folder
	// written is, by product id, what the product's last lifecycle event
	// wrote (see folder.lifecycle); Apply reads and updates it under wmu.
	written map[string]written
	idx     *searchindex.Index // updated by Apply in step with its commit
}

// ErrSchemaVersion is returned by Open for a database written by another
// layout version.
var ErrSchemaVersion = errors.New("store: database has another schema version")

// Open opens (creating if needed) the view at path.
func Open(ctx context.Context, path string, opts Options) (*Store, error) {
	if path == "" {
		return nil, errors.New("store: database path is empty")
	}
	if err := opts.defaults(); err != nil {
		return nil, err
	}
	w, err := sql.Open("sqlite", dsn(path, true))
	if err != nil {
		return nil, fmt.Errorf("store: open %s: %w", path, err)
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxLifetime(0)
	tok, err := searchindex.LearnTokenizer()
	if err != nil {
		w.Close()
		return nil, err
	}
	s := &Store{path: path, opts: opts, w: w, known: map[int32]bool{}, written: map[string]written{}}
	s.idx = searchindex.New(tok, fullText{s})
	if err := s.migrate(ctx); err != nil {
		w.Close()
		return nil, err
	}
	r, err := sql.Open("sqlite", dsn(path, false))
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("store: open %s: %w", path, err)
	}
	r.SetMaxOpenConns(opts.Readers)
	r.SetMaxIdleConns(opts.Readers)
	s.r = r
	if s.stmts, err = prepare(ctx, w); err != nil {
		s.Close()
		return nil, err
	}
	s.fold = &folder{s: s}
	if err := s.loadKnownSchemas(ctx); err != nil {
		s.Close()
		return nil, err
	}
	if err := s.load(ctx); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// Remove deletes the database at path and its WAL files, for a rebuild. A
// missing file is not an error.
func Remove(path string) error {
	for _, p := range []string{path, path + "-wal", path + "-shm", path + "-journal"} {
		if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("store: remove %s: %w", p, err)
		}
	}
	return nil
}

// WriterDSN is the database/sql data source name the store's single writer
// opens path with: WAL, synchronous NORMAL, a 256 MiB page cache and a WAL
// checkpoint every 64 MiB. The fold benchmark's bare-insert baseline opens
// its database the same way, so the ratio measures the fold's own work.
func WriterDSN(path string) string { return dsn(path, true) }

func dsn(path string, writer bool) string {
	q := url.Values{}
	q.Add("_pragma", "busy_timeout(10000)")
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "synchronous(NORMAL)")
	q.Add("_pragma", "temp_store(MEMORY)")
	if writer {
		q.Add("_pragma", fmt.Sprintf("cache_size(-%d)", DefaultCacheKiB))
		// Checkpoint the WAL every 16,384 pages (64 MiB) rather than
		// SQLite's 1,000: a page the fold rewrites batch after batch (the
		// indexes', a product's) is copied into the database once per
		// checkpoint, not once per few batches. On a 2-core machine this
		// folds 10-18% faster than 4,096 pages did.
		q.Add("_pragma", "wal_autocheckpoint(16384)")
		q.Set("_txlock", "immediate")
	} else {
		q.Add("_pragma", "cache_size(-16384)")
		q.Add("_pragma", "query_only(1)")
	}
	return "file:" + path + "?" + q.Encode()
}

func (s *Store) migrate(ctx context.Context) error {
	var v int
	if err := s.w.QueryRowContext(ctx, `PRAGMA user_version`).Scan(&v); err != nil {
		return fmt.Errorf("store: open %s: %w", s.path, err)
	}
	switch v {
	case SchemaVersion:
		return nil
	case 0:
	default:
		return fmt.Errorf("%w: %s has version %d, this indexer writes %d; rebuild it from the topics", ErrSchemaVersion, s.path, v, SchemaVersion)
	}
	var n int
	if err := s.w.QueryRowContext(ctx, `SELECT count(*) FROM sqlite_master`).Scan(&n); err != nil {
		return fmt.Errorf("store: open %s: %w", s.path, err)
	}
	if n > 0 {
		return fmt.Errorf("%w: %s holds tables but no version; is it an indexer database?", ErrSchemaVersion, s.path)
	}
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	for _, q := range ddl {
		if _, err := tx.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("store: create schema: %w\n%s", err, q)
		}
	}
	if _, err := tx.ExecContext(ctx, fmt.Sprintf(`PRAGMA user_version = %d`, SchemaVersion)); err != nil {
		return err
	}
	return tx.Commit()
}

func (s *Store) loadKnownSchemas(ctx context.Context) error {
	rows, err := s.w.QueryContext(ctx, `SELECT id FROM schemas`)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var id int32
		if err := rows.Scan(&id); err != nil {
			return err
		}
		s.known[id] = true
	}
	return rows.Err()
}

// Path is the database file.
func (s *Store) Path() string { return s.path }

// Ping checks that the database answers.
func (s *Store) Ping(ctx context.Context) error { return s.r.PingContext(ctx) }

// Close closes the database.
func (s *Store) Close() error {
	var errs []error
	if s.stmts != nil {
		s.stmts.close()
	}
	if s.r != nil {
		errs = append(errs, s.r.Close())
	}
	errs = append(errs, s.w.Close())
	return errors.Join(errs...)
}

// Offsets returns the last offset folded per topic and partition.
func (s *Store) Offsets(ctx context.Context) (map[string]map[int32]int64, error) {
	rows, err := s.w.QueryContext(ctx, `SELECT topic, partition, offset FROM offsets`)
	if err != nil {
		return nil, fmt.Errorf("store: read offsets: %w", err)
	}
	defer rows.Close()
	out := map[string]map[int32]int64{}
	for rows.Next() {
		var t string
		var p int32
		var o int64
		if err := rows.Scan(&t, &p, &o); err != nil {
			return nil, err
		}
		if out[t] == nil {
			out[t] = map[int32]int64{}
		}
		out[t][p] = o
	}
	return out, rows.Err()
}

// readTx runs fn in a read transaction on the reader pool: one consistent
// snapshot.
func (s *Store) readTx(ctx context.Context, fn func(*sql.Tx) error) error {
	tx, err := s.r.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return fmt.Errorf("store: begin read: %w", err)
	}
	defer tx.Rollback()
	return fn(tx)
}
