package registrar

// The single writer. Every registrar instance of one mesh (one topic
// prefix) serves reads from its own view, but only one of them writes: the
// member of the consumer group <prefix>meshbone-registrar-lease that is
// assigned partition 0 of the one-partition private topic
// <prefix>_meshbone.registrar.lease.v1. Its lifecycle events, and the intents and
// writer records it keeps on the lease topic, go out in Kafka transactions
// under transactional ids shared by every instance,
// <prefix>meshbone-registrar-writer (and its -intents twin), so that a newly
// elected writer fences the deposed one: from the successor's first InitProducerID on, the old
// writer cannot publish anything, and its open transaction is aborted.
//
// A new writer serves only once it has (1) fenced its predecessor, (2) read
// the lifecycle topic and the lease topic to their last stable offsets, so
// that its view decides REGISTERED against everything ever committed, and
// (3) rolled back every intent its predecessor recorded but never finished
// (reconcile.go). Then it announces itself with a writer record; the other
// instances read that record and forward writes to its URL (forward.go).

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"go.uber.org/zap"
)

// LeaseTopic is the registrar's private topic (after the mesh's topic
// prefix): one partition, compacted. It is not a mesh contract: its records
// are JSON (leaseRecord), read by registrars only, and the leading
// underscore keeps it out of the mesh.* topics clients read as contracts
// (like the governor's _meshbone.governor.state.v1).
const LeaseTopic = "_meshbone.registrar.lease.v1"

// The consumer group that elects the writer and the transactional id of the
// writer, after the mesh's topic prefix: the same for every instance.
const (
	leaseGroupName = "meshbone-registrar-lease"
	writerTxnName  = "meshbone-registrar-writer"
	// intentsTxnSuffix makes the transactional id of the writer's intents.
	intentsTxnSuffix = "-intents"
)

// Timing of the writer's transactions and of a failed takeover's retries.
const (
	writerTxnTimeout = time.Minute
	abortTimeout     = 10 * time.Second
	takeoverBackoff  = 250 * time.Millisecond
)

// Kinds and keys of lease records.
const (
	kindWriter = "writer" // a writer took over; URL says where to send writes
	kindIntent = "intent" // a registration is about to provision (Intent)
	kindDone   = "done"   // the intent of the same key is finished or undone

	writerKey       = "writer"
	intentKeyPrefix = "intent/" // + product id
)

// leaseRecord is the JSON value of a lease topic record.
type leaseRecord struct {
	Kind     string    `json:"kind"`
	Instance string    `json:"instance"`
	URL      string    `json:"url,omitempty"`
	At       time.Time `json:"at"`
	Intent   *intent   `json:"intent,omitempty"`
}

// intent is what a registration is about to provision, recorded (and
// committed) before its first side effect, so that a successor can undo it
// if the writer dies before the lifecycle event.
type intent struct {
	Product string `json:"product"`
	Version string `json:"version"`
	// EventID is the id of the lifecycle event that finishes it.
	EventID string `json:"event_id"`
	// Topics are the port topics it creates.
	Topics []string `json:"topics,omitempty"`
	// Subjects are the port subjects it registers a schema under, with the
	// latest version before (0: the subject is new).
	Subjects []intentSubject `json:"subjects,omitempty"`
	// Retention is the retention.ms to restore per existing topic whose
	// retention it changes.
	Retention map[string]string `json:"retention,omitempty"`
}

type intentSubject struct {
	Subject string `json:"subject"`
	Prev    int    `json:"prev"`
}

// leaseState is what the follower read from the lease topic.
type leaseState struct {
	mu     sync.Mutex
	writer *leaseRecord
	open   map[string]*intent // product id -> intent without its done record
}

func (l *leaseState) apply(key string, rec *leaseRecord) {
	l.mu.Lock()
	defer l.mu.Unlock()
	switch rec.Kind {
	case kindWriter:
		l.writer = rec
	case kindIntent:
		if rec.Intent != nil {
			l.open[rec.Intent.Product] = rec.Intent
		}
	case kindDone:
		delete(l.open, key[len(intentKeyPrefix):])
	}
}

// current returns the latest writer record, or nil.
func (l *leaseState) current() *leaseRecord {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.writer
}

// openIntents returns the unfinished intents, by product id.
func (l *leaseState) openIntents() []*intent {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make([]*intent, 0, len(l.open))
	for _, in := range l.open {
		out = append(out, in)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Product < out[j].Product })
	return out
}

