package monitor

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/meshbone/meshbone/internal/policy"
	"github.com/meshbone/meshbone/pkg/events"
)

// EventID returns the deterministic event id of the observed QualityEvent of
// a product's port over the window of length window starting at start:
// whoever closes the window, whenever, publishes it under this id.
func EventID(productID, port string, window time.Duration, start time.Time) string {
	h := sha256.New()
	for _, f := range []string{productID, port, window.String(), strconv.FormatInt(start.UnixMilli(), 10)} {
		h.Write([]byte(f))
		h.Write([]byte{0})
	}
	return "obs-" + hex.EncodeToString(h.Sum(nil)[:16])
}

// RunID returns the run id of an observed QualityEvent: the port and the
// window as an RFC 3339 interval, e.g. "orders 2026-11-29T18:00:00Z/2026-11-29T19:00:00Z".
func RunID(port string, start, end time.Time) string {
	return port + " " + start.UTC().Format(time.RFC3339) + "/" + end.UTC().Format(time.RFC3339)
}

// qualityEvent is the observed QualityEvent of window w (nil: a window
// without records) of series sc, which starts at start (Unix ms): one check
// per objective of the series.
//
// Completeness is the share of the window's records whose column is not
// null, validity the share for which the rule holds (an undecodable record
// counts as null and as failing every rule); uniqueness is the share of
// distinct values among the column's non-null values; volume is the number
// of records, undecodable ones included. A window without records has
// completeness, validity and uniqueness 1 (nothing failed) and volume 0.
func qualityEvent(c *portConf, sc *seriesConf, start int64, w *window, now time.Time) *events.QualityEvent {
	st := time.UnixMilli(start).UTC()
	end := st.Add(sc.Window)
	origin := events.OriginObserved
	port := c.Port
	ev := &events.QualityEvent{
		EventID:        EventID(c.Product, c.Port, sc.Window, st),
		ProductID:      c.Product,
		ProductVersion: c.Version,
		RunID:          RunID(c.Port, st, end),
		ObservedAt:     now.UTC(),
		Origin:         &origin,
		Port:           &port,
		WindowStart:    &st,
		WindowEnd:      &end,
		Checks:         make([]events.QualityCheck, 0, len(sc.objs)),
	}
	if w != nil && w.Volume > 0 {
		newest := time.UnixMilli(w.Newest).UTC()
		ev.DataWatermark = &newest
	}
	for _, o := range sc.objs {
		var observed float64
		switch o.slo.Dimension {
		case events.DimensionCompleteness:
			observed = 1
			if w != nil {
				observed = ratio(w.nonNull[o.idx], w.Volume)
			}
		case events.DimensionValidity:
			observed = 1
			if w != nil {
				observed = ratio(w.pass[o.idx], w.Volume)
			}
		case events.DimensionUniqueness:
			observed = 1
			if w != nil {
				observed = ratio(int64(len(w.hashes[o.idx])), w.uniqN[o.idx])
			}
		case events.DimensionVolume:
			if w != nil {
				observed = float64(w.Volume)
			}
		}
		chk := events.QualityCheck{
			Name:      o.name,
			Dimension: o.slo.Dimension,
			Column:    o.slo.Column,
			Observed:  observed,
			Operator:  o.slo.Operator,
			Threshold: o.slo.Threshold,
			Passed:    policy.Compare(observed, o.slo.Operator, o.slo.Threshold),
		}
		ev.Checks = append(ev.Checks, chk)
	}
	return ev
}

// ratio is n/d, 1 when d is 0.
func ratio(n, d int64) float64 {
	if d == 0 {
		return 1
	}
	return float64(n) / float64(d)
}

// hashValue is a 64-bit FNV-1a hash of a decoded Avro value, stable across
// processes (it is kept in the state topic), with the value's type in it so
// that 1 and "1" differ.
func hashValue(v any) uint64 {
	const (
		offset = 14695981039346656037
		prime  = 1099511628211
	)
	h := uint64(offset)
	add := func(b byte) { h = (h ^ uint64(b)) * prime }
	addString := func(s string) {
		for i := 0; i < len(s); i++ {
			add(s[i])
		}
	}
	addUint := func(u uint64) {
		for i := 0; i < 8; i++ {
			add(byte(u >> (8 * i)))
		}
	}
	switch x := v.(type) {
	case string:
		add('s')
		addString(x)
	case []byte:
		add('b')
		for _, c := range x {
			add(c)
		}
	case int:
		add('i')
		addUint(uint64(x))
	case int32:
		add('i')
		addUint(uint64(x))
	case int64:
		add('i')
		addUint(uint64(x))
	case float32:
		add('f')
		addUint(math.Float64bits(float64(x)))
	case float64:
		add('f')
		addUint(math.Float64bits(x))
	case bool:
		add('t')
		if x {
			add(1)
		} else {
			add(0)
		}
	case time.Time:
		add('T')
		addUint(uint64(x.UnixNano()))
	default:
		add('?')
		addString(fmt.Sprintf("%#v", x))
	}
	return h
}
