package governor

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"go.uber.org/zap"

	"github.com/meshbone/meshbone/internal/kafka/txn"
	"github.com/meshbone/meshbone/pkg/events"
)

// errCrashed is returned by Run when a test's crash hook stopped it.
var errCrashed = errors.New("governor: crashed by test hook")

// consume prepares the topics, the codec and the global view, then runs
// judging sessions (see session) until ctx is done. A session that fails
// (a broker or the coordinator gone past what the client retries, a
// transaction that could not end) is closed and a new one started after a
// backoff: its transactional producer is initialised again, the state read
// back, and consumption resumes from the committed offsets. Only a fenced
// producer (a newer instance with the same transactional id) and a bug stop
// the governor.
func (s *Service) consume(ctx context.Context) error {
	fresh, err := s.ensureTopics(ctx)
	if err != nil {
		return fmt.Errorf("governor: %w", err)
	}
	if err := s.codec.Register(ctx); err != nil {
		return fmt.Errorf("governor: %w", err)
	}
	if err := s.checkCopartitioned(ctx); err != nil {
		return fmt.Errorf("governor: %w", err)
	}
	// The global view: every product of the lifecycle topic, read by a
	// client of its own for as long as the governor runs.
	view := txn.StartFollower(ctx, "governor: global view", func(ctx context.Context, caughtUp chan<- struct{}) error {
		return s.view.follow(ctx, s.kopts, kadm.NewClient(s.admin), s.topics.Lifecycle, s.codec, s.log, s.kgoLog, caughtUp)
	})
	defer view.Stop()
	if ok, err := view.CaughtUp(ctx); !ok {
		return err
	}
	applied, _ := s.view.counts()
	s.log.Info("global view read", zap.Int64("lifecycle_records", applied))

	return txn.Supervise(ctx, txn.Supervisor{
		Service: "governor", Work: "judging", TransactionalID: s.opts.TransactionalID, Log: s.log,
		Restarted: s.m.restarts.Inc, Crashed: errCrashed, Stop: view.Err,
	}, func(ctx context.Context) error {
		err := s.session(ctx, fresh)
		fresh = false
		return err
	})
}

// session is the consume -> evaluate -> produce -> commit loop, on one
// transactional group session. It returns nil when ctx is done.
func (s *Service) session(ctx context.Context, fresh bool) error {
	sess, err := txn.Open(ctx, "governor", s.opts.session(), append([]kgo.Opt{
		kgo.ConsumeTopics(s.topics.Lifecycle, s.topics.Quality),
		// Range assignment gives one member the same partitions of both
		// topics (they have the same count, see checkCopartitioned): a
		// product's lifecycle and quality events are judged by one
		// instance, which alone writes its state.
		kgo.Balancers(kgo.RangeBalancer()),
		kgo.OnPartitionsAssigned(func(_ context.Context, _ *kgo.Client, m map[string][]int32) {
			s.own.assign(m[s.topics.Lifecycle])
			s.needRebuild.Store(true)
		}),
		kgo.OnPartitionsRevoked(func(_ context.Context, _ *kgo.Client, m map[string][]int32) { s.own.revoke(m[s.topics.Lifecycle]) }),
		kgo.OnPartitionsLost(func(_ context.Context, _ *kgo.Client, m map[string][]int32) { s.own.revoke(m[s.topics.Lifecycle]) }),
		kgo.WithLogger(s.kgoLog),
	}, s.kopts...)...)
	if err != nil {
		s.own.revoke(nil)
		return err
	}
	crashed := false
	defer func() {
		s.own.revoke(nil)
		if crashed {
			return // as if the process died: no leave, no abort
		}
		sess.Close()
	}()

	// The state must be there before the first batch; the assignment
	// callback asks for a rebuild again after every rebalance. A state
	// topic this call created is empty, as is the engine of a Service
	// never run: nothing to read yet.
	if !fresh {
		if err := s.rebuild(ctx); err != nil {
			return err
		}
	}
	s.ready.Store(true)
	defer s.ready.Store(false)
	// The timer runs on the wall clock; judging uses Options.Now.
	nextCheck := time.Now().Add(s.opts.FreshnessInterval)
	aborted := 0 // transactions aborted in a row
	for {
		wait := time.Until(nextCheck)
		if wait < 0 {
			wait = 0
		}
		// Woken early when the global view has products to judge again
		// (in its pending set before it is taken).
		fetches := txn.Poll(ctx, sess, s.opts.MaxBatch, min(wait, s.opts.FreshnessInterval)+time.Millisecond, s.view.notify)
		if ctx.Err() != nil || fetches.IsClientClosed() {
			return nil
		}
		txn.LogFetchErrors(s.log, fetches)
		fetches.EachPartition(func(p kgo.FetchTopicPartition) {
			if n := len(p.Records); n > 0 {
				s.m.setLag(p.Topic, p.Partition, p.HighWatermark-p.Records[n-1].Offset-1)
			}
		})
		if s.needRebuild.Swap(false) {
			if err := s.rebuild(ctx); err != nil {
				return err
			}
			// The new owner of a product looks at its inputs once.
			s.view.markAll()
		}
		recs := fetches.Records()
		s.view.awaitRecords(ctx, s.topics.Lifecycle, recs)
		rejudge := s.view.take()
		check := !time.Now().Before(nextCheck)
		if len(recs) == 0 && len(rejudge) == 0 && !check {
			continue
		}
		committed, err := s.transact(ctx, sess, recs, rejudge, check)
		if !committed {
			s.view.requeue(rejudge)
		}
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
			// A lone abort (the coordinator still finishing the previous
			// transaction, a rebalance) is retried at once; aborts in a
			// row back off, up to RetryBackoff.
			wait := retryWait(aborted, s.opts.RetryBackoff)
			aborted++
			select {
			case <-ctx.Done():
				return nil
			case <-time.After(wait):
			}
			continue
		}
		aborted = 0
		if check {
			nextCheck = time.Now().Add(s.opts.FreshnessInterval)
		}
	}
}

