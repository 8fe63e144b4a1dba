package events

import (
	"encoding/binary"
	"fmt"
	"math"
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
	if q.DataWatermark == nil {
		b = appendLong(b, 0) // union branch 0: null
	} else {
		b = appendLong(b, 1)
		b = appendLong(b, q.DataWatermark.UnixMilli())
	}
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
	return appendLong(b, 0), nil // end of the checks array
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
