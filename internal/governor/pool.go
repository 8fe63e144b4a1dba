package governor

import (
	"runtime"
	"sync"
	"sync/atomic"
)

// parallelChunk is how many items a worker of parallel takes at a time.
const parallelChunk = 32

// parallel calls work on consecutive chunks [lo, hi) of n items, from up to
// GOMAXPROCS goroutines, and then, if done is not nil, done on each chunk
// in order, from the calling goroutine, as soon as that chunk and every
// chunk before it are worked.
func parallel(n int, work, done func(lo, hi int)) {
	chunks := (n + parallelChunk - 1) / parallelChunk
	workers := min(runtime.GOMAXPROCS(0), chunks)
	if workers <= 1 {
		for lo := 0; lo < n; lo += parallelChunk {
			hi := min(lo+parallelChunk, n)
			work(lo, hi)
			if done != nil {
				done(lo, hi)
			}
		}
		return
	}
	finished := make([]chan struct{}, chunks)
	for i := range finished {
		finished[i] = make(chan struct{})
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for {
				c := int(next.Add(1)) - 1
				if c >= chunks {
					return
				}
				lo := c * parallelChunk
				work(lo, min(lo+parallelChunk, n))
				close(finished[c])
			}
		})
	}
	for c := range chunks {
		<-finished[c]
		if done != nil {
			lo := c * parallelChunk
			done(lo, min(lo+parallelChunk, n))
		}
	}
	wg.Wait()
}
