package testkit

import (
	"context"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/meshbone/meshbone/pkg/events"
)

// DefaultWait bounds every wait in the kit.
const DefaultWait = 30 * time.Second

// ReadN reads topic from the start, read_committed, until it has n records or
// DefaultWait passes, and returns what it read. It fails the test on
// timeout.
func (e *Env) ReadN(topic string, n int) []*kgo.Record {
	e.t.Helper()
	recs := e.ReadFor(topic, n, DefaultWait)
	if len(recs) < n {
		e.t.Fatalf("testkit: read %d records from %s within %s, want %d", len(recs), topic, DefaultWait, n)
	}
	return recs
}

// ReadFor reads topic from the start, read_committed, until it has n records
// or d passes, and returns what it read (possibly fewer than n). Use it with
// n larger than expected to check that nothing more arrives.
func (e *Env) ReadFor(topic string, n int, d time.Duration) []*kgo.Record {
	e.t.Helper()
	cl := e.Client(
		kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()),
	)
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	var out []*kgo.Record
	for len(out) < n {
		fetches := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			break
		}
		out = append(out, fetches.Records()...)
	}
	return out
}

// Eventually polls cond every 20ms until it holds or DefaultWait passes, then
// fails the test with msg.
func (e *Env) Eventually(cond func() bool, msg string) {
	e.t.Helper()
	Eventually(e.t, cond, msg)
}

// Eventually polls cond every 20ms until it holds or DefaultWait passes, then
// fails t with msg: Env.Eventually for a test without an Env.
func Eventually(t testing.TB, cond func() bool, msg string) {
	t.Helper()
	EventuallyWithin(t, DefaultWait, cond, msg)
}

// EventuallyWithin is Eventually with its own bound, for waits that take
// group rebalances on a loaded machine; each progress function's answer is
// added to the failure message, to say how far the test got.
func EventuallyWithin(t testing.TB, d time.Duration, cond func() bool, msg string, progress ...func() string) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			for _, p := range progress {
				msg += "; " + p()
			}
			t.Fatalf("testkit: timed out after %s: %s", d, msg)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// ProduceEvents encodes evs with the mesh contracts (CloudEvents source
// /domains/test), produces them one by one, and returns the offset of the
// last record per topic and partition: what a consumer must reach to have
// seen them all.
func (e *Env) ProduceEvents(evs ...events.Event) map[string]map[int32]int64 {
	e.t.Helper()
	ctx := context.Background()
	codec := events.NewCodec(e.RegistryClient(), e.Topics)
	cl := e.Client()
	last := map[string]map[int32]int64{}
	for _, ev := range evs {
		r, err := codec.Encode(ctx, ev, "/domains/test")
		if err != nil {
			e.t.Fatal(err)
		}
		if err := cl.ProduceSync(ctx, r).FirstErr(); err != nil {
			e.t.Fatal(err)
		}
		if last[r.Topic] == nil {
			last[r.Topic] = map[int32]int64{}
		}
		last[r.Topic][r.Partition] = r.Offset
	}
	return last
}
