package ops

import (
	"os"
	"runtime/debug"
)

// TuneGC sets the garbage collector's target (GOGC) to percent, unless the
// operator set GOGC, and returns a function that restores the previous
// target. A service that allocates quickly against a small live heap (the
// governor's state is a few MB; judging allocates a few KB an event) would
// otherwise collect many times a second.
func TuneGC(percent int) (restore func()) {
	if _, set := os.LookupEnv("GOGC"); set {
		return func() {}
	}
	prev := debug.SetGCPercent(percent)
	return func() { debug.SetGCPercent(prev) }
}
