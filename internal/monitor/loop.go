package monitor

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/meshbone/meshbone/internal/kafka/topicread"
	"github.com/meshbone/meshbone/internal/kafka/txn"
)

// errCrashed is returned by Run when a test's crash hook stopped it.
var errCrashed = errors.New("monitor: crashed by test hook")

// consume prepares the topics and the port view, then runs measuring
// sessions until ctx is done; a failed session is closed and a new one
// started after a backoff (its producer initialised again, the state read
// back, consumption resumed from the committed offsets).
func (s *Service) consume(ctx context.Context) error {
	if _, err := txn.EnsureTopics(ctx, kadm.NewClient(s.admin), s.topics, s.opts.Topics, s.state); err != nil {
		return fmt.Errorf("monitor: %w", err)
	}
	if err := s.codec.Register(ctx); err != nil {
		return fmt.Errorf("monitor: %w", err)
	}
	view := txn.StartFollower(ctx, "monitor: lifecycle view", s.follow)
	defer view.Stop()
	if ok, err := view.CaughtUp(ctx); !ok {
		return err
	}
	return txn.Supervise(ctx, txn.Supervisor{
		Service: "monitor", Work: "measuring", TransactionalID: s.opts.TransactionalID, Log: s.log,
		Restarted: s.m.restarts.Inc, Crashed: errCrashed, Stop: view.Err,
	}, s.session)
}

// assignment is the port topics (and their partitions) this instance owns,
// as the group's callbacks set it.
type assignment struct {
	mu      sync.Mutex
	parts   map[string][]int32
	changed bool
}

func (a *assignment) set(m map[string][]int32, add bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.parts == nil {
		a.parts = map[string][]int32{}
	}
	for t, ps := range m {
		if add {
			a.parts[t] = append([]int32(nil), ps...)
			sort.Slice(a.parts[t], func(i, j int) bool { return a.parts[t][i] < a.parts[t][j] })
		} else {
			delete(a.parts, t)
		}
	}
	a.changed = true
}

func (a *assignment) clear() {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.parts, a.changed = nil, true
}

// take returns a copy of the assignment and whether it changed since the
// last take.
func (a *assignment) take() (map[string][]int32, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	out := make(map[string][]int32, len(a.parts))
	for t, ps := range a.parts {
		out[t] = ps
	}
	ch := a.changed
	a.changed = false
	return out, ch
}

// session is the consume -> measure -> produce -> commit loop, on one
// transactional group session. It returns nil when ctx is done.
func (s *Service) session(ctx context.Context) error {
	var own assignment
	initial, version := s.view.topics()
	sess, err := txn.Open(ctx, "monitor", s.opts.session(), append([]kgo.Opt{
		kgo.ConsumeTopics(initial...),
		kgo.Balancers(topicBalancer{}),
		// Transaction markers advance a partition's position, so that a
		// partition whose last record is a marker is seen read to its end.
		kgo.KeepControlRecords(),
		kgo.OnPartitionsAssigned(func(_ context.Context, _ *kgo.Client, m map[string][]int32) { own.set(m, true) }),
		kgo.OnPartitionsRevoked(func(_ context.Context, _ *kgo.Client, m map[string][]int32) { own.set(m, false) }),
		kgo.OnPartitionsLost(func(_ context.Context, _ *kgo.Client, m map[string][]int32) { own.set(m, false) }),
	}, s.kopts...)...)
	if err != nil {
		return err
	}
	crashed := false
	defer func() {
		if !crashed {
			sess.Close()
		}
	}()
	b := &batcher{s: s, states: map[string]*topicState{}}
	s.ready.Store(true)
	defer s.ready.Store(false)
	for {
		if topics, v := s.view.topics(); v != version {
			version = v
			sess.Client().AddConsumeTopics(topics...)
		}
		// Woken early when the view has new port topics.
		fetches := txn.Poll(ctx, sess, s.opts.MaxBatch, s.opts.IdleProbe, s.view.notify)
		if ctx.Err() != nil || fetches.IsClientClosed() {
			return nil
		}
		txn.LogFetchErrors(s.log, fetches)
		parts, changed := own.take()
		if changed || b.stale {
			if err := b.restore(ctx, parts); err != nil {
				return err
			}
		}
		b.parts = parts
		recs := fetches.Records()
		committed, err := b.transact(ctx, sess, recs)
		if errors.Is(err, errCrashed) {
			crashed = true
			sess.Client().Close()
			return err
		}
		if err != nil {
			return err
		}
		if !committed {
			s.m.transactions.WithLabelValues("aborted").Inc()
			// The session rewinds to the committed offsets; the state is
			// read back to match them.
			b.stale = true
		}
	}
}

// probe lists the end offsets of topic and marks its partitions read to
// their end idle: they do not hold its watermark back (see watermark).
func (s *Service) probe(ctx context.Context, t *topicState, parts []int32) error {
	starts, ends, err := topicread.Bounds(ctx, kadm.NewClient(s.admin), t.Topic)
	if err != nil {
		return fmt.Errorf("list the offsets of %s: %w", t.Topic, err)
	}
	for _, p := range parts {
		end, ok := ends.Lookup(t.Topic, p)
		if !ok {
			continue
		}
		pos := int64(0)
		if st, ok := starts.Lookup(t.Topic, p); ok {
			pos = st.Offset
		}
		if ps := t.Parts[p]; ps != nil && ps.Next > pos {
			pos = ps.Next
		}
		t.idle[p] = pos >= end.Offset
	}
	return nil
}
