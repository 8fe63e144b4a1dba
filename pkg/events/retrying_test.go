package events

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/twmb/franz-go/pkg/kgo"
)

// failing is a RecordHandler that returns errs[i] on its i-th call (nil
// once they run out) and counts its calls.
type failing struct {
	errs  []error
	calls int
}

func (f *failing) handle(context.Context, *kgo.Record) error {
	f.calls++
	if f.calls <= len(f.errs) {
		return f.errs[f.calls-1]
	}
	return nil
}

// logLines is a Logger that keeps its messages.
type logLines []string

func (l *logLines) Log(_ LogLevel, msg string, kv ...any) {
	*l = append(*l, fmt.Sprint(append([]any{msg}, kv...)...))
}

// Retrying retries transient failures (handler errors, registry outages) up
// to max more times and returns the last outcome; permanent decode errors
// are not retried.
func TestRetrying(t *testing.T) {
	boom := errors.New("boom")
	outage := &DecodeError{Class: ClassRegistry, Err: errors.New("registry down")}
	poison := &DecodeError{Class: ClassCorruptBody, Err: errors.New("bad body")}
	for _, tc := range []struct {
		name      string
		max       int
		errs      []error
		want      error
		wantCalls int
	}{
		{"success", 3, nil, nil, 1},
		{"handler recovers", 3, []error{boom, boom}, nil, 3},
		{"handler keeps failing", 2, []error{boom, boom, boom, boom}, boom, 3},
		{"no retries", 0, []error{boom}, boom, 1},
		{"registry outage retried", 3, []error{outage}, nil, 2},
		{"poison not retried", 3, []error{poison}, poison, 1},
		{"each kind on its own merits", 5, []error{boom, outage, poison}, poison, 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := &failing{errs: tc.errs}
			var log logLines
			err := Retrying(tc.max, 0, &log)(f.handle)(context.Background(), &kgo.Record{Topic: "t", Offset: 7})
			if err != tc.want {
				t.Errorf("error %v, want %v", err, tc.want)
			}
			if f.calls != tc.wantCalls {
				t.Errorf("%d calls, want %d", f.calls, tc.wantCalls)
			}
			if len(log) != tc.wantCalls-1 {
				t.Errorf("logged %d retries for %d calls: %q", len(log), f.calls, log)
			}
		})
	}
}

// A cancelled context stops the retries: the failure is returned at once.
func TestRetryingStopsWhenCancelled(t *testing.T) {
	boom := errors.New("boom")
	ctx, cancel := context.WithCancel(context.Background())
	calls := 0
	h := Retrying(10, 0, nopLogger{})(func(context.Context, *kgo.Record) error {
		calls++
		cancel()
		return boom
	})
	if err := h(ctx, &kgo.Record{}); err != boom {
		t.Errorf("error %v, want the handler's", err)
	}
	if calls != 1 {
		t.Errorf("%d calls after the context was cancelled, want 1", calls)
	}
}
