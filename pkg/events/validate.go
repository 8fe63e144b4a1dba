package events

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// validator collects the first problem found while checking an event.
type validator struct {
	event string
	err   *ValidationError
}

func (v *validator) fail(field, format string, args ...any) {
	if v.err == nil {
		v.err = &ValidationError{Event: v.event, Field: field, Reason: fmt.Sprintf(format, args...)}
	}
}

func (v *validator) required(field, value string) {
	if strings.TrimSpace(value) == "" {
		v.fail(field, "is required")
	}
}

func (v *validator) time(field string, t time.Time) {
	if t.IsZero() {
		v.fail(field, "is required")
	}
}

func oneOf[T ~string](v *validator, field string, value T, allowed ...T) {
	if !slices.Contains(allowed, value) {
		v.fail(field, "%q is not one of %v", value, allowed)
	}
}

func (v *validator) result() error {
	if v.err == nil {
		return nil
	}
	return v.err
}

var operators = []string{">=", ">", "<=", "<", "=="}

var dimensions = []QualityDimension{DimensionCompleteness, DimensionFreshness, DimensionAccuracy, DimensionValidity, DimensionUniqueness, DimensionVolume}

// Validate implements Event.
func (e *ProductLifecycleEvent) Validate() error {
	v := &validator{event: "ProductLifecycleEvent"}
	v.required("event_id", e.EventID)
	oneOf(v, "type", e.Type, LifecycleRegistered, LifecycleUpdated, LifecycleVersionPublished, LifecycleDeprecated, LifecycleRetired)
	v.time("occurred_at", e.OccurredAt)
	v.required("actor", e.Actor)
	e.Product.validate(v, "product.")
	return v.result()
}

// Validate reports the first thing wrong with the product record.
func (p *DataProduct) Validate() error {
	v := &validator{event: "DataProduct"}
	p.validate(v, "")
	return v.result()
}

func (p *DataProduct) validate(v *validator, at string) {
	v.required(at+"id", p.ID)
	v.required(at+"name", p.Name)
	v.required(at+"domain", p.Domain)
	if p.ID != "" && p.ID != p.Domain+"."+p.Name {
		v.fail(at+"id", "%q is not <domain>.<name> (%q)", p.ID, p.Domain+"."+p.Name)
	}
	v.required(at+"owner_team", p.OwnerTeam)
	v.required(at+"version", p.Version)
	oneOf(v, at+"sensitivity", p.Sensitivity, SensitivityPublic, SensitivityInternal, SensitivityConfidential, SensitivityRestricted)
	if p.RetentionDays <= 0 {
		v.fail(at+"retention_days", "must be > 0")
	}
	for i, s := range p.QualitySLOs {
		f := fmt.Sprintf("%squality_slos[%d].", at, i)
		oneOf(v, f+"dimension", s.Dimension, dimensions...)
		oneOf(v, f+"operator", s.Operator, operators...)
	}
	for i, port := range p.OutputPorts {
		f := fmt.Sprintf("%soutput_ports[%d].", at, i)
		v.required(f+"name", port.Name)
		v.required(f+"topic", port.Topic)
		v.required(f+"schema_subject", port.SchemaSubject)
	}
}

// Validate implements Event.
func (e *QualityEvent) Validate() error {
	v := &validator{event: "QualityEvent"}
	v.required("event_id", e.EventID)
	v.required("product_id", e.ProductID)
	v.required("product_version", e.ProductVersion)
	v.required("run_id", e.RunID)
	v.time("observed_at", e.ObservedAt)
	for i, c := range e.Checks {
		f := fmt.Sprintf("checks[%d].", i)
		v.required(f+"name", c.Name)
		oneOf(v, f+"dimension", c.Dimension, dimensions...)
		oneOf(v, f+"operator", c.Operator, operators...)
	}
	return v.result()
}

// Validate implements Event.
func (e *PolicyViolation) Validate() error {
	v := &validator{event: "PolicyViolation"}
	v.required("violation_id", e.ViolationID)
	v.required("product_id", e.ProductID)
	v.required("domain", e.Domain)
	v.required("policy_id", e.PolicyID)
	v.required("policy_version", e.PolicyVersion)
	oneOf(v, "scope", e.Scope, ScopeGlobal, ScopeDomain)
	oneOf(v, "severity", e.Severity, SeverityInfo, SeverityWarning, SeverityCritical)
	oneOf(v, "status", e.Status, ViolationOpen, ViolationResolved)
	v.required("message", e.Message)
	v.required("source_event_id", e.SourceEventID)
	v.time("detected_at", e.DetectedAt)
	return v.result()
}

// Validate implements Event.
func (e *ComplianceStatus) Validate() error {
	v := &validator{event: "ComplianceStatus"}
	v.required("product_id", e.ProductID)
	v.required("domain", e.Domain)
	oneOf(v, "status", e.Status, Compliant, NonCompliant, Unknown)
	for i, o := range e.OpenViolations {
		f := fmt.Sprintf("open_violations[%d].", i)
		v.required(f+"violation_id", o.ViolationID)
		oneOf(v, f+"severity", o.Severity, SeverityInfo, SeverityWarning, SeverityCritical)
	}
	v.time("evaluated_at", e.EvaluatedAt)
	return v.result()
}

// Validate implements Event.
func (e *AuditEvent) Validate() error {
	v := &validator{event: "AuditEvent"}
	v.required("event_id", e.EventID)
	v.required("actor", e.Actor)
	v.required("action", e.Action)
	v.required("target", e.Target)
	oneOf(v, "outcome", e.Outcome, Allowed, Denied)
	v.time("at", e.At)
	return v.result()
}
