package store

import (
	"cmp"
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

// summaryCols are a Summary's columns over summaryFrom: compliance from its
// table, the quality score from the latest run (passed / total checks).
const (
	summaryCols = `p.id, p.name, p.domain, p.description, p.tags, p.version, p.sensitivity,
		COALESCE(c.status, 'UNKNOWN'), p.state,
		(SELECT CAST(q.passed AS REAL) / q.total FROM quality_runs q WHERE q.product_id = p.id ORDER BY q.observed_at DESC, q.event_id DESC LIMIT 1),
		p.updated_at`
	summaryFrom = `products p LEFT JOIN compliance c ON c.product_id = p.id`
)

// Limits of what Product returns.
const (
	ResolvedViolationsShown = 20
	AuditShown              = 20
)

// Product is everything the view knows about one product.
type Product struct {
	Summary
	OwnerTeam    string             `json:"owner_team"`
	RegisteredAt time.Time          `json:"registered_at"`
	Reason       *string            `json:"reason,omitempty"`
	Successor    *string            `json:"successor,omitempty"`
	SunsetAt     *time.Time         `json:"sunset_at,omitempty"`
	Descriptor   events.DataProduct `json:"descriptor"`
	Versions     []Version          `json:"versions"`
	Ports        []Port             `json:"ports"`
	Quality      Quality            `json:"quality"`
	// ComplianceStatus is the governor's latest judgement, nil before the
	// first.
	ComplianceStatus   *Compliance `json:"compliance_status"`
	OpenViolations     []Violation `json:"open_violations"`
	ResolvedViolations []Violation `json:"resolved_violations"`
	Lineage            *Graph      `json:"lineage"`
	Audit              []Audit     `json:"audit"`
	// Access is who reads the product's ports, and who asks to.
	Access Access `json:"access"`
	// Notices are the newest notices about the product, sent to its
	// consumers and downstream products; NoticesReceived the newest sent
	// to it as a downstream product.
	Notices         []events.Notice `json:"notices"`
	NoticesReceived []events.Notice `json:"notices_received"`
}

// Version is one lifecycle event of a product: its version history.
type Version struct {
	EventID    string    `json:"event_id"`
	Type       string    `json:"type"`
	Version    string    `json:"version"`
	OccurredAt time.Time `json:"occurred_at"`
	Actor      string    `json:"actor"`
	Reason     *string   `json:"reason,omitempty"`
	Successor  *string   `json:"successor,omitempty"`
}

// Port is an output port with its schema.
type Port struct {
	Name          string  `json:"name"`
	Topic         string  `json:"topic"`
	SchemaSubject string  `json:"schema_subject"`
	SchemaID      *int32  `json:"schema_id,omitempty"`
	Format        string  `json:"format"`
	Partitions    int32   `json:"partitions"`
	Fields        []Field `json:"fields"`
	Schema        string  `json:"schema,omitempty"` // the registry schema, when known
}

// Quality is a product's recent quality runs, reported by its pipelines
// and observed by meshbone's monitor, and the same as one series per check
// for charts.
type Quality struct {
	Runs []QualityRun `json:"runs"` // newest first: the newest Options.QualityRuns of each origin
	// Checks are by group, then origin (OBSERVED first), port and name;
	// points oldest first.
	Checks []CheckSeries `json:"checks"`
}

// QualityRun is one quality run.
type QualityRun struct {
	EventID        string                `json:"event_id"`
	RunID          string                `json:"run_id"`
	ProductVersion string                `json:"product_version"`
	ObservedAt     time.Time             `json:"observed_at"`
	DataWatermark  *time.Time            `json:"data_watermark,omitempty"`
	Passed         int                   `json:"passed"`
	Total          int                   `json:"total"`
	Checks         []events.QualityCheck `json:"checks"`
	// Origin is REPORTED (the product's pipeline; also when the event says
	// nothing) or OBSERVED (meshbone's monitor).
	Origin events.QualityOrigin `json:"origin"`
	// Port, WindowStart and WindowEnd are what an observed run measured:
	// one port's records of event time in [window_start, window_end).
	Port        string     `json:"port,omitempty"`
	WindowStart *time.Time `json:"window_start,omitempty"`
	WindowEnd   *time.Time `json:"window_end,omitempty"`
}

// CheckSeries is one check's results over the recent runs of one origin
// (and, observed, one port).
type CheckSeries struct {
	Name      string               `json:"name"`
	Dimension string               `json:"dimension"`
	Column    string               `json:"column,omitempty"`
	Origin    events.QualityOrigin `json:"origin"`
	Port      string               `json:"port,omitempty"`
	// Window is the length of an observed series' windows ("1h0m0s"): the
	// monitor measures a port's objectives of each length apart.
	Window string `json:"window,omitempty"`
	// Group is what the check measures, its dimension and column in lower
	// case ("completeness of email", "volume"): the series of one group,
	// observed and reported, are drawn in one chart and compared side by
	// side.
	Group  string       `json:"group"`
	Points []CheckPoint `json:"points"`
}

// CheckPoint is one check's result in one run.
type CheckPoint struct {
	At        time.Time `json:"at"`
	RunID     string    `json:"run_id"`
	Observed  float64   `json:"observed"`
	Operator  string    `json:"operator"`
	Threshold float64   `json:"threshold"`
	Passed    bool      `json:"passed"`
}

// Compliance is a product's compliance as the governor last stated it.
type Compliance struct {
	Status         string                 `json:"status"`
	ProductVersion string                 `json:"product_version"`
	EvaluatedAt    time.Time              `json:"evaluated_at"`
	OpenViolations []events.OpenViolation `json:"open_violations"`
}

// Violation is a policy violation, open or resolved.
type Violation struct {
	ViolationID     string            `json:"violation_id"`
	ProductID       string            `json:"product_id"`
	PolicyID        string            `json:"policy_id"`
	PolicyVersion   string            `json:"policy_version"`
	Scope           string            `json:"scope"`
	Severity        string            `json:"severity"`
	Status          string            `json:"status"`
	Message         string            `json:"message"`
	Evidence        map[string]string `json:"evidence"`
	SourceEventID   string            `json:"source_event_id"`
	SourceTopic     string            `json:"source_topic"`
	SourcePartition int32             `json:"source_partition"`
	SourceOffset    int64             `json:"source_offset"`
	DetectedAt      time.Time         `json:"detected_at"`
	ResolvedAt      *time.Time        `json:"resolved_at,omitempty"`
}

// Audit is an audited action on a product.
type Audit struct {
	EventID string            `json:"event_id"`
	Actor   string            `json:"actor"`
	Domain  string            `json:"domain"`
	Action  string            `json:"action"`
	Target  string            `json:"target"`
	Outcome string            `json:"outcome"`
	At      time.Time         `json:"at"`
	Details map[string]string `json:"details"`
}

func tm(v int64) time.Time { return time.UnixMilli(v).UTC() }

func tmPtr(v sql.NullInt64) *time.Time {
	if !v.Valid {
		return nil
	}
	t := tm(v.Int64)
	return &t
}

func sPtr(v sql.NullString) *string {
	if !v.Valid {
		return nil
	}
	return &v.String
}

// Product returns a product with its history, ports, quality, compliance,
// violations and lineage one hop up and down; ErrNotFound if the view does
// not hold it.
func (s *Store) Product(ctx context.Context, id string) (*Product, error) {
	var p *Product
	err := s.readTx(ctx, func(tx *sql.Tx) error {
		var err error
		if p, err = s.product(ctx, tx, id); err != nil {
			return err
		}
		p.Lineage, err = lineage(ctx, tx, id, DirectionBoth, 1)
		return err
	})
	if errors.Is(err, ErrNotFound) {
		return nil, fmt.Errorf("product %q: %w", id, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("store: product %s: %w", id, err)
	}
	return p, nil
}

func (s *Store) product(ctx context.Context, tx *sql.Tx, id string) (*Product, error) {
	p := &Product{}
	var (
		tags, descriptor  string
		score             sql.NullFloat64
		updated, reg      int64
		reason, successor sql.NullString
		sunset            sql.NullInt64
	)
	err := tx.QueryRowContext(ctx, `SELECT `+summaryCols+`, p.owner_team, p.registered_at, p.reason, p.successor, p.sunset_at, d.descriptor
		FROM `+summaryFrom+` JOIN descriptors d ON d.product_id = p.id WHERE p.id = ?`, id).Scan(&p.ID, &p.Name, &p.Domain, &p.Description, &tags, &p.Version, &p.Sensitivity,
		&p.Compliance, &p.State, &score, &updated, &p.OwnerTeam, &reg, &reason, &successor, &sunset, &descriptor)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(tags), &p.Tags); err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(descriptor), &p.Descriptor); err != nil {
		return nil, err
	}
	if score.Valid {
		p.QualityScore = &score.Float64
	}
	p.UpdatedAt, p.RegisteredAt = tm(updated), tm(reg)
	p.Reason, p.Successor, p.SunsetAt = sPtr(reason), sPtr(successor), tmPtr(sunset)

	for _, load := range []func(context.Context, *sql.Tx, *Product) error{s.versions, s.ports, s.quality, s.complianceOf, s.violations, s.audit, s.productAccess, s.productNotices} {
		if err := load(ctx, tx, p); err != nil {
			return nil, err
		}
	}
	return p, nil
}

