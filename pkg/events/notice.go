package events

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"time"
)

// NoticeType is what a notice is about.
type NoticeType string

// Notice types.
const (
	// NoticeDeprecated: the product is deprecated (successor, sunset date).
	NoticeDeprecated NoticeType = "DEPRECATED"
	// NoticeRetired: the product is retired; its topics are no longer fed.
	NoticeRetired NoticeType = "RETIRED"
	// NoticeMajorVersion: a port moves to a new major version (new topic).
	NoticeMajorVersion NoticeType = "MAJOR_VERSION"
	// NoticeSunsetSoon: a deprecated product's sunset date is seven days
	// away or less.
	NoticeSunsetSoon NoticeType = "SUNSET_SOON"
)

// RecipientType is the kind of a notice's recipient.
type RecipientType string

// Recipient types.
const (
	RecipientAgreement  RecipientType = "AGREEMENT"
	RecipientDownstream RecipientType = "DOWNSTREAM_PRODUCT"
)

// NoticeRecipient is who a notice is for: the consumer of an access
// agreement, or the owners of a downstream product.
type NoticeRecipient struct {
	Type         RecipientType `avro:"type" json:"type"`
	ID           string        `avro:"id" json:"id"`
	ConsumerType *ConsumerType `avro:"consumer_type" json:"consumer_type,omitempty"`
	ConsumerID   *string       `avro:"consumer_id" json:"consumer_id,omitempty"`
	Principal    *string       `avro:"principal" json:"principal,omitempty"`
	Domain       *string       `avro:"domain" json:"domain,omitempty"`
	Channel      *string       `avro:"channel" json:"channel,omitempty"`
}

// Notice tells one consumer or downstream product of a change to a product
// that concerns it (io.meshbone.v1.Notice, topic mesh.notices.v1, key =
// product id). Its NoticeID is deterministic (NoticeID), so a notice sent
// twice is recognisably the same notice.
type Notice struct {
	NoticeID       string          `avro:"notice_id" json:"notice_id"`
	Type           NoticeType      `avro:"type" json:"type"`
	ProductID      string          `avro:"product_id" json:"product_id"`
	ProductVersion string          `avro:"product_version" json:"product_version"`
	IssuedAt       time.Time       `avro:"issued_at" json:"issued_at"`
	Actor          string          `avro:"actor" json:"actor"`
	CauseEventID   *string         `avro:"cause_event_id" json:"cause_event_id,omitempty"`
	Recipient      NoticeRecipient `avro:"recipient" json:"recipient"`
	Message        string          `avro:"message" json:"message"`
	Reason         *string         `avro:"reason" json:"reason,omitempty"`
	Successor      *string         `avro:"successor" json:"successor,omitempty"`
	SunsetAt       *time.Time      `avro:"sunset_at" json:"sunset_at,omitempty"`
	Port           *string         `avro:"port" json:"port,omitempty"`
	OldVersion     *string         `avro:"old_version" json:"old_version,omitempty"`
	NewVersion     *string         `avro:"new_version" json:"new_version,omitempty"`
	Topic          *string         `avro:"topic" json:"topic,omitempty"`
}

// NoticeID returns the deterministic id of notice n: a hash of its product,
// type, what it is about and its recipient. What it is about depends on the
// type: the product version and sunset date (DEPRECATED), the product
// version (RETIRED), the port and the new version (MAJOR_VERSION), the
// sunset date (SUNSET_SOON). The time it was issued, its message and its
// actor do not count, so whoever issues the same notice again, whenever,
// gets the same id.
func NoticeID(n *Notice) string {
	h := sha256.New()
	field := func(s string) {
		h.Write([]byte(s))
		h.Write([]byte{0})
	}
	field(n.ProductID)
	field(string(n.Type))
	switch n.Type {
	case NoticeDeprecated:
		field(n.ProductVersion)
		field(sunsetKey(n.SunsetAt))
	case NoticeRetired:
		field(n.ProductVersion)
	case NoticeMajorVersion:
		field(deref(n.Port))
		field(deref(n.NewVersion))
	case NoticeSunsetSoon:
		field(sunsetKey(n.SunsetAt))
	}
	field(string(n.Recipient.Type))
	field(n.Recipient.ID)
	sum := h.Sum(nil)
	return "ntc-" + hex.EncodeToString(sum[:16])
}

func sunsetKey(t *time.Time) string {
	if t == nil {
		return ""
	}
	return t.UTC().Format(time.RFC3339Nano)
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// Kind implements Event.
func (*Notice) Kind() Kind { return KindNotice }

// ID implements Event.
func (n *Notice) ID() string { return n.NoticeID }

// Key implements Event: the id of the product the notice is about.
func (n *Notice) Key() string { return n.ProductID }

// CEType implements Event: io.meshbone.notice.<type>.v1.
func (n *Notice) CEType() string {
	return "io.meshbone.notice." + strings.ToLower(string(n.Type)) + ".v1"
}

// Time implements Event.
func (n *Notice) Time() time.Time { return n.IssuedAt }

var (
	noticeTypes    = []NoticeType{NoticeDeprecated, NoticeRetired, NoticeMajorVersion, NoticeSunsetSoon}
	recipientTypes = []RecipientType{RecipientAgreement, RecipientDownstream}
)

// Validate implements Event.
func (n *Notice) Validate() error {
	v := &validator{event: "Notice", index: -1}
	v.required("notice_id", n.NoticeID)
	oneOf(v, "type", n.Type, noticeTypes)
	v.required("product_id", n.ProductID)
	v.required("product_version", n.ProductVersion)
	v.time("issued_at", n.IssuedAt)
	v.required("actor", n.Actor)
	v.parent = "recipient."
	oneOf(v, "type", n.Recipient.Type, recipientTypes)
	v.required("id", n.Recipient.ID)
	if n.Recipient.ConsumerType != nil {
		oneOf(v, "consumer_type", *n.Recipient.ConsumerType, consumerTypes)
	}
	v.parent = ""
	v.required("message", n.Message)
	switch n.Type {
	case NoticeMajorVersion:
		v.required("port", deref(n.Port))
		v.required("old_version", deref(n.OldVersion))
		v.required("new_version", deref(n.NewVersion))
	case NoticeSunsetSoon:
		if n.SunsetAt == nil {
			v.fail("sunset_at", "is required for %s", n.Type)
		}
	}
	return v.result()
}
