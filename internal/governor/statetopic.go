package governor

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"go.uber.org/zap"

	"github.com/meshbone/meshbone/internal/kafka/topicread"
	"github.com/meshbone/meshbone/pkg/events"
)

// This file reads and writes the governor's state topic.

// RebuildTimeout bounds reading the state topic back.
const RebuildTimeout = 2 * time.Minute

// rebuild replaces the engine's state with the state topic as committed:
// every partition read read_committed from its start to its last stable
// offset. The state records of a transaction commit with the offsets of the
// records they reflect, so what is read back is exactly the state after
// the last committed batch.
func (s *Service) rebuild(ctx context.Context) error {
	start := time.Now()
	states, skipped, err := ReadState(ctx, s.kopts, s.state, s.codec)
	if err != nil {
		return fmt.Errorf("governor: rebuild state from %s: %w", s.state, err)
	}
	for i, sk := range skipped {
		s.m.stateSkipped.Inc()
		if i < 10 {
			s.log.Warn("state record skipped: its product's state is as if never written", zap.String("key", sk.Key),
				zap.Int32("partition", sk.Partition), zap.Int64("offset", sk.Offset), zap.Error(sk.Err))
		}
	}
	s.engine.Restore(states)
	s.m.products.Set(float64(len(states)))
	s.log.Info("state rebuilt", zap.String("topic", s.state), zap.Int("products", len(states)), zap.Duration("took", time.Since(start)))
	return nil
}

// The state topic holds two records per product: under "d/<id>" the value
// of its newest lifecycle record, verbatim (Avro wire format: the descriptor
// costs nothing to write), and under "v/<id>" the rest of its state as JSON
// (lifecycle status, newest watermark, open violations, last published
// compliance). Both are written only when they change.
const (
	descriptorKey = "d/"
	volatileKey   = "v/"
)

// encodeVolatile encodes a product's state but its descriptor: the JSON
// encoding/json gives a ProductState without product, written by hand
// because it is written for every product a batch touches, each open
// violation encoded once for all the states that carry it.
func encodeVolatile(ps *ProductState) ([]byte, error) {
	var slotBuf [8]string
	var encBuf [8][]byte
	slots := sortedKeys(slotBuf[:0], ps.Open)
	encs := encBuf[:0]
	size := 64 + len(ps.ID) + len(ps.Status) + len(ps.Published) + len(ps.Upstream)
	if l := ps.Lifecycle; l != nil {
		size += 96 + len(l.EventID) + len(l.Source.Topic)
	}
	for _, slot := range slots {
		enc, err := ps.Open[slot].encoded()
		if err != nil {
			return nil, err
		}
		encs = append(encs, enc)
		size += len(slot) + len(enc) + 4
	}
	if w := ps.Watermark; w != nil {
		size += 128 + len(w.EventID) + len(w.Source.Topic)
	}
	b := make([]byte, 0, size)
	b = append(b, `{"id":`...)
	b = appendJSONString(b, ps.ID)
	if ps.Status != "" {
		b = append(b, `,"status":`...)
		b = appendJSONString(b, ps.Status)
	}
	if w := ps.Watermark; w != nil {
		b = append(b, `,"watermark":{"at":`...)
		var err error
		if b, err = appendJSONTime(b, w.At); err != nil {
			return nil, err
		}
		b = append(b, `,"event_id":`...)
		b = appendJSONString(b, w.EventID)
		b = appendSource(b, w.Source)
		b = append(b, '}')
	}
	if len(slots) > 0 {
		b = append(b, `,"open":{`...)
		for i, slot := range slots {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendJSONString(b, slot)
			b = append(b, ':')
			b = append(b, encs[i]...)
		}
		b = append(b, '}')
	}
	if ps.Published != "" {
		b = append(b, `,"published":`...)
		b = appendJSONString(b, ps.Published)
	}
	if l := ps.Lifecycle; l != nil {
		b = append(b, `,"lifecycle":{"event_id":`...)
		b = appendJSONString(b, l.EventID)
		b = append(b, `,"type":`...)
		b = appendJSONString(b, string(l.Type))
		b = appendSource(b, l.Source)
		b = append(b, '}')
	}
	if ps.Upstream != "" {
		b = append(b, `,"upstream":`...)
		b = appendJSONString(b, ps.Upstream)
	}
	if len(ps.Observed) > 0 {
		// Rare (a product the monitor watches) and small: as encoding/json
		// writes it, floats included.
		enc, err := json.Marshal(ps.Observed)
		if err != nil {
			return nil, err
		}
		b = append(b, `,"observed":`...)
		b = append(b, enc...)
	}
	return append(b, '}'), nil
}

// appendSource appends `,"source":{...}`.
func appendSource(b []byte, src Source) []byte {
	b = append(b, `,"source":{"topic":`...)
	b = appendJSONString(b, src.Topic)
	b = append(b, `,"partition":`...)
	b = strconv.AppendInt(b, int64(src.Partition), 10)
	b = append(b, `,"offset":`...)
	b = strconv.AppendInt(b, src.Offset, 10)
	return append(b, '}')
}