// applyLease folds a lease topic record into the lease state; one that does
// not decode is logged and skipped.
func (s *Service) applyLease(r *kgo.Record) {
	var rec leaseRecord
	if err := json.Unmarshal(r.Value, &rec); err != nil {
		s.log.Warn("skipping undecodable lease record", zap.Int64("offset", r.Offset), zap.Error(err))
		return
	}
	key := string(r.Key)
	if rec.Kind == kindDone && len(key) <= len(intentKeyPrefix) {
		return
	}
	s.lease.apply(key, &rec)
}

// leaseRec encodes a lease record under key.
func (s *Service) leaseRec(key string, rec leaseRecord) *kgo.Record {
	rec.Instance, rec.At = s.instance, now()
	value, _ := json.Marshal(rec) // plain structs: cannot fail
	return &kgo.Record{Topic: s.leaseTopic, Key: []byte(key), Value: value}
}

func (s *Service) intentRecord(in *intent) *kgo.Record {
	return s.leaseRec(intentKeyPrefix+in.Product, leaseRecord{Kind: kindIntent, Intent: in})
}

func (s *Service) doneRecord(id string) *kgo.Record {
	return s.leaseRec(intentKeyPrefix+id, leaseRecord{Kind: kindDone})
}

// term is one period during which this instance is the writer, with its own
// transactional producers (a fenced producer is not reusable): one for the
// lifecycle events, done and writer records, one for the intents. Two
// transactional ids, because Kafka answers CONCURRENT_TRANSACTIONS to a
// transaction begun on an id whose previous commit is still being
// completed: a registration's intent would wait (about 25 ms measured) for
// the previous registration's event to complete. Both are fenced at every
// takeover.
type term struct {
	events  *txnProducer
	intents *txnProducer
	ended   chan struct{}
	endOnce sync.Once
	fenced  atomic.Bool
}

// txnProducer is a transactional producer running one transaction at a
// time.
type txnProducer struct {
	cl *kgo.Client
	mu sync.Mutex
}

// end ends the term: fenced when a successor took over, otherwise the
// writer retakes its own lease (fences itself, reconciles) before it serves
// again, since a failed transaction leaves unknown what was committed.
func (t *term) end(fenced bool) {
	t.endOnce.Do(func() {
		t.fenced.Store(fenced)
		close(t.ended)
	})
}

func (t *term) over() bool {
	select {
	case <-t.ended:
		return true
	default:
		return false
	}
}

func (t *term) close() {
	for _, p := range []*txnProducer{t.events, t.intents} {
		if p != nil {
			p.cl.Close()
		}
	}
}

// transact produces recs in one transaction and commits it.
func (p *txnProducer) transact(ctx context.Context, recs ...*kgo.Record) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if err := p.cl.BeginTransaction(); err != nil {
		return err
	}
	// One record at a time: a transaction's few records for a partition
	// never go as two batches in flight, so a retriable error on the first
	// cannot leave the second out of order -- fatal to a transactional
	// producer (OUT_OF_ORDER_SEQUENCE_NUMBER; a broker refuses a batch that
	// does not start at sequence 0 on a partition never written to,
	// KAFKA-15591; seen under the full race suite on kfake).
	var err error
	for _, r := range recs {
		if err = p.cl.ProduceSync(ctx, r).FirstErr(); err != nil {
			break
		}
	}
	if err != nil {
		actx, cancel := context.WithTimeout(context.Background(), abortTimeout)
		defer cancel()
		if aerr := p.cl.AbortBufferedRecords(actx); aerr == nil {
			_ = p.cl.EndTransaction(actx, kgo.TryAbort)
		}
		return err
	}
	return p.cl.EndTransaction(ctx, kgo.TryCommit)
}

// fencedErr reports whether a transaction failed because a successor took
// the transactional id.
func fencedErr(err error) bool {
	return errors.Is(err, kerr.ProducerFenced) || errors.Is(err, kerr.InvalidProducerEpoch) ||
		errors.Is(err, kerr.TransactionalIDAuthorizationFailed)
}

// lost ends the term after a failed transaction and returns the error to
// answer.
func (s *Service) lost(t *term, err error, what string) error {
	fenced := fencedErr(err)
	t.end(fenced)
	if fenced {
		return unavailable(err, "kafka: %s: another registrar has become the writer; retry", what)
	}
	return unavailable(err, "kafka: %s; the writer reconciles before it serves again; retry", what)
}

