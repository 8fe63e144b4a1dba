package governor

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"go.uber.org/zap"

	"github.com/meshbone/meshbone/pkg/events"
)

var errTopicExists = kerr.TopicAlreadyExists

// errCrashed is returned by Run when a test's crash hook stopped it.
var errCrashed = errors.New("governor: crashed by test hook")

// judge is the consume -> evaluate -> produce -> commit loop.
func (s *Service) judge(ctx context.Context) error {
	if err := s.ensureTopics(ctx); err != nil {
		return fmt.Errorf("governor: %w", err)
	}
	if err := s.codec.Register(ctx); err != nil {
		return fmt.Errorf("governor: %w", err)
	}
	opts := append([]kgo.Opt{
		kgo.ConsumerGroup(s.opts.Group),
		kgo.ConsumeTopics(s.topics.Lifecycle, s.topics.Quality),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()),
		kgo.TransactionalID(s.opts.TransactionalID),
		kgo.TransactionTimeout(s.opts.TxnTimeout + 10*time.Second),
		kgo.RequiredAcks(kgo.AllISRAcks()),
		kgo.OnPartitionsAssigned(func(context.Context, *kgo.Client, map[string][]int32) { s.needRebuild.Store(true) }),
		kgo.WithLogger(kgoLogger{s.log}),
	}, s.kopts...)
	if s.opts.InstanceID != "" {
		opts = append(opts, kgo.InstanceID(s.opts.InstanceID))
	}
	if s.opts.SessionTimeout > 0 {
		opts = append(opts, kgo.SessionTimeout(s.opts.SessionTimeout))
	}
	sess, err := kgo.NewGroupTransactSession(opts...)
	if err != nil {
		return fmt.Errorf("governor: kafka client: %w", err)
	}
	crashed := false
	defer func() {
		if crashed {
			return // as if the process died: no leave, no abort
		}
		sess.Close()
	}()

	// Fence a previous incarnation with the same transactional id now: its
	// unfinished transaction is aborted, which also releases the offsets
	// it was committing (a stable offset fetch waits for them, so without
	// this the group would wait out the transaction timeout).
	if _, _, err := sess.Client().ProducerID(ctx); err != nil {
		return fmt.Errorf("governor: init transactional producer %s: %w", s.opts.TransactionalID, err)
	}
	// The state must be there before the first batch; the assignment
	// callback asks for a rebuild again after every rebalance.
	if err := s.rebuild(ctx); err != nil {
		return err
	}
	s.ready.Store(true)
	defer s.ready.Store(false)
	// The timer runs on the wall clock; judging uses Options.Now.
	nextCheck := time.Now().Add(s.opts.FreshnessInterval)
	for {
		wait := time.Until(nextCheck)
		if wait < 0 {
			wait = 0
		}
		pollCtx, cancel := context.WithTimeout(ctx, min(wait, s.opts.FreshnessInterval)+time.Millisecond)
		fetches := sess.PollRecords(pollCtx, s.opts.MaxBatch)
		cancel()
		if ctx.Err() != nil || fetches.IsClientClosed() {
			return nil
		}
		fetches.EachError(func(t string, p int32, err error) {
			if !errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, context.Canceled) {
				s.log.Warn("fetch error", zap.String("topic", t), zap.Int32("partition", p), zap.Error(err))
			}
		})
		fetches.EachPartition(func(p kgo.FetchTopicPartition) {
			if n := len(p.Records); n > 0 {
				s.m.setLag(p.Topic, p.Partition, p.HighWatermark-p.Records[n-1].Offset-1)
			}
		})
		if s.needRebuild.Swap(false) {
			if err := s.rebuild(ctx); err != nil {
				return err
			}
		}
		recs := fetches.Records()
		check := !time.Now().Before(nextCheck)
		if len(recs) == 0 && !check {
			continue
		}
		committed, err := s.transact(ctx, sess, recs, check)
		if errors.Is(err, errCrashed) {
			crashed = true
			sess.Client().Close()
			return err
		}
		if err != nil {
			return err
		}
		if !committed {
			s.aborts.Add(1)
			s.m.transactions.WithLabelValues("aborted").Inc()
			select {
			case <-ctx.Done():
				return nil
			case <-time.After(s.opts.RetryBackoff):
			}
			continue
		}
		if check {
			nextCheck = time.Now().Add(s.opts.FreshnessInterval)
		}
	}
}