// retryWait is the wait before retrying after n aborted transactions in a
// row (n+1 with this one): none after the first, then max/8 doubling up to
// max.
func retryWait(n int, limit time.Duration) time.Duration {
	if n == 0 {
		return 0
	}
	return limit >> max(4-n, 0)
}

// transact judges recs (and freshness, if check) and writes the outcome in
// one transaction. It reports whether the transaction committed; an error
// is one the session cannot recover from.
//
// Decoding and encoding, the bulk of the work, run on every core; judging
// (which carries state from one event to the next) runs in order, and the
// records are produced in order as soon as they are encoded.
func (s *Service) transact(ctx context.Context, sess *kgo.GroupTransactSession, recs []*kgo.Record, rejudge []string, check bool) (bool, error) {
	clock := s.startPhases()
	b := s.engine.Begin(s.opts.Now())
	var jobs []outJob
	var dead []events.ErrorClass
	judged := map[string]int{}
	descriptors := map[string][]byte{} // product id -> its newest lifecycle record value
	decoded := s.decodeAll(ctx, recs)
	clock.done(PhaseDecode)
	for i, r := range recs {
		d := &decoded[i]
		if d.err != nil {
			var de *events.DecodeError
			if errors.As(d.err, &de) && !de.Permanent() {
				// The registry is out: judge nothing, rewind, retry.
				s.log.Warn("cannot decode for now; retrying the batch", zap.String("topic", r.Topic), zap.Int64("offset", r.Offset), zap.Error(d.err))
				if err := txn.Abort(ctx, sess, s.opts.TxnTimeout); err != nil {
					return false, fmt.Errorf("governor: %w", err)
				}
				return false, nil
			}
			jobs = append(jobs, outJob{rec: events.DeadLetter(r, d.err, s.topics.DLQ, s.opts.Group)})
			dead = append(dead, events.ClassOf(d.err))
			s.log.Warn("record sent to the dead-letter topic", zap.String("topic", r.Topic), zap.Int32("partition", r.Partition), zap.Int64("offset", r.Offset), zap.Error(d.err))
		}
	}
	items := make([]Item, 0, len(recs))
	for i, r := range recs {
		d := &decoded[i]
		if d.err != nil {
			continue
		}
		it := Item{CE: d.ce, Src: Source{Topic: r.Topic, Partition: r.Partition, Offset: r.Offset}}
		switch ev := d.ev.(type) {
		case *events.ProductLifecycleEvent:
			it.Lifecycle = ev
			descriptors[ev.Product.ID] = r.Value
		case *events.QualityEvent:
			it.Quality = ev
		}
		items = append(items, it)
		judged[r.Topic]++
	}
	// Products whose inputs changed, in a fixed order, after the batch's
	// own events (which may have judged some of them already).
	slices.Sort(rejudge)
	for _, id := range rejudge {
		items = append(items, Item{Rejudge: id})
	}
	b.Judge(items)
	if check {
		b.Freshness()
	}
	clock.done(PhaseJudge)
	for _, v := range b.Violations {
		jobs = append(jobs, outJob{event: v})
	}
	for _, c := range b.Changed() {
		ps := c.State
		if c.Compliance {
			jobs = append(jobs, outJob{compliance: ps})
		}
		if c.Descriptor {
			if raw, ok := descriptors[ps.ID]; ok {
				jobs = append(jobs, outJob{rec: &kgo.Record{Topic: s.state, Key: []byte(descriptorKey + ps.ID), Value: raw}})
			}
		}
		if c.Volatile {
			jobs = append(jobs, outJob{volatile: ps})
		}
	}
	if len(recs) == 0 && len(jobs) == 0 {
		b.Commit() // a freshness check or re-judgement that changed nothing
		if check {
			s.checks.Add(1)
		}
		return true, nil
	}

	// The transaction itself is not cut short by shutdown: it is bounded
	// by TxnTimeout instead, so a stop commits the batch in flight.
	tx, err := txn.Begin(ctx, sess, s.opts.TxnTimeout, s.log)
	if err != nil {
		return false, fmt.Errorf("governor: %w", err)
	}
	defer tx.Release()
	if err := s.encodeAll(ctx, b.Now(), jobs, tx.Produce); err != nil {
		// A bug, not a passing fault: give the batch up and stop.
		tx.Abandon()
		return false, txn.Permanent{Err: fmt.Errorf("governor: %w", err)}
	}
	produceErr := tx.Flush()
	clock.done(PhaseWrite)
	if s.crashHook != nil && s.crashHook() {
		return false, errCrashed
	}
	committed, err := tx.End(produceErr)
	clock.done(PhaseCommit)
	if err != nil {
		return false, fmt.Errorf("governor: %w", err)
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
	s.rejudged.Add(int64(b.Rejudged))
	s.m.committed(b, judged, dead)
	s.m.products.Set(float64(s.engine.Len()))
	return true, nil
}

// decodedRec is a record decoded, or why it could not be.
type decodedRec struct {
	ev  events.Event
	ce  events.CloudEvent
	err error
}

// decodeAll decodes recs on every core.
func (s *Service) decodeAll(ctx context.Context, recs []*kgo.Record) []decodedRec {
	out := make([]decodedRec, len(recs))
	parallel(len(recs), func(lo, hi int) {
		for i := lo; i < hi; i++ {
			d := &out[i]
			if d.ev, d.err = s.codec.Decode(ctx, recs[i]); d.err == nil {
				d.ce = events.CloudEventOf(recs[i])
			}
		}
	}, nil)
	return out
}

// outJob is one record to write: ready (rec), or to encode from an event,
// a product's compliance status or a product's state but its descriptor.
type outJob struct {
	rec        *kgo.Record
	event      events.Event
	compliance *ProductState
	volatile   *ProductState
}

// String names what the job writes, for errors.
func (j *outJob) String() string {
	switch {
	case j.event != nil:
		return fmt.Sprintf("%s %s", j.event.Kind(), j.event.ID())
	case j.compliance != nil:
		return "compliance of " + j.compliance.ID
	case j.volatile != nil:
		return "state of " + j.volatile.ID
	}
	return "record"
}

// encodeAll encodes jobs on every core and hands the records to produce in
// the jobs' order, each chunk as soon as it and those before it are done.
// The states must not change until it returns.
func (s *Service) encodeAll(ctx context.Context, now time.Time, jobs []outJob, produce func(*kgo.Record)) error {
	recs := make([]*kgo.Record, len(jobs))
	var (
		mu       sync.Mutex
		firstErr error
	)
	parallel(len(jobs), func(lo, hi int) {
		for i := lo; i < hi; i++ {
			j := &jobs[i]
			var err error
			switch {
			case j.rec != nil:
				recs[i] = j.rec
			case j.event != nil:
				recs[i], err = s.codec.Encode(ctx, j.event, ServiceSource)
			case j.compliance != nil:
				recs[i], err = s.codec.Encode(ctx, j.compliance.Compliance(now), ServiceSource)
			case j.volatile != nil:
				var v []byte
				v, err = encodeVolatile(j.volatile)
				recs[i] = &kgo.Record{Topic: s.state, Key: []byte(volatileKey + j.volatile.ID), Value: v}
			}
			if err != nil {
				mu.Lock()
				if firstErr == nil {
					firstErr = fmt.Errorf("encode %s: %w", j, err)
				}
				mu.Unlock()
				return
			}
		}
	}, func(lo, hi int) {
		mu.Lock()
		failed := firstErr != nil
		mu.Unlock()
		if failed {
			return
		}
		for _, r := range recs[lo:hi] {
			produce(r)
		}
	})
	return firstErr
}
