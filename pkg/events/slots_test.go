package events

import "testing"

func TestSlots(t *testing.T) {
	s := newSlots(100) // grows 64 -> 128, then stops: 128 >= 100
	var first []*pending
	for range minSlots {
		first = append(first, s.get())
	}
	// Released slots come back in ring order.
	for _, pd := range first {
		pd.release()
	}
	for i := range minSlots {
		if pd := s.get(); pd != first[i] {
			t.Fatalf("get %d: not the ring's slot %d", i, i)
		}
	}
	// All 64 busy: the next get doubles the ring.
	pd := s.get()
	if len(s.ring) != 2*minSlots || pd != &s.ring[0] {
		t.Fatalf("ring of %d after it was full, want %d", len(s.ring), 2*minSlots)
	}
	for range 2*minSlots - 1 {
		s.get()
	}
	// Full at its limit: a loose pending, and the ring stays.
	loose := s.get()
	if len(s.ring) != 2*minSlots || !loose.busy.Load() {
		t.Fatalf("ring grew past its limit to %d", len(s.ring))
	}
	for i := range s.ring {
		if loose == &s.ring[i] {
			t.Fatal("a busy slot was handed out again")
		}
	}
	if cap(loose.buf) != len(loose.inline) {
		t.Errorf("loose pending without its inline buffer: cap %d", cap(loose.buf))
	}
}

// A slot keeps a grown buffer for the next event, unless it grew past
// maxKeptBuf.
func TestSlotBuffers(t *testing.T) {
	s := newSlots(minSlots)
	pd := s.get()
	pd.buf = make([]byte, 0, 1024)
	pd.release()
	if cap(pd.buf) != 1024 {
		t.Errorf("a 1 KiB buffer was dropped: cap %d", cap(pd.buf))
	}
	pd.buf = make([]byte, 0, maxKeptBuf+1)
	pd.release()
	if cap(pd.buf) != len(pd.inline) {
		t.Errorf("a buffer past maxKeptBuf was kept: cap %d", cap(pd.buf))
	}
}
