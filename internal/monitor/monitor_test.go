package monitor

import (
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/meshbone/meshbone/internal/testkit"
	"github.com/meshbone/meshbone/pkg/events"
)

// products is how many products (each with one port topic) the scenarios
// measure: enough for every instance of three to own one.
const products = 3

// scenario registers the products, writes the test stream to each port
// (the second half after the monitors started, when live) and returns the
// events they must give.
func (w *world) scenario() (write func(), want []*events.QualityEvent) {
	t0 := origin()
	for i := range products {
		p := w.addProduct(fmt.Sprintf("p%d", i))
		want = append(want, expected(p, t0)...)
	}
	return func() {
		for _, p := range w.ports {
			w.write(p, t0, stream())
		}
	}, want
}

// One monitor: the stream with nulls, a rule failure, a duplicate, an
// undecodable record and a gap gives exactly the windows expected, each
// once. The products are registered after the monitor started: it picks
// their ports up without a restart.
func TestObservedWindows(t *testing.T) {
	w := newWorld(t)
	s, stop := w.start(w.options())
	w.env.Eventually(s.Ready, "monitor ready")
	write, want := w.scenario()
	write()
	w.env.Eventually(func() bool { return s.Published() >= int64(len(want)) }, "every window published")
	stop()
	w.check(want)
}

// Three monitors publish what one publishes: they join before the
// products are registered, so each new port topic is a rebalance that may
// move topics and their open windows between instances while the streams
// (long ones, in small transactions) are measured.
func TestInstancesAgree(t *testing.T) {
	w := newWorld(t)
	var svcs []*Service
	for i := range 3 {
		o := w.options()
		o.InstanceID = fmt.Sprintf("%s-%d", w.group, i)
		s, stop := w.start(o)
		defer stop()
		svcs = append(svcs, s)
	}
	for _, s := range svcs {
		w.env.Eventually(s.Ready, "monitor ready")
	}
	t0 := origin().Add(-2 * time.Hour)
	long := longStream(600)
	want := w.addStreams("m", t0, long)
	// Port topics move between the instances as products appear: each move
	// is a rebalance, which a loaded machine can stretch past DefaultWait.
	testkit.EventuallyWithin(t, 3*time.Minute, func() bool {
		var n int64
		for _, s := range svcs {
			n += s.Published()
		}
		return n >= int64(len(want))
	}, fmt.Sprintf("every window published (%d)", len(want)), func() string {
		var b strings.Builder
		for _, s := range svcs {
			fmt.Fprintf(&b, "%s measured %d records, published %d windows; ", s.TransactionalID(), s.Measured(), s.Published())
		}
		return b.String()
	})
	for _, s := range svcs {
		t.Logf("instance %s: %d records measured, %d windows published", s.TransactionalID(), s.Measured(), s.Published())
	}
	w.check(want)
}

// One monitor publishes the same long streams' windows as three.
func TestOneInstanceLongStreams(t *testing.T) {
	w := newWorld(t)
	s, stop := w.start(w.options())
	t0 := origin().Add(-2 * time.Hour)
	long := longStream(600)
	want := w.addStreams("m", t0, long)
	w.env.Eventually(func() bool { return s.Published() >= int64(len(want)) }, "every window published")
	stop()
	w.check(want)
}

// A monitor that dies between producing a batch and committing it (three
// times, at different batches) and is restarted publishes every window
// exactly once: the dead transaction is aborted by its successor, which
// reads the state back and measures the batch again.
func TestExactlyOnceAcrossCrashes(t *testing.T) {
	// Several hash chunks per window and transaction, read back at each
	// restart.
	defer func(n int) { maxChunk = n }(maxChunk)
	maxChunk = 2
	w := newWorld(t)
	write, want := w.scenario()
	write()
	o := w.options()
	o.InstanceID = w.group + "-0"
	for _, at := range []int64{2, 3, 2} {
		s, err := New(o, nil)
		if err != nil {
			t.Fatal(err)
		}
		var batches atomic.Int64
		s.crashHook = func() bool { return batches.Add(1) == at }
		done := make(chan error, 1)
		go func() { done <- s.Run(t.Context()) }()
		select {
		case err := <-done:
			if err != errCrashed {
				t.Fatalf("Run = %v, want the crash", err)
			}
		case <-time.After(2 * time.Minute):
			t.Fatal("the monitor did not reach its crash")
		}
		t.Logf("crashed at batch %d after %d windows committed", at, s.Published())
	}
	s, stop := w.start(o)
	w.env.Eventually(func() bool { return len(w.observed(len(want), 200*time.Millisecond)) >= len(want) }, "every window published")
	stop()
	t.Logf("last run: %d windows", s.Published())
	w.check(want)
}
