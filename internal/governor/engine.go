package governor

import (
	"crypto/sha256"
	"encoding/hex"
	"maps"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/meshbone/meshbone/internal/policy"
	"github.com/meshbone/meshbone/pkg/events"
)

// Engine judges events with the current policies and keeps the state that
// judging needs: each product's descriptor and lifecycle status, newest
// watermark and open violations. It does no I/O: the service feeds it
// decoded records in batches and writes what a batch returns in one Kafka
// transaction; meshctl feeds it recorded events offline.
//
// An Engine is not safe for concurrent use, except SetPolicies and Policies.
type Engine struct {
	policies atomic.Pointer[policy.Set]
	products map[string]*ProductState
	slots    map[string]slotNames // by policy id, see slot
	inputs   Inputs               // nil: the products this engine knows
	owns     func(*ProductState) bool
}

// Inputs tells the engine what the mesh knows of a product's inputs. The
// governor's global view (every product of the lifecycle topic, whichever
// instance judges it) is one; without one, an engine knows the products it
// judged itself.
type Inputs interface {
	// Upstream returns the status of each input, in order.
	Upstream(inputs []string) []policy.Upstream
	// Change returns the type of id's newest lifecycle event ("" when it
	// has none).
	Change(id string) events.LifecycleType
}

// SetInputs makes in the source of what policies see of a product's
// inputs. Call it before the first batch.
func (e *Engine) SetInputs(in Inputs) { e.inputs = in }

// SetOwner limits freshness checks and re-judgements to the products owns
// accepts (those of the partitions this instance is assigned; nil: every
// product). Call it before the first batch.
func (e *Engine) SetOwner(owns func(*ProductState) bool) { e.owns = owns }

// slotNames are a policy's two slots.
type slotNames struct{ lifecycle, data string }

// NewEngine returns an Engine judging with set and knowing nothing yet.
func NewEngine(set *policy.Set) *Engine {
	e := &Engine{products: map[string]*ProductState{}, slots: map[string]slotNames{}}
	e.policies.Store(set)
	return e
}

// SetPolicies replaces the policies; batches begun later use the new set.
func (e *Engine) SetPolicies(set *policy.Set) { e.policies.Store(set) }

// Policies returns the current policies.
func (e *Engine) Policies() *policy.Set { return e.policies.Load() }

// Restore replaces the engine's state with states (as read back from the
// state topic).
func (e *Engine) Restore(states map[string]*ProductState) {
	e.products = states
	for id, ps := range states {
		if ps.Open == nil {
			ps.Open = map[string]*OpenViolation{}
		}
		ps.ID = id
	}
}

// Product returns the state of one product (do not modify it).
func (e *Engine) Product(id string) (*ProductState, bool) {
	ps, ok := e.products[id]
	return ps, ok
}

// Len returns how many products the engine knows.
func (e *Engine) Len() int { return len(e.products) }

// Begin starts a batch judged at now with the current policies. Nothing it
// does is visible in the engine until Commit; a batch that is dropped (its
// transaction aborted) leaves the engine as it was, so judging the same
// records again yields the same violations, with the same ids.
func (e *Engine) Begin(now time.Time) *Batch {
	set := e.Policies()
	for _, p := range set.Policies() {
		e.slotsOf(p.ID) // judging reads the map from every core
	}
	return &Batch{
		e: e, set: set, now: now,
		touched: map[string]*ProductState{},
		seen:    map[string]bool{},
		Evals:   map[string]map[policy.Outcome]int{},
	}
}

// Batch is a unit of judging: the events of one transaction.
type Batch struct {
	e       *Engine
	set     *policy.Set
	now     time.Time
	touched map[string]*ProductState // copies of the states this batch changed
	seen    map[string]bool          // products touched
	order   []string                 // touched products in the order they were first touched

	// Violations are the violation records to publish, OPEN and RESOLVED,
	// in order.
	Violations []*events.PolicyViolation
	// Evals counts decisions by policy id and outcome.
	Evals map[string]map[policy.Outcome]int
	// Rejudged counts the products judged again because their inputs
	// changed.
	Rejudged int
}

// Now is the batch's evaluation time.
func (b *Batch) Now() time.Time { return b.now }