func (s *Store) versions(ctx context.Context, tx *sql.Tx, p *Product) error {
	rows, err := tx.QueryContext(ctx, `SELECT event_id, type, version, occurred_at, actor, reason, successor
		FROM product_versions WHERE product_id = ? ORDER BY occurred_at DESC, event_id DESC`, p.ID)
	if err != nil {
		return err
	}
	defer rows.Close()
	p.Versions = []Version{}
	for rows.Next() {
		var v Version
		var at int64
		var reason, successor sql.NullString
		if err := rows.Scan(&v.EventID, &v.Type, &v.Version, &at, &v.Actor, &reason, &successor); err != nil {
			return err
		}
		v.OccurredAt, v.Reason, v.Successor = tm(at), sPtr(reason), sPtr(successor)
		p.Versions = append(p.Versions, v)
	}
	return rows.Err()
}

func (s *Store) ports(ctx context.Context, tx *sql.Tx, p *Product) error {
	rows, err := tx.QueryContext(ctx, `SELECT pt.name, pt.topic, pt.schema_subject, pt.schema_id, pt.format, pt.partitions, pt.fields, sc.schema
		FROM ports pt LEFT JOIN schemas sc ON sc.id = pt.schema_id WHERE pt.product_id = ? ORDER BY pt.name`, p.ID)
	if err != nil {
		return err
	}
	defer rows.Close()
	p.Ports = []Port{}
	for rows.Next() {
		var pt Port
		var sid sql.NullInt32
		var fields string
		var schema sql.NullString
		if err := rows.Scan(&pt.Name, &pt.Topic, &pt.SchemaSubject, &sid, &pt.Format, &pt.Partitions, &fields, &schema); err != nil {
			return err
		}
		if sid.Valid {
			pt.SchemaID = &sid.Int32
		}
		if err := json.Unmarshal([]byte(fields), &pt.Fields); err != nil {
			return err
		}
		pt.Schema = schema.String
		p.Ports = append(p.Ports, pt)
	}
	return rows.Err()
}

