package events

import (
	"strings"
	"time"
)

// AccessEventType is the kind of a change to an access agreement.
type AccessEventType string

// Access event types, in the order an agreement usually goes through them.
const (
	AccessRequested AccessEventType = "REQUESTED"
	AccessApproved  AccessEventType = "APPROVED"
	AccessRejected  AccessEventType = "REJECTED"
	AccessGranted   AccessEventType = "GRANTED"
	AccessRevoked   AccessEventType = "REVOKED"
	AccessExpired   AccessEventType = "EXPIRED"
)

// AgreementStatus is where an access agreement is in its life, as its last
// event leaves it.
type AgreementStatus string

// Agreement statuses: PENDING waits for the owning domain; APPROVED may be
// granted in Kafka (GRANTED); APPROVED and GRANTED are in force; REJECTED,
// REVOKED and EXPIRED are final.
const (
	AgreementPending  AgreementStatus = "PENDING"
	AgreementApproved AgreementStatus = "APPROVED"
	AgreementRejected AgreementStatus = "REJECTED"
	AgreementGranted  AgreementStatus = "GRANTED"
	AgreementRevoked  AgreementStatus = "REVOKED"
	AgreementExpired  AgreementStatus = "EXPIRED"
)

// Status is the status an access event of type t leaves its agreement in;
// false for a type this version does not know.
func (t AccessEventType) Status() (AgreementStatus, bool) {
	switch t {
	case AccessRequested:
		return AgreementPending, true
	case AccessApproved:
		return AgreementApproved, true
	case AccessRejected:
		return AgreementRejected, true
	case AccessGranted:
		return AgreementGranted, true
	case AccessRevoked:
		return AgreementRevoked, true
	case AccessExpired:
		return AgreementExpired, true
	}
	return "", false
}

// ConsumerType is the kind of consumer an agreement names.
type ConsumerType string

// Consumer types.
const (
	ConsumerTeam        ConsumerType = "TEAM"
	ConsumerApplication ConsumerType = "APPLICATION"
	ConsumerDataProduct ConsumerType = "DATA_PRODUCT"
)

// ACL resource types, pattern types and operations of an AclBinding.
const (
	ACLTopic    = "TOPIC"
	ACLGroup    = "GROUP"
	ACLLiteral  = "LITERAL"
	ACLPrefixed = "PREFIXED"
	ACLRead     = "READ"
	ACLDescribe = "DESCRIBE"
)

// AccessAgreement lets one consumer read output ports of one product
// (io.meshbone.v1.AccessAgreement, embedded in AccessEvent).
type AccessAgreement struct {
	AgreementID string         `avro:"agreement_id" json:"agreement_id"`
	ProductID   string         `avro:"product_id" json:"product_id"`
	Ports       []string       `avro:"ports" json:"ports"`
	Consumer    AccessConsumer `avro:"consumer" json:"consumer"`
	Principal   string         `avro:"principal" json:"principal"`
	GroupPrefix string         `avro:"group_prefix" json:"group_prefix"`
	Purpose     string         `avro:"purpose" json:"purpose"`
	RequestedBy string         `avro:"requested_by" json:"requested_by"`
	RequestedAt time.Time      `avro:"requested_at" json:"requested_at"`
	DecidedBy   *string        `avro:"decided_by" json:"decided_by,omitempty"`
	DecidedAt   *time.Time     `avro:"decided_at" json:"decided_at,omitempty"`
	ValidFrom   time.Time      `avro:"valid_from" json:"valid_from"`
	ValidUntil  *time.Time     `avro:"valid_until" json:"valid_until,omitempty"`
}

// AccessConsumer is who consumes under an agreement.
type AccessConsumer struct {
	Type   ConsumerType `avro:"type" json:"type"`
	ID     string       `avro:"id" json:"id"`
	Domain *string      `avro:"domain" json:"domain,omitempty"`
	// Channel is where notices about the product reach the consumer
	// (mailto:, slack:# or an https URL).
	Channel *string `avro:"channel" json:"channel,omitempty"`
}

