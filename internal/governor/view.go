package governor

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"go.uber.org/zap"

	"github.com/meshbone/meshbone/internal/kafka/txn"
	"github.com/meshbone/meshbone/internal/policy"
	"github.com/meshbone/meshbone/pkg/events"
)

// globalView is every product of the mesh as the lifecycle topic says, not
// only those of the partitions this instance judges: what judging a product
// needs to know of its inputs. Every instance builds the same view by
// reading the whole lifecycle topic read_committed, like a global table, so
// what a policy reads of another product never depends on which instance
// judges, nor on which partition arrived first: when the view learns that a
// product changed, the products that read it are marked pending, and the
// instance that owns each one judges it again (Engine.Rejudge).
//
// It is safe for concurrent use: a reader goroutine applies the topic while
// the judging loop reads.
type globalView struct {
	mu       sync.Mutex
	products map[string]viewEntry
	readers  map[string]map[string]struct{} // product id -> the products that list it in inputs
	pending  map[string]struct{}            // products whose inputs changed since the loop last looked
	notify   chan struct{}                  // signalled when pending gains a product
	applied  int64                          // lifecycle records applied
	skipped  int64                          // lifecycle records that did not decode
	next     map[int32]int64                // partition -> the offset after the last record read
}

// viewEntry is one product in the view.
type viewEntry struct {
	status string               // ACTIVE, DEPRECATED or RETIRED
	change events.LifecycleType // its newest lifecycle event's type
	inputs []string
}

func newGlobalView() *globalView {
	return &globalView{
		products: map[string]viewEntry{},
		readers:  map[string]map[string]struct{}{},
		pending:  map[string]struct{}{},
		notify:   make(chan struct{}, 1),
		next:     map[int32]int64{},
	}
}

// viewWait bounds how long the judging loop waits for the view to read the
// lifecycle records of its batch (see awaitRecords).
const viewWait = 250 * time.Millisecond

// awaitRecords waits, at most viewWait, until the view has read every
// lifecycle record of recs (topic is the lifecycle topic). The view and the
// judging loop read the same partitions at about the same time; waiting for
// it puts the re-judgements a lifecycle event asks of this instance in the
// same transaction as the event, instead of in the next one (which would
// begin while the coordinator still ends this one).
//
// Only the records of products that other products read (the key is the
// product id) are waited for: the others ask no re-judgement of anyone, and
// the view reads every record again on one core where the loop decodes on
// all of them.
func (v *globalView) awaitRecords(ctx context.Context, topic string, recs []*kgo.Record) {
	want := map[int32]int64{}
	v.mu.Lock()
	for _, r := range recs {
		if r.Topic == topic && len(v.readers[string(r.Key)]) > 0 {
			want[r.Partition] = max(want[r.Partition], r.Offset+1)
		}
	}
	v.mu.Unlock()
	if len(want) == 0 {
		return
	}
	deadline := time.Now().Add(viewWait)
	for {
		v.mu.Lock()
		done := true
		for p, o := range want {
			done = done && v.next[p] >= o
		}
		v.mu.Unlock()
		if done || time.Now().After(deadline) || ctx.Err() != nil {
			return
		}
		time.Sleep(time.Millisecond)
	}
}

// lifecycleStatus is the status a lifecycle event leaves its product in,
// given the status before ("" for none).
func lifecycleStatus(t events.LifecycleType, before string) string {
	switch t {
	case events.LifecycleDeprecated:
		return policy.StatusDeprecated
	case events.LifecycleRetired:
		return policy.StatusRetired
	case events.LifecycleUpdated:
		if before != "" {
			return before
		}
	}
	return policy.StatusActive
}

// viewHead is what the view reads of a lifecycle event.
type viewHead struct {
	Type    events.LifecycleType `avro:"type"`
	Product struct {
		ID     string   `avro:"id"`
		Inputs []string `avro:"inputs"`
	} `avro:"product"`
	err error
}

// decode reads the head of a lifecycle record, waiting while the registry
// cannot serve its schema (a view with a hole would judge wrongly).
func (v *globalView) decode(ctx context.Context, codec *events.Codec, r *kgo.Record, h *viewHead) error {
	err := codec.DecodeInto(ctx, events.KindLifecycle, r.Value, h)
	for retry := 0; err != nil && retry < 100 && ctx.Err() == nil; retry++ {
		var de *events.DecodeError
		if !errors.As(err, &de) || de.Permanent() {
			break
		}
		select {
		case <-ctx.Done():
		case <-time.After(200 * time.Millisecond):
		}
		err = codec.DecodeInto(ctx, events.KindLifecycle, r.Value, h)
	}
	if err == nil && (h.Product.ID == "" || !knownLifecycle(h.Type)) {
		err = fmt.Errorf("not a lifecycle event (product id %q, type %q)", h.Product.ID, h.Type)
	}
	return err
}

func knownLifecycle(t events.LifecycleType) bool {
	switch t {
	case events.LifecycleRegistered, events.LifecycleUpdated, events.LifecycleVersionPublished, events.LifecycleDeprecated, events.LifecycleRetired:
		return true
	}
	return false
}