func (s *Store) quality(ctx context.Context, tx *sql.Tx, p *Product) error {
	p.Quality = Quality{Runs: []QualityRun{}, Checks: []CheckSeries{}}
	// The newest runs of each origin: hourly observed windows do not push
	// a pipeline's daily reports off the page, nor the reverse.
	for _, origin := range []events.QualityOrigin{events.OriginObserved, events.OriginReported} {
		if err := s.qualityRuns(ctx, tx, p, origin); err != nil {
			return err
		}
	}
	slices.SortStableFunc(p.Quality.Runs, func(a, b QualityRun) int {
		if c := b.ObservedAt.Compare(a.ObservedAt); c != 0 {
			return c
		}
		return strings.Compare(b.EventID, a.EventID)
	})
	type key struct{ origin, port, window, name string }
	series := map[key]*CheckSeries{}
	for i := len(p.Quality.Runs) - 1; i >= 0; i-- {
		r := p.Quality.Runs[i]
		window := ""
		if r.WindowStart != nil && r.WindowEnd != nil {
			window = r.WindowEnd.Sub(*r.WindowStart).String()
		}
		for _, c := range r.Checks {
			k := key{string(r.Origin), r.Port, window, c.Name}
			cs := series[k]
			if cs == nil {
				cs = &CheckSeries{Name: c.Name, Dimension: string(c.Dimension), Origin: r.Origin, Port: r.Port, Window: window, Group: strings.ToLower(string(c.Dimension))}
				if c.Column != nil && *c.Column != "" {
					cs.Column = *c.Column
					cs.Group += " of " + cs.Column
				}
				series[k] = cs
			}
			cs.Points = append(cs.Points, CheckPoint{At: r.ObservedAt, RunID: r.RunID, Observed: c.Observed, Operator: c.Operator, Threshold: c.Threshold, Passed: c.Passed})
		}
	}
	for _, cs := range series {
		p.Quality.Checks = append(p.Quality.Checks, *cs)
	}
	slices.SortFunc(p.Quality.Checks, func(a, b CheckSeries) int {
		return cmp.Or(strings.Compare(a.Group, b.Group), strings.Compare(string(a.Origin), string(b.Origin)), // OBSERVED < REPORTED
			strings.Compare(a.Port, b.Port), strings.Compare(a.Window, b.Window), strings.Compare(a.Name, b.Name))
	})
	return nil
}

