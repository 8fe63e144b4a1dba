package events

import (
	"context"
	"fmt"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/hamba/avro/v2"

	"github.com/meshbone/meshbone/schemas"
)

func sampleNotice() *Notice {
	at := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	n := &Notice{
		Type: NoticeMajorVersion, ProductID: "sales.customer-orders", ProductVersion: "3.0.0", IssuedAt: at,
		Actor: "ana", CauseEventID: ptr("e-9"),
		Recipient: NoticeRecipient{Type: RecipientAgreement, ID: "ag-1", ConsumerType: ptr(ConsumerApplication), ConsumerID: ptr("orders-dashboard"),
			Principal: ptr("User:dashboard"), Domain: ptr("marketing"), Channel: ptr("slack:#dashboards")},
		Message: "port orders of sales.customer-orders moves to major version 3 (topic sales.customer-orders.orders.v3)",
		Reason:  ptr("new order model"), Successor: ptr("sales.orders"), SunsetAt: ptr(at.Add(30 * 24 * time.Hour)),
		Port: ptr("orders"), OldVersion: ptr("2.1.0"), NewVersion: ptr("3.0.0"), Topic: ptr("sales.customer-orders.orders.v3"),
	}
	n.NoticeID = NoticeID(n)
	return n
}

// TestNoticeTypeMatchesSchema round-trips a fully populated Notice through
// its contract and checks every field on both sides.
func TestNoticeTypeMatchesSchema(t *testing.T) {
	n := sampleNotice()
	s := schemas.MustParse(schemas.Notice)
	b, err := avro.Marshal(s, n)
	if err != nil {
		t.Fatal(err)
	}
	var back Notice
	if err := avro.Unmarshal(s, b, &back); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(&back, n) {
		t.Errorf("round trip changed the value:\n got %+v\nwant %+v", back, *n)
	}
	checkFieldsCovered(t, s.(*avro.RecordSchema), reflect.TypeFor[Notice]())
	checkFieldsCovered(t, s.(*avro.RecordSchema).Fields()[7].Type().(*avro.RecordSchema), reflect.TypeFor[NoticeRecipient]())
}

// TestNoticeCodec encodes a notice into a record of mesh.notices.v1 keyed by
// product id, with its CloudEvents type and id, and decodes it back.
func TestNoticeCodec(t *testing.T) {
	c := testCodec(t)
	n := sampleNotice()
	ctx := context.Background()
	r, err := c.Encode(ctx, n, "")
	if err != nil {
		t.Fatal(err)
	}
	if r.Topic != "mesh.notices.v1" || string(r.Key) != "sales.customer-orders" {
		t.Errorf("record on %s key %s, want mesh.notices.v1 key sales.customer-orders", r.Topic, r.Key)
	}
	if ce := CloudEventOf(r); ce.Type != "io.meshbone.notice.major_version.v1" || ce.ID != n.NoticeID || ce.Source != "/domains/sales" {
		t.Errorf("ce_type %q ce_id %q ce_source %q", ce.Type, ce.ID, ce.Source)
	}
	back, err := c.Decode(ctx, r)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(back, n) {
		t.Errorf("decoded %+v, want %+v", back, n)
	}
	topics := MeshTopics("t.")
	if k, ok := topics.KindOf("t.mesh.notices.v1"); !ok || k != KindNotice || k.String() != "notice" {
		t.Errorf("KindOf(notices topic) = %v, %v", k, ok)
	}
	if got := topics.All(); !slices.Contains(got, "t.mesh.notices.v1") || slices.Contains(topics.Events(), "t.mesh.notices.v1") {
		t.Errorf("All() = %v, Events() = %v: the notice topic belongs to All only", got, topics.Events())
	}
}

