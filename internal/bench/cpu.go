package main

import (
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// cpuMeter measures the CPU time this process and the broker (MESH_KAFKA_PID,
// set by scripts/kafka.sh run) spend over a stretch of a benchmark, so a
// figure can say where the machine's cores went, not just how long it took.
type cpuMeter struct{ self, broker time.Duration }

func startCPU() cpuMeter { return cpuMeter{selfCPU(), brokerCPU()} }

// perRecord returns the CPU microseconds per record of this process and of
// the broker since m started (the broker's is 0 when its pid is unknown).
func (m cpuMeter) perRecord(n int) (self, broker float64) {
	us := func(d time.Duration) float64 { return float64(d.Microseconds()) / float64(n) }
	return us(selfCPU() - m.self), us(brokerCPU() - m.broker)
}

func selfCPU() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// brokerCPU reads utime+stime of the broker from /proc (Linux, in clock ticks
// of 1/100 s).
func brokerCPU() time.Duration {
	pid := os.Getenv("MESH_KAFKA_PID")
	if pid == "" {
		return 0
	}
	b, err := os.ReadFile("/proc/" + pid + "/stat")
	if err != nil {
		return 0
	}
	// Fields after the parenthesised command name; utime and stime are the
	// 14th and 15th fields of the line.
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	if len(f) < 13 {
		return 0
	}
	u, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(u+st) * 10 * time.Millisecond
}
