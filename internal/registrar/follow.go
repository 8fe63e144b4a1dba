package registrar

import (
	"context"
	"fmt"
	"slices"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"go.uber.org/zap"

	"github.com/meshbone/meshbone/pkg/events"
)

// follow reads the lifecycle, lease, access and notice topics from the start
// (read_committed, no consumer group: every instance reads them all), marks
// the view caught up once it has read up to the last stable offsets listed
// when it began, and goes on applying new records until ctx is done. Until
// then writes are answered 503: a write judged against a partial view could
// register a product twice. It records how far it has read (s.pos), so that
// a new writer can wait until its view holds everything committed.
func (s *Service) follow(ctx context.Context) error {
	cl, err := kgo.NewClient(append(slices.Clone(s.kopts),
		kgo.ConsumeTopics(s.topics.Lifecycle, s.leaseTopic, s.topics.Access, s.topics.Notices),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()),
		// Transaction markers come through too, so that the offsets read
		// reach the end offsets even when a partition ends in a marker.
		kgo.KeepControlRecords(),
	)...)
	if err != nil {
		return fmt.Errorf("registrar: lifecycle consumer: %w", err)
	}
	defer cl.Close()

	// The writer expires agreements past their end (access_expiry.go).
	expiring := make(chan struct{})
	go func() { defer close(expiring); s.expireLoop(ctx) }()
	defer func() { <-expiring }()
	// The writer sends SUNSET_SOON notices (notice_sunset.go).
	sunsets := make(chan struct{})
	go func() { defer close(sunsets); s.sunsetLoop(ctx) }()
	defer func() { <-sunsets }()

	start := time.Now()
	var applied atomic.Int64
	waited := make(chan struct{})
	defer func() { <-waited }()
	go func() {
		defer close(waited)
		if err := s.waitEnd(ctx, s.topics.Lifecycle, s.leaseTopic, s.topics.Access, s.topics.Notices); err != nil {
			return // ctx is done
		}
		s.caughtUp.Store(true)
		s.log.Info("view rebuilt from the lifecycle topic", zap.Int("products", s.view.size()),
			zap.Int64("records", applied.Load()), zap.Duration("took", time.Since(start)))
	}()
	for ctx.Err() == nil {
		fetches := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			return nil
		}
		fetches.EachError(func(topic string, p int32, err error) {
			s.log.Warn("lifecycle fetch failed", zap.String("topic", topic), zap.Int32("partition", p), zap.Error(err))
		})
		fetches.EachRecord(func(r *kgo.Record) {
			switch {
			case r.Attrs.IsControl():
			case r.Topic == s.leaseTopic:
				s.applyLease(r)
			case r.Topic == s.topics.Access:
				s.applyAccessRecord(ctx, r)
			case r.Topic == s.topics.Notices:
				s.applyNoticeRecord(ctx, r)
			default:
				s.applyRecord(ctx, r)
				applied.Add(1)
			}
			s.pos.advance(r.Topic, r.Partition, r.Offset+1)
		})
	}
	return nil
}

// applyRecord decodes a lifecycle record and folds it into the view. A
// record that does not decode is logged and skipped: the view goes on.
func (s *Service) applyRecord(ctx context.Context, r *kgo.Record) {
	ev, err := s.codec.Decode(ctx, r)
	if err != nil {
		s.metrics.lifecycleRecords.WithLabelValues("undecodable").Inc()
		s.log.Warn("skipping undecodable lifecycle record", zap.Int32("partition", r.Partition), zap.Int64("offset", r.Offset), zap.Error(err))
		return
	}
	le, ok := ev.(*events.ProductLifecycleEvent)
	if !ok {
		return
	}
	if s.view.apply(le, r.Partition, r.Offset) {
		s.metrics.lifecycleRecords.WithLabelValues("applied").Inc()
	} else {
		s.metrics.lifecycleRecords.WithLabelValues("already_applied").Inc()
	}
}
