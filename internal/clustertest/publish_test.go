//go:build cluster

package clustertest

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/meshbone/meshbone/pkg/events"
)

// Phases of TestPublishThroughLeaderKill, counted in events published one
// every publishEvery: before the kill, while the broker is down, after it is
// back.
const (
	publishEvery   = 5 * time.Millisecond
	publishBefore  = 1500 // about 8 s
	publishDown    = 20 * time.Second
	publishAfter   = 1500
	publishProduct = 30 // products the events are about (keys spread over the partitions)
)

// acks records what Kafka acknowledged, through the client's unbuffered
// hook: the event id and partition of every record, and when.
type acks struct {
	mu     sync.Mutex
	ids    map[string]int
	failed map[string]error
	byPart map[int32][]time.Time
}

var _ kgo.HookProduceRecordUnbuffered = (*acks)(nil)

func (a *acks) OnProduceRecordUnbuffered(r *kgo.Record, err error) {
	id, _ := events.GetHeader(r, events.HeaderID)
	now := time.Now()
	a.mu.Lock()
	defer a.mu.Unlock()
	if err != nil {
		a.failed[id] = err
		return
	}
	a.ids[id]++
	a.byPart[r.Partition] = append(a.byPart[r.Partition], now)
}

// longestGap returns the longest time a partition went without an
// acknowledgement, and which partition.
func (a *acks) longestGap() (time.Duration, int32) {
	a.mu.Lock()
	defer a.mu.Unlock()
	var gap time.Duration
	var part int32
	for p, ts := range a.byPart {
		for i := 1; i < len(ts); i++ {
			if d := ts[i].Sub(ts[i-1]); d > gap {
				gap, part = d, p
			}
		}
	}
	return gap, part
}

func qualityEvent(i int) *events.QualityEvent {
	now := time.Now().UTC().Truncate(time.Millisecond)
	return &events.QualityEvent{
		EventID:        fmt.Sprintf("q-%06d", i),
		ProductID:      fmt.Sprintf("sales.p%02d", i%publishProduct),
		ProductVersion: "1.0.0",
		RunID:          fmt.Sprintf("run-%d", i),
		ObservedAt:     now,
		DataWatermark:  &now,
		Checks: []events.QualityCheck{{Name: "complete", Dimension: events.DimensionCompleteness,
			Observed: 0.99, Operator: ">=", Threshold: 0.9, Passed: true}},
	}
}

// TestPublishThroughLeaderKill publishes quality events through pkg/events
// at a steady rate, kills the leader of most of the quality topic's
// partitions with kill -9 for a while, restarts it, and reads the topic back
// read_committed: every acknowledged event is there exactly once.
func TestPublishThroughLeaderKill(t *testing.T) {
	c := newCluster(t)
	fig := newFigures(t)
	a := &acks{ids: map[string]int{}, failed: map[string]error{}, byPart: map[int32][]time.Time{}}
	opts := []events.PublisherOpt{events.Domain("sales"), events.KafkaOpts(kgo.WithHooks(a))}
	for _, o := range c.env.EventOpts() {
		opts = append(opts, o)
	}
	pub, err := events.NewPublisher(opts...)
	if err != nil {
		t.Fatal(err)
	}
	defer pub.Close()
	ctx := context.Background()
	// The first publish registers the schema and finds the leaders.
	if err := pub.Publish(ctx, qualityEvent(0)); err != nil {
		t.Fatal(err)
	}

	// publish sends n events (or, with n < 0, until stop closes), one every
	// publishEvery, asynchronously: a stalled partition does not hold the
	// others back.
	next := 1
	var asyncErr error
	publish := func(n int, stop <-chan struct{}) {
		tick := time.NewTicker(publishEvery)
		defer tick.Stop()
		for i := 0; n < 0 || i < n; i++ {
			select {
			case <-stop:
				return
			case <-tick.C:
			}
			if err := pub.PublishAsync(ctx, qualityEvent(next), nil); err != nil && asyncErr == nil {
				asyncErr = err
			}
			next++
		}
	}

	publish(publishBefore, nil)
	victim, led := c.leaderOfMost(c.env.Topics.Quality)
	t.Logf("killing node %d, leader of %d of the quality topic's partitions, after %d events", victim, led, next)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); publish(-1, stop) }()
	c.kill(victim)
	time.Sleep(publishDown)
	t.Logf("restarting node %d after %d events", victim, next)
	c.restart(victim)
	close(stop)
	wg.Wait()
	publish(publishAfter, nil)
	flushCtx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	if err := pub.Flush(flushCtx); err != nil {
		t.Fatalf("flush: %v", err)
	}
	if asyncErr != nil {
		t.Fatalf("publish: %v", asyncErr)
	}
	sent := next

	recs := c.readAll(c.env.Topics.Quality)
	got := map[string]int{}
	for _, r := range recs {
		id, _ := events.GetHeader(r, events.HeaderID)
		got[id]++
	}
	a.mu.Lock()
	acked, failed := len(a.ids), len(a.failed)
	var lost, dup []string
	for id := range a.ids {
		if got[id] == 0 {
			lost = append(lost, id)
		}
	}
	for id, n := range got {
		if n > 1 {
			dup = append(dup, id)
		}
	}
	for id, err := range a.failed {
		t.Logf("not acknowledged: %s: %v", id, err)
	}
	a.mu.Unlock()
	gap, part := a.longestGap()
	t.Logf("sent %d events, %d acknowledged, %d failed, %d records read back; longest gap between acknowledgements %s on partition %d",
		sent, acked, failed, len(recs), gap, part)
	fig.set("cluster.publish.lost", len(lost))
	fig.set("cluster.publish.duplicated", len(dup))
	fig.set("cluster.publish.stall_ms", gap.Milliseconds())
	if len(lost) > 0 {
		t.Errorf("%d acknowledged events are not in the topic, e.g. %v", len(lost), lost[:min(5, len(lost))])
	}
	if len(dup) > 0 {
		t.Errorf("%d events are in the topic more than once, e.g. %v", len(dup), dup[:min(5, len(dup))])
	}
	if acked+failed != sent {
		t.Errorf("%d events sent, but %d acknowledged and %d failed", sent, acked, failed)
	}
}
