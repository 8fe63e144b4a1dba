package events

import (
	"encoding/binary"
	"fmt"
	"math"
	"time"
)

// Quality events are what domain pipelines publish most, so they have an
// encoder of their own instead of hamba/avro's reflection: the Avro binary
// encoding of schemas/avro/QualityEvent.avsc written field by field.
// TestQualityEncoderMatchesHamba checks it byte for byte against hamba for
// varied events, so it cannot drift from the contract unnoticed.

// appendQuality appends the Avro encoding of q, which passed Validate.
func appendQuality(b []byte, q *QualityEvent) ([]byte, error) {
	b = appendString(b, q.EventID)
	b = appendString(b, q.ProductID)
	b = appendString(b, q.ProductVersion)
	b = appendString(b, q.RunID)
	b = appendLong(b, q.ObservedAt.UnixMilli())
	b = appendOptionalMillis(b, q.DataWatermark)
	if len(q.Checks) > 0 {
		b = appendLong(b, int64(len(q.Checks))) // one block
		for i := range q.Checks {
			c := &q.Checks[i]
			b = appendString(b, c.Name)
			dim, ok := dimensionIndex(c.Dimension)
			if !ok {
				return nil, fmt.Errorf("checks[%d].dimension: %q is not a QualityDimension", i, c.Dimension)
			}
			b = appendLong(b, dim)
			if c.Column == nil {
				b = appendLong(b, 0)
			} else {
				b = appendLong(b, 1)
				b = appendString(b, *c.Column)
			}
			b = binary.LittleEndian.AppendUint64(b, math.Float64bits(c.Observed))
			b = appendString(b, c.Operator)
			b = binary.LittleEndian.AppendUint64(b, math.Float64bits(c.Threshold))
			if c.Passed {
				b = append(b, 1)
			} else {
				b = append(b, 0)
			}
		}
	}
	b = appendLong(b, 0) // end of the checks array
	if q.Origin == nil {
		b = appendLong(b, 0)
	} else {
		i, ok := originIndex(*q.Origin)
		if !ok {
			return nil, fmt.Errorf("origin: %q is not a QualityOrigin", *q.Origin)
		}
		b = appendLong(b, 1)
		b = appendLong(b, i)
	}
	if q.Port == nil {
		b = appendLong(b, 0)
	} else {
		b = appendLong(b, 1)
		b = appendString(b, *q.Port)
	}
	b = appendOptionalMillis(b, q.WindowStart)
	return appendOptionalMillis(b, q.WindowEnd), nil
}

// appendOptionalMillis appends a ["null", timestamp-millis] union.
func appendOptionalMillis(b []byte, t *time.Time) []byte {
	if t == nil {
		return appendLong(b, 0)
	}
	return appendLong(appendLong(b, 1), t.UnixMilli())
}

// originIndex is the position of o among the QualityOrigin symbols.
func originIndex(o QualityOrigin) (int64, bool) {
	for i, s := range origins {
		if s == o {
			return int64(i), true
		}
	}
	return 0, false
}

// dimensionIndex is the position of d among the QualityDimension symbols.
func dimensionIndex(d QualityDimension) (int64, bool) {
	for i, s := range dimensions {
		if s == d {
			return int64(i), true
		}
	}
	return 0, false
}
