package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/meshbone/meshbone/internal/store/searchindex"
	"github.com/meshbone/meshbone/pkg/events"
)

// Product lifecycle states in the view (the search index's state facet
// values).
const (
	StateActive     = searchindex.StateActive
	StateDeprecated = searchindex.StateDeprecated
	StateRetired    = searchindex.StateRetired
)

// States lists the lifecycle states, for validation and facets.
var States = searchindex.States

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
// all of it is in the view or none of it. The search index publishes what
// the batch changed together with the commit (searchindex.Index.Apply).
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
	f.tx, f.st, f.schemas, f.fts, f.written = tx, s.stmts.bind(ctx, tx), b.Schemas, map[int64]ftsRow{}, map[string]written{}
	f.docs, f.compliances, f.runs = map[string]*searchindex.Doc{}, map[string]string{}, nil
	defer func() {
		f.tx, f.st, f.schemas, f.fts, f.written = nil, nil, nil, nil, nil
		f.docs, f.compliances, f.runs = nil, nil, nil
	}()

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
	if err := f.flushFTS(ctx); err != nil {
		return st, fmt.Errorf("store: %w", err)
	}
	// Commit, and publish the search index's changes with it.
	if err := s.idx.Apply(f.indexBatch(), tx.Commit); err != nil {
		return st, fmt.Errorf("store: commit: %w", err)
	}
	maps.Copy(s.written, f.written)
	for id := range b.Schemas {
		s.known[id] = true
	}
	return st, nil
}

// indexBatch is what the batch changed for the search index.
func (f *folder) indexBatch() searchindex.Batch {
	b := searchindex.Batch{Docs: make([]searchindex.Doc, 0, len(f.docs)), Compliance: f.compliances, Runs: f.runs}
	for _, d := range f.docs {
		if r, ok := f.fts[d.Rowid]; ok {
			d.Text = r.vals[:]
		}
		b.Docs = append(b.Docs, *d)
	}
	return b
}

// folder holds the state of the transaction Apply is folding.
type folder struct {
	s       *Store
	tx      *sql.Tx
	st      *stmts
	schemas map[int32]string
	fields  map[int32][]Field  // parsed schemas by id (a pure function of the id)
	fts     map[int64]ftsRow   // full-text rows of the batch by product rowid
	written map[string]written // what the batch's lifecycle events wrote, by product id
	// What the batch changed for the search index: the products its
	// lifecycle events wrote, by id; the compliance it folded last, by
	// product id; the quality runs it added.
	docs        map[string]*searchindex.Doc
	compliances map[string]string
	runs        []searchindex.Run
}

// written is what a product's last lifecycle event wrote to tags, ports,
// lineage and the full-text row (their content hashes, 0 unknown: loaded
// at Open), so an update that leaves them alone does not rewrite them.
type written struct {
	tags                []string
	ports, inputs, text uint64
}

// ftsRow is a product's full-text row, staged until the end of the batch.
type ftsRow struct {
	replace bool // the product had a row before the batch
	vals    [7]string
}

