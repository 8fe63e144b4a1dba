package events

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// Subscriber consumes mesh topics as a consumer group, reading committed
// records only, and hands each decoded event to a Handler. Records that do
// not decode go to the dead-letter topic and consumption goes on. Offsets are
// committed only for records handled (or dead-lettered), so nothing is lost:
// delivery is at least once.
type Subscriber struct {
	cfg   cfg
	codec *Codec
	mws   []Middleware

	mu      sync.Mutex
	closed  bool
	stop    chan struct{} // closed by Close
	running sync.WaitGroup
}

// NewSubscriber builds a Subscriber; ConsumerGroup is required.
func NewSubscriber(opts ...SubscriberOpt) (*Subscriber, error) {
	c, err := newCfg(opts)
	if err != nil {
		return nil, err
	}
	if err := c.checkSubscriber(); err != nil {
		return nil, err
	}
	reg, err := c.registry()
	if err != nil {
		return nil, fmt.Errorf("events: registry client: %w", err)
	}
	topics := MeshTopics(c.prefix)
	if len(c.topics) == 0 {
		c.topics = []string{topics.Lifecycle, topics.Quality}
	}
	for _, t := range c.topics {
		if _, ok := topics.KindOf(t); !ok {
			return nil, fmt.Errorf("events: %q is not a mesh event topic (prefix %q)", t, c.prefix)
		}
	}
	if c.dlq == "" {
		c.dlq = topics.DLQ
	}
	return &Subscriber{cfg: c, codec: NewCodec(reg, topics), stop: make(chan struct{})}, nil
}

// Use adds middleware around the handler, outermost first, inside the
// retries and dead-lettering the Subscriber always applies.
func (s *Subscriber) Use(mw ...Middleware) { s.mws = append(s.mws, mw...) }

// Codec returns the Subscriber's codec.
func (s *Subscriber) Codec() *Codec { return s.codec }

// Run consumes until ctx is done or Close is called, then commits what was
// handled and returns nil. It returns an error if the client cannot be built
// or a record fails for good and cannot be dead-lettered, and ErrClosed if
// the Subscriber was closed before Run was called.
func (s *Subscriber) Run(ctx context.Context, h Handler) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return ErrClosed
	}
	s.running.Add(1)
	s.mu.Unlock()
	defer s.running.Done()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		select {
		case <-s.stop:
			cancel()
		case <-ctx.Done():
		}
	}()

	c := s.cfg
	reset := kgo.NewOffset().AtStart()
	if c.fromEnd {
		reset = kgo.NewOffset().AtEnd()
	}
	cl, err := kgo.NewClient(append([]kgo.Opt{
		kgo.SeedBrokers(c.seeds...),
		kgo.ConsumerGroup(c.group),
		kgo.ConsumeTopics(c.topics...),
		kgo.ConsumeResetOffset(reset),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()),
		kgo.RequiredAcks(kgo.AllISRAcks()),
		kgo.AutoCommitMarks(),
		kgo.BlockRebalanceOnPoll(),
		kgo.OnPartitionsRevoked(func(ctx context.Context, cl *kgo.Client, _ map[string][]int32) {
			if err := cl.CommitMarkedOffsets(ctx); err != nil {
				c.logger.Log(LogLevelWarn, "commit on revoke failed", "err", err)
			}
		}),
		kgo.WithLogger(kgoLogger{c.logger}),
	}, c.kafkaOpts...)...)
	if err != nil {
		return fmt.Errorf("events: kafka client: %w", err)
	}
	defer func() {
		cctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := cl.CommitMarkedOffsets(cctx); err != nil {
			c.logger.Log(LogLevelWarn, "final commit failed", "err", err)
		}
		cl.AllowRebalance() // a blocked rebalance would stall leaving the group
		cl.Close()
	}()

	send := func(ctx context.Context, r *kgo.Record) error { return cl.ProduceSync(ctx, r).FirstErr() }
	handle := Decoding(s.codec, h)
	for i := len(s.mws) - 1; i >= 0; i-- {
		handle = s.mws[i](handle)
	}
	handle = Retrying(c.maxRetries, c.backoff, c.logger)(handle)
	handle = DeadLettering(send, c.dlq, c.group, c.handlerDLQ, c.logger)(handle)

	for {
		fetches := cl.PollFetches(ctx)
		if ctx.Err() != nil || fetches.IsClientClosed() {
			return nil
		}
		fetches.EachError(func(t string, p int32, err error) {
			c.logger.Log(LogLevelWarn, "fetch error", "topic", t, "partition", p, "err", err)
		})
		var failed error
		fetches.EachRecord(func(r *kgo.Record) {
			if failed != nil {
				return
			}
			if failed = handle(ctx, r); failed == nil {
				cl.MarkCommitRecords(r)
			}
		})
		cl.AllowRebalance()
		if failed != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("events: giving up on a record: %w", failed)
		}
	}
}

// Close stops the Subscriber: a Run in progress stops consuming, commits
// what was handled and returns nil, and Close returns once it has; a later
// Run returns ErrClosed. Close is idempotent.
func (s *Subscriber) Close() {
	s.mu.Lock()
	if !s.closed {
		s.closed = true
		close(s.stop)
	}
	s.mu.Unlock()
	s.running.Wait()
}
