// Command bench measures meshbone against baselines in the same run on the
// same broker (`make bench`). Each benchmark prints its absolute figures and
// ends with its ratio or target figure as a last line "name: value".
//
// The broker is MESH_TEST_KAFKA when set (make bench starts a real Apache
// Kafka), else an in-process kfake cluster; the registry is an in-process
// srfake server. Pick benchmarks with -only name,name.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"runtime/pprof"
	"slices"
	"strings"
	"syscall"
	"time"
)

// Env is where a benchmark runs.
type Env struct {
	Backend  string   // "kafka" or "kfake"
	Brokers  []string // bootstrap addresses
	Registry string   // schema registry URL
	Quick    bool     // smaller sizes, for a smoke run
	seq      int
}

// Prefix returns a fresh topic prefix, so benchmarks never share topics.
func (e *Env) Prefix(name string) string {
	e.seq++
	return fmt.Sprintf("bench-%s-%d-%d.", name, time.Now().Unix(), e.seq)
}

// Figure is one printed result.
type Figure struct {
	Name  string
	Value float64
	Unit  string // printed after the value on the detail lines only
}

type benchmark struct {
	name string
	run  func(ctx context.Context, env *Env, log func(format string, args ...any)) ([]Figure, error)
}

var benchmarks []benchmark

// register adds a benchmark; each bench_*.go file registers its own. The last
// figure a benchmark returns is its headline, printed last.
func register(name string, run func(context.Context, *Env, func(string, ...any)) ([]Figure, error)) {
	benchmarks = append(benchmarks, benchmark{name, run})
}

func main() { os.Exit(run()) }

func run() int {
	only := flag.String("only", "", "comma-separated benchmarks to run (default all: "+names()+")")
	quick := flag.Bool("quick", false, "small sizes, for a smoke run")
	cpuprofile := flag.String("cpuprofile", "", "write a CPU profile of the whole run to this file")
	flag.Parse()
	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		if err == nil {
			err = pprof.StartCPUProfile(f)
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "bench:", err)
			return 1
		}
		defer pprof.StopCPUProfile()
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()

	env, cleanup, err := newEnv()
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		return 1
	}
	defer cleanup()
	env.Quick = *quick
	fmt.Printf("bench: broker %s %v, registry %s\n", env.Backend, env.Brokers, env.Registry)

	want := strings.Split(*only, ",")
	failed := false
	for _, b := range benchmarks {
		if *only != "" && !slices.Contains(want, b.name) {
			continue
		}
		fmt.Printf("\n== %s\n", b.name)
		start := time.Now()
		logf := func(format string, args ...any) {
			fmt.Printf("  [%5.1fs] %s\n", time.Since(start).Seconds(), fmt.Sprintf(format, args...))
		}
		figs, err := b.run(ctx, env, logf)
		if err != nil {
			fmt.Fprintf(os.Stderr, "bench %s: %v\n", b.name, err)
			failed = true
			continue
		}
		for i, f := range figs {
			if i == len(figs)-1 {
				fmt.Printf("%s: %s\n", f.Name, format(f.Value))
			} else {
				fmt.Printf("  %s: %s %s\n", f.Name, format(f.Value), f.Unit)
			}
		}
	}
	if failed {
		return 1
	}
	return 0
}

func format(v float64) string {
	switch {
	case v >= 100:
		return fmt.Sprintf("%.0f", v)
	case v >= 10:
		return fmt.Sprintf("%.1f", v)
	default:
		return fmt.Sprintf("%.3f", v)
	}
}

func names() string {
	var n []string
	for _, b := range benchmarks {
		n = append(n, b.name)
	}
	return strings.Join(n, ",")
}
