package governor

import (
	"maps"
	"slices"
	"time"

	"github.com/meshbone/meshbone/internal/policy"
	"github.com/meshbone/meshbone/pkg/events"
)

// Source is where a judged record was read.
type Source struct {
	Topic     string `json:"topic"`
	Partition int32  `json:"partition"`
	Offset    int64  `json:"offset"`
}

// Watermark is the newest data_watermark seen for a product and the quality
// event that carried it.
type Watermark struct {
	At      time.Time `json:"at"`
	EventID string    `json:"event_id"`
	Source  Source    `json:"source"`
}

// LifecycleRef names a product's newest lifecycle event and where it was
// read.
type LifecycleRef struct {
	EventID string               `json:"event_id"`
	Type    events.LifecycleType `json:"type"`
	Source  Source               `json:"source"`
}

// OpenViolation is a violation raised and not yet resolved.
type OpenViolation struct {
	// Errored says the violation reports a policy that failed to
	// evaluate, not one that was broken.
	Errored   bool                   `json:"errored,omitempty"`
	Violation events.PolicyViolation `json:"violation"`

	enc []byte // its JSON, once encoded (see encoded)
}

// ProductState is what the governor knows of one product. It is the value of
// the governor's state topic (JSON, key = product id), written in the same
// transaction as the violations and offsets it reflects.
type ProductState struct {
	ID        string              `json:"id"`
	Product   *events.DataProduct `json:"product,omitempty"` // nil until a lifecycle event
	Status    string              `json:"status,omitempty"`  // ACTIVE, DEPRECATED or RETIRED
	Watermark *Watermark          `json:"watermark,omitempty"`
	// Open maps a slot ("<policy id>@<lifecycle|data>") to its open
	// violation. A policy judges lifecycle events in one slot and data
	// (quality events and freshness checks) in another, so a quality run
	// never clears what a descriptor broke, and the reverse. A policy that
	// reads the run (policy.Policy.ReadsRun) judges the monitor's observed
	// runs of each port and window length in a slot of their own,
	// "<policy id>@data/observed/<port>/<window>" (policy.Vars.Stream), so
	// that a port's window never clears what a reported run or another
	// series' window raised.
	Open map[string]*OpenViolation `json:"open,omitempty"`
	// Published is the signature of the compliance status last published
	// (status, version, open violation ids): a status is published only
	// when it changes.
	Published string `json:"published,omitempty"`
	// Lifecycle is the product's newest lifecycle event: the event a
	// re-judgement judges again, and the partition that makes an instance
	// its owner.
	Lifecycle *LifecycleRef `json:"lifecycle,omitempty"`
	// Upstream is the state of the product's inputs its lifecycle policies
	// last judged (upstreamSig): when the global view says otherwise, the
	// product is judged again.
	Upstream string `json:"upstream,omitempty"`
	// Observed is the newest observed value of each of the product's
	// checks: the checks of the newest observed run of each port and
	// window length, in the
	// order of the product's partition of the quality topic (see
	// policy.Observe). Never modified in place: a batch replaces it.
	Observed []policy.Observation `json:"observed,omitempty"`

	view   *policy.Product     // Product as policies see it ...
	viewOf *events.DataProduct // ... when Product was this
}

// productView returns the descriptor as policies see it, built once per
// descriptor.
func (ps *ProductState) productView() *policy.Product {
	if ps.Product == nil {
		return nil
	}
	if ps.viewOf != ps.Product {
		ps.view, ps.viewOf = policy.ProductView(ps.Product), ps.Product
	}
	return ps.view
}

// appendComplianceSig appends what identifies a compliance status,
// evaluation time aside.
func (ps *ProductState) appendComplianceSig(b []byte) []byte {
	if ps.Product != nil {
		b = append(b, ps.Product.Version...)
	} else {
		b = append(b, '?') // UNKNOWN
	}
	if len(ps.Open) == 0 {
		return b
	}
	var buf [8]string
	ids := buf[:0]
	for _, ov := range ps.Open {
		ids = append(ids, ov.Violation.ViolationID)
	}
	slices.Sort(ids)
	for _, id := range ids {
		b = append(append(b, '|'), id...)
	}
	return b
}

// sortedKeys returns the keys of m in order, in buf if they fit: the maps
// sorted on the hot path hold a few entries, and buf can live on the
// caller's stack.
func sortedKeys[V any](buf []string, m map[string]V) []string {
	keys := buf[:0]
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// sameVolatile reports whether a and b agree on everything but the
// descriptor.
func sameVolatile(a, b *ProductState) bool {
	if a.Status != b.Status || a.Published != b.Published || len(a.Open) != len(b.Open) || a.Upstream != b.Upstream || !slices.Equal(a.Observed, b.Observed) {
		return false
	}
	if (a.Lifecycle == nil) != (b.Lifecycle == nil) || (a.Lifecycle != nil && *a.Lifecycle != *b.Lifecycle) {
		return false
	}
	if (a.Watermark == nil) != (b.Watermark == nil) || (a.Watermark != nil && *a.Watermark != *b.Watermark) {
		return false
	}
	for slot, ov := range a.Open {
		if o, ok := b.Open[slot]; !ok || o.Violation.ViolationID != ov.Violation.ViolationID || o.Errored != ov.Errored {
			return false
		}
	}
	return true
}

func (ps *ProductState) clone() *ProductState {
	c := *ps
	c.Open = maps.Clone(ps.Open)
	if c.Open == nil {
		c.Open = map[string]*OpenViolation{}
	}
	return &c
}

// Domain returns the product's domain: from its descriptor, else from its
// id, else "unknown" (a violation must name one).
func (ps *ProductState) Domain() string {
	if ps.Product != nil && ps.Product.Domain != "" {
		return ps.Product.Domain
	}
	if d := policy.DomainOf(ps.ID); d != "" {
		return d
	}
	return "unknown"
}

// Compliance returns the product's compliance status as of now.
func (ps *ProductState) Compliance(now time.Time) *events.ComplianceStatus {
	c := &events.ComplianceStatus{
		ProductID:      ps.ID,
		Domain:         ps.Domain(),
		Status:         events.Compliant,
		OpenViolations: []events.OpenViolation{},
		EvaluatedAt:    now,
	}
	if ps.Product != nil {
		c.ProductVersion = ps.Product.Version
	} else {
		c.Status = events.Unknown
	}
	var buf [8]string
	for _, slot := range sortedKeys(buf[:0], ps.Open) {
		v := ps.Open[slot].Violation
		c.OpenViolations = append(c.OpenViolations, events.OpenViolation{ViolationID: v.ViolationID, PolicyID: v.PolicyID, Severity: v.Severity, Message: v.Message})
	}
	if len(c.OpenViolations) > 0 {
		c.Status = events.NonCompliant
	}
	return c
}
