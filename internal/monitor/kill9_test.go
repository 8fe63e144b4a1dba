package monitor

import (
	"fmt"
	"os/exec"
	"testing"
	"time"

	"github.com/meshbone/meshbone/internal/testkit"
	"github.com/meshbone/meshbone/pkg/events"
)

// TestExactlyOnceKill9 is the process-level exactly-once test: it builds
// cmd/monitor, writes a long stream (nulls, rule failures, duplicates,
// undecodable records and a gap of three windows) to three port topics,
// runs the monitor as a process and kills it with SIGKILL at random points
// while it measures (three times), restarts it each time, and checks that
// a read_committed reader sees every expected window exactly once, none
// missing.
func TestExactlyOnceKill9(t *testing.T) {
	w := newWorld(t)
	if !w.env.Real() {
		t.Skipf("needs a real Kafka broker: set %s (e.g. %s=127.0.0.1:19092 after scripts/kafka.sh start); kfake runs TestExactlyOnceAcrossCrashes instead", testkit.EnvKafka, testkit.EnvKafka)
	}
	procs := testkit.NewProcesses(t, "monitor", "../../cmd/monitor")
	t0 := origin().Add(-2 * time.Hour)
	long := longStream(1500)
	want := w.addStreams("k", t0, long)
	start := func() *exec.Cmd {
		return procs.Start(
			"--kafka-brokers", w.env.Brokers[0], "--registry-url", w.env.Registry, "--topic-prefix", w.env.Prefix,
			"--group", w.group, "--instance-id", w.group+"-0", "--listen", "127.0.0.1:0",
			"--allowed-lateness", "0s", "--idle-probe", "100ms", "--max-batch", "40", "--log-level", "warn")
	}
	procs.KillNine(w.env, start, func() int64 { return w.env.Committed(w.group) }, int64(products*len(long)))
	cmd := start()
	w.env.Eventually(func() bool { return len(w.observed(len(want), 300*time.Millisecond)) >= len(want) }, fmt.Sprintf("%d windows published", len(want)))
	procs.Stop(cmd)
	w.check(want)
}

// longStream is n records two seconds of event time apart over three
// partitions (so each partition's event times are in order): every 7th
// email null, every 11th amount negative, every 13th id the previous
// one's, every 50th record undecodable, and none in minutes [20, 23).
func longStream(n int) []rec {
	e := str("x@example.com")
	var out []rec
	for i := range n {
		at := time.Duration(i) * 2 * time.Second
		if at >= 20*time.Minute && at < 23*time.Minute {
			continue
		}
		r := rec{part: int32(i % portPartitions), at: at, id: fmt.Sprintf("o%d", i), email: e, amount: float64(i)}
		switch {
		case i%50 == 49:
			r.bad = true
		case i%13 == 12:
			r.id = fmt.Sprintf("o%d", i-1)
		}
		if i%7 == 6 {
			r.email = nil
		}
		if i%11 == 10 {
			r.amount = -1
		}
		out = append(out, r)
	}
	return out
}

// expectedFrom computes, record by record, the events a stream must give:
// every window from the first record's to the last one that ends by the
// newest event time (the watermark once every partition is read), with the
// test objectives' definitions.
func expectedFrom(p testPort, t0 time.Time, stream []rec) []*events.QualityEvent {
	type agg struct {
		volume, nonNull, valid, values int64
		distinct                       map[string]bool
		newest                         time.Duration
	}
	wins := map[int64]*agg{}
	first, newest := int64(-1), time.Duration(0)
	for _, r := range stream {
		wi := int64(r.at / time.Minute)
		if first < 0 || wi < first {
			first = wi
		}
		newest = max(newest, r.at)
		a := wins[wi]
		if a == nil {
			a = &agg{distinct: map[string]bool{}}
			wins[wi] = a
		}
		a.volume++
		a.newest = max(a.newest, r.at)
		if r.bad {
			continue
		}
		if r.email != nil {
			a.nonNull++
		}
		if r.amount >= 0 {
			a.valid++
		}
		a.values++
		a.distinct[r.id] = true
	}
	var out []*events.QualityEvent
	origin := events.OriginObserved
	ratio := func(n, d int64) float64 {
		if d == 0 {
			return 1
		}
		return float64(n) / float64(d)
	}
	for wi := first; time.Duration(wi+1)*time.Minute <= newest; wi++ {
		st := t0.Add(time.Duration(wi) * time.Minute).UTC()
		end := st.Add(time.Minute)
		a := wins[wi]
		if a == nil {
			a = &agg{distinct: map[string]bool{}}
		}
		c, v, u := ratio(a.nonNull, a.volume), ratio(a.valid, a.volume), ratio(int64(len(a.distinct)), a.values)
		port := p.port
		ev := &events.QualityEvent{
			EventID: EventID(p.product, p.port, time.Minute, st), ProductID: p.product, ProductVersion: "1.0.0",
			RunID: RunID(p.port, st, end), Origin: &origin, Port: &port, WindowStart: &st, WindowEnd: &end,
			Checks: []events.QualityCheck{
				{Name: "completeness:email", Dimension: events.DimensionCompleteness, Column: str("email"), Observed: c, Operator: ">=", Threshold: 0.9, Passed: c >= 0.9},
				{Name: "validity:amount >= 0.0", Dimension: events.DimensionValidity, Observed: v, Operator: ">=", Threshold: 0.95, Passed: v >= 0.95},
				{Name: "uniqueness:order_id", Dimension: events.DimensionUniqueness, Column: str("order_id"), Observed: u, Operator: ">=", Threshold: 1, Passed: u >= 1},
				{Name: "volume", Dimension: events.DimensionVolume, Observed: float64(a.volume), Operator: ">=", Threshold: 3, Passed: float64(a.volume) >= 3},
			},
		}
		if a.volume > 0 {
			at := t0.Add(a.newest).UTC()
			ev.DataWatermark = &at
		}
		out = append(out, ev)
	}
	return out
}
