package governor

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/meshbone/meshbone/internal/policy"
	"github.com/meshbone/meshbone/pkg/events"
)

// Replay kinds: the values of RecordedEvent.Kind.
const (
	RecordedLifecycle = "lifecycle"
	RecordedQuality   = "quality"
	RecordedTick      = "tick"
)

// RecordedTopic is the source topic of the violations Replay raises; their
// source offset is the line of the event.
const RecordedTopic = "(recorded)"

// RecordedEvent is one line of a file Replay reads.
type RecordedEvent struct {
	// Kind is lifecycle, quality or tick (a freshness check).
	Kind string `json:"kind"`
	// Source is the CloudEvents source; default /services/monitor for an
	// observed quality run, else /domains/<the product's domain>.
	Source string `json:"source,omitempty"`
	// At is when the event is judged; default the event's own time
	// (occurred_at, observed_at). Required for a tick.
	At *time.Time `json:"at,omitempty"`
	// Event is the ProductLifecycleEvent or QualityEvent, as JSON with the
	// Avro field names.
	Event json.RawMessage `json:"event,omitempty"`
}

// ReplayedViolation is a violation record and the line of the recorded
// event that raised or resolved it.
type ReplayedViolation struct {
	Line      int                    `json:"line"`
	Violation events.PolicyViolation `json:"violation"`
}

// Replay judges recorded events with set exactly as the governor would,
// offline (one engine, one batch per event, in the order read), and
// returns the violation records that would be published. in holds one
// RecordedEvent as JSON per line; blank lines and lines starting with # are
// skipped. Errors name the line as <name>:<line>.
func Replay(set *policy.Set, in io.Reader, name string) ([]ReplayedViolation, error) {
	e := NewEngine(set)
	out := []ReplayedViolation{}
	sc := bufio.NewScanner(in)
	sc.Buffer(make([]byte, 0, 64*1024), 16<<20)
	line := 0
	for sc.Scan() {
		line++
		text := bytes.TrimSpace(sc.Bytes())
		if len(text) == 0 || text[0] == '#' {
			continue
		}
		b, err := replayOne(e, text, line)
		if err != nil {
			return nil, fmt.Errorf("%s:%d: %w", name, line, err)
		}
		for _, v := range b.Violations {
			out = append(out, ReplayedViolation{Line: line, Violation: *v})
		}
		b.Commit()
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return out, nil
}

// replayOne judges one recorded event in a batch of its own and returns
// the batch, not yet committed.
func replayOne(e *Engine, text []byte, line int) (*Batch, error) {
	var rec RecordedEvent
	if err := strictJSON(text, &rec); err != nil {
		return nil, err
	}
	src := Source{Topic: RecordedTopic, Offset: int64(line)}
	switch rec.Kind {
	case RecordedLifecycle:
		var ev events.ProductLifecycleEvent
		if err := recordedEvent(rec.Event, &ev); err != nil {
			return nil, err
		}
		b := e.Begin(orTime(rec.At, ev.OccurredAt))
		b.Lifecycle(&ev, recordedCE(&ev, rec.Source), src)
		return b, nil
	case RecordedQuality:
		var ev events.QualityEvent
		if err := recordedEvent(rec.Event, &ev); err != nil {
			return nil, err
		}
		b := e.Begin(orTime(rec.At, ev.ObservedAt))
		b.Quality(&ev, recordedCE(&ev, rec.Source), src)
		return b, nil
	case RecordedTick:
		if rec.At == nil {
			return nil, errors.New(`a tick needs "at"`)
		}
		b := e.Begin(*rec.At)
		b.Freshness()
		return b, nil
	}
	return nil, fmt.Errorf("kind %q is not %s, %s or %s", rec.Kind, RecordedLifecycle, RecordedQuality, RecordedTick)
}

// recordedEvent decodes and validates the event of a recorded line.
func recordedEvent(data json.RawMessage, ev interface{ Validate() error }) error {
	if len(data) == 0 {
		return errors.New("event: is missing")
	}
	if err := strictJSON(data, ev); err != nil {
		return fmt.Errorf("event: %w", err)
	}
	return ev.Validate()
}

// strictJSON decodes data into v, refusing fields v does not have.
func strictJSON(data []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	return dec.Decode(v)
}

func orTime(t *time.Time, def time.Time) time.Time {
	if t != nil {
		return *t
	}
	return def
}

// monitorSource is the CloudEvents source of the monitor's observed runs.
const monitorSource = "/services/monitor"

// recordedCE is the CloudEvent a recorded event is judged as having come
// with: source, if given, else the monitor's for an observed quality run
// and its product's domain for the others.
func recordedCE(ev events.Event, source string) events.CloudEvent {
	if q, ok := ev.(*events.QualityEvent); source == "" && ok && q.Observed() {
		source = monitorSource
	}
	if source == "" {
		source = events.DomainSource(policy.DomainOf(ev.Key()))
	}
	return events.CloudEvent{SpecVersion: events.SpecVersion, ID: ev.ID(), Source: source, Type: ev.CEType(), Time: ev.Time(), Subject: ev.Key()}
}