// writing returns the current term for a write, and the release to call
// when the write is done; a deposition waits for the writes in flight.
func (s *Service) writing() (*term, func(), error) {
	s.leaseMu.RLock()
	if t := s.cur; t != nil && !t.over() {
		return t, s.leaseMu.RUnlock, nil
	}
	s.leaseMu.RUnlock()
	return nil, nil, newError(ErrUnavailable, "", "this registrar is not the writer (an election or takeover is under way); retry shortly")
}

// isWriter reports whether this instance is the writer now.
func (s *Service) isWriter() bool { return s.writer.Load() }

// elect joins the lease group until ctx is done, holding the writer's role
// while it is assigned the lease partition.
func (s *Service) elect(ctx context.Context) error {
	holds := func(m map[string][]int32) bool { return slices.Contains(m[s.leaseTopic], 0) }
	cl, err := kgo.NewClient(append(slices.Clone(s.kopts),
		kgo.ConsumerGroup(s.leaseGroup),
		kgo.ConsumeTopics(s.leaseTopic),
		kgo.Balancers(kgo.CooperativeStickyBalancer()), // the writer keeps the lease when others join
		kgo.SessionTimeout(s.opts.LeaseTimeout),
		kgo.HeartbeatInterval(s.opts.LeaseTimeout/5),
		kgo.DisableAutoCommit(),
		kgo.OnPartitionsAssigned(func(_ context.Context, _ *kgo.Client, m map[string][]int32) {
			if holds(m) {
				s.startHolding(ctx)
			}
		}),
		kgo.OnPartitionsRevoked(func(_ context.Context, _ *kgo.Client, m map[string][]int32) {
			if holds(m) {
				s.stopHolding()
			}
		}),
		kgo.OnPartitionsLost(func(_ context.Context, _ *kgo.Client, m map[string][]int32) {
			if holds(m) {
				s.stopHolding()
			}
		}),
	)...)
	if err != nil {
		return fmt.Errorf("registrar: lease group client: %w", err)
	}
	// Membership is all the group is for: the lease topic is read by the
	// follower.
	cl.PauseFetchTopics(s.leaseTopic)
	<-ctx.Done()
	cl.Close() // leaves the group: a successor is elected at once
	s.stopHolding()
	return nil
}

// holding is this instance's possession of the lease partition.
type holding struct {
	cancel func()
	done   chan struct{}
}

func (s *Service) startHolding(ctx context.Context) {
	s.holdMu.Lock()
	defer s.holdMu.Unlock()
	if s.hold != nil {
		return
	}
	hctx, cancel := context.WithCancel(ctx)
	h := &holding{cancel: cancel, done: make(chan struct{})}
	s.hold = h
	s.log.Info("assigned the writer's lease", zap.String("instance", s.instance))
	go func() {
		defer close(h.done)
		s.serveTerms(hctx)
	}()
}

// stopHolding ends the writer's role and waits until the writes in flight
// are done, so that the successor's takeover does not overlap them.
func (s *Service) stopHolding() {
	s.holdMu.Lock()
	h := s.hold
	s.hold = nil
	s.holdMu.Unlock()
	if h == nil {
		return
	}
	h.cancel()
	<-h.done
}

// serveTerms takes over and serves as the writer until ctx is done,
// taking over again after a term that ended on a failed transaction.
func (s *Service) serveTerms(ctx context.Context) {
	backoff := takeoverBackoff
	for ctx.Err() == nil {
		t, err := s.takeover(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			s.log.Warn("takeover failed, retrying", zap.Error(err), zap.Duration("in", backoff))
			select {
			case <-ctx.Done():
				return
			case <-time.After(backoff):
			}
			backoff = min(2*backoff, 5*time.Second)
			continue
		}
		backoff = takeoverBackoff
		select {
		case <-ctx.Done():
			s.depose(t)
			return
		case <-t.ended:
		}
		s.depose(t)
		if t.fenced.Load() {
			// Another instance holds the lease as the group sees it: ours
			// is about to be revoked. Should it not be, that other one is
			// the stale one, and this instance takes over again.
			s.log.Warn("fenced by another registrar; waiting for the group to move the lease")
			select {
			case <-ctx.Done():
				return
			case <-time.After(2 * s.opts.LeaseTimeout):
			}
		} else {
			s.log.Warn("a writer's transaction failed; taking over again to reconcile")
		}
	}
}

