package testkit

import (
	"context"
	"errors"
	"testing"
	"time"
)

// Running is a service's Run in a goroutine of a test.
type Running struct {
	t       testing.TB
	name    string
	cancel  context.CancelFunc
	done    chan struct{}
	err     error // Run's, once done is closed
	crashed error
	stopped bool
}

// Run calls run (a service's Run) in a goroutine until the test ends or
// Stop is called. name names the service in failures; Run returning
// crashed (a test hook's crash) is no failure.
func Run(t testing.TB, name string, run func(context.Context) error, crashed error) *Running {
	ctx, cancel := context.WithCancel(context.Background())
	r := &Running{t: t, name: name, cancel: cancel, done: make(chan struct{}), crashed: crashed}
	go func() {
		r.err = run(ctx)
		close(r.done)
	}()
	t.Cleanup(r.Stop)
	return r
}

// Exited reports whether Run has returned (without being stopped, or
// stopped).
func (r *Running) Exited() bool {
	select {
	case <-r.done:
		return true
	default:
		return false
	}
}

// Stop cancels Run's context and waits up to DefaultWait for it to return,
// failing the test if it does not or returns an error. Calls after the
// first do nothing.
func (r *Running) Stop() {
	if r.stopped {
		return
	}
	r.stopped = true
	r.cancel()
	select {
	case <-r.done:
		if r.err != nil && !errors.Is(r.err, r.crashed) {
			r.t.Errorf("%s Run: %v", r.name, r.err)
		}
	case <-time.After(DefaultWait):
		r.t.Errorf("%s did not stop within %s", r.name, DefaultWait)
	}
}
