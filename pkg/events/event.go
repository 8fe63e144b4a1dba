package events

import (
	"strings"
	"time"

	"github.com/meshbone/meshbone/schemas"
)

// Kind is the kind of a mesh event; each kind has one contract and one topic.
type Kind int

// The mesh event kinds.
const (
	KindLifecycle Kind = iota + 1
	KindQuality
	KindViolation
	KindCompliance
	KindAudit
	KindAccess
	KindNotice
)

// Kinds lists every event kind.
var Kinds = []Kind{KindLifecycle, KindQuality, KindViolation, KindCompliance, KindAudit, KindAccess, KindNotice}

// String returns the kind's short name ("lifecycle", "quality", ...).
func (k Kind) String() string {
	switch k {
	case KindLifecycle:
		return "lifecycle"
	case KindQuality:
		return "quality"
	case KindViolation:
		return "violation"
	case KindCompliance:
		return "compliance"
	case KindAudit:
		return "audit"
	case KindAccess:
		return "access"
	case KindNotice:
		return "notice"
	}
	return "unknown"
}

// schemaName is the name of the kind's contract in schemas/avro.
func (k Kind) schemaName() string {
	switch k {
	case KindLifecycle:
		return schemas.ProductLifecycleEvent
	case KindQuality:
		return schemas.QualityEvent
	case KindViolation:
		return schemas.PolicyViolation
	case KindCompliance:
		return schemas.ComplianceStatus
	case KindAudit:
		return schemas.AuditEvent
	case KindAccess:
		return schemas.AccessEvent
	case KindNotice:
		return schemas.Notice
	}
	return ""
}

// newEvent returns a new, empty event of the kind to decode into.
func (k Kind) newEvent() Event {
	switch k {
	case KindLifecycle:
		return new(ProductLifecycleEvent)
	case KindQuality:
		return new(QualityEvent)
	case KindViolation:
		return new(PolicyViolation)
	case KindCompliance:
		return new(ComplianceStatus)
	case KindAudit:
		return new(AuditEvent)
	case KindAccess:
		return new(AccessEvent)
	case KindNotice:
		return new(Notice)
	}
	return nil
}

// Event is a mesh record the SDK can publish and decode: one of
// *ProductLifecycleEvent, *QualityEvent, *PolicyViolation, *ComplianceStatus,
// *AuditEvent, *AccessEvent and *Notice.
type Event interface {
	// Kind says which contract and topic the event belongs to.
	Kind() Kind
	// ID is the event's unique id (the CloudEvents id).
	ID() string
	// Key is the record key: the product id (the target for audit events).
	Key() string
	// CEType is the CloudEvents type, e.g. "io.meshbone.product.registered.v1".
	CEType() string
	// Time is when the event happened.
	Time() time.Time
	// Validate reports the first thing wrong with the event, as a
	// *ValidationError; an invalid event is never sent.
	Validate() error
}

// Kind implements Event.
func (*ProductLifecycleEvent) Kind() Kind { return KindLifecycle }

// ID implements Event.
func (e *ProductLifecycleEvent) ID() string { return e.EventID }

// Key implements Event.
func (e *ProductLifecycleEvent) Key() string { return e.Product.ID }

// CEType implements Event: io.meshbone.product.<type>.v1.
func (e *ProductLifecycleEvent) CEType() string {
	switch e.Type { // the known types without building a string per event
	case LifecycleRegistered:
		return "io.meshbone.product.registered.v1"
	case LifecycleUpdated:
		return "io.meshbone.product.updated.v1"
	case LifecycleVersionPublished:
		return "io.meshbone.product.version_published.v1"
	case LifecycleDeprecated:
		return "io.meshbone.product.deprecated.v1"
	case LifecycleRetired:
		return "io.meshbone.product.retired.v1"
	}
	return "io.meshbone.product." + strings.ToLower(string(e.Type)) + ".v1"
}

// Time implements Event.
func (e *ProductLifecycleEvent) Time() time.Time { return e.OccurredAt }

// Kind implements Event.
func (*QualityEvent) Kind() Kind { return KindQuality }

// ID implements Event.
func (e *QualityEvent) ID() string { return e.EventID }

// Key implements Event.
func (e *QualityEvent) Key() string { return e.ProductID }

// CEType implements Event.
func (*QualityEvent) CEType() string { return "io.meshbone.product.quality.v1" }

// Time implements Event.
func (e *QualityEvent) Time() time.Time { return e.ObservedAt }

// Kind implements Event.
func (*PolicyViolation) Kind() Kind { return KindViolation }

// ID implements Event.
func (e *PolicyViolation) ID() string { return e.ViolationID }

// Key implements Event.
func (e *PolicyViolation) Key() string { return e.ProductID }

// CEType implements Event: io.meshbone.governance.violation.{open,resolved}.v1.
func (e *PolicyViolation) CEType() string {
	switch e.Status {
	case ViolationOpen:
		return "io.meshbone.governance.violation.open.v1"
	case ViolationResolved:
		return "io.meshbone.governance.violation.resolved.v1"
	}
	return "io.meshbone.governance.violation." + strings.ToLower(string(e.Status)) + ".v1"
}

// Time implements Event.
func (e *PolicyViolation) Time() time.Time { return e.DetectedAt }

// Kind implements Event.
func (*ComplianceStatus) Kind() Kind { return KindCompliance }

// ID implements Event: compliance states have no event id of their own; the
// product id and evaluation time identify one.
func (e *ComplianceStatus) ID() string { return string(e.appendID(nil)) }

// appendID appends ID() to b; encoding uses it to write the ce_id header
// without a string per record.
func (e *ComplianceStatus) appendID(b []byte) []byte {
	b = append(b, e.ProductID...)
	b = append(b, '@')
	return e.EvaluatedAt.UTC().AppendFormat(b, time.RFC3339Nano)
}

// Key implements Event.
func (e *ComplianceStatus) Key() string { return e.ProductID }

// CEType implements Event.
func (*ComplianceStatus) CEType() string { return "io.meshbone.governance.compliance.v1" }

// Time implements Event.
func (e *ComplianceStatus) Time() time.Time { return e.EvaluatedAt }

// Kind implements Event.
func (*AuditEvent) Kind() Kind { return KindAudit }

// ID implements Event.
func (e *AuditEvent) ID() string { return e.EventID }

// Key implements Event.
func (e *AuditEvent) Key() string { return e.Target }

// CEType implements Event.
func (*AuditEvent) CEType() string { return "io.meshbone.audit.v1" }

// Time implements Event.
func (e *AuditEvent) Time() time.Time { return e.At }
