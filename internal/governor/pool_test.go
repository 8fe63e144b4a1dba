package governor

import (
	"runtime"
	"sync/atomic"
	"testing"
)

// parallel works every item exactly once, and hands the chunks to done in
// order, each only once it and every chunk before it are worked: what lets
// the governor produce records in order while encoding them on every core.
func TestParallelKeepsOrder(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(4))
	for _, n := range []int{0, 1, parallelChunk - 1, parallelChunk, 10*parallelChunk + 7} {
		worked := make([]atomic.Int32, n)
		next := 0
		parallel(n, func(lo, hi int) {
			for i := lo; i < hi; i++ {
				worked[i].Add(1)
			}
		}, func(lo, hi int) {
			if lo != next {
				t.Fatalf("n=%d: done got chunk [%d,%d), want it to start at %d", n, lo, hi, next)
			}
			for i := lo; i < hi; i++ {
				if worked[i].Load() != 1 {
					t.Fatalf("n=%d: item %d handed to done before it was worked", n, i)
				}
			}
			next = hi
		})
		if next != n {
			t.Fatalf("n=%d: done saw items up to %d", n, next)
		}
		for i := range worked {
			if c := worked[i].Load(); c != 1 {
				t.Fatalf("n=%d: item %d worked %d times", n, i, c)
			}
		}
	}
}