// transact judges recs (and freshness, if check) and writes the outcome in
// one transaction. It reports whether the transaction committed; an error
// is one the session cannot recover from.
func (s *Service) transact(ctx context.Context, sess *kgo.GroupTransactSession, recs []*kgo.Record, check bool) (bool, error) {
	b := s.engine.Begin(s.opts.Now())
	var out []*kgo.Record
	var dead []events.ErrorClass
	judged := map[string]int{}
	descriptors := map[string][]byte{} // product id -> its newest lifecycle record value
	for _, r := range recs {
		ev, err := s.codec.Decode(ctx, r)
		if err != nil {
			var de *events.DecodeError
			if errors.As(err, &de) && !de.Permanent() {
				// The registry is out: judge nothing, rewind, retry.
				s.log.Warn("cannot decode for now; retrying the batch", zap.String("topic", r.Topic), zap.Int64("offset", r.Offset), zap.Error(err))
				return s.abort(ctx, sess)
			}
			out = append(out, events.DeadLetter(r, err, s.topics.DLQ, s.opts.Group))
			dead = append(dead, events.ClassOf(err))
			s.log.Warn("record sent to the dead-letter topic", zap.String("topic", r.Topic), zap.Int32("partition", r.Partition), zap.Int64("offset", r.Offset), zap.Error(err))
			continue
		}
		src := Source{Topic: r.Topic, Partition: r.Partition, Offset: r.Offset}
		ce := events.CloudEventOf(r)
		switch ev := ev.(type) {
		case *events.ProductLifecycleEvent:
			b.Lifecycle(ev, ce, src)
			descriptors[ev.Product.ID] = r.Value
		case *events.QualityEvent:
			b.Quality(ev, ce, src)
		}
		judged[r.Topic]++
	}
	if check {
		b.Freshness()
	}
	for _, v := range b.Violations {
		r, err := s.codec.Encode(ctx, v, ServiceSource)
		if err != nil {
			return false, fmt.Errorf("governor: encode violation %s: %w", v.ViolationID, err)
		}
		out = append(out, r)
	}
	for _, c := range b.Changed() {
		ps := c.State
		if c.Compliance {
			r, err := s.codec.Encode(ctx, ps.Compliance(b.Now()), ServiceSource)
			if err != nil {
				return false, fmt.Errorf("governor: encode compliance of %s: %w", ps.ID, err)
			}
			out = append(out, r)
		}
		if c.Descriptor {
			if raw, ok := descriptors[ps.ID]; ok {
				out = append(out, &kgo.Record{Topic: s.state, Key: []byte(descriptorKey + ps.ID), Value: raw})
			}
		}
		if c.Volatile {
			v, err := encodeVolatile(ps)
			if err != nil {
				return false, fmt.Errorf("governor: encode state of %s: %w", ps.ID, err)
			}
			out = append(out, &kgo.Record{Topic: s.state, Key: []byte(volatileKey + ps.ID), Value: v})
		}
	}
	if len(recs) == 0 && len(out) == 0 {
		b.Commit() // a freshness check that changed nothing
		s.checks.Add(1)
		return true, nil
	}

	// The transaction itself is not cut short by shutdown: it is bounded
	// by TxnTimeout instead, so a stop commits the batch in flight.
	tctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.opts.TxnTimeout)
	defer cancel()
	if err := sess.Begin(); err != nil {
		return false, fmt.Errorf("governor: begin transaction: %w", err)
	}
	var (
		mu         sync.Mutex
		produceErr error
	)
	for _, r := range out {
		sess.Produce(tctx, r, func(r *kgo.Record, err error) {
			mu.Lock()
			defer mu.Unlock()
			if err != nil && produceErr == nil {
				produceErr = fmt.Errorf("produce to %s: %w", r.Topic, err)
			}
		})
	}
	flushErr := sess.Client().Flush(tctx)
	mu.Lock()
	if produceErr == nil {
		produceErr = flushErr
	}
	mu.Unlock()
	if s.crashHook != nil && s.crashHook() {
		return false, errCrashed
	}
	end := kgo.TryCommit
	if produceErr != nil {
		s.log.Warn("aborting the transaction", zap.Error(produceErr))
		end = kgo.TryAbort
	}
	committed, err := sess.End(tctx, end)
	if err != nil {
		return false, fmt.Errorf("governor: end transaction: %w", err)
	}
	if !committed {
		s.log.Info("transaction aborted; the batch will be judged again", zap.Int("records", len(recs)))
		return false, nil
	}
	b.Commit()
	s.judged.Add(int64(len(recs)))
	if check {
		s.checks.Add(1)
	}
	s.m.committed(b, judged, dead)
	s.m.products.Set(float64(s.engine.Len()))
	return true, nil
}

// abort ends an empty transaction as aborted, which rewinds consumption to
// the committed offsets.
func (s *Service) abort(ctx context.Context, sess *kgo.GroupTransactSession) (bool, error) {
	tctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.opts.TxnTimeout)
	defer cancel()
	if err := sess.Begin(); err != nil {
		return false, fmt.Errorf("governor: begin transaction: %w", err)
	}
	if _, err := sess.End(tctx, kgo.TryAbort); err != nil {
		return false, fmt.Errorf("governor: abort transaction: %w", err)
	}
	return false, nil
}