// apply records a lifecycle event of product id and marks pending every
// product that reads it, and the product itself if it has inputs.
func (v *globalView) apply(id string, typ events.LifecycleType, inputs []string) {
	v.mu.Lock()
	defer v.mu.Unlock()
	old := v.products[id]
	e := viewEntry{status: lifecycleStatus(typ, old.status), change: typ, inputs: inputs}
	v.products[id] = e
	v.applied++
	for _, in := range old.inputs {
		delete(v.readers[in], id)
	}
	for _, in := range e.inputs {
		rs := v.readers[in]
		if rs == nil {
			rs = map[string]struct{}{}
			v.readers[in] = rs
		}
		rs[id] = struct{}{}
	}
	// The product itself: its owner may have judged it before the view
	// knew its inputs. (A product without inputs has nothing to judge
	// again: marking it would wake the judging loop for nothing at every
	// lifecycle event.)
	if len(e.inputs) == 0 && len(v.readers[id]) == 0 {
		return
	}
	if len(e.inputs) > 0 {
		v.pending[id] = struct{}{}
	}
	for r := range v.readers[id] {
		v.pending[r] = struct{}{}
	}
	select {
	case v.notify <- struct{}{}:
	default:
	}
}

// Upstream returns inputs as the view knows them (Inputs).
func (v *globalView) Upstream(inputs []string) []policy.Upstream {
	out := make([]policy.Upstream, 0, len(inputs))
	v.mu.Lock()
	defer v.mu.Unlock()
	for _, in := range inputs {
		u := policy.Upstream{ID: in, Status: policy.StatusUnknown}
		if e, ok := v.products[in]; ok {
			u.Known, u.Status = true, e.status
		}
		out = append(out, u)
	}
	return out
}

// Change returns the type of id's newest lifecycle event, "" if unknown
// (Inputs).
func (v *globalView) Change(id string) events.LifecycleType {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.products[id].change
}

// take returns the pending products and forgets them.
func (v *globalView) take() []string {
	v.mu.Lock()
	defer v.mu.Unlock()
	if len(v.pending) == 0 {
		return nil
	}
	out := make([]string, 0, len(v.pending))
	for id := range v.pending {
		out = append(out, id)
	}
	clear(v.pending)
	return out
}

// requeue marks ids pending again (their re-judgement was not committed).
func (v *globalView) requeue(ids []string) {
	if len(ids) == 0 {
		return
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	for _, id := range ids {
		v.pending[id] = struct{}{}
	}
	select {
	case v.notify <- struct{}{}:
	default:
	}
}

// markAll marks every product that has inputs pending: after a rebalance,
// the new owner looks at each of its products once.
func (v *globalView) markAll() {
	v.mu.Lock()
	defer v.mu.Unlock()
	for id, e := range v.products {
		if len(e.inputs) > 0 {
			v.pending[id] = struct{}{}
		}
	}
	select {
	case v.notify <- struct{}{}:
	default:
	}
}

// counts returns how many lifecycle records were applied and skipped.
func (v *globalView) counts() (applied, skipped int64) {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.applied, v.skipped
}

// upstreamSig is what identifies the state of a product's inputs: "" for a
// product without inputs.
func upstreamSig(up []policy.Upstream) string {
	if len(up) == 0 {
		return ""
	}
	var b strings.Builder
	for _, u := range up {
		b.WriteString(u.ID)
		b.WriteByte('=')
		b.WriteString(u.Status)
		b.WriteByte(';')
	}
	return b.String()
}

// follow reads the whole lifecycle topic read_committed into the view until
// ctx is done. caughtUp is closed once every partition is read to its last
// stable offset as of the start.
func (v *globalView) follow(ctx context.Context, kopts []kgo.Opt, adm *kadm.Client, topic string, codec *events.Codec, log *zap.Logger, klog kgo.Logger, caughtUp chan<- struct{}) error {
	kopts = append([]kgo.Opt{kgo.WithLogger(klog)}, kopts...)
	return txn.Follow(ctx, kopts, adm, topic, log, "global view", caughtUp, func(recs []*kgo.Record) {
		heads := make([]viewHead, len(recs))
		parallel(len(recs), func(lo, hi int) {
			for i := lo; i < hi; i++ {
				if !recs[i].Attrs.IsControl() {
					heads[i].err = v.decode(ctx, codec, recs[i], &heads[i])
				}
			}
		}, nil)
		for i, r := range recs {
			h := &heads[i]
			if r.Attrs.IsControl() {
			} else if h.err != nil {
				// The judging loop dead-letters it; here it is only
				// counted.
				v.mu.Lock()
				v.skipped++
				v.mu.Unlock()
				log.Warn("global view: lifecycle record skipped", zap.Int32("partition", r.Partition), zap.Int64("offset", r.Offset), zap.Error(h.err))
			} else {
				v.apply(h.Product.ID, h.Type, h.Product.Inputs)
			}
			v.mu.Lock()
			v.next[r.Partition] = r.Offset + 1
			v.mu.Unlock()
		}
	})
}