// qualityRuns appends the newest runs of one origin to p.Quality.Runs.
func (s *Store) qualityRuns(ctx context.Context, tx *sql.Tx, p *Product, origin events.QualityOrigin) error {
	rows, err := tx.QueryContext(ctx, `SELECT event_id, run_id, product_version, observed_at, watermark, passed, total, checks, port, window_start, window_end
		FROM quality_runs WHERE product_id = ? AND origin = ? ORDER BY observed_at DESC, event_id DESC LIMIT ?`, p.ID, string(origin), s.opts.QualityRuns)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		r := QualityRun{Origin: origin}
		var at int64
		var wm, ws, we sql.NullInt64
		var checks string
		var port sql.NullString
		if err := rows.Scan(&r.EventID, &r.RunID, &r.ProductVersion, &at, &wm, &r.Passed, &r.Total, &checks, &port, &ws, &we); err != nil {
			return err
		}
		r.ObservedAt, r.DataWatermark, r.Port, r.WindowStart, r.WindowEnd = tm(at), tmPtr(wm), port.String, tmPtr(ws), tmPtr(we)
		if err := json.Unmarshal([]byte(checks), &r.Checks); err != nil {
			return err
		}
		p.Quality.Runs = append(p.Quality.Runs, r)
	}
	return rows.Err()
}

func (s *Store) complianceOf(ctx context.Context, tx *sql.Tx, p *Product) error {
	var c Compliance
	var open string
	var at int64
	err := tx.QueryRowContext(ctx, `SELECT status, product_version, evaluated_at, open_violations FROM compliance WHERE product_id = ?`, p.ID).
		Scan(&c.Status, &c.ProductVersion, &at, &open)
	if errors.Is(err, sql.ErrNoRows) {
		return nil
	}
	if err != nil {
		return err
	}
	c.EvaluatedAt = tm(at)
	if err := json.Unmarshal([]byte(open), &c.OpenViolations); err != nil {
		return err
	}
	p.ComplianceStatus = &c
	return nil
}

const violationCols = `violation_id, product_id, policy_id, policy_version, scope, severity, status, message, evidence,
	source_event_id, source_topic, source_partition, source_offset, detected_at, resolved_at`

func (s *Store) violations(ctx context.Context, tx *sql.Tx, p *Product) error {
	var err error
	if p.OpenViolations, err = queryViolations(ctx, tx, `SELECT `+violationCols+` FROM violations WHERE product_id = ? AND status = 'OPEN'
		ORDER BY CASE severity WHEN 'CRITICAL' THEN 0 WHEN 'WARNING' THEN 1 ELSE 2 END, detected_at DESC, violation_id`, p.ID); err != nil {
		return err
	}
	p.ResolvedViolations, err = queryViolations(ctx, tx, `SELECT `+violationCols+` FROM violations WHERE product_id = ? AND status = 'RESOLVED'
		ORDER BY resolved_at DESC, violation_id LIMIT ?`, p.ID, ResolvedViolationsShown)
	return err
}

func queryViolations(ctx context.Context, tx *sql.Tx, q string, args ...any) ([]Violation, error) {
	rows, err := tx.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []Violation{}
	for rows.Next() {
		var v Violation
		var evidence string
		var detected int64
		var resolved sql.NullInt64
		if err := rows.Scan(&v.ViolationID, &v.ProductID, &v.PolicyID, &v.PolicyVersion, &v.Scope, &v.Severity, &v.Status, &v.Message, &evidence,
			&v.SourceEventID, &v.SourceTopic, &v.SourcePartition, &v.SourceOffset, &detected, &resolved); err != nil {
			return nil, err
		}
		if err := json.Unmarshal([]byte(evidence), &v.Evidence); err != nil {
			return nil, err
		}
		v.DetectedAt, v.ResolvedAt = tm(detected), tmPtr(resolved)
		out = append(out, v)
	}
	return out, rows.Err()
}

func (s *Store) audit(ctx context.Context, tx *sql.Tx, p *Product) error {
	rows, err := tx.QueryContext(ctx, `SELECT event_id, actor, domain, action, target, outcome, at, details FROM audit
		WHERE target = ? ORDER BY at DESC, event_id DESC LIMIT ?`, p.ID, AuditShown)
	if err != nil {
		return err
	}
	defer rows.Close()
	p.Audit = []Audit{}
	for rows.Next() {
		var a Audit
		var at int64
		var details string
		if err := rows.Scan(&a.EventID, &a.Actor, &a.Domain, &a.Action, &a.Target, &a.Outcome, &at, &details); err != nil {
			return err
		}
		a.At = tm(at)
		if err := json.Unmarshal([]byte(details), &a.Details); err != nil {
			return err
		}
		p.Audit = append(p.Audit, a)
	}
	return rows.Err()
}