// TestNoticeID checks the id depends on product, type, what the notice is
// about and recipient, and on nothing else.
func TestNoticeID(t *testing.T) {
	base := sampleNotice()
	id := NoticeID(base)
	if len(id) != 36 || id[:4] != "ntc-" {
		t.Errorf("id %q is not ntc- and 32 hex digits", id)
	}
	same := []func(*Notice){
		func(n *Notice) { n.IssuedAt = n.IssuedAt.Add(time.Hour) },
		func(n *Notice) { n.Message, n.Actor, n.CauseEventID = "other", "bo", nil },
		func(n *Notice) { n.Recipient.Channel, n.Recipient.Principal = nil, ptr("User:x") },
		func(n *Notice) { n.OldVersion, n.Topic = ptr("2.0.0"), nil },
		func(n *Notice) { n.ProductVersion = "3.0.1" }, // MAJOR_VERSION is about new_version
	}
	for i, change := range same {
		n := sampleNotice()
		change(n)
		if got := NoticeID(n); got != id {
			t.Errorf("change %d changed the id", i)
		}
	}
	other := map[string]func(*Notice){
		"product":        func(n *Notice) { n.ProductID = "sales.orders" },
		"type":           func(n *Notice) { n.Type = NoticeRetired },
		"port":           func(n *Notice) { n.Port = ptr("lines") },
		"new version":    func(n *Notice) { n.NewVersion = ptr("4.0.0") },
		"recipient id":   func(n *Notice) { n.Recipient.ID = "ag-2" },
		"recipient type": func(n *Notice) { n.Recipient.Type = RecipientDownstream },
	}
	seen := map[string]string{id: "base"}
	for name, change := range other {
		n := sampleNotice()
		change(n)
		got := NoticeID(n)
		if prev, dup := seen[got]; dup {
			t.Errorf("%s gives the id of %s", name, prev)
		}
		seen[got] = name
	}
	dep := func(sunset *time.Time) string {
		n := sampleNotice()
		n.Type, n.SunsetAt = NoticeDeprecated, sunset
		return NoticeID(n)
	}
	at := time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)
	if dep(&at) == dep(nil) || dep(&at) != dep(ptr(at.In(time.FixedZone("x", 3600)))) {
		t.Error("a DEPRECATED notice's id does not follow its sunset date (in UTC)")
	}
}

func TestNoticeValidate(t *testing.T) {
	tests := []struct {
		name   string
		change func(*Notice)
		want   string
	}{
		{"valid", func(*Notice) {}, "<nil>"},
		{"no id", func(n *Notice) { n.NoticeID = "" }, "invalid Notice: notice_id: is required"},
		{"bad type", func(n *Notice) { n.Type = "GONE" }, `invalid Notice: type: "GONE" is not one of [DEPRECATED RETIRED MAJOR_VERSION SUNSET_SOON]`},
		{"no recipient", func(n *Notice) { n.Recipient.ID = "" }, "invalid Notice: recipient.id: is required"},
		{"bad recipient type", func(n *Notice) { n.Recipient.Type = "TEAM" }, `invalid Notice: recipient.type: "TEAM" is not one of [AGREEMENT DOWNSTREAM_PRODUCT]`},
		{"bad consumer type", func(n *Notice) { n.Recipient.ConsumerType = ptr(ConsumerType("ROBOT")) }, `invalid Notice: recipient.consumer_type: "ROBOT" is not one of [TEAM APPLICATION DATA_PRODUCT]`},
		{"no message", func(n *Notice) { n.Message = " " }, "invalid Notice: message: is required"},
		{"major without port", func(n *Notice) { n.Port = nil }, "invalid Notice: port: is required"},
		{"sunset soon without date", func(n *Notice) { n.Type, n.SunsetAt = NoticeSunsetSoon, nil }, "invalid Notice: sunset_at: is required for SUNSET_SOON"},
		{"retired needs no port", func(n *Notice) { n.Type, n.Port = NoticeRetired, nil }, "<nil>"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n := sampleNotice()
			tt.change(n)
			if got := fmt.Sprint(n.Validate()); got != tt.want {
				t.Errorf("got  %s\nwant %s", got, tt.want)
			}
		})
	}
}
