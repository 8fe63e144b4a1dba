package indexer

import (
	"context"
	"slices"
	"strings"
	"sync"
)

// tp is a topic-partition.
type tp struct {
	Topic     string
	Partition int32
}

// progress is what the view has folded, per partition, and a broadcast to
// everyone waiting for it to move: each commit closes the current channel
// and makes a new one, so waiters block on a channel, never poll.
type progress struct {
	mu      sync.Mutex
	offsets map[tp]int64 // last offset folded; -1 assigned but nothing yet
	hwm     map[tp]int64 // high watermark last seen in a fetch
	gen     uint64       // commits since start
	folded  int64        // events folded since start
	changed chan struct{}
}

func newProgress() *progress {
	return &progress{offsets: map[tp]int64{}, hwm: map[tp]int64{}, changed: make(chan struct{})}
}

// assign records partitions the consumer reads, at their stored offsets.
func (p *progress) assign(parts map[tp]int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for k, o := range parts {
		if _, ok := p.offsets[k]; !ok {
			p.offsets[k] = o
		}
	}
}

// commit records a committed batch and wakes every waiter.
func (p *progress) commit(offs map[tp]int64, folded int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for k, o := range offs {
		if o > p.offsets[k] {
			p.offsets[k] = o
		}
	}
	p.gen++
	p.folded += int64(folded)
	close(p.changed)
	p.changed = make(chan struct{})
}

func (p *progress) setHWM(k tp, hwm int64) {
	p.mu.Lock()
	p.hwm[k] = hwm
	p.mu.Unlock()
}

// reached reports whether every target offset is folded.
func (p *progress) reached(targets map[tp]int64) bool {
	for k, o := range targets {
		if cur, ok := p.offsets[k]; !ok || cur < o {
			return false
		}
	}
	return true
}

// wait blocks until cond holds (checked under the lock after every
// commit) or ctx ends; it reports whether cond held.
func (p *progress) wait(ctx context.Context, cond func(*progress) bool) bool {
	for {
		p.mu.Lock()
		ok, ch := cond(p), p.changed
		p.mu.Unlock()
		if ok {
			return true
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return false
		}
	}
}

// PartitionStatus is how far the view has folded one partition.
type PartitionStatus struct {
	Topic     string `json:"topic"`
	Partition int32  `json:"partition"`
	// Offset is the last offset folded, -1 before the first.
	Offset int64 `json:"offset"`
	// HighWatermark is the partition's end as last fetched (-1 unknown).
	HighWatermark int64 `json:"high_watermark"`
	// Lag is HighWatermark minus the next offset to fold (-1 unknown).
	Lag int64 `json:"lag"`
}

// Status is the view's progress.
type Status struct {
	// Generation counts the batches committed since the indexer started;
	// ?changed_since=<generation> waits for the next one.
	Generation   uint64            `json:"generation"`
	EventsFolded int64             `json:"events_folded"`
	Partitions   []PartitionStatus `json:"partitions"`
	// Reached is set when the request waited: whether the view includes
	// what it waited for.
	Reached *bool `json:"reached,omitempty"`
}

func (p *progress) status() Status {
	p.mu.Lock()
	defer p.mu.Unlock()
	s := Status{Generation: p.gen, EventsFolded: p.folded, Partitions: []PartitionStatus{}}
	for k, o := range p.offsets {
		ps := PartitionStatus{Topic: k.Topic, Partition: k.Partition, Offset: o, HighWatermark: -1, Lag: -1}
		if h, ok := p.hwm[k]; ok {
			ps.HighWatermark = h
			ps.Lag = max(h-(o+1), 0)
		}
		s.Partitions = append(s.Partitions, ps)
	}
	slices.SortFunc(s.Partitions, func(a, b PartitionStatus) int {
		if c := strings.Compare(a.Topic, b.Topic); c != 0 {
			return c
		}
		return int(a.Partition - b.Partition)
	})
	return s
}