// AclBinding is one Kafka ACL a GRANTED event created, or a REVOKED or
// EXPIRED event deleted: always an ALLOW.
type AclBinding struct {
	Principal    string `avro:"principal" json:"principal"`
	Host         string `avro:"host" json:"host"`
	ResourceType string `avro:"resource_type" json:"resource_type"`
	ResourceName string `avro:"resource_name" json:"resource_name"`
	PatternType  string `avro:"pattern_type" json:"pattern_type"`
	Operation    string `avro:"operation" json:"operation"`
}

// AccessEvent records a change to an access agreement
// (io.meshbone.v1.AccessEvent, topic mesh.access.v1, key = product id).
type AccessEvent struct {
	EventID    string          `avro:"event_id" json:"event_id"`
	Type       AccessEventType `avro:"type" json:"type"`
	OccurredAt time.Time       `avro:"occurred_at" json:"occurred_at"`
	Actor      string          `avro:"actor" json:"actor"`
	Agreement  AccessAgreement `avro:"agreement" json:"agreement"`
	Bindings   []AclBinding    `avro:"bindings" json:"bindings"`
	Reason     *string         `avro:"reason" json:"reason,omitempty"`
}

// Kind implements Event.
func (*AccessEvent) Kind() Kind { return KindAccess }

// ID implements Event.
func (e *AccessEvent) ID() string { return e.EventID }

// Key implements Event: the product id, so that every event about a
// product's agreements is ordered with the others.
func (e *AccessEvent) Key() string { return e.Agreement.ProductID }

// CEType implements Event: io.meshbone.access.<type>.v1.
func (e *AccessEvent) CEType() string {
	return "io.meshbone.access." + strings.ToLower(string(e.Type)) + ".v1"
}

// Time implements Event.
func (e *AccessEvent) Time() time.Time { return e.OccurredAt }

var (
	accessEventTypes = []AccessEventType{AccessRequested, AccessApproved, AccessRejected, AccessGranted, AccessRevoked, AccessExpired}
	consumerTypes    = []ConsumerType{ConsumerTeam, ConsumerApplication, ConsumerDataProduct}
	aclResources     = []string{ACLTopic, ACLGroup}
	aclPatterns      = []string{ACLLiteral, ACLPrefixed}
	aclOperations    = []string{ACLRead, ACLDescribe}
)

// Validate implements Event.
func (e *AccessEvent) Validate() error {
	v := &validator{event: "AccessEvent", index: -1}
	v.required("event_id", e.EventID)
	oneOf(v, "type", e.Type, accessEventTypes)
	v.time("occurred_at", e.OccurredAt)
	v.required("actor", e.Actor)
	a := &e.Agreement
	v.parent = "agreement."
	v.required("agreement_id", a.AgreementID)
	v.required("product_id", a.ProductID)
	if len(a.Ports) == 0 {
		v.fail("ports", "must name at least one port")
	}
	oneOf(v, "consumer.type", a.Consumer.Type, consumerTypes)
	v.required("consumer.id", a.Consumer.ID)
	v.required("principal", a.Principal)
	v.required("group_prefix", a.GroupPrefix)
	v.required("purpose", a.Purpose)
	v.required("requested_by", a.RequestedBy)
	v.time("requested_at", a.RequestedAt)
	v.time("valid_from", a.ValidFrom)
	if a.ValidUntil != nil && !a.ValidUntil.After(a.ValidFrom) {
		v.fail("valid_until", "%s is not after valid_from %s", a.ValidUntil.UTC().Format(time.RFC3339), a.ValidFrom.UTC().Format(time.RFC3339))
	}
	v.parent = ""
	for i, b := range e.Bindings {
		v.in("bindings", i)
		v.required("principal", b.Principal)
		v.required("host", b.Host)
		oneOf(v, "resource_type", b.ResourceType, aclResources)
		v.required("resource_name", b.ResourceName)
		oneOf(v, "pattern_type", b.PatternType, aclPatterns)
		oneOf(v, "operation", b.Operation, aclOperations)
	}
	return v.result()
}