// lookup returns the current state of id (the batch's copy if it has one).
func (b *Batch) lookup(id string) *ProductState {
	if ps, ok := b.touched[id]; ok {
		return ps
	}
	return b.e.products[id]
}

// get returns the batch's own, modifiable copy of id's state.
func (b *Batch) get(id string) *ProductState {
	if ps, ok := b.touched[id]; ok {
		return ps
	}
	ps, ok := b.e.products[id]
	if !ok {
		ps = &ProductState{ID: id}
	}
	ps = ps.clone()
	b.touched[id] = ps
	return ps
}

func (b *Batch) markDirty(id string) {
	if !b.seen[id] {
		b.seen[id] = true
		b.order = append(b.order, id)
	}
}

// Item is one event to judge and where it was read, or a product to judge
// again because its inputs changed.
type Item struct {
	Lifecycle *events.ProductLifecycleEvent // one of Lifecycle,
	Quality   *events.QualityEvent          // Quality
	Rejudge   string                        // and Rejudge (a product id)
	CE        events.CloudEvent
	Src       Source
}

// Lifecycle judges a lifecycle event and records the product's new
// descriptor and status.
func (b *Batch) Lifecycle(ev *events.ProductLifecycleEvent, ce events.CloudEvent, src Source) {
	b.Judge([]Item{{Lifecycle: ev, CE: ce, Src: src}})
}

// Quality judges a quality event and records its watermark if it is the
// newest.
func (b *Batch) Quality(ev *events.QualityEvent, ce events.CloudEvent, src Source) {
	b.Judge([]Item{{Quality: ev, CE: ce, Src: src}})
}

// judgement is one event of Judge on its way: what the policies see, then
// their decisions.
type judgement struct {
	ps        *ProductState
	domain    string // the product's domain as of the event
	src       Source
	in        policy.Input
	vars      *policy.Vars
	decisions []policy.Decision
	out       []*events.PolicyViolation // the violations it opened and resolved
	upSig     string                    // the state of the product's inputs judged (lifecycle, upstream)
}

// Judge judges items in order, as if one at a time: each sees the state
// the items before it left. The state changes that policies read (a
// descriptor, a lifecycle status, a watermark) are made first, in order,
// recording what each event's policies will see; the policies then run,
// and the open violations are reconciled, on every core, each product's
// events in order on one worker.
func (b *Batch) Judge(items []Item) {
	js := make([]judgement, 0, len(items))
	for i := range items {
		it := &items[i]
		switch {
		case it.Lifecycle != nil:
			js = append(js, b.prepareLifecycle(it.Lifecycle, it.CE, it.Src))
		case it.Quality != nil:
			js = append(js, b.prepareQuality(it.Quality, it.CE, it.Src))
		case it.Rejudge != "":
			if j, ok := b.prepareRejudge(it.Rejudge); ok {
				js = append(js, j)
			}
		default:
			continue
		}
	}
	// The policies run, and their decisions are reconciled with the
	// product's open violations, on every core. All the events of a product
	// go to one worker, in order, so each finds the open violations the one
	// before it left; products are independent by now (what a product's
	// policies read of another, its inputs' status, was taken above).
	workers := min(runtime.GOMAXPROCS(0), max(len(js)/parallelChunk, 1))
	judgeShard := func(w int) {
		n := 0
		for i := range js {
			if j := &js[i]; workers == 1 || shard(j.ps.ID, workers) == w {
				j.vars = policy.NewVars(j.in)
				n += len(b.set.For(j.vars.Domain, j.vars.Trigger))
			}
		}
		buf := make([]policy.Decision, 0, n) // the shard's decisions, sliced by judgement
		for i := range js {
			if j := &js[i]; workers == 1 || shard(j.ps.ID, workers) == w {
				k := len(buf)
				buf = b.set.AppendDecisions(buf, j.vars)
				j.decisions = buf[k:len(buf):len(buf)]
				b.reconcile(&j.out, j.ps, j.domain, j.vars, j.decisions, j.in.EventID, j.upSig, j.src)
			}
		}
	}
	if workers == 1 {
		judgeShard(0)
	} else {
		var wg sync.WaitGroup
		for w := range workers {
			wg.Go(func() { judgeShard(w) })
		}
		wg.Wait()
	}
	for i := range js {
		b.count(js[i].decisions)
		b.Violations = append(b.Violations, js[i].out...)
	}
}

