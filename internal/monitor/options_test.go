package monitor

import (
	"fmt"
	"testing"
	"time"
)

// valid is how fmt prints the nil error of valid options.
const valid = "<nil>"

// The monitor's options speak the wording of the other services':
// "<flag>: <value> <what is wrong>".
func TestOptionsValidate(t *testing.T) {
	for _, c := range []struct {
		name string
		edit func(*Options)
		want string
	}{
		{"defaults", func(*Options) {}, valid},
		{"no brokers", func(o *Options) { o.Kafka.Brokers = nil }, "kafka-brokers: at least one address is required"},
		{"no lateness", func(o *Options) { o.AllowedLateness = 0 }, valid},
		{"negative lateness", func(o *Options) { o.AllowedLateness = -time.Second }, "allowed-lateness: -1s is negative"},
		{"fast probe", func(o *Options) { o.IdleProbe = time.Millisecond }, "idle-probe: 1ms is below 10ms"},
		{"no batch", func(o *Options) { o.MaxBatch = 0 }, "max-batch: 0 is below 1"},
		{"short transactions", func(o *Options) { o.TxnTimeout = 999 * time.Millisecond }, "txn-timeout: 999ms is below 1s"},
		{"negative session", func(o *Options) { o.SessionTimeout = -time.Second }, "session-timeout: -1s is negative"},
		{"no partitions", func(o *Options) { o.Topics.Partitions = 0 }, "partitions: 0 is below 1"},
	} {
		t.Run(c.name, func(t *testing.T) {
			o := DefaultOptions()
			c.edit(&o)
			if err := o.Validate(); fmt.Sprint(err) != c.want {
				t.Fatalf("Validate() = %v, want %s", err, c.want)
			}
		})
	}
}

// The watermark is the oldest newest event time of the partitions with
// records left to read; partitions read to their end do not hold it, and
// a partition not yet heard of holds everything.
func TestWatermark(t *testing.T) {
	parts := []int32{0, 1, 2}
	for _, c := range []struct {
		name   string
		parts  map[int32]*partState
		idle   map[int32]bool
		want   int64
		wantOK bool
	}{
		{"nothing read", nil, nil, 0, false},
		{"one partition unheard of", map[int32]*partState{0: {Newest: 5, Seen: true}, 1: {Newest: 9, Seen: true}}, nil, 0, false},
		{"all read from", map[int32]*partState{0: {Newest: 5, Seen: true}, 1: {Newest: 9, Seen: true}, 2: {Newest: 7, Seen: true}}, nil, 5, true},
		{"an idle empty partition", map[int32]*partState{0: {Newest: 5, Seen: true}, 1: {Newest: 9, Seen: true}}, map[int32]bool{2: true}, 5, true},
		{"the oldest read to its end", map[int32]*partState{0: {Newest: 5, Seen: true}, 1: {Newest: 9, Seen: true}, 2: {Newest: 7, Seen: true}}, map[int32]bool{0: true}, 7, true},
		{"all read to their end", map[int32]*partState{0: {Newest: 5, Seen: true}, 1: {Newest: 9, Seen: true}}, map[int32]bool{0: true, 1: true, 2: true}, 9, true},
		{"all idle, none read", nil, map[int32]bool{0: true, 1: true, 2: true}, 0, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			ts := &topicState{Parts: c.parts, idle: c.idle}
			if ts.Parts == nil {
				ts.Parts = map[int32]*partState{}
			}
			if ts.idle == nil {
				ts.idle = map[int32]bool{}
			}
			got, ok := ts.watermark(parts)
			if got != c.want || ok != c.wantOK {
				t.Fatalf("watermark = %d, %v; want %d, %v", got, ok, c.want, c.wantOK)
			}
		})
	}
}

// Windows are aligned on the epoch, negative times included.
func TestWindowStart(t *testing.T) {
	for _, c := range []struct{ ts, w, want int64 }{
		{0, 60, 0}, {59, 60, 0}, {60, 60, 60}, {125, 60, 120}, {-1, 60, -60}, {-60, 60, -60}, {-61, 60, -120},
	} {
		if got := windowStart(c.ts, c.w); got != c.want {
			t.Errorf("windowStart(%d, %d) = %d, want %d", c.ts, c.w, got, c.want)
		}
	}
}