// takeover fences the previous writer, catches up with the lifecycle and
// lease topics, rolls back unfinished intents, announces this instance as
// the writer and returns its term.
func (s *Service) takeover(ctx context.Context) (*term, error) {
	start := time.Now()
	t := &term{ended: make(chan struct{})}
	fail := func(err error) (*term, error) {
		t.close()
		return nil, err
	}
	// Fence: the predecessor's epochs are bumped and its open transactions
	// aborted, before anything it wrote is read.
	for _, p := range []struct {
		into **txnProducer
		id   string
	}{{&t.events, s.txnID}, {&t.intents, s.txnID + intentsTxnSuffix}} {
		cl, err := kgo.NewClient(append(slices.Clone(s.kopts),
			kgo.TransactionalID(p.id),
			kgo.TransactionTimeout(writerTxnTimeout),
			kgo.RequiredAcks(kgo.AllISRAcks()),
			kgo.ProducerLinger(0),
		)...)
		if err != nil {
			return fail(fmt.Errorf("writer's producer: %w", err))
		}
		*p.into = &txnProducer{cl: cl}
		if _, _, err := cl.ProducerID(ctx); err != nil {
			return fail(fmt.Errorf("init the writer's transactional producer %s: %w", p.id, err))
		}
	}
	if err := s.waitEnd(ctx, s.topics.Lifecycle, s.leaseTopic); err != nil {
		return fail(fmt.Errorf("catch up with %s and %s: %w", s.topics.Lifecycle, s.leaseTopic, err))
	}
	recs, err := s.reconcile(ctx)
	if err != nil {
		return fail(err)
	}
	recs = append(recs, s.leaseRec(writerKey, leaseRecord{Kind: kindWriter, URL: s.advertise}))
	if err := t.events.transact(ctx, recs...); err != nil {
		return fail(fmt.Errorf("announce the writer: %w", err))
	}
	s.leaseMu.Lock()
	s.cur = t
	s.writer.Store(true)
	s.leaseMu.Unlock()
	s.metrics.writer.Set(1)
	s.log.Info("this registrar is the writer", zap.String("instance", s.instance), zap.String("url", s.advertise),
		zap.Int("rolled_back", len(recs)-1), zap.Duration("took", time.Since(start)))
	return t, nil
}

// depose ends term t once the writes in flight are done.
func (s *Service) depose(t *term) {
	t.end(false)
	s.leaseMu.Lock()
	if s.cur == t {
		s.cur = nil
		s.writer.Store(false)
		s.metrics.writer.Set(0)
	}
	s.leaseMu.Unlock()
	t.close()
	s.log.Info("no longer the writer", zap.String("instance", s.instance))
}

// waitEnd waits until the follower has read every partition of topics up to
// its last stable offset as of the call.
func (s *Service) waitEnd(ctx context.Context, topics ...string) error {
	var starts, ends kadm.ListedOffsets
	backoff := 20 * time.Millisecond
	for {
		var err error
		if starts, err = s.adm.ListStartOffsets(ctx, topics...); err == nil {
			err = starts.Error()
		}
		if err == nil {
			if ends, err = s.adm.ListCommittedOffsets(ctx, topics...); err == nil {
				err = ends.Error()
			}
		}
		if err == nil {
			break
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("list offsets: %w (last error: %w)", ctx.Err(), err)
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, time.Second)
	}
	want := map[string]map[int32]int64{}
	ends.Each(func(o kadm.ListedOffset) {
		if st, ok := starts.Lookup(o.Topic, o.Partition); ok && o.Offset > st.Offset {
			if want[o.Topic] == nil {
				want[o.Topic] = map[int32]int64{}
			}
			want[o.Topic][o.Partition] = o.Offset
		}
	})
	for !s.pos.reached(want) {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(5 * time.Millisecond):
		}
	}
	return nil
}

// positions are the follower's next offsets per topic and partition.
type positions struct {
	mu   sync.Mutex
	next map[string]map[int32]int64
}

func (p *positions) advance(topic string, partition int32, next int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.next == nil {
		p.next = map[string]map[int32]int64{}
	}
	if p.next[topic] == nil {
		p.next[topic] = map[int32]int64{}
	}
	if next > p.next[topic][partition] {
		p.next[topic][partition] = next
	}
}

func (p *positions) reached(want map[string]map[int32]int64) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	for topic, parts := range want {
		for part, end := range parts {
			if p.next[topic][part] < end {
				return false
			}
		}
	}
	return true
}
