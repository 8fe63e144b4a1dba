package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/meshbone/meshbone/pkg/events"
)

// Product lifecycle states in the view.
const (
	StateActive     = "ACTIVE"
	StateDeprecated = "DEPRECATED"
	StateRetired    = "RETIRED"
)

// States lists the lifecycle states, for validation and facets.
var States = []string{StateActive, StateDeprecated, StateRetired}

// Record is one consumed record: where it came from and its decoded event.
// Event is nil for a record that did not decode (it was dead-lettered);
// folding it only advances the offset.
type Record struct {
	Topic     string
	Partition int32
	Offset    int64
	Event     events.Event
}

// Batch is what one transaction folds.
type Batch struct {
	Records []Record
	// Schemas are registry schemas (by id) the batch's output ports refer
	// to, fetched by the caller; see MissingSchemas.
	Schemas map[int32]string
}

// Stats says what Apply did.
type Stats struct {
	Folded     map[events.Kind]int // events folded, by kind
	Duplicates int                 // events already in the view (same id), skipped
	Skipped    int                 // records without an event (dead-lettered)
}

// MissingSchemas returns the schema ids the records' output ports refer to
// that the view does not hold yet; the caller fetches them from the
// registry into Batch.Schemas.
func (s *Store) MissingSchemas(recs []Record) []int32 {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	var out []int32
	seen := map[int32]bool{}
	for _, r := range recs {
		ev, ok := r.Event.(*events.ProductLifecycleEvent)
		if !ok {
			continue
		}
		for _, p := range ev.Product.OutputPorts {
			if p.SchemaID == nil || s.known[*p.SchemaID] || seen[*p.SchemaID] {
				continue
			}
			seen[*p.SchemaID] = true
			out = append(out, *p.SchemaID)
		}
	}
	return out
}

// Apply folds a batch and records its offsets in one transaction: either
// all of it is in the view or none of it.
func (s *Store) Apply(ctx context.Context, b Batch) (Stats, error) {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	st := Stats{Folded: map[events.Kind]int{}}
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return st, fmt.Errorf("store: begin: %w", err)
	}
	defer tx.Rollback()
	f := s.fold
	f.tx, f.st, f.schemas = tx, s.stmts.bind(ctx, tx), b.Schemas
	defer func() { f.tx, f.st, f.schemas = nil, nil, nil }()

	for id, text := range b.Schemas {
		if _, err := f.st.insSchema.ExecContext(ctx, id, text); err != nil {
			return st, fmt.Errorf("store: schema %d: %w", id, err)
		}
	}
	type tp struct {
		topic string
		part  int32
	}
	offsets := map[tp]int64{}
	audits := false
	for _, r := range b.Records {
		k := tp{r.Topic, r.Partition}
		if o, ok := offsets[k]; !ok || r.Offset > o {
			offsets[k] = r.Offset
		}
		if r.Event == nil {
			st.Skipped++
			continue
		}
		applied, err := f.apply(ctx, r.Event)
		if err != nil {
			return st, fmt.Errorf("store: fold %s %s (%s/%d@%d): %w", r.Event.Kind(), r.Event.ID(), r.Topic, r.Partition, r.Offset, err)
		}
		if !applied {
			st.Duplicates++
			continue
		}
		st.Folded[r.Event.Kind()]++
		audits = audits || r.Event.Kind() == events.KindAudit
	}
	if audits {
		if err := f.pruneAudit(ctx, s.opts.AuditKeep); err != nil {
			return st, err
		}
	}
	for k, o := range offsets {
		if _, err := f.st.upsertOffset.ExecContext(ctx, k.topic, k.part, o); err != nil {
			return st, fmt.Errorf("store: offsets: %w", err)
		}
	}
	if err := tx.Commit(); err != nil {
		return st, fmt.Errorf("store: commit: %w", err)
	}
	for id := range b.Schemas {
		s.known[id] = true
	}
	return st, nil
}

// folder holds the state of the transaction Apply is folding.
type folder struct {
	s       *Store
	tx      *sql.Tx
	st      *stmts
	schemas map[int32]string
	fields  map[int32][]Field // parsed schemas by id (a pure function of the id)
}

// apply folds one event; false means it was already in the view.
func (f *folder) apply(ctx context.Context, ev events.Event) (bool, error) {
	switch e := ev.(type) {
	case *events.ProductLifecycleEvent:
		return f.lifecycle(ctx, e)
	case *events.QualityEvent:
		return f.quality(ctx, e)
	case *events.PolicyViolation:
		return f.violation(ctx, e)
	case *events.ComplianceStatus:
		return f.compliance(ctx, e)
	case *events.AuditEvent:
		return f.audit(ctx, e)
	}
	return false, fmt.Errorf("unknown event type %T", ev)
}

func ms(t time.Time) int64 { return t.UnixMilli() }

