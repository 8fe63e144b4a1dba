package governor

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
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
	fresh, err := s.ensureTopics(ctx)
	if err != nil {
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
		kgo.MetadataMinAge(MetadataMinAge),
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
func (s *Service) transact(ctx context.Context, sess *kgo.GroupTransactSession, recs []*kgo.Record, check bool) (bool, error) {
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
				return s.abort(ctx, sess)
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
	encodeErr := s.encodeAll(ctx, b.Now(), jobs, func(r *kgo.Record) {
		sess.Produce(tctx, r, func(r *kgo.Record, err error) {
			mu.Lock()
			defer mu.Unlock()
			if err != nil && produceErr == nil {
				produceErr = fmt.Errorf("produce to %s: %w", r.Topic, err)
			}
		})
	})
	if encodeErr != nil {
		// A bug, not a passing fault: give the batch up and stop.
		if _, err := sess.End(tctx, kgo.TryAbort); err != nil {
			s.log.Warn("abort after an encoding error", zap.Error(err))
		}
		return false, fmt.Errorf("governor: %w", encodeErr)
	}
	flushErr := sess.Client().Flush(tctx)
	mu.Lock()
	if produceErr == nil {
		produceErr = flushErr
	}
	mu.Unlock()
	clock.done(PhaseWrite)
	if s.crashHook != nil && s.crashHook() {
		return false, errCrashed
	}
	end := kgo.TryCommit
	if produceErr != nil {
		s.log.Warn("aborting the transaction", zap.Error(produceErr))
		end = kgo.TryAbort
	}
	committed, err := sess.End(tctx, end)
	clock.done(PhaseCommit)
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

// parallelChunk is how many items a worker of parallel takes at a time.
const parallelChunk = 32

// parallel calls work on consecutive chunks [lo, hi) of n items, from up to
// GOMAXPROCS goroutines, and then, if done is not nil, done on each chunk
// in order, from the calling goroutine, as soon as that chunk and every
// chunk before it are worked.
func parallel(n int, work, done func(lo, hi int)) {
	chunks := (n + parallelChunk - 1) / parallelChunk
	workers := min(runtime.GOMAXPROCS(0), chunks)
	if workers <= 1 {
		for lo := 0; lo < n; lo += parallelChunk {
			hi := min(lo+parallelChunk, n)
			work(lo, hi)
			if done != nil {
				done(lo, hi)
			}
		}
		return
	}
	finished := make([]chan struct{}, chunks)
	for i := range finished {
		finished[i] = make(chan struct{})
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for {
				c := int(next.Add(1)) - 1
				if c >= chunks {
					return
				}
				lo := c * parallelChunk
				work(lo, min(lo+parallelChunk, n))
				close(finished[c])
			}
		})
	}
	for c := range chunks {
		<-finished[c]
		if done != nil {
			lo := c * parallelChunk
			done(lo, min(lo+parallelChunk, n))
		}
	}
	wg.Wait()
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
