package registrar

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"go.uber.org/zap"

	"github.com/meshbone/meshbone/pkg/events"
)

// idleCatchUp is how long the catch-up waits for records it was promised
// before it declares the view current anyway: the last committed offset of a
// partition can be a transaction marker, which no record ever reaches.
const idleCatchUp = 3 * time.Second

// follow reads the lifecycle topic from the start (read_committed, no
// consumer group: every instance reads it all), marks the view caught up
// once it has read up to the committed end offsets listed when it began,
// and goes on applying new records until ctx is done.
func (s *Service) follow(ctx context.Context) error {
	ends, err := s.adm.ListCommittedOffsets(ctx, s.topics.Lifecycle)
	if err != nil {
		return fmt.Errorf("registrar: list end offsets of %s: %w", s.topics.Lifecycle, err)
	}
	pending := map[int32]int64{} // partition -> end offset still to reach
	ends.Each(func(o kadm.ListedOffset) {
		if o.Err == nil && o.Offset > 0 {
			pending[o.Partition] = o.Offset
		}
	})
	kopts, err := s.opts.Kafka.KgoOpts()
	if err != nil {
		return err
	}
	cl, err := kgo.NewClient(append(kopts,
		kgo.ConsumeTopics(s.topics.Lifecycle),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()),
	)...)
	if err != nil {
		return fmt.Errorf("registrar: lifecycle consumer: %w", err)
	}
	defer cl.Close()

	start, applied := time.Now(), 0
	caughtUp := func(reason string) {
		s.caughtUp.Store(true)
		s.log.Info("view rebuilt from the lifecycle topic", zap.Int("products", s.view.size()),
			zap.Int("records", applied), zap.Duration("took", time.Since(start)), zap.String("how", reason))
	}
	if len(pending) == 0 {
		caughtUp("topic empty")
	}
	for ctx.Err() == nil {
		pctx, cancel := ctx, context.CancelFunc(func() {})
		if !s.caughtUp.Load() {
			pctx, cancel = context.WithTimeout(ctx, idleCatchUp)
		}
		fetches := cl.PollFetches(pctx)
		cancel()
		if ctx.Err() != nil {
			return nil
		}
		fetches.EachError(func(topic string, p int32, err error) {
			if !errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, context.Canceled) {
				s.log.Warn("lifecycle fetch failed", zap.String("topic", topic), zap.Int32("partition", p), zap.Error(err))
			}
		})
		if fetches.Empty() && !s.caughtUp.Load() && pctx.Err() != nil {
			caughtUp("idle before the listed end offsets")
			continue
		}
		fetches.EachRecord(func(r *kgo.Record) {
			s.applyRecord(ctx, r)
			applied++
			if end, ok := pending[r.Partition]; ok && r.Offset+1 >= end {
				delete(pending, r.Partition)
			}
		})
		if len(pending) == 0 && !s.caughtUp.Load() {
			caughtUp("end offsets reached")
		}
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