// shard maps a product id to one of n workers (FNV-1a).
func shard(id string, n int) int {
	h := uint32(2166136261)
	for i := 0; i < len(id); i++ {
		h = (h ^ uint32(id[i])) * 16777619
	}
	return int(h % uint32(n))
}

func (b *Batch) prepareLifecycle(ev *events.ProductLifecycleEvent, ce events.CloudEvent, src Source) judgement {
	id := ev.Product.ID
	ps := b.get(id)
	p := ev.Product
	ps.Product = &p
	ps.Status = lifecycleStatus(ev.Type, ps.Status)
	ps.Lifecycle = &LifecycleRef{EventID: ev.EventID, Type: ev.Type, Source: src}
	upstream := b.upstream(p.Inputs)
	ps.Upstream = upstreamSig(upstream)
	in := policy.Input{
		Trigger: policy.TriggerLifecycle, ProductID: id, Product: ps.Product, View: ps.productView(), Lifecycle: ev,
		CloudEvent: ce, EventID: ev.EventID, Upstream: upstream, Now: b.now,
	}
	if ps.Watermark != nil {
		in.Watermark = ps.Watermark.At
	}
	b.markDirty(id)
	return judgement{ps: ps, domain: ps.Domain(), src: src, in: in, upSig: ps.Upstream}
}

// upstream returns what the mesh knows of inputs: a product this batch
// changed as the batch left it, the others as the engine's Inputs say.
func (b *Batch) upstream(inputs []string) []policy.Upstream {
	var up []policy.Upstream
	if b.e.inputs != nil {
		up = b.e.inputs.Upstream(inputs)
	} else {
		up = make([]policy.Upstream, len(inputs))
		for i, in := range inputs {
			up[i] = policy.Upstream{ID: in, Status: policy.StatusUnknown}
			if st := b.e.products[in]; st != nil && st.Product != nil {
				up[i].Known, up[i].Status = true, st.Status
			}
		}
	}
	for i := range up {
		if st := b.touched[up[i].ID]; st != nil && st.Product != nil {
			up[i].Known, up[i].Status = true, st.Status
		}
	}
	return up
}

// prepareRejudge judges id's newest lifecycle event again with the
// lifecycle policies that read its inputs, if the state of its inputs is no
// longer the one last judged. A product this instance does not own, or
// without a descriptor, is not judged again. (A retired one is: its
// policies see event.type RETIRED as they did the first time.)
func (b *Batch) prepareRejudge(id string) (judgement, bool) {
	cur := b.lookup(id)
	if cur == nil || cur.Product == nil || cur.Lifecycle == nil || (b.e.owns != nil && !b.e.owns(cur)) {
		return judgement{}, false
	}
	upstream := b.upstream(cur.Product.Inputs)
	sig := upstreamSig(upstream)
	if sig == cur.Upstream {
		return judgement{}, false
	}
	ps := b.get(id)
	// The input that changed: the first whose status is not the one judged.
	var changedID, change string
	for _, u := range upstream {
		if !strings.Contains(";"+ps.Upstream, ";"+u.ID+"="+u.Status+";") {
			changedID, change = u.ID, policy.StatusUnknown
			if b.e.inputs != nil {
				if c := b.e.inputs.Change(u.ID); c != "" {
					change = string(c)
				}
			} else if st := b.lookup(u.ID); st != nil && st.Status != "" {
				change = st.Status
			}
			break
		}
	}
	ps.Upstream = sig
	b.Rejudged++
	in := policy.Input{
		Trigger: policy.TriggerUpstream, ProductID: id, Product: ps.Product, View: ps.productView(),
		EventID: ps.Lifecycle.EventID, LifecycleType: string(ps.Lifecycle.Type), Upstream: upstream, UpstreamID: changedID, UpstreamChange: change, Now: b.now,
	}
	if ps.Watermark != nil {
		in.Watermark = ps.Watermark.At
	}
	b.markDirty(id)
	return judgement{ps: ps, domain: ps.Domain(), src: ps.Lifecycle.Source, in: in, upSig: sig}, true
}

