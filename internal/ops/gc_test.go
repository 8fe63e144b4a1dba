package ops

import (
	"os"
	"runtime/debug"
	"testing"
)

func TestTuneGC(t *testing.T) {
	t.Setenv("GOGC", "") // restored after the test; unset for the first case
	if err := os.Unsetenv("GOGC"); err != nil {
		t.Fatal(err)
	}
	before := debug.SetGCPercent(100)
	defer debug.SetGCPercent(before)

	restore := TuneGC(400)
	if got := debug.SetGCPercent(400); got != 400 {
		t.Errorf("GOGC after TuneGC(400) = %d", got)
	}
	restore()
	if got := debug.SetGCPercent(100); got != 100 {
		t.Errorf("GOGC after restore = %d, want 100", got)
	}

	t.Setenv("GOGC", "150") // the operator's choice wins
	restore = TuneGC(400)
	defer restore()
	if got := debug.SetGCPercent(100); got != 100 {
		t.Errorf("TuneGC changed GOGC although the operator set it: %d", got)
	}
}
