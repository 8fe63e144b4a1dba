package monitor

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"go.uber.org/zap"
)

// errCrashed is returned by Run when a test's crash hook stopped it.
var errCrashed = errors.New("monitor: crashed by test hook")

// permanentError is a failure another session would meet again (a bug).
type permanentError struct{ error }

func (e permanentError) Unwrap() error { return e.error }

// consume prepares the topics and the port view, then runs measuring
// sessions until ctx is done; a failed session is closed and a new one
// started after a backoff (its producer initialised again, the state read
// back, consumption resumed from the committed offsets).
func (s *Service) consume(ctx context.Context) error {
	if err := s.ensureTopics(ctx); err != nil {
		return fmt.Errorf("monitor: %w", err)
	}
	if err := s.codec.Register(ctx); err != nil {
		return fmt.Errorf("monitor: %w", err)
	}
	viewCtx, stopView := context.WithCancel(ctx)
	caughtUp := make(chan struct{})
	viewErr := make(chan error, 1)
	var viewDone sync.WaitGroup
	viewDone.Go(func() {
		if err := s.follow(viewCtx, caughtUp); err != nil {
			viewErr <- fmt.Errorf("monitor: lifecycle view: %w", err)
			stopView()
		}
	})
	defer func() { stopView(); viewDone.Wait() }()
	select {
	case <-caughtUp:
	case err := <-viewErr:
		return err
	case <-ctx.Done():
		return nil
	}
	failures := 0
	for {
		err := s.session(ctx)
		select {
		case e := <-viewErr:
			return e
		default:
		}
		var perm permanentError
		switch {
		case err == nil || ctx.Err() != nil:
			return nil
		case errors.Is(err, errCrashed), errors.As(err, &perm):
			return err
		case errors.Is(err, kerr.TransactionalIDAuthorizationFailed):
			return fmt.Errorf("monitor: transactional id %s: %w", s.opts.TransactionalID, err)
		case errors.Is(err, kerr.ProducerFenced), errors.Is(err, kerr.InvalidProducerEpoch):
			s.log.Info("fenced by a newer instance with the same transactional id; stopping", zap.String("transactional_id", s.opts.TransactionalID), zap.Error(err))
			return nil
		}
		failures++
		wait := min(time.Second<<min(failures-1, 5), 30*time.Second)
		s.m.restarts.Inc()
		s.log.Warn("measuring session failed; starting a new one", zap.Error(err), zap.Int("failures_in_a_row", failures), zap.Duration("retry_in", wait))
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(wait):
		}
	}
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
	opts := append([]kgo.Opt{
		kgo.ConsumerGroup(s.opts.Group),
		kgo.ConsumeTopics(initial...),
		kgo.Balancers(topicBalancer{}),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()),
		// Transaction markers advance a partition's position, so that a
		// partition whose last record is a marker is seen read to its end.
		kgo.KeepControlRecords(),
		kgo.TransactionalID(s.opts.TransactionalID),
		kgo.TransactionTimeout(s.opts.TxnTimeout + 10*time.Second),
		kgo.RequiredAcks(kgo.AllISRAcks()),
		kgo.MetadataMinAge(MetadataMinAge),
		kgo.OnPartitionsAssigned(func(_ context.Context, _ *kgo.Client, m map[string][]int32) { own.set(m, true) }),
		kgo.OnPartitionsRevoked(func(_ context.Context, _ *kgo.Client, m map[string][]int32) { own.set(m, false) }),
		kgo.OnPartitionsLost(func(_ context.Context, _ *kgo.Client, m map[string][]int32) { own.set(m, false) }),
	}, s.kopts...)
	if s.opts.InstanceID != "" {
		opts = append(opts, kgo.InstanceID(s.opts.InstanceID))
	}
	if s.opts.SessionTimeout > 0 {
		opts = append(opts, kgo.SessionTimeout(s.opts.SessionTimeout))
	}
	sess, err := kgo.NewGroupTransactSession(opts...)
	if err != nil {
		return permanentError{fmt.Errorf("monitor: kafka client: %w", err)}
	}
	crashed := false
	defer func() {
		if !crashed {
			sess.Close()
		}
	}()
	if _, _, err := sess.Client().ProducerID(ctx); err != nil {
		return fmt.Errorf("monitor: init transactional producer %s: %w", s.opts.TransactionalID, err)
	}
	b := &batcher{s: s, states: map[string]*topicState{}}
	s.ready.Store(true)
	defer s.ready.Store(false)
	for {
		if topics, v := s.view.topics(); v != version {
			version = v
			sess.Client().AddConsumeTopics(topics...)
		}
		fetches := s.poll(ctx, sess)
		if ctx.Err() != nil || fetches.IsClientClosed() {
			return nil
		}
		fetches.EachError(func(t string, p int32, err error) {
			if !errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, context.Canceled) {
				s.log.Warn("fetch error", zap.String("topic", t), zap.Int32("partition", p), zap.Error(err))
			}
		})
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

// poll polls up to MaxBatch records for at most IdleProbe, returning early
// when the view has new port topics.
func (s *Service) poll(ctx context.Context, sess *kgo.GroupTransactSession) kgo.Fetches {
	pollCtx, cancel := context.WithTimeout(ctx, s.opts.IdleProbe)
	defer cancel()
	woke := make(chan struct{})
	go func() {
		defer close(woke)
		select {
		case <-s.view.notify:
			cancel()
		case <-pollCtx.Done():
		}
	}()
	fetches := sess.PollRecords(pollCtx, s.opts.MaxBatch)
	cancel()
	<-woke
	return fetches
}

// probe lists the end offsets of topic and marks its partitions read to
// their end idle: they do not hold its watermark back (see watermark).
func (s *Service) probe(ctx context.Context, t *topicState, parts []int32) error {
	adm := kadm.NewClient(s.admin)
	starts, err := adm.ListStartOffsets(ctx, t.Topic)
	if err == nil {
		err = starts.Error()
	}
	var ends kadm.ListedOffsets
	if err == nil {
		if ends, err = adm.ListCommittedOffsets(ctx, t.Topic); err == nil {
			err = ends.Error()
		}
	}
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
