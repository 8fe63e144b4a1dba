package governor

import (
	"testing"

	"github.com/twmb/franz-go/pkg/kgo"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"
)

// A message franz-go repeats at every retry is logged once, then with the
// count of repeats it stood for; other messages are not held back by it.
func TestKgoLoggerRateLimits(t *testing.T) {
	core, logs := observer.New(zap.DebugLevel)
	k := newKgoLogger(zap.New(core))
	for range 50 {
		k.Log(kgo.LogLevelWarn, "unable to open connection to broker", "addr", "127.0.0.1:1")
	}
	k.Log(kgo.LogLevelError, "another", "x", 1)
	k.Log(kgo.LogLevelInfo, "info lines are dropped")
	if n := logs.Len(); n != 2 {
		t.Fatalf("%d lines logged, want 2: %v", n, logs.All())
	}
	// Past the window, the next one carries the repeats.
	k.seen["unable to open connection to broker"].at = k.seen["unable to open connection to broker"].at.Add(-kgoLogEvery)
	k.Log(kgo.LogLevelWarn, "unable to open connection to broker")
	last := logs.All()[2]
	if got := last.ContextMap()["repeated_since_last_logged"]; got != int64(49) {
		t.Fatalf("repeats %v (%T), want 49", got, got)
	}
}
