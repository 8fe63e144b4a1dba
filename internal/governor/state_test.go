package governor

import (
	"bytes"
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"github.com/meshbone/meshbone/pkg/events"
)

// appendViolation knows every field of a PolicyViolation: a field added
// there must be added here.
func TestAppendViolationFields(t *testing.T) {
	if n := reflect.TypeFor[events.PolicyViolation]().NumField(); n != 15 {
		t.Fatalf("events.PolicyViolation has %d fields; appendViolation writes 15: update it", n)
	}
}

// The hand-written state encoding is what encoding/json writes for a
// ProductState without its descriptor, escapes and map order included.
func TestEncodeVolatileIsJSON(t *testing.T) {
	at := time.Date(2026, 3, 4, 5, 6, 7, 890, time.FixedZone("x", 3600))
	states := []*ProductState{
		{ID: "sales.orders"},
		{ID: "sales.orders", Status: "ACTIVE", Open: map[string]*OpenViolation{}},
		{
			ID: "mkt.<campaigns> & \"co\"\n", Status: "DEPRECATED", Product: &events.DataProduct{ID: "x"},
			Watermark: &Watermark{At: at, EventID: "q-1 é", Source: Source{Topic: "t", Partition: 2, Offset: 77}},
			Open: map[string]*OpenViolation{
				"z@data": {Errored: true, Violation: events.PolicyViolation{ViolationID: "v2", Message: "broke <it>", Evidence: map[string]string{"b": "1", "a": "2"}, DetectedAt: at}},
				"a@lifecycle": {Violation: events.PolicyViolation{
					ViolationID: "v1", ProductID: "p", Domain: "d", PolicyID: "pol", PolicyVersion: "abc", Scope: events.ScopeGlobal,
					Severity: events.SeverityCritical, Status: events.ViolationOpen, Message: "m\tx", Evidence: map[string]string{},
					SourceEventID: "e", SourceTopic: "t", SourcePartition: -1, SourceOffset: 1 << 40, DetectedAt: at.UTC(),
				}},
			},
			Published: "1.0.0|v1|v2",
			Lifecycle: &LifecycleRef{EventID: "l-1 \u2028", Type: events.LifecycleRetired, Source: Source{Topic: "lc", Partition: 1, Offset: 9}},
			Upstream:  "sales.orders=ACTIVE;x=UNKNOWN;",
		},
	}
	for _, ps := range states {
		for range 2 { // the second time from the cached violations
			sameAsJSON(t, ps)
		}
	}
}

// sameAsJSON checks that encodeVolatile writes ps as encoding/json does.
func sameAsJSON(t *testing.T, ps *ProductState) {
	t.Helper()
	got, err := encodeVolatile(ps)
	if err != nil {
		t.Fatal(err)
	}
	c := *ps
	c.Product = nil
	want, err := json.Marshal(&c)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("encodeVolatile:\n got %s\nwant %s", got, want)
	}
}