// encoded returns the JSON of ov, computed on first use (an OpenViolation
// is never modified once made).
func (ov *OpenViolation) encoded() ([]byte, error) {
	if ov.enc == nil {
		b := make([]byte, 0, 512)
		if ov.Errored {
			b = append(b, `{"errored":true,"violation":`...)
		} else {
			b = append(b, `{"violation":`...)
		}
		b, err := appendViolation(b, &ov.Violation)
		if err != nil {
			return nil, err
		}
		ov.enc = append(b, '}')
	}
	return ov.enc, nil
}

// appendViolation appends v as encoding/json writes it (a test keeps the
// two in step).
func appendViolation(b []byte, v *events.PolicyViolation) ([]byte, error) {
	str := func(name, val string) {
		b = append(b, name...)
		b = appendJSONString(b, val)
	}
	str(`{"violation_id":`, v.ViolationID)
	str(`,"product_id":`, v.ProductID)
	str(`,"domain":`, v.Domain)
	str(`,"policy_id":`, v.PolicyID)
	str(`,"policy_version":`, v.PolicyVersion)
	str(`,"scope":`, string(v.Scope))
	str(`,"severity":`, string(v.Severity))
	str(`,"status":`, string(v.Status))
	str(`,"message":`, v.Message)
	b = append(b, `,"evidence":`...)
	if v.Evidence == nil {
		b = append(b, "null"...)
	} else {
		b = append(b, '{')
		var buf [8]string
		for i, k := range sortedKeys(buf[:0], v.Evidence) {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendJSONString(b, k)
			b = append(b, ':')
			b = appendJSONString(b, v.Evidence[k])
		}
		b = append(b, '}')
	}
	str(`,"source_event_id":`, v.SourceEventID)
	str(`,"source_topic":`, v.SourceTopic)
	b = append(b, `,"source_partition":`...)
	b = strconv.AppendInt(b, int64(v.SourcePartition), 10)
	b = append(b, `,"source_offset":`...)
	b = strconv.AppendInt(b, v.SourceOffset, 10)
	b = append(b, `,"detected_at":`...)
	b, err := appendJSONTime(b, v.DetectedAt)
	return append(b, '}'), err
}

// appendJSONTime appends t as encoding/json writes it.
func appendJSONTime(b []byte, t time.Time) ([]byte, error) {
	b = append(b, '"')
	b, err := t.AppendText(b)
	return append(b, '"'), err
}

// appendJSONString appends s as encoding/json writes it.
func appendJSONString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x80 || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			enc, _ := json.Marshal(s) // escapes: as encoding/json does
			return append(b, enc...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}

// SkippedState is a state record ReadState could not read.
type SkippedState struct {
	Key       string
	Partition int32
	Offset    int64
	Err       error
}

// ReadState reads a governor state topic to its last stable offset and
// returns the newest state of each product (codec decodes the
// descriptors), and the records it skipped: a product whose newest record
// does not decode has no state, as if it had never been judged, so it is
// judged afresh rather than from a state half read.
func ReadState(ctx context.Context, kopts []kgo.Opt, topic string, codec *events.Codec) (map[string]*ProductState, []SkippedState, error) {
	ctx, cancel := context.WithTimeout(ctx, RebuildTimeout)
	defer cancel()
	states := map[string]*ProductState{}
	descs := map[string][]byte{}
	var skipped []SkippedState
	err := topicread.ReadCommitted(ctx, kopts, topic, func(r *kgo.Record) {
		key := string(r.Key)
		switch {
		case strings.HasPrefix(key, descriptorKey):
			id := key[len(descriptorKey):]
			if r.Value == nil {
				delete(descs, id)
			} else {
				descs[id] = r.Value
			}
		case strings.HasPrefix(key, volatileKey):
			id := key[len(volatileKey):]
			var ps ProductState
			if r.Value == nil {
				delete(states, id)
				return
			}
			if err := json.Unmarshal(r.Value, &ps); err != nil {
				delete(states, id)
				skipped = append(skipped, SkippedState{key, r.Partition, r.Offset, err})
				return
			}
			ps.ID = id
			states[id] = &ps
		default:
			skipped = append(skipped, SkippedState{key, r.Partition, r.Offset, errors.New(`the key is neither "d/<id>" nor "v/<id>"`)})
		}
	})
	if err != nil {
		return nil, nil, err
	}
	for id, raw := range descs {
		ev, err := codec.DecodeKind(ctx, events.KindLifecycle, raw)
		if err != nil {
			return nil, nil, fmt.Errorf("descriptor of %s: %w", id, err)
		}
		ps, ok := states[id]
		if !ok {
			ps = &ProductState{ID: id}
			states[id] = ps
		}
		p := ev.(*events.ProductLifecycleEvent).Product
		ps.Product = &p
	}
	return states, skipped, nil
}
