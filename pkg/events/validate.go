package events

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// validator collects the first problem found while checking an event. Field
// paths are only built when something fails: validation runs on every
// published event.
type validator struct {
	event string
	err   *ValidationError
	// The current path prefix: parent+at, or parent+at[index]. when
	// index >= 0 (parent is the record nested in the event, e.g. "product.").
	parent, at string
	index      int
}

// in sets the path prefix for the fields checked next.
func (v *validator) in(at string, index int) { v.at, v.index = at, index }

func (v *validator) fail(field, format string, args ...any) {
	if v.err != nil {
		return
	}
	path := v.parent + v.at + field
	if v.index >= 0 {
		path = fmt.Sprintf("%s%s[%d].%s", v.parent, v.at, v.index, field)
	}
	v.err = &ValidationError{Event: v.event, Field: path, Reason: fmt.Sprintf(format, args...)}
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

func oneOf[T ~string](v *validator, field string, value T, allowed []T) {
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

// The symbols of each enum (package variables, so that checking one does
// not allocate).
var (
	operators          = []string{">=", ">", "<=", "<", "=="}
	dimensions         = []QualityDimension{DimensionCompleteness, DimensionFreshness, DimensionAccuracy, DimensionValidity, DimensionUniqueness, DimensionVolume}
	lifecycleTypes     = []LifecycleType{LifecycleRegistered, LifecycleUpdated, LifecycleVersionPublished, LifecycleDeprecated, LifecycleRetired}
	sensitivities      = []Sensitivity{SensitivityPublic, SensitivityInternal, SensitivityConfidential, SensitivityRestricted}
	scopes             = []PolicyScope{ScopeGlobal, ScopeDomain}
	severities         = []Severity{SeverityInfo, SeverityWarning, SeverityCritical}
	violationStatuses  = []ViolationStatus{ViolationOpen, ViolationResolved}
	complianceStatuses = []Compliance{Compliant, NonCompliant, Unknown}
	outcomes           = []Outcome{Allowed, Denied}
	origins            = []QualityOrigin{OriginReported, OriginObserved}
)

// Validate implements Event.
func (e *ProductLifecycleEvent) Validate() error {
	v := &validator{event: "ProductLifecycleEvent", index: -1}
	v.required("event_id", e.EventID)
	oneOf(v, "type", e.Type, lifecycleTypes)
	v.time("occurred_at", e.OccurredAt)
	v.required("actor", e.Actor)
	e.Product.validate(v, "product.")
	return v.result()
}

// Validate reports the first thing wrong with the product record.
func (p *DataProduct) Validate() error {
	v := &validator{event: "DataProduct", index: -1}
	p.validate(v, "")
	return v.result()
}

func (p *DataProduct) validate(v *validator, parent string) {
	v.parent = parent
	v.in("", -1)
	v.required("id", p.ID)
	v.required("name", p.Name)
	v.required("domain", p.Domain)
	if p.ID != "" && (len(p.ID) != len(p.Domain)+1+len(p.Name) || p.ID[:len(p.Domain)] != p.Domain || p.ID[len(p.Domain)] != '.' || p.ID[len(p.Domain)+1:] != p.Name) {
		v.fail("id", "%q is not <domain>.<name> (%q)", p.ID, p.Domain+"."+p.Name)
	}
	v.required("owner_team", p.OwnerTeam)
	v.required("version", p.Version)
	oneOf(v, "sensitivity", p.Sensitivity, sensitivities)
	if p.RetentionDays <= 0 {
		v.fail("retention_days", "must be > 0")
	}
	for i, s := range p.QualitySLOs {
		v.in("quality_slos", i)
		oneOf(v, "dimension", s.Dimension, dimensions)
		oneOf(v, "operator", s.Operator, operators)
	}
	for i, port := range p.OutputPorts {
		v.in("output_ports", i)
		v.required("name", port.Name)
		v.required("topic", port.Topic)
		v.required("schema_subject", port.SchemaSubject)
	}
	v.parent = ""
	v.in("", -1)
}

// Validate implements Event.
func (e *QualityEvent) Validate() error {
	v := &validator{event: "QualityEvent", index: -1}
	v.required("event_id", e.EventID)
	v.required("product_id", e.ProductID)
	v.required("product_version", e.ProductVersion)
	v.required("run_id", e.RunID)
	v.time("observed_at", e.ObservedAt)
	for i, c := range e.Checks {
		v.in("checks", i)
		v.required("name", c.Name)
		oneOf(v, "dimension", c.Dimension, dimensions)
		oneOf(v, "operator", c.Operator, operators)
	}
	v.in("", -1)
	if e.Origin != nil {
		oneOf(v, "origin", *e.Origin, origins)
	}
	if (e.WindowStart == nil) != (e.WindowEnd == nil) {
		v.fail("window_end", "window_start and window_end go together")
	} else if e.WindowStart != nil && !e.WindowEnd.After(*e.WindowStart) {
		v.fail("window_end", "is not after window_start")
	}
	return v.result()
}

// Validate implements Event.
func (e *PolicyViolation) Validate() error {
	v := &validator{event: "PolicyViolation", index: -1}
	v.required("violation_id", e.ViolationID)
	v.required("product_id", e.ProductID)
	v.required("domain", e.Domain)
	v.required("policy_id", e.PolicyID)
	v.required("policy_version", e.PolicyVersion)
	oneOf(v, "scope", e.Scope, scopes)
	oneOf(v, "severity", e.Severity, severities)
	oneOf(v, "status", e.Status, violationStatuses)
	v.required("message", e.Message)
	v.required("source_event_id", e.SourceEventID)
	v.time("detected_at", e.DetectedAt)
	return v.result()
}

// Validate implements Event.
func (e *ComplianceStatus) Validate() error {
	v := &validator{event: "ComplianceStatus", index: -1}
	v.required("product_id", e.ProductID)
	v.required("domain", e.Domain)
	oneOf(v, "status", e.Status, complianceStatuses)
	for i, o := range e.OpenViolations {
		v.in("open_violations", i)
		v.required("violation_id", o.ViolationID)
		oneOf(v, "severity", o.Severity, severities)
	}
	v.in("", -1)
	v.time("evaluated_at", e.EvaluatedAt)
	return v.result()
}

// Validate implements Event.
func (e *AuditEvent) Validate() error {
	v := &validator{event: "AuditEvent", index: -1}
	v.required("event_id", e.EventID)
	v.required("actor", e.Actor)
	v.required("action", e.Action)
	v.required("target", e.Target)
	oneOf(v, "outcome", e.Outcome, outcomes)
	v.time("at", e.At)
	return v.result()
}