func msPtr(t *time.Time) any {
	if t == nil {
		return nil
	}
	return t.UnixMilli()
}

func strPtr(s *string) any {
	if s == nil {
		return nil
	}
	return *s
}

func jsonText(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		// Every value passed here is built from decoded Avro (strings,
		// numbers, maps of strings), which always marshals.
		panic(fmt.Sprintf("store: marshal %T: %v", v, err))
	}
	return string(b)
}

func (f *folder) lifecycle(ctx context.Context, e *events.ProductLifecycleEvent) (bool, error) {
	p := &e.Product
	res, err := f.st.insVersion.ExecContext(ctx, e.EventID, p.ID, string(e.Type), p.Version, ms(e.OccurredAt), e.Actor, strPtr(e.Reason), strPtr(e.Successor))
	if err != nil {
		return false, err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return false, nil
	}

	var (
		exists     = true
		state      string
		registered int64
		reason     sql.NullString
		successor  sql.NullString
		sunset     sql.NullInt64
	)
	err = f.st.getProduct.QueryRowContext(ctx, p.ID).Scan(&state, &registered, &reason, &successor, &sunset)
	if errors.Is(err, sql.ErrNoRows) {
		exists, state, registered = false, StateActive, ms(e.OccurredAt)
	} else if err != nil {
		return false, err
	}
	switch e.Type {
	case events.LifecycleRegistered:
		if !exists || state != StateActive {
			registered = ms(e.OccurredAt)
		}
		state = StateActive
		reason, successor, sunset = sql.NullString{}, sql.NullString{}, sql.NullInt64{}
	case events.LifecycleDeprecated:
		state = StateDeprecated
		reason, successor = nullStr(e.Reason), nullStr(e.Successor)
		sunset = sql.NullInt64{}
		if e.SunsetAt != nil {
			sunset = sql.NullInt64{Int64: ms(*e.SunsetAt), Valid: true}
		}
	case events.LifecycleRetired:
		state = StateRetired
		if e.Reason != nil {
			reason = nullStr(e.Reason)
		}
		if e.Successor != nil {
			successor = nullStr(e.Successor)
		}
	}

	compliance := string(events.Unknown)
	if err := f.st.getCompliance.QueryRowContext(ctx, p.ID).Scan(&compliance); err != nil && !errors.Is(err, sql.ErrNoRows) {
		return false, err
	}
	var (
		score    sql.NullFloat64
		qAt      sql.NullInt64
		qEvent   sql.NullString
		qp, qtot int
	)
	var at int64
	var evID string
	switch err := f.st.getLatestQuality.QueryRowContext(ctx, p.ID).Scan(&qp, &qtot, &at, &evID); {
	case err == nil:
		score = scoreOf(qp, qtot)
		qAt, qEvent = sql.NullInt64{Int64: at, Valid: true}, sql.NullString{String: evID, Valid: true}
	case !errors.Is(err, sql.ErrNoRows):
		return false, err
	}

	tags := p.Tags
	if tags == nil {
		tags = []string{}
	}
	desc := ""
	if p.Description != nil {
		desc = *p.Description
	}
	var rowid int64
	if err := f.st.upsertProduct.QueryRowContext(ctx, p.ID, p.Name, p.Domain, p.OwnerTeam, desc, p.Version, string(p.Sensitivity), state,
		jsonText(tags), registered, ms(e.OccurredAt), reason, successor, sunset, jsonText(p),
		compliance, score, qAt, qEvent).Scan(&rowid); err != nil {
		return false, err
	}

	if exists {
		for _, st := range []*sql.Stmt{f.st.delTags, f.st.delPorts, f.st.delLineage} {
			if _, err := st.ExecContext(ctx, p.ID); err != nil {
				return false, err
			}
		}
		if _, err := f.st.delFTS.ExecContext(ctx, rowid); err != nil {
			return false, err
		}
	}
	for _, t := range p.Tags {
		if _, err := f.st.insTag.ExecContext(ctx, p.ID, t); err != nil {
			return false, err
		}
	}
	var portNames, fieldText []string
	for _, port := range p.OutputPorts {
		fields, err := f.portFields(ctx, port)
		if err != nil {
			return false, err
		}
		var id any
		if port.SchemaID != nil {
			id = *port.SchemaID
		}
		if _, err := f.st.insPort.ExecContext(ctx, p.ID, port.Name, port.Topic, port.SchemaSubject, id, port.Format, port.Partitions, jsonText(fields)); err != nil {
			return false, err
		}
		portNames = append(portNames, port.Name)
		for _, fl := range fields {
			fieldText = append(fieldText, fl.Name)
			if fl.Doc != "" {
				fieldText = append(fieldText, fl.Doc)
			}
		}
	}
	for _, in := range p.Inputs {
		if _, err := f.st.insLineage.ExecContext(ctx, in, p.ID); err != nil {
			return false, err
		}
	}
	if _, err := f.st.insFTS.ExecContext(ctx, rowid, p.Name, strings.Join(p.Tags, " "), p.Domain, p.OwnerTeam, desc,
		strings.Join(portNames, " "), strings.Join(fieldText, " ")); err != nil {
		return false, err
	}
	return true, nil
}