func (b *Batch) prepareQuality(ev *events.QualityEvent, ce events.CloudEvent, src Source) judgement {
	ps := b.get(ev.ProductID)
	if w := ev.DataWatermark; w != nil && (ps.Watermark == nil || w.After(ps.Watermark.At)) {
		ps.Watermark = &Watermark{At: *w, EventID: ev.EventID, Source: src}
	}
	// An observed run becomes its port's newest observation before the
	// policies judge it: what the next reported run is compared with.
	ps.Observed = policy.Observe(ps.Observed, ev)
	in := policy.Input{
		Trigger: policy.TriggerQuality, ProductID: ev.ProductID, Product: ps.Product, View: ps.productView(), Quality: ev,
		CloudEvent: ce, EventID: ev.EventID, Now: b.now, Observations: ps.Observed,
	}
	if ps.Watermark != nil {
		in.Watermark = ps.Watermark.At
	}
	b.markDirty(ev.ProductID)
	return judgement{ps: ps, domain: ps.Domain(), src: src, in: in}
}

// Freshness judges every product that has a descriptor and a watermark and
// is not retired with the freshness policies. Only products whose open
// violations change are published.
func (b *Batch) Freshness() {
	ids := make([]string, 0, len(b.e.products)+len(b.touched))
	for id := range b.e.products {
		ids = append(ids, id)
	}
	for id := range b.touched {
		if _, ok := b.e.products[id]; !ok {
			ids = append(ids, id)
		}
	}
	sort.Strings(ids)
	for _, id := range ids {
		cur := b.lookup(id)
		if cur.Product == nil || cur.Watermark == nil || cur.Status == policy.StatusRetired || (b.e.owns != nil && !b.e.owns(cur)) {
			continue
		}
		in := policy.Input{
			Trigger: policy.TriggerFreshness, ProductID: id, Product: cur.Product, View: cur.productView(),
			EventID: cur.Watermark.EventID, Watermark: cur.Watermark.At, Now: b.now,
		}
		vars := policy.NewVars(in)
		decisions := b.set.AppendDecisions(nil, vars)
		b.count(decisions)
		if !b.changes(cur, vars, decisions) {
			continue
		}
		ps := b.get(id)
		b.reconcile(&b.Violations, ps, ps.Domain(), vars, decisions, cur.Watermark.EventID, "", cur.Watermark.Source)
		b.markDirty(id)
	}
}

func (b *Batch) count(decisions []policy.Decision) {
	for _, d := range decisions {
		m := b.Evals[d.Policy.ID]
		if m == nil {
			m = map[policy.Outcome]int{}
			b.Evals[d.Policy.ID] = m
		}
		m[d.Outcome]++
	}
}

// slotClass groups triggers whose judgements supersede each other.
func slotClass(t policy.Trigger) string {
	if t == policy.TriggerLifecycle || t == policy.TriggerUpstream {
		return "lifecycle"
	}
	return "data"
}

// slot returns the slot of policy p for the event of vars:
// "<policy id>@<class>", made once per policy id, or for an observed run
// and a policy that reads it, "<policy id>@data/<stream>" (see
// ProductState.Open and policy.Vars.Stream).
func (e *Engine) slot(p *policy.Policy, vars *policy.Vars) string {
	if st := vars.Stream(); st != "" && p.ReadsRun {
		return p.ID + "@data/" + st
	}
	return e.classSlot(p.ID, vars.Trigger)
}

// classSlot returns the slot of policyID for events of trigger t that are
// on no stream of their own.
func (e *Engine) classSlot(policyID string, t policy.Trigger) string {
	s, ok := e.slots[policyID]
	if !ok {
		// A policy no longer in the set, whose violation is still open:
		// made, not cached, as judges on every core read the map.
		s = slotNames{lifecycle: policyID + "@lifecycle", data: policyID + "@data"}
	}
	if slotClass(t) == "lifecycle" {
		return s.lifecycle
	}
	return s.data
}

