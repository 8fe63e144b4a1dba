package registrar

import (
	"context"
	"fmt"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"go.uber.org/zap"

	"github.com/meshbone/meshbone/pkg/events"
)

// follow reads the lifecycle topic from the start (read_committed, no
// consumer group: every instance reads it all), marks the view caught up
// once it has read up to the committed end offsets listed when it began,
// and goes on applying new records until ctx is done. Until then writes are
// answered 503: a write judged against a partial view could register a
// product twice.
func (s *Service) follow(ctx context.Context) error {
	ends, err := s.adm.ListCommittedOffsets(ctx, s.topics.Lifecycle)
	if err != nil {
		return fmt.Errorf("registrar: list end offsets of %s: %w", s.topics.Lifecycle, err)
	}
	starts, err := s.adm.ListStartOffsets(ctx, s.topics.Lifecycle)
	if err != nil {
		return fmt.Errorf("registrar: list start offsets of %s: %w", s.topics.Lifecycle, err)
	}
	// partition -> end offset still to reach; a partition whose records all
	// expired has nothing to read.
	pending := map[int32]int64{}
	ends.Each(func(o kadm.ListedOffset) {
		if start, ok := starts.Lookup(o.Topic, o.Partition); o.Err == nil && ok && o.Offset > start.Offset {
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
		// Transaction markers come through too, so that the offsets read
		// reach the end offsets even when a partition ends in a marker.
		kgo.KeepControlRecords(),
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
		caughtUp("nothing to read")
	}
	for ctx.Err() == nil {
		fetches := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			return nil
		}
		fetches.EachError(func(topic string, p int32, err error) {
			s.log.Warn("lifecycle fetch failed", zap.String("topic", topic), zap.Int32("partition", p), zap.Error(err))
		})
		fetches.EachRecord(func(r *kgo.Record) {
			if !r.Attrs.IsControl() {
				s.applyRecord(ctx, r)
				applied++
			}
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
