package events

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

func TestValidate(t *testing.T) {
	for _, ev := range sampleEvents() {
		if err := ev.Validate(); err != nil {
			t.Errorf("%T: sample is valid, got %v", ev, err)
		}
	}
	lc := func(f func(*ProductLifecycleEvent)) Event {
		e := *sampleEvents()[0].(*ProductLifecycleEvent)
		f(&e)
		return &e
	}
	q := func(f func(*QualityEvent)) Event {
		e := *sampleEvents()[1].(*QualityEvent)
		e.Checks = append([]QualityCheck(nil), e.Checks...)
		f(&e)
		return &e
	}
	cases := []struct {
		ev   Event
		want string
	}{
		{lc(func(e *ProductLifecycleEvent) { e.Type = "CREATED" }), `invalid ProductLifecycleEvent: type: "CREATED" is not one of [REGISTERED UPDATED VERSION_PUBLISHED DEPRECATED RETIRED]`},
		{lc(func(e *ProductLifecycleEvent) { e.OccurredAt = time.Time{} }), "invalid ProductLifecycleEvent: occurred_at: is required"},
		{lc(func(e *ProductLifecycleEvent) { e.Product.ID = "sales.other" }), `invalid ProductLifecycleEvent: product.id: "sales.other" is not <domain>.<name> ("sales.customer-orders")`},
		{lc(func(e *ProductLifecycleEvent) { e.Product.RetentionDays = 0 }), "invalid ProductLifecycleEvent: product.retention_days: must be > 0"},
		{lc(func(e *ProductLifecycleEvent) { e.Product.OutputPorts[0].Topic = "" }), "invalid ProductLifecycleEvent: product.output_ports[0].topic: is required"},
		{q(func(e *QualityEvent) { e.ProductID = " " }), "invalid QualityEvent: product_id: is required"},
		{q(func(e *QualityEvent) { e.Checks[0].Operator = "=>" }), `invalid QualityEvent: checks[0].operator: "=>" is not one of [>= > <= < ==]`},
		{q(func(e *QualityEvent) { o := QualityOrigin("GUESSED"); e.Origin = &o }), `invalid QualityEvent: origin: "GUESSED" is not one of [REPORTED OBSERVED]`},
		{q(func(e *QualityEvent) { e.WindowStart = &e.ObservedAt }), "invalid QualityEvent: window_end: window_start and window_end go together"},
		{q(func(e *QualityEvent) { e.WindowStart, e.WindowEnd = &e.ObservedAt, &e.ObservedAt }), "invalid QualityEvent: window_end: is not after window_start"},
		{&AuditEvent{EventID: "a", Actor: "x", Action: "y", Target: "z", Outcome: "MAYBE", At: time.Now()}, `invalid AuditEvent: outcome: "MAYBE" is not one of [ALLOWED DENIED]`},
		{&ComplianceStatus{ProductID: "p", Domain: "d", Status: Compliant, OpenViolations: []OpenViolation{{ViolationID: "v", Severity: "FATAL"}}, EvaluatedAt: time.Now()},
			`invalid ComplianceStatus: open_violations[0].severity: "FATAL" is not one of [INFO WARNING CRITICAL]`},
	}
	for _, c := range cases {
		err := c.ev.Validate()
		if err == nil || err.Error() != c.want || !errors.Is(err, ErrInvalidEvent) {
			t.Errorf("got %v\nwant %s", err, c.want)
		}
	}
}

func TestHeaders(t *testing.T) {
	r := &kgo.Record{}
	SetHeader(r, "a", "1")
	SetHeader(r, "b", "2")
	SetHeader(r, "a", "3")
	if v, ok := GetHeader(r, "a"); !ok || v != "3" || len(r.Headers) != 2 {
		t.Errorf("SetHeader did not replace: %v", r.Headers)
	}
	if _, ok := GetHeader(r, "c"); ok {
		t.Error("GetHeader found a missing key")
	}
	ev := sampleEvents()[0]
	var rb recordBuf
	enc := &encoder{header: [5]byte{0, 0, 0, 0, 7}, body: func(b []byte, _ Event) ([]byte, error) { return append(b, "value"...), nil }}
	if err := rb.fill(ev, "t", "", enc); err != nil || string(rb.r.Value) != "\x00\x00\x00\x00\x07value" {
		t.Fatalf("fill: %v, value %q", err, rb.r.Value)
	}
	r = &rb.r
	ce := CloudEventOf(r)
	want := CloudEvent{SpecVersion: "1.0", ID: "e1", Source: "/domains/sales", Type: "io.meshbone.product.deprecated.v1", Time: ev.Time(), Subject: "sales.customer-orders", ContentType: "application/avro"}
	if ce != want {
		t.Errorf("CloudEventOf = %+v, want %+v", ce, want)
	}
	if string(r.Key) != "sales.customer-orders" {
		t.Errorf("key %q", r.Key)
	}

	// Refilling a record franz-go has stamped (the Publisher's pool does)
	// leaves nothing of the earlier event or of the stamps.
	r.Timestamp, r.Partition, r.Offset, r.Context = time.Now(), 2, 41, context.Background()
	ev2 := sampleEvents()[1]
	if err := rb.fill(ev2, "t2", "/domains/x", enc); err != nil {
		t.Fatal(err)
	}
	if !r.Timestamp.IsZero() || r.Partition != 0 || r.Offset != 0 || r.Context != nil || r.Topic != "t2" || string(r.Key) != ev2.Key() {
		t.Errorf("refilled record kept old fields: %+v", r)
	}
	if ce := CloudEventOf(r); ce.ID != ev2.ID() || ce.Source != "/domains/x" || ce.Type != ev2.CEType() || ce.Subject != ev2.Key() {
		t.Errorf("refilled headers %+v", ce)
	}
	for _, c := range []struct {
		src, domain string
		ok          bool
	}{{"/domains/sales", "sales", true}, {"/domains/", "", false}, {"/services/governor", "", false}, {"/domains/a/b", "", false}} {
		if d, ok := SourceDomain(c.src); d != c.domain || ok != c.ok {
			t.Errorf("SourceDomain(%q) = %q, %v", c.src, d, ok)
		}
	}
}

// The CloudEvents types of the known enum symbols are constants; they must
// spell what the rule io.meshbone.<...>.<lower-case symbol>.v1 gives.
func TestCETypes(t *testing.T) {
	for _, typ := range append(lifecycleTypes, "SOMETHING_NEW") {
		want := "io.meshbone.product." + strings.ToLower(string(typ)) + ".v1"
		if got := (&ProductLifecycleEvent{Type: typ}).CEType(); got != want {
			t.Errorf("%s: CEType %q, want %q", typ, got, want)
		}
	}
	for _, st := range violationStatuses {
		want := "io.meshbone.governance.violation." + strings.ToLower(string(st)) + ".v1"
		if got := (&PolicyViolation{Status: st}).CEType(); got != want {
			t.Errorf("%s: CEType %q, want %q", st, got, want)
		}
	}
	at := time.Date(2026, 11, 22, 10, 4, 5, 120000000, time.FixedZone("x", 3600))
	if got := (&ComplianceStatus{ProductID: "sales.orders", EvaluatedAt: at}).ID(); got != "sales.orders@2026-11-22T09:04:05.12Z" {
		t.Errorf("compliance id %q", got)
	}
}