// slotOfClass reports whether slot, of an open violation of policyID,
// is of class, and whether it is a stream's.
func slotOfClass(slot, policyID, class string) (ok, stream bool) {
	rest, found := strings.CutPrefix(slot, policyID)
	if !found || len(rest) < 1+len(class) || rest[0] != '@' || rest[1:1+len(class)] != class {
		return false, false
	}
	rest = rest[1+len(class):]
	if rest == "" {
		return true, false
	}
	return rest[0] == '/', rest[0] == '/'
}

// slotsOf makes and caches the slot names of policyID. Only Begin calls it,
// before judging starts.
func (e *Engine) slotsOf(policyID string) {
	if _, ok := e.slots[policyID]; !ok {
		e.slots[policyID] = slotNames{lifecycle: policyID + "@lifecycle", data: policyID + "@data"}
	}
}

// wantOpen says what a decision asks of its slot: open a violation (and
// whether it reports an error) or have none.
func wantOpen(d policy.Decision) (open, errored bool) {
	switch d.Outcome {
	case policy.Fail:
		return true, false
	case policy.Errored:
		return true, true
	}
	return false, false
}

// changes reports whether reconciling decisions would change cur.
func (b *Batch) changes(cur *ProductState, vars *policy.Vars, decisions []policy.Decision) bool {
	for _, d := range decisions {
		open, errored := wantOpen(d)
		ov := cur.Open[b.e.slot(d.Policy, vars)]
		if (ov != nil) != open || (ov != nil && ov.Errored != errored) {
			return true
		}
	}
	return len(b.stale(cur, vars)) > 0
}

// stale returns the slots of vars' class (those of every stream
// included) whose policy is gone, no longer applies to the product's
// domain or no longer judges this class, and the stream slots of a policy
// that no longer reads the run.
func (b *Batch) stale(ps *ProductState, vars *policy.Vars) []string {
	class := slotClass(vars.Trigger)
	var out []string
	for slot, ov := range ps.Open {
		ofClass, stream := slotOfClass(slot, ov.Violation.PolicyID, class)
		if !ofClass {
			continue // another class
		}
		p, ok := b.set.Get(ov.Violation.PolicyID)
		if !ok || !b.set.AppliesTo(p, vars.Domain) || !judgesClass(p, class) || (stream && !p.ReadsRun) {
			out = append(out, slot)
		}
	}
	slices.Sort(out)
	return out
}

func judgesClass(p *policy.Policy, class string) bool {
	for _, t := range p.On {
		if slotClass(t) == class {
			return true
		}
	}
	return false
}

// reconcile opens a violation for each broken (or errored) policy whose slot
// is not already open for the same reason, and resolves the open ones the
// event cleared: one violation per breach, not one per event.
//
// A breach of a policy that reads a product's inputs, on a product that has
// some, is named by the product's newest lifecycle event and the state of
// its inputs (upSig): judged again under other inputs, it is resolved and
// opened anew. So the violations open at the end are the same whichever
// order the product's event and its inputs' events were judged in.
func (b *Batch) reconcile(out *[]*events.PolicyViolation, ps *ProductState, domain string, vars *policy.Vars, decisions []policy.Decision, eventID, upSig string, src Source) {
	for _, d := range decisions {
		slot := b.e.slot(d.Policy, vars)
		open, errored := wantOpen(d)
		key := eventID
		if upSig != "" && d.Policy.ReadsUpstream {
			key = eventID + "\x00" + upSig
		}
		cur := ps.Open[slot]
		if cur != nil && open && cur.Errored == errored &&
			(key == eventID || cur.Violation.ViolationID == ViolationID(d.Policy.ID, d.Policy.Version, key, errored)) {
			continue // the same breach goes on
		}
		if cur != nil {
			b.resolve(out, ps, slot, eventID, src, resolutions[d.Outcome])
		}
		if !open {
			continue
		}
		v := b.violation(ps.ID, domain, d, vars, key, src)
		if key != eventID {
			v.SourceEventID = eventID
			v.Evidence["upstream"] = upSig // and so the id: ViolationID of eventID NUL upstream
		}
		ps.Open[slot] = &OpenViolation{Errored: errored, Violation: *v}
		*out = append(*out, v)
	}
	for _, slot := range b.stale(ps, vars) {
		b.resolve(out, ps, slot, eventID, src, "policy no longer applies")
	}
}