func nullStr(s *string) sql.NullString {
	if s == nil {
		return sql.NullString{}
	}
	return sql.NullString{String: *s, Valid: true}
}

func scoreOf(passed, total int) sql.NullFloat64 {
	if total == 0 {
		return sql.NullFloat64{}
	}
	return sql.NullFloat64{Float64: float64(passed) / float64(total), Valid: true}
}

// portFields returns a port's fields: from its registry schema when the view
// has it, else the field names the descriptor lists.
func (f *folder) portFields(ctx context.Context, port events.OutputPort) ([]Field, error) {
	if port.SchemaID != nil {
		id := *port.SchemaID
		if fl, ok := f.fields[id]; ok {
			return fl, nil
		}
		text, ok := f.schemas[id]
		if !ok {
			err := f.st.getSchema.QueryRowContext(ctx, id).Scan(&text)
			switch {
			case err == nil:
				ok = true
			case !errors.Is(err, sql.ErrNoRows):
				return nil, err
			}
		}
		if ok {
			fl := SchemaFields(text)
			if f.fields == nil {
				f.fields = map[int32][]Field{}
			}
			f.fields[id] = fl
			return fl, nil
		}
	}
	fl := make([]Field, 0, len(port.Fields))
	for _, n := range port.Fields {
		fl = append(fl, Field{Name: n})
	}
	return fl, nil
}

func (f *folder) quality(ctx context.Context, e *events.QualityEvent) (bool, error) {
	passed := 0
	for _, c := range e.Checks {
		if c.Passed {
			passed++
		}
	}
	checks := e.Checks
	if checks == nil {
		checks = []events.QualityCheck{}
	}
	res, err := f.st.insQuality.ExecContext(ctx, e.EventID, e.ProductID, e.ProductVersion, e.RunID, ms(e.ObservedAt), msPtr(e.DataWatermark),
		passed, len(e.Checks), jsonText(checks))
	if err != nil {
		return false, err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return false, nil
	}
	_, err = f.st.updQuality.ExecContext(ctx, scoreOf(passed, len(e.Checks)), ms(e.ObservedAt), e.EventID, e.ProductID)
	return true, err
}

func (f *folder) violation(ctx context.Context, e *events.PolicyViolation) (bool, error) {
	var resolved any
	if e.Status == events.ViolationResolved {
		resolved = ms(e.DetectedAt)
	}
	evidence := e.Evidence
	if evidence == nil {
		evidence = map[string]string{}
	}
	_, err := f.st.upsertViolation.ExecContext(ctx, e.ViolationID, e.ProductID, e.Domain, e.PolicyID, e.PolicyVersion, string(e.Scope),
		string(e.Severity), string(e.Status), e.Message, jsonText(evidence), e.SourceEventID, e.SourceTopic, e.SourcePartition,
		e.SourceOffset, ms(e.DetectedAt), resolved)
	return err == nil, err
}

func (f *folder) compliance(ctx context.Context, e *events.ComplianceStatus) (bool, error) {
	open := e.OpenViolations
	if open == nil {
		open = []events.OpenViolation{}
	}
	if _, err := f.st.upsertCompliance.ExecContext(ctx, e.ProductID, e.ProductVersion, e.Domain, string(e.Status), jsonText(open), ms(e.EvaluatedAt)); err != nil {
		return false, err
	}
	_, err := f.st.updCompliance.ExecContext(ctx, string(e.Status), e.ProductID)
	return err == nil, err
}

func (f *folder) audit(ctx context.Context, e *events.AuditEvent) (bool, error) {
	details := e.Details
	if details == nil {
		details = map[string]string{}
	}
	res, err := f.st.insAudit.ExecContext(ctx, e.EventID, e.Actor, e.Domain, e.Action, e.Target, string(e.Outcome), ms(e.At), jsonText(details))
	if err != nil {
		return false, err
	}
	n, _ := res.RowsAffected()
	return n > 0, nil
}

// pruneAudit keeps the newest keep audit events by (at, event_id): a total
// order on the events themselves, so the kept set does not depend on the
// order they arrived in.
func (f *folder) pruneAudit(ctx context.Context, keep int) error {
	var n int
	if err := f.st.countAudit.QueryRowContext(ctx).Scan(&n); err != nil {
		return err
	}
	if n <= keep {
		return nil
	}
	_, err := f.st.pruneAudit.ExecContext(ctx, n-keep)
	return err
}
