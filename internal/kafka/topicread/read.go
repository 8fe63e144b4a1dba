// Package topicread reads a Kafka topic to its end, read_committed. It
// depends on franz-go only, so that both the services (through
// internal/kafka's callers) and the public SDK (pkg/events) use it.
package topicread

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
)

// ReadCommitted reads every partition of topic read_committed from its start
// to its last stable offset as of the call, handing each data record to
// each, and returns once all are read (or ctx is done). Records of aborted
// transactions and transaction markers are not handed over. A topic the
// brokers do not know yet (just created) is retried until ctx is done.
func ReadCommitted(ctx context.Context, kopts []kgo.Opt, topic string, each func(*kgo.Record)) error {
	starts, ends, err := listBounds(ctx, kopts, topic)
	if err != nil {
		return err
	}
	from := map[int32]kgo.Offset{}
	left := map[int32]int64{} // partition -> offset to reach
	ends.Each(func(o kadm.ListedOffset) {
		st, _ := starts.Lookup(topic, o.Partition)
		if o.Offset > st.Offset {
			from[o.Partition] = kgo.NewOffset().At(st.Offset)
			left[o.Partition] = o.Offset
		}
	})
	if len(left) == 0 {
		return nil
	}
	cl, err := kgo.NewClient(append([]kgo.Opt{
		kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{topic: from}),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()),
		// Control records (transaction markers) are kept so that the
		// position is known even when a partition ends with one.
		kgo.KeepControlRecords(),
	}, kopts...)...)
	if err != nil {
		return err
	}
	defer cl.Close()
	for len(left) > 0 {
		fetches := cl.PollFetches(ctx)
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("%w with %d partitions of %s not read to the end", err, len(left), topic)
		}
		var ferr error
		fetches.EachError(func(_ string, p int32, err error) { ferr = fmt.Errorf("%s partition %d: %w", topic, p, err) })
		if ferr != nil {
			return ferr
		}
		fetches.EachRecord(func(r *kgo.Record) {
			end, ok := left[r.Partition]
			if !ok || r.Offset >= end {
				return // past the end as of the call
			}
			if r.Offset+1 >= end {
				delete(left, r.Partition)
			}
			if !r.Attrs.IsControl() {
				each(r)
			}
		})
	}
	return nil
}

// listBounds lists the start and last stable offsets of topic, retrying
// while the brokers do not know it yet (just created) until ctx is done.
func listBounds(ctx context.Context, kopts []kgo.Opt, topic string) (starts, ends kadm.ListedOffsets, err error) {
	cl, err := kgo.NewClient(kopts...)
	if err != nil {
		return nil, nil, err
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	// A topic just created takes a moment to be known to every broker:
	// retry soon, then less often.
	backoff := 10 * time.Millisecond
	for {
		starts, ends, err = Bounds(ctx, adm, topic)
		if err == nil || !kerr.IsRetriable(err) && !errors.Is(err, kerr.UnknownTopicOrPartition) {
			return starts, ends, err
		}
		select {
		case <-ctx.Done():
			return nil, nil, fmt.Errorf("list offsets: %w (last error: %w)", ctx.Err(), err)
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 200*time.Millisecond)
	}
}

// Bounds lists the start and the last stable offsets of topic's partitions
// once.
func Bounds(ctx context.Context, adm *kadm.Client, topic string) (starts, ends kadm.ListedOffsets, err error) {
	starts, err = adm.ListStartOffsets(ctx, topic)
	if err == nil {
		err = starts.Error()
	}
	if err == nil {
		ends, err = adm.ListCommittedOffsets(ctx, topic) // last stable offsets
		if err == nil {
			err = ends.Error()
		}
	}
	return starts, ends, err
}
