package events

import (
	"context"
	"fmt"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/hamba/avro/v2"
	"github.com/twmb/franz-go/pkg/sr"
	"github.com/twmb/franz-go/pkg/sr/srfake"

	"github.com/meshbone/meshbone/schemas"
)

func sampleAccess() *AccessEvent {
	at := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	return &AccessEvent{
		EventID: "a1", Type: AccessGranted, OccurredAt: at, Actor: "registrar",
		Agreement: AccessAgreement{
			AgreementID: "ag-1", ProductID: "sales.customer-orders", Ports: []string{"orders"},
			Consumer:  AccessConsumer{Type: ConsumerDataProduct, ID: "marketing.campaigns", Domain: ptr("marketing"), Channel: ptr("slack:#campaigns")},
			Principal: "User:campaigns", GroupPrefix: "marketing.campaigns.", Purpose: "attribution",
			RequestedBy: "bo", RequestedAt: at.Add(-time.Hour), DecidedBy: ptr("ana"), DecidedAt: ptr(at.Add(-time.Minute)),
			ValidFrom: at.Add(-time.Hour), ValidUntil: ptr(at.Add(90 * 24 * time.Hour)),
		},
		Bindings: []AclBinding{
			{Principal: "User:campaigns", Host: "*", ResourceType: ACLTopic, ResourceName: "sales.customer-orders.orders.v2", PatternType: ACLLiteral, Operation: ACLRead},
			{Principal: "User:campaigns", Host: "*", ResourceType: ACLGroup, ResourceName: "marketing.campaigns.", PatternType: ACLPrefixed, Operation: ACLRead},
		},
		Reason: ptr("approved for the Q4 campaign"),
	}
}

// TestAccessTypeMatchesSchema round-trips a fully populated AccessEvent
// through its contract and checks every field on both sides.
func TestAccessTypeMatchesSchema(t *testing.T) {
	ev := sampleAccess()
	s := schemas.MustParse(schemas.AccessEvent)
	b, err := avro.Marshal(s, ev)
	if err != nil {
		t.Fatal(err)
	}
	var back AccessEvent
	if err := avro.Unmarshal(s, b, &back); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(&back, ev) {
		t.Errorf("round trip changed the value:\n got %+v\nwant %+v", back, *ev)
	}
	checkFieldsCovered(t, s.(*avro.RecordSchema), reflect.TypeFor[AccessEvent]())
}

// TestAccessCodec encodes an access event into a record of mesh.access.v1
// keyed by product id with its CloudEvents type, and decodes it back.
func TestAccessCodec(t *testing.T) {
	reg := srfake.New()
	defer reg.Close()
	cl, err := sr.NewClient(sr.URLs(reg.URL()))
	if err != nil {
		t.Fatal(err)
	}
	topics := MeshTopics("t.")
	c := NewCodec(cl, topics)
	ev := sampleAccess()
	ctx := context.Background()
	r, err := c.Encode(ctx, ev, "")
	if err != nil {
		t.Fatal(err)
	}
	if r.Topic != "t.mesh.access.v1" || string(r.Key) != "sales.customer-orders" {
		t.Errorf("record on %s key %s, want t.mesh.access.v1 key sales.customer-orders", r.Topic, r.Key)
	}
	if ce := CloudEventOf(r); ce.Type != "io.meshbone.access.granted.v1" || ce.ID != "a1" {
		t.Errorf("ce_type %q ce_id %q", ce.Type, ce.ID)
	}
	back, err := c.Decode(ctx, r)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(back, ev) {
		t.Errorf("decoded %+v, want %+v", back, ev)
	}
	if k, ok := topics.KindOf("t.mesh.access.v1"); !ok || k != KindAccess || k.String() != "access" {
		t.Errorf("KindOf(access topic) = %v, %v", k, ok)
	}
	if got := topics.All(); !slices.Contains(got, "t.mesh.access.v1") {
		t.Errorf("All() = %v lacks the access topic", got)
	}
}

func TestAccessValidate(t *testing.T) {
	tests := []struct {
		name   string
		change func(*AccessEvent)
		want   string
	}{
		{"valid", func(*AccessEvent) {}, "<nil>"},
		{"no type", func(e *AccessEvent) { e.Type = "" }, `invalid AccessEvent: type: "" is not one of [REQUESTED APPROVED REJECTED GRANTED REVOKED EXPIRED]`},
		{"no ports", func(e *AccessEvent) { e.Agreement.Ports = nil }, "invalid AccessEvent: agreement.ports: must name at least one port"},
		{"bad consumer", func(e *AccessEvent) { e.Agreement.Consumer.Type = "ROBOT" }, `invalid AccessEvent: agreement.consumer.type: "ROBOT" is not one of [TEAM APPLICATION DATA_PRODUCT]`},
		{"no principal", func(e *AccessEvent) { e.Agreement.Principal = " " }, "invalid AccessEvent: agreement.principal: is required"},
		{"end before start", func(e *AccessEvent) { e.Agreement.ValidUntil = ptr(e.Agreement.ValidFrom.Add(-time.Second)) },
			"invalid AccessEvent: agreement.valid_until: 2026-11-22T08:59:59Z is not after valid_from 2026-11-22T09:00:00Z"},
		{"bad operation", func(e *AccessEvent) { e.Bindings[1].Operation = "ALL" }, `invalid AccessEvent: bindings[1].operation: "ALL" is not one of [READ DESCRIBE]`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ev := sampleAccess()
			tt.change(ev)
			if got := fmt.Sprint(ev.Validate()); got != tt.want {
				t.Errorf("got  %s\nwant %s", got, tt.want)
			}
		})
	}
}

// Every access event type leaves its agreement in the status of the same
// name; a type this version does not know leaves none.
func TestAccessEventStatus(t *testing.T) {
	for _, typ := range accessEventTypes {
		want := AgreementStatus(typ) // APPROVED leaves APPROVED, and so on
		if typ == AccessRequested {
			want = AgreementPending
		}
		if st, ok := typ.Status(); !ok || st != want {
			t.Errorf("%s.Status() = %q, %v; want %q", typ, st, ok, want)
		}
	}
	if st, ok := AccessEventType("SUSPENDED").Status(); ok {
		t.Errorf("an unknown type leaves %q", st)
	}
}