// flushFTS writes the batch's full-text rows with a few multi-row
// statements. FTS5 flushes its pending index at every statement savepoint
// once it has been written in a transaction, so writing a row per product
// in the middle of the fold would flush (and merge segments) after nearly
// every statement; writing them last costs one flush per statement here.
func (f *folder) flushFTS(ctx context.Context) error {
	if len(f.fts) == 0 {
		return nil
	}
	ids := make([]int64, 0, len(f.fts))
	var del []any
	for id, r := range f.fts {
		ids = append(ids, id)
		if r.replace {
			del = append(del, id)
		}
	}
	slices.Sort(ids)
	for chunk := range slices.Chunk(del, 500) {
		if _, err := f.tx.ExecContext(ctx, `DELETE FROM products_fts WHERE rowid IN (`+placeholders(len(chunk))+`)`, chunk...); err != nil {
			return fmt.Errorf("full text: %w", err)
		}
	}
	const perStmt = 500
	row := "(" + placeholders(8) + ")"
	for chunk := range slices.Chunk(ids, perStmt) {
		args := make([]any, 0, len(chunk)*8)
		for _, id := range chunk {
			args = append(args, id)
			for _, v := range f.fts[id].vals {
				args = append(args, v)
			}
		}
		q := `INSERT INTO products_fts(rowid, name, tags, domain, owner, description, ports, fields) VALUES ` +
			strings.TrimSuffix(strings.Repeat(row+",", len(chunk)), ",")
		if _, err := f.tx.ExecContext(ctx, q, args...); err != nil {
			return fmt.Errorf("full text: %w", err)
		}
	}
	return nil
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
	case *events.AccessEvent:
		return f.access(ctx, e)
	case *events.Notice:
		return f.notice(ctx, e)
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
		state             sql.NullString
		registered        sql.NullInt64
		reason, successor sql.NullString
		sunset            sql.NullInt64
		compliance        sql.NullString
	)
	if err := f.st.getState.QueryRowContext(ctx, p.ID).Scan(&state, &registered, &reason, &successor, &sunset, &compliance); err != nil {
		return false, err
	}
	exists := state.Valid
	if !exists {
		state = sql.NullString{String: StateActive, Valid: true}
		registered = sql.NullInt64{Int64: ms(e.OccurredAt), Valid: true}
	}
	switch e.Type {
	case events.LifecycleRegistered:
		if !exists || state.String != StateActive {
			registered = sql.NullInt64{Int64: ms(e.OccurredAt), Valid: true}
		}
		state.String = StateActive
		reason, successor, sunset = sql.NullString{}, sql.NullString{}, sql.NullInt64{}
	case events.LifecycleDeprecated:
		state.String = StateDeprecated
		reason, successor = nullStr(e.Reason), nullStr(e.Successor)
		sunset = sql.NullInt64{}
		if e.SunsetAt != nil {
			sunset = sql.NullInt64{Int64: ms(*e.SunsetAt), Valid: true}
		}
	case events.LifecycleRetired:
		state.String = StateRetired
		if e.Reason != nil {
			reason = nullStr(e.Reason)
		}
		if e.Successor != nil {
			successor = nullStr(e.Successor)
		}
	}
	if !compliance.Valid {
		compliance.String = string(events.Unknown)
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
	if err := f.st.upsertProduct.QueryRowContext(ctx, p.ID, p.Name, p.Domain, p.OwnerTeam, desc, p.Version, string(p.Sensitivity), state.String,
		jsonText(tags), registered.Int64, ms(e.OccurredAt), reason, successor, sunset).Scan(&rowid); err != nil {
		return false, err
	}
	if _, err := f.st.upsertDescriptor.ExecContext(ctx, p.ID, jsonText(p)); err != nil {
		return false, err
	}

	// What the product's previous lifecycle event wrote, to skip rewriting
	// what did not change.
	prev, known := f.written[p.ID]
	if !known {
		prev, known = f.s.written[p.ID]
	}
	known = known && exists
	type portRow struct {
		port   events.OutputPort
		fields []Field
	}
	ports := make([]portRow, 0, len(p.OutputPorts))
	var portNames, fieldText []string
	for _, port := range p.OutputPorts {
		fields, err := f.portFields(ctx, port)
		if err != nil {
			return false, err
		}
		ports = append(ports, portRow{port, fields})
		portNames = append(portNames, port.Name)
		for _, fl := range fields {
			fieldText = append(fieldText, fl.Name)
			if fl.Doc != "" {
				fieldText = append(fieldText, fl.Doc)
			}
		}
	}
	ftsVals := [7]string{p.Name, strings.Join(p.Tags, " "), p.Domain, p.OwnerTeam, desc, strings.Join(portNames, " "), strings.Join(fieldText, " ")}
	now := written{tags: tags, ports: sum(jsonText(p.OutputPorts), jsonText(ports)), inputs: sum(jsonText(p.Inputs))}
	now.text = sum(ftsVals[:]...)
	same := func(a, b uint64) bool { return known && a != 0 && a == b }
	newTags := !known || !slices.Equal(prev.tags, tags)

	if exists && newTags {
		if _, err := f.st.delTags.ExecContext(ctx, p.ID); err != nil {
			return false, err
		}
	}
	if len(p.Tags) > 0 && newTags {
		if _, err := f.st.insTag.ExecContext(ctx, p.ID, jsonText(p.Tags)); err != nil {
			return false, err
		}
	}
	if !same(prev.ports, now.ports) {
		if exists {
			if _, err := f.st.delPorts.ExecContext(ctx, p.ID); err != nil {
				return false, err
			}
		}
		for _, pr := range ports {
			var id any
			if pr.port.SchemaID != nil {
				id = *pr.port.SchemaID
			}
			if _, err := f.st.insPort.ExecContext(ctx, p.ID, pr.port.Name, pr.port.Topic, pr.port.SchemaSubject, id, pr.port.Format, pr.port.Partitions, jsonText(pr.fields)); err != nil {
				return false, err
			}
		}
	}
	if !same(prev.inputs, now.inputs) {
		if exists {
			if _, err := f.st.delLineage.ExecContext(ctx, p.ID); err != nil {
				return false, err
			}
		}
		if len(p.Inputs) > 0 {
			if _, err := f.st.insLineage.ExecContext(ctx, p.ID, jsonText(p.Inputs)); err != nil {
				return false, err
			}
		}
	}
	f.written[p.ID] = now
	f.docs[p.ID] = &searchindex.Doc{Rowid: rowid, ID: p.ID, Name: p.Name, Domain: p.Domain, Owner: p.OwnerTeam,
		State: state.String, Sensitivity: string(p.Sensitivity), Compliance: compliance.String, Tags: tags,
		Description: desc, Version: p.Version, UpdatedAt: ms(e.OccurredAt)}
	if same(prev.text, now.text) {
		return true, nil
	}
	// The full-text row is written at the end of the batch (see flushFTS).
	f.fts[rowid] = ftsRow{replace: exists || f.fts[rowid].replace, vals: ftsVals}
	return true, nil
}

// sum hashes values (FNV-64a over their text, separated).
func sum(vals ...string) uint64 {
	h := fnv.New64a()
	for _, v := range vals {
		io.WriteString(h, v)
		h.Write([]byte{0})
	}
	return h.Sum64()
}

func nullStr(s *string) sql.NullString {
	if s == nil {
		return sql.NullString{}
	}
	return sql.NullString{String: *s, Valid: true}
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
	origin := events.OriginReported
	if e.Origin != nil {
		origin = *e.Origin
	}
	var port any
	if e.Port != nil {
		port = *e.Port
	}
	res, err := f.st.insQuality.ExecContext(ctx, e.EventID, e.ProductID, e.ProductVersion, e.RunID, ms(e.ObservedAt), msPtr(e.DataWatermark),
		passed, len(e.Checks), jsonText(checks), string(origin), port, msPtr(e.WindowStart), msPtr(e.WindowEnd))
	if err != nil {
		return false, err
	}
	n, _ := res.RowsAffected()
	if n > 0 {
		f.runs = append(f.runs, searchindex.Run{ProductID: e.ProductID, At: ms(e.ObservedAt), EventID: e.EventID, Passed: passed, Total: len(e.Checks)})
	}
	return n > 0, nil
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
	f.compliances[e.ProductID] = string(e.Status)
	return true, nil
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
