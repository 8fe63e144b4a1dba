package events

import (
	"bytes"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/hamba/avro/v2"

	"github.com/meshbone/meshbone/schemas"
)

// The hand-written QualityEvent encoder writes exactly what hamba/avro writes
// for the contract (with array blocks as a plain count, which hamba writes
// with DisableBlockSizeHeader; both forms are valid Avro), and hamba decodes
// it back to the same event, for events of every shape: with and without
// watermark, column and checks, long strings (multi-byte lengths), unicode,
// negative, huge and special floats, times before 1970, 70 checks.
func TestQualityEncoderMatchesHamba(t *testing.T) {
	s := schemas.MustParse(schemas.QualityEvent)
	plainBlocks := avro.Config{DisableBlockSizeHeader: true}.Freeze()
	rng := rand.New(rand.NewPCG(1, 2))
	str := func() string {
		n := rng.IntN(5)
		if n == 4 {
			return strings.Repeat("é", 70+rng.IntN(200)) // > 127 bytes: two-byte length
		}
		return []string{"", "a", "sales.customer-orders", "ü∂🚀"}[n]
	}
	float := func() float64 {
		return []float64{0, -0.5, 0.98, 1e300, -1e-300, math.Inf(1), math.MaxFloat64, rng.Float64()}[rng.IntN(8)]
	}
	at := func() time.Time {
		return time.UnixMilli(rng.Int64N(4_000_000_000_000) - 1_000_000_000_000).UTC()
	}
	for i := range 2000 {
		q := &QualityEvent{EventID: str(), ProductID: str(), ProductVersion: str(), RunID: str(), ObservedAt: at()}
		if rng.IntN(2) == 0 {
			w := at()
			q.DataWatermark = &w
		}
		for range rng.IntN(4) {
			c := QualityCheck{Name: str(), Dimension: dimensions[rng.IntN(len(dimensions))], Observed: float(), Operator: operators[rng.IntN(len(operators))], Threshold: float(), Passed: rng.IntN(2) == 0}
			if rng.IntN(2) == 0 {
				col := str()
				c.Column = &col
			}
			q.Checks = append(q.Checks, c)
		}
		if rng.IntN(2) == 0 {
			o := origins[rng.IntN(len(origins))]
			q.Origin = &o
		}
		if rng.IntN(2) == 0 {
			p, ws, we := str(), at(), at()
			q.Port, q.WindowStart, q.WindowEnd = &p, &ws, &we
		}
		if i%50 == 0 {
			q.Checks = make([]QualityCheck, 70) // a block count above 63: two-byte varint
			for j := range q.Checks {
				q.Checks[j] = QualityCheck{Name: "c", Dimension: DimensionVolume, Operator: "<"}
			}
		}
		want, err := plainBlocks.Marshal(s, q)
		if err != nil {
			t.Fatal(err)
		}
		got, err := appendQuality(nil, q)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("event %d: hand-written encoding differs from hamba's\n got % x\nwant % x\nevent %+v", i, got, want, q)
		}
		var back QualityEvent
		if err := avro.Unmarshal(s, got, &back); err != nil {
			t.Fatalf("event %d: hamba cannot decode the hand-written encoding: %v", i, err)
		}
		if got2, _ := appendQuality(nil, &back); !bytes.Equal(got2, got) {
			t.Fatalf("event %d: decoded event encodes differently", i)
		}
	}
	if _, err := appendQuality(nil, &QualityEvent{Checks: []QualityCheck{{Dimension: "TASTE"}}}); err == nil {
		t.Error("an unknown dimension was encoded")
	}
	if _, err := appendQuality(nil, &QualityEvent{Origin: ptr(QualityOrigin("GUESSED"))}); err == nil {
		t.Error("an unknown origin was encoded")
	}
}
