package events

import (
	"math/rand/v2"
	"testing"
	"time"
)

func TestAppendTime(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	times := []time.Time{
		time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC),
		time.Date(1, 1, 1, 0, 0, 0, 1, time.UTC),
		time.Date(9999, 12, 31, 23, 59, 59, 999999999, time.UTC),
		time.Date(2026, 1, 2, 3, 4, 5, 120000000, time.FixedZone("x", 5*3600+1800)),
		time.Date(-5, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(12026, 1, 1, 0, 0, 0, 0, time.UTC),
		{},
	}
	for range 5000 {
		times = append(times, time.Unix(rng.Int64N(1<<36)-(1<<35), rng.Int64N(1e9)).In(time.FixedZone("y", rng.IntN(50000)-25000)))
		times = append(times, time.UnixMilli(rng.Int64N(4e12)))
	}
	// Runs of times within one second (the cached second), in other
	// zones, and alternating with another second.
	base := time.Date(2026, 11, 22, 13, 59, 59, 0, time.UTC)
	for i := range 50 {
		times = append(times, base.Add(time.Duration(i)*time.Millisecond+time.Duration(i)), base.In(time.FixedZone("z", i*60)), base.Add(time.Second))
	}
	for _, tm := range times {
		want := tm.UTC().Format(time.RFC3339Nano)
		if got := string(appendTime(nil, tm)); got != want {
			t.Fatalf("appendTime(%v) = %q, want %q", tm, got, want)
		}
	}
}
