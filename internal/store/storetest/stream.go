package storetest

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/meshbone/meshbone/pkg/events"
)

// Domains of the generated mesh.
var Domains = []string{"sales", "marketing", "finance", "product", "logistics", "support", "hr", "risk", "pricing", "inventory", "web", "payments"}

// Words are everyday data words; generated products are named and
// described with them (plus rarer generated words), so searches hit a
// realistic share of products.
var Words = strings.Fields(`customer order invoice payment refund shipment parcel warehouse stock
	product catalog price discount coupon campaign channel click session visit lead contact account
	ledger revenue margin forecast budget cost expense payroll employee team ticket incident
	chat call survey rating review return fraud risk score credit loan claim policy premium
	supplier vendor contract store region country city address device app event metric daily
	weekly monthly hourly snapshot history changes latest raw curated enriched aggregated
	segment cohort churn retention conversion funnel attribution experiment feature model
	prediction label audit consent privacy subscription plan usage billing tax currency rate`)

// Stream generates a deterministic, endless mesh event stream over a fixed
// set of products: the products are registered first, then lifecycle
// changes, quality runs, violations (opened and resolved), compliance
// states and audit events follow in a realistic mix, all with event times
// that only move forward.
type Stream struct {
	products int
	rng      *rand.Rand
	n        int
	t        time.Time
	rare     []string
	open     map[int][]string // open violation ids by product
}

// NewStream returns a stream over products products.
func NewStream(products int, seed uint64) *Stream {
	s := &Stream{products: products, rng: rand.New(rand.NewPCG(seed, 0x5eed)), t: T0, open: map[int][]string{}}
	syl := strings.Fields("ka lo mi ne ra su ti vo ze da fi gu ha je ku ly mo pa re si ta ul va wi bo")
	seen := map[string]bool{}
	for len(s.rare) < 2000 {
		w := syl[s.rng.IntN(len(syl))] + syl[s.rng.IntN(len(syl))] + syl[s.rng.IntN(len(syl))]
		if !seen[w] {
			seen[w] = true
			s.rare = append(s.rare, w)
		}
	}
	return s
}

// ProductID is the id of generated product i.
func (s *Stream) ProductID(i int) string {
	d := Domains[i%len(Domains)]
	return d + "." + s.name(i)
}

func (s *Stream) name(i int) string {
	// Deterministic from i alone, not from the stream's position.
	r := rand.New(rand.NewPCG(uint64(i), 7))
	return Words[r.IntN(len(Words))] + "-" + Words[r.IntN(len(Words))] + "-" + fmt.Sprint(i)
}

// Product returns generated product i at a version.
func (s *Stream) Product(i int, version string) events.DataProduct {
	r := rand.New(rand.NewPCG(uint64(i), 11))
	domain := Domains[i%len(Domains)]
	desc := make([]string, 12)
	for j := range desc {
		if j%3 == 2 {
			desc[j] = s.rare[r.IntN(len(s.rare))]
		} else {
			desc[j] = Words[r.IntN(len(Words))]
		}
	}
	tags := []string{Words[r.IntN(len(Words))], Words[r.IntN(len(Words))], domain}
	var inputs []string
	if i > 0 {
		for range r.IntN(3) {
			inputs = append(inputs, s.ProductID(r.IntN(i)))
		}
	}
	fields := make([]string, 6)
	for j := range fields {
		fields[j] = Words[r.IntN(len(Words))] + "_" + s.rare[r.IntN(len(s.rare))]
	}
	sens := []events.Sensitivity{events.SensitivityPublic, events.SensitivityInternal, events.SensitivityInternal, events.SensitivityConfidential, events.SensitivityRestricted}
	return Product(domain, s.name(i), Desc(strings.Join(desc, " ")), Tags(tags...), Inputs(inputs...), Version(version),
		Sensitivity(sens[r.IntN(len(sens))]), Port(Words[r.IntN(len(Words))], nil, fields...))
}

// Next returns the next event.
func (s *Stream) Next() events.Event {
	s.n++
	s.t = s.t.Add(time.Second)
	id := fmt.Sprintf("ev-%d", s.n)
	if s.n <= s.products {
		return Lifecycle(id, events.LifecycleRegistered, s.Product(s.n-1, "1.0.0"), s.t)
	}
	i := s.rng.IntN(s.products)
	pid := s.ProductID(i)
	switch x := s.rng.IntN(100); {
	case x < 4:
		return Lifecycle(id, events.LifecycleUpdated, s.Product(i, fmt.Sprintf("1.%d.0", s.n%50)), s.t)
	case x < 5:
		typ := events.LifecycleDeprecated
		if s.rng.IntN(4) == 0 {
			typ = events.LifecycleRetired
		}
		return Lifecycle(id, typ, s.Product(i, "1.0.0"), s.t)
	case x < 62:
		return Quality(id, pid, fmt.Sprintf("run-%d", s.n), s.t,
			Check("completeness", events.DimensionCompleteness, 0.9+s.rng.Float64()*0.1, 0.95),
			Check("row_count", events.DimensionVolume, float64(1000+s.rng.IntN(500)), 1100),
			Check("null_rate", events.DimensionValidity, s.rng.Float64()*0.05, 0.0))
	case x < 72:
		if open := s.open[i]; len(open) > 0 && s.rng.IntN(2) == 0 {
			vid := open[0]
			s.open[i] = open[1:]
			return Violation(vid, pid, "quality-slo", events.SeverityWarning, events.ViolationResolved, "completeness back above the objective", s.t)
		}
		s.open[i] = append(s.open[i], id)
		return Violation(id, pid, "quality-slo", events.SeverityWarning, events.ViolationOpen, "completeness below the objective", s.t)
	case x < 84:
		status := events.Compliant
		var open []events.OpenViolation
		for _, v := range s.open[i] {
			status = events.NonCompliant
			open = append(open, events.OpenViolation{ViolationID: v, PolicyID: "quality-slo", Severity: events.SeverityWarning, Message: "completeness below the objective"})
		}
		return Compliance(pid, status, s.t, open...)
	}
	return Audit(id, "registrar", "product.read", pid, s.t)
}
