package governor

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/meshbone/meshbone/internal/policy"
	"github.com/meshbone/meshbone/pkg/events"
)

// Judge evaluates a batch's policies on every core; what it publishes and
// the state it leaves must be what judging the events one at a time, in
// order, gives: each event sees the descriptors, statuses and watermarks the
// events before it in the batch left, including those of other products
// (a product's inputs).
func TestJudgeIsJudgingInOrder(t *testing.T) {
	set, err := policy.Load(policy.RootDirs("../../policies"))
	if err != nil {
		t.Fatal(err)
	}
	var items []Item
	add := func(ev events.Event, source string) {
		ce := events.CloudEvent{ID: ev.ID(), Source: source}
		switch ev := ev.(type) {
		case *events.ProductLifecycleEvent:
			items = append(items, Item{Lifecycle: ev, CE: ce, Src: Source{Topic: "l", Offset: int64(len(items))}})
		case *events.QualityEvent:
			items = append(items, Item{Quality: ev, CE: ce, Src: Source{Topic: "q", Offset: int64(len(items))}})
		}
	}
	for _, s := range eosEvents(900, 3) {
		add(s.ev, s.source)
	}
	// A product whose input is retired, then replaced, then moved to
	// another domain, all inside one batch.
	up, down := goodProduct("sales", "up"), goodProduct("sales", "down")
	down.Labels, down.Inputs = map[string]string{}, []string{up.ID, "sales.nowhere"}
	for i := range 3 {
		n := strconv.Itoa(i)
		add(lifecycleEvent("up-"+n, events.LifecycleRegistered, up), "/domains/sales")
		add(lifecycleEvent("down-"+n, events.LifecycleUpdated, down), "/domains/sales")
		add(lifecycleEvent("up-retired-"+n, events.LifecycleRetired, up), "/domains/sales")
		add(lifecycleEvent("down-again-"+n, events.LifecycleUpdated, down), "/domains/marketing")
		add(qualityEvent("down-q-"+n, down.ID, t0, 0.5), "/domains/sales")
		moved := down
		moved.Domain = "marketing"
		add(lifecycleEvent("down-moved-"+n, events.LifecycleUpdated, moved), "/domains/marketing")
		add(qualityEvent("down-q2-"+n, down.ID, t0.Add(1), 0.99), "/domains/sales")
	}

	batched, single := NewEngine(set), NewEngine(set)
	for lo := 0; lo < len(items); lo += 250 {
		chunk := items[lo:min(lo+250, len(items))]
		bb, bs := batched.Begin(t0), single.Begin(t0)
		bb.Judge(chunk)
		for _, it := range chunk {
			if it.Lifecycle != nil {
				bs.Lifecycle(it.Lifecycle, it.CE, it.Src)
			} else {
				bs.Quality(it.Quality, it.CE, it.Src)
			}
		}
		if !reflect.DeepEqual(bb.Violations, bs.Violations) {
			t.Fatalf("batch at %d: violations differ from judging one at a time", lo)
		}
		if !reflect.DeepEqual(bb.Evals, bs.Evals) {
			t.Fatalf("batch at %d: evaluation counts differ: %v vs %v", lo, bb.Evals, bs.Evals)
		}
		cb, cs := bb.Changed(), bs.Changed()
		if len(cb) != len(cs) {
			t.Fatalf("batch at %d: %d products changed, one at a time %d", lo, len(cb), len(cs))
		}
		for i := range cb {
			vb, _ := encodeVolatile(cb[i].State)
			vs, _ := encodeVolatile(cs[i].State)
			if !bytes.Equal(vb, vs) || !reflect.DeepEqual(cb[i].State.Product, cs[i].State.Product) || cb[i].Compliance != cs[i].Compliance {
				t.Fatalf("batch at %d: state of %s differs:\n%s\n%s", lo, cb[i].State.ID, vb, vs)
			}
		}
		bb.Commit()
		bs.Commit()
	}
	if batched.Len() != single.Len() {
		t.Fatalf("%d products vs %d", batched.Len(), single.Len())
	}
}

func TestRetryWait(t *testing.T) {
	want := []time.Duration{0, 100 * time.Millisecond, 200 * time.Millisecond, 400 * time.Millisecond, 800 * time.Millisecond, 800 * time.Millisecond, 800 * time.Millisecond}
	for n, w := range want {
		if got := retryWait(n, 800*time.Millisecond); got != w {
			t.Errorf("retryWait(%d) = %s, want %s", n, got, w)
		}
	}
}

// Violation ids are published and kept in state: they must stay what they
// have always been, a SHA-256 of the policy id, version and event id.
func TestViolationIDIsStable(t *testing.T) {
	long := strings.Repeat("x", 300) // longer than ViolationID's stack buffer
	for _, c := range []struct {
		policy, version, event string
		errored                bool
		want                   string
	}{
		{"ownership", "0123456789ab", "ev-1", false, "029cfeb27c79d13a67269c9341ea31f9"},
		{"ownership", "0123456789ab", "ev-1", true, ""},
		{"", "", "", false, ""},
		{long, "v", long, true, ""},
	} {
		want := c.want
		if want == "" {
			h := sha256.New()
			h.Write([]byte(c.policy + "\x00" + c.version + "\x00" + c.event))
			if c.errored {
				h.Write([]byte("\x00error"))
			}
			want = hex.EncodeToString(h.Sum(nil)[:16])
		}
		if got := ViolationID(c.policy, c.version, c.event, c.errored); got != want {
			t.Errorf("ViolationID(%.20q, %q, %.20q, %v) = %s, want %s", c.policy, c.version, c.event, c.errored, got, want)
		}
	}
}
