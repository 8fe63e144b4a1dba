package events

import (
	"bytes"
	"maps"
	"math"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/hamba/avro/v2"

	"github.com/meshbone/meshbone/schemas"
)

// encoderInputs makes the varied values the encoder tests share: strings
// short and long (multi-byte lengths) and unicode, times before and after
// 1970.
type encoderInputs struct{ rng *rand.Rand }

func (g encoderInputs) str() string {
	n := g.rng.IntN(5)
	if n == 4 {
		return strings.Repeat("é", 70+g.rng.IntN(200)) // > 127 bytes: two-byte length
	}
	return []string{"", "a", "sales.customer-orders", "ü∂🚀"}[n]
}

func (g encoderInputs) at() time.Time {
	return time.UnixMilli(g.rng.Int64N(4_000_000_000_000) - 1_000_000_000_000).UTC()
}

func pick[T any](g encoderInputs, from ...T) T { return from[g.rng.IntN(len(from))] }

// The hand-written PolicyViolation encoder writes exactly what hamba/avro
// writes (map blocks as a plain count, see TestQualityEncoderMatchesHamba),
// for violations of every shape: every enum symbol, nil, empty and full
// evidence, extreme partitions and offsets. Map entries come in Go's
// random order in both encodings, so a violation with more than one
// evidence entry is checked by size and by what hamba decodes back.
func TestViolationEncoderMatchesHamba(t *testing.T) {
	s := schemas.MustParse(schemas.PolicyViolation)
	plainBlocks := avro.Config{DisableBlockSizeHeader: true}.Freeze()
	g := encoderInputs{rand.New(rand.NewPCG(3, 4))}
	multi := 0
	for i := range 3000 {
		v := &PolicyViolation{
			ViolationID: g.str(), ProductID: g.str(), Domain: g.str(), PolicyID: g.str(), PolicyVersion: g.str(),
			Scope:           pick(g, ScopeGlobal, ScopeDomain),
			Severity:        pick(g, SeverityInfo, SeverityWarning, SeverityCritical),
			Status:          pick(g, ViolationOpen, ViolationResolved),
			Message:         g.str(),
			SourceEventID:   g.str(),
			SourceTopic:     g.str(),
			SourcePartition: pick(g, int32(0), 1, 63, 64, -1, math.MaxInt32, math.MinInt32, g.rng.Int32()),
			SourceOffset:    pick(g, int64(0), 1, -1, math.MaxInt64, math.MinInt64, g.rng.Int64()),
			DetectedAt:      g.at(),
		}
		switch n := g.rng.IntN(5); {
		case n == 0: // nil
		case n == 1:
			v.Evidence = map[string]string{}
		case n == 4 && i%10 == 0:
			n = 70 // a block count above 63: two-byte varint
			fallthrough
		default:
			v.Evidence = map[string]string{}
			for j := range n - 1 {
				v.Evidence[g.str()+strings.Repeat("k", j)] = g.str()
			}
		}
		want, err := plainBlocks.Marshal(s, v)
		if err != nil {
			t.Fatal(err)
		}
		got, err := appendViolation(nil, v)
		if err != nil {
			t.Fatal(err)
		}
		if len(v.Evidence) <= 1 && !bytes.Equal(got, want) {
			t.Fatalf("violation %d: hand-written encoding differs from hamba's\n got % x\nwant % x\nviolation %+v", i, got, want, v)
		}
		if len(got) != len(want) {
			t.Fatalf("violation %d: hand-written encoding has %d bytes, hamba's %d", i, len(got), len(want))
		}
		var back PolicyViolation
		if err := avro.Unmarshal(s, got, &back); err != nil {
			t.Fatalf("violation %d: hamba cannot decode the hand-written encoding: %v", i, err)
		}
		wantBack := *v
		wantBack.Evidence = maps.Clone(v.Evidence)
		if wantBack.Evidence == nil {
			wantBack.Evidence = map[string]string{}
		}
		if !reflect.DeepEqual(back, wantBack) {
			t.Fatalf("violation %d: hamba decodes\n%+v\nwant\n%+v", i, back, wantBack)
		}
		if len(v.Evidence) > 1 {
			multi++
		}
	}
	if multi < 500 {
		t.Fatalf("only %d violations with several evidence entries", multi)
	}
	for _, bad := range []PolicyViolation{
		{Scope: "LOCAL", Severity: SeverityInfo, Status: ViolationOpen},
		{Scope: ScopeGlobal, Severity: "FATAL", Status: ViolationOpen},
		{Scope: ScopeGlobal, Severity: SeverityInfo, Status: "CLOSED"},
	} {
		if _, err := appendViolation(nil, &bad); err == nil {
			t.Errorf("%+v: an unknown enum symbol was encoded", bad)
		}
	}
}

// The hand-written ComplianceStatus encoder writes exactly what hamba/avro
// writes (array blocks as a plain count), for statuses of every shape:
// every enum symbol, nil, empty and long lists of open violations.
func TestComplianceEncoderMatchesHamba(t *testing.T) {
	s := schemas.MustParse(schemas.ComplianceStatus)
	plainBlocks := avro.Config{DisableBlockSizeHeader: true}.Freeze()
	g := encoderInputs{rand.New(rand.NewPCG(5, 6))}
	for i := range 3000 {
		c := &ComplianceStatus{
			ProductID: g.str(), ProductVersion: g.str(), Domain: g.str(),
			Status:      pick(g, Compliant, NonCompliant, Unknown),
			EvaluatedAt: g.at(),
		}
		n := g.rng.IntN(5) - 1
		if i%50 == 0 {
			n = 70 // a block count above 63: two-byte varint
		}
		if n >= 0 {
			c.OpenViolations = []OpenViolation{}
		}
		for range n {
			c.OpenViolations = append(c.OpenViolations, OpenViolation{
				ViolationID: g.str(), PolicyID: g.str(), Message: g.str(),
				Severity: pick(g, SeverityInfo, SeverityWarning, SeverityCritical),
			})
		}
		want, err := plainBlocks.Marshal(s, c)
		if err != nil {
			t.Fatal(err)
		}
		got, err := appendCompliance(nil, c)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("status %d: hand-written encoding differs from hamba's\n got % x\nwant % x\nstatus %+v", i, got, want, c)
		}
		var back ComplianceStatus
		if err := avro.Unmarshal(s, got, &back); err != nil {
			t.Fatalf("status %d: hamba cannot decode the hand-written encoding: %v", i, err)
		}
		if got2, _ := appendCompliance(nil, &back); !bytes.Equal(got2, got) {
			t.Fatalf("status %d: decoded status encodes differently", i)
		}
	}
	for _, bad := range []ComplianceStatus{
		{Status: "MOSTLY"},
		{Status: Compliant, OpenViolations: []OpenViolation{{Severity: "FATAL"}}},
	} {
		if _, err := appendCompliance(nil, &bad); err == nil {
			t.Errorf("%+v: an unknown enum symbol was encoded", bad)
		}
	}
}