// resolutions say why a decision resolved an open violation.
var resolutions = [...]string{
	policy.Skipped: "policy skipped",
	policy.Pass:    "policy pass",
	policy.Fail:    "policy fail",
	policy.Errored: "policy error",
}

// resolve closes the violation in slot with a RESOLVED record of the same
// violation id.
func (b *Batch) resolve(out *[]*events.PolicyViolation, ps *ProductState, slot, eventID string, src Source, why string) {
	ov := ps.Open[slot]
	delete(ps.Open, slot)
	v := ov.Violation
	v.Status = events.ViolationResolved
	v.Evidence = maps.Clone(v.Evidence)
	v.Evidence["resolved_by"] = eventID
	v.Evidence["resolution"] = why
	v.SourceEventID, v.SourceTopic, v.SourcePartition, v.SourceOffset = eventID, src.Topic, src.Partition, src.Offset
	v.DetectedAt = b.now
	*out = append(*out, &v)
}

// ViolationID is the deterministic id of the violation that policy (at
// version) raised on the event eventID: judging the same event with the same
// policy again, after a crash or an aborted transaction, gives the same id.
func ViolationID(policyID, version, eventID string, errored bool) string {
	var buf [256]byte // on the stack: one allocation, the id
	in := append(append(append(append(append(buf[:0], policyID...), 0), version...), 0), eventID...)
	if errored {
		in = append(in, "\x00error"...)
	}
	sum := sha256.Sum256(in)
	var id [32]byte
	hex.Encode(id[:], sum[:16])
	return string(id[:])
}

func (b *Batch) violation(productID, domain string, d policy.Decision, vars *policy.Vars, eventID string, src Source) *events.PolicyViolation {
	p := d.Policy
	errored := d.Outcome == policy.Errored
	v := &events.PolicyViolation{
		ViolationID:     ViolationID(p.ID, p.Version, eventID, errored),
		ProductID:       productID,
		Domain:          domain,
		PolicyID:        p.ID,
		PolicyVersion:   p.Version,
		Scope:           p.Scope,
		Severity:        p.Severity,
		Status:          events.ViolationOpen,
		Evidence:        map[string]string{"trigger": string(vars.Trigger), "policy_file": p.File},
		SourceEventID:   eventID,
		SourceTopic:     src.Topic,
		SourcePartition: src.Partition,
		SourceOffset:    src.Offset,
		DetectedAt:      b.now,
	}
	switch {
	case d.Message != "":
		v.Message = d.Message
	case d.Outcome == policy.Fail:
		v.Message = p.Render(vars)
	}
	if errored {
		v.Severity = events.SeverityWarning
		v.Message = "policy " + p.ID + " could not be evaluated: " + d.Err.Error()
		v.Evidence["error"] = d.Err.Error()
	}
	if v.Message == "" {
		v.Message = "policy " + p.ID + " is not met"
	}
	return v
}

// Change is what a batch changed about one product, and so what to
// publish for it.
type Change struct {
	State *ProductState
	// Descriptor: a lifecycle event gave the product a new descriptor.
	Descriptor bool
	// Volatile: its status, watermark, open violations or published
	// compliance changed.
	Volatile bool
	// Compliance: its compliance status (status, version, open
	// violations) changed and is to be published.
	Compliance bool
}

// Changed returns what the batch changed, per product, in the order the
// products were first touched. It marks the new compliance statuses as
// published: call it once, when the batch is about to be written.
func (b *Batch) Changed() []Change {
	out := make([]Change, 0, len(b.order))
	for _, id := range b.order {
		ps := b.touched[id]
		c := Change{State: ps}
		var buf [256]byte
		if sig := ps.appendComplianceSig(buf[:0]); string(sig) != ps.Published {
			ps.Published, c.Compliance = string(sig), true
		}
		base, ok := b.e.products[id]
		if !ok {
			base = &ProductState{}
		}
		c.Descriptor = ps.Product != base.Product
		c.Volatile = !sameVolatile(ps, base)
		if c.Descriptor || c.Volatile || c.Compliance {
			out = append(out, c)
		}
	}
	return out
}

// Commit makes the batch's changes the engine's state. Call it only once
// the batch's records are committed.
func (b *Batch) Commit() {
	for id, ps := range b.touched {
		b.e.products[id] = ps
	}
}
