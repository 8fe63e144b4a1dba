package governor

import (
	"context"
	"fmt"
	"sync"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// ownership is the set of lifecycle partitions this instance is assigned:
// the products whose lifecycle events are there are its own to check for
// freshness and to judge again when their inputs change. (Range assignment
// gives it the same partitions of the quality topic.)
type ownership struct {
	mu         sync.RWMutex
	partitions map[int32]bool
	count      int32 // partitions of the lifecycle topic
}

func (o *ownership) assign(ps []int32) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.partitions == nil {
		o.partitions = map[int32]bool{}
	}
	for _, p := range ps {
		o.partitions[p] = true
	}
}

// revoke forgets ps; nil forgets every partition.
func (o *ownership) revoke(ps []int32) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if ps == nil {
		clear(o.partitions)
	}
	for _, p := range ps {
		delete(o.partitions, p)
	}
}

// partitioner places a product id as a producer using Kafka's default
// partitioner (murmur2 of the key) does.
var partitioner = kgo.StickyKeyPartitioner(nil).ForTopic("")

// owns reports whether ps is of a partition this instance is assigned: the
// partition its newest lifecycle event was read from, or, for a state
// written before meshbone recorded it, the partition its id hashes to.
func (o *ownership) owns(ps *ProductState) bool {
	o.mu.RLock()
	defer o.mu.RUnlock()
	if ps.Lifecycle != nil {
		return o.partitions[ps.Lifecycle.Source.Partition]
	}
	if o.count == 0 {
		return false
	}
	return o.partitions[int32(partitioner.Partition(&kgo.Record{Key: []byte(ps.ID)}, int(o.count)))]
}

// checkCopartitioned checks that the lifecycle and quality topics have the
// same number of partitions: a product's events of both are keyed by its
// id, so they are then on partitions of the same number, which range
// assignment gives to one instance.
func (s *Service) checkCopartitioned(ctx context.Context) error {
	details, err := kadm.NewClient(s.admin).ListTopics(ctx, s.topics.Lifecycle, s.topics.Quality)
	if err != nil {
		return fmt.Errorf("describe the mesh topics: %w", err)
	}
	lc, q := details[s.topics.Lifecycle], details[s.topics.Quality]
	if lc.Err != nil {
		return fmt.Errorf("describe %s: %w", s.topics.Lifecycle, lc.Err)
	}
	if q.Err != nil {
		return fmt.Errorf("describe %s: %w", s.topics.Quality, q.Err)
	}
	if len(lc.Partitions) != len(q.Partitions) {
		return fmt.Errorf("%s has %d partitions and %s %d: they must have the same number, so that one instance judges all of a product's events",
			s.topics.Lifecycle, len(lc.Partitions), s.topics.Quality, len(q.Partitions))
	}
	s.own.mu.Lock()
	s.own.count = int32(len(lc.Partitions))
	s.own.mu.Unlock()
	return nil
}
