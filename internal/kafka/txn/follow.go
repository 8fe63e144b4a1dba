package txn

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"go.uber.org/zap"

	"github.com/meshbone/meshbone/internal/kafka/topicread"
)

// Follow reads the whole of topic read_committed, from its start, until ctx
// is done, handing the records of each poll (transaction markers included:
// they tell where a partition ends when its last record is one) to apply.
// caughtUp is closed once every partition is read to its last stable
// offset as of the start. Fetch errors are logged with what (the reader's
// name) before them.
func Follow(ctx context.Context, kopts []kgo.Opt, adm *kadm.Client, topic string, log *zap.Logger, what string, caughtUp chan<- struct{}, apply func([]*kgo.Record)) error {
	starts, ends, err := topicread.Bounds(ctx, adm, topic)
	if err != nil {
		return fmt.Errorf("list the offsets of %s: %w", topic, err)
	}
	left := map[int32]int64{} // partition -> the offset to reach
	ends.Each(func(o kadm.ListedOffset) {
		if st, _ := starts.Lookup(topic, o.Partition); o.Offset > st.Offset {
			left[o.Partition] = o.Offset
		}
	})
	if len(left) == 0 {
		close(caughtUp)
		caughtUp = nil
	}
	cl, err := kgo.NewClient(append([]kgo.Opt{
		kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()),
		kgo.KeepControlRecords(),
		kgo.FetchMaxWait(500 * time.Millisecond),
	}, kopts...)...)
	if err != nil {
		return fmt.Errorf("kafka client: %w", err)
	}
	defer cl.Close()
	for {
		fetches := cl.PollFetches(ctx)
		if ctx.Err() != nil || fetches.IsClientClosed() {
			return nil
		}
		fetches.EachError(func(t string, p int32, err error) {
			log.Warn(what+": fetch error", zap.String("topic", t), zap.Int32("partition", p), zap.Error(err))
		})
		recs := fetches.Records()
		apply(recs)
		for _, r := range recs {
			if end, ok := left[r.Partition]; ok && r.Offset+1 >= end {
				delete(left, r.Partition)
			}
		}
		if caughtUp != nil && len(left) == 0 {
			close(caughtUp)
			caughtUp = nil
		}
	}
}

// Follower is a reader a service runs in a goroutine of its own alongside
// its sessions (a Follow of the lifecycle topic).
type Follower struct {
	// Err gets the reader's error, after which it has stopped.
	Err      chan error
	caughtUp chan struct{}
	stop     context.CancelFunc
	done     sync.WaitGroup
}

// StartFollower runs read until ctx is done or Stop is called. read closes
// caughtUp once it has read what there was at its start; an error it
// returns goes to Err with what (the service and the reader) before it.
func StartFollower(ctx context.Context, what string, read func(ctx context.Context, caughtUp chan<- struct{}) error) *Follower {
	f := &Follower{Err: make(chan error, 1), caughtUp: make(chan struct{})}
	ctx, f.stop = context.WithCancel(ctx)
	f.done.Go(func() {
		if err := read(ctx, f.caughtUp); err != nil {
			f.Err <- fmt.Errorf("%s: %w", what, err)
			f.stop()
		}
	})
	return f
}

// CaughtUp waits until the reader has caught up (true), failed (false and
// its error) or ctx is done (false, nil).
func (f *Follower) CaughtUp(ctx context.Context) (bool, error) {
	select {
	case <-f.caughtUp:
		return true, nil
	case err := <-f.Err:
		return false, err
	case <-ctx.Done():
		return false, nil
	}
}

// Stop stops the reader and waits until it has returned.
func (f *Follower) Stop() {
	f.stop()
	f.done.Wait()
}
