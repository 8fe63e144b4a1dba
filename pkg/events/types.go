package events

import "time"

// The Go forms of the mesh contracts in schemas/avro. Field tags name the Avro
// fields; TestTypesMatchSchemas round-trips every type through its schema so
// the two cannot drift apart. Avro enums are Go strings with named constants.

// Sensitivity classifies the most sensitive data a product holds.
type Sensitivity string

// Sensitivity levels, least to most sensitive.
const (
	SensitivityPublic       Sensitivity = "PUBLIC"
	SensitivityInternal     Sensitivity = "INTERNAL"
	SensitivityConfidential Sensitivity = "CONFIDENTIAL"
	SensitivityRestricted   Sensitivity = "RESTRICTED"
)

// QualityDimension is what a quality check or objective measures.
type QualityDimension string

// Quality dimensions.
const (
	DimensionCompleteness QualityDimension = "COMPLETENESS"
	DimensionFreshness    QualityDimension = "FRESHNESS"
	DimensionAccuracy     QualityDimension = "ACCURACY"
	DimensionValidity     QualityDimension = "VALIDITY"
	DimensionUniqueness   QualityDimension = "UNIQUENESS"
	DimensionVolume       QualityDimension = "VOLUME"
)

// LifecycleType is the kind of a lifecycle change.
type LifecycleType string

// Lifecycle event types.
const (
	LifecycleRegistered       LifecycleType = "REGISTERED"
	LifecycleUpdated          LifecycleType = "UPDATED"
	LifecycleVersionPublished LifecycleType = "VERSION_PUBLISHED"
	LifecycleDeprecated       LifecycleType = "DEPRECATED"
	LifecycleRetired          LifecycleType = "RETIRED"
)

// PolicyScope says who owns a policy.
type PolicyScope string

// Policy scopes.
const (
	ScopeGlobal PolicyScope = "GLOBAL"
	ScopeDomain PolicyScope = "DOMAIN"
)

// Severity is how bad a violation is.
type Severity string

// Severities, least to most severe.
const (
	SeverityInfo     Severity = "INFO"
	SeverityWarning  Severity = "WARNING"
	SeverityCritical Severity = "CRITICAL"
)

// ViolationStatus says whether a violation is open or resolved.
type ViolationStatus string

// Violation statuses.
const (
	ViolationOpen     ViolationStatus = "OPEN"
	ViolationResolved ViolationStatus = "RESOLVED"
)

// Compliance is a product's overall compliance.
type Compliance string

// Compliance states.
const (
	Compliant    Compliance = "COMPLIANT"
	NonCompliant Compliance = "NON_COMPLIANT"
	Unknown      Compliance = "UNKNOWN"
)

// Outcome says whether an audited action was allowed.
type Outcome string

// Audit outcomes.
const (
	Allowed Outcome = "ALLOWED"
	Denied  Outcome = "DENIED"
)

// DataProduct is a data product as its owning domain describes it
// (io.meshbone.v1.DataProduct).
type DataProduct struct {
	ID               string            `avro:"id" json:"id"`
	Name             string            `avro:"name" json:"name"`
	Domain           string            `avro:"domain" json:"domain"`
	OwnerTeam        string            `avro:"owner_team" json:"owner_team"`
	Description      *string           `avro:"description" json:"description,omitempty"`
	Tags             []string          `avro:"tags" json:"tags"`
	DocumentationURL *string           `avro:"documentation_url" json:"documentation_url,omitempty"`
	Version          string            `avro:"version" json:"version"`
	Sensitivity      Sensitivity       `avro:"sensitivity" json:"sensitivity"`
	RetentionDays    int32             `avro:"retention_days" json:"retention_days"`
	SLA              *SLA              `avro:"sla" json:"sla,omitempty"`
	QualitySLOs      []QualitySLO      `avro:"quality_slos" json:"quality_slos"`
	OutputPorts      []OutputPort      `avro:"output_ports" json:"output_ports"`
	Inputs           []string          `avro:"inputs" json:"inputs"`
	Ownership        *Ownership        `avro:"ownership" json:"ownership,omitempty"`
	Security         *Security         `avro:"security" json:"security,omitempty"`
	Labels           map[string]string `avro:"labels" json:"labels"`
}

// SLA is the service levels a domain promises for a product.
type SLA struct {
	Freshness    *string  `avro:"freshness" json:"freshness,omitempty"`
	Availability *float64 `avro:"availability" json:"availability,omitempty"`
}

// QualitySLO is a quality objective: observed <Operator> Threshold. An
// objective with a Port is measured on the port's records, per Window; one
// without is reported by the product's pipelines.
type QualitySLO struct {
	Dimension QualityDimension `avro:"dimension" json:"dimension"`
	Operator  string           `avro:"operator" json:"operator"`
	Threshold float64          `avro:"threshold" json:"threshold"`
	Port      *string          `avro:"port" json:"port,omitempty"`
	Column    *string          `avro:"column" json:"column,omitempty"`
	Rule      *string          `avro:"rule" json:"rule,omitempty"`
	Window    *string          `avro:"window" json:"window,omitempty"`
}

// OutputPort is a Kafka topic through which a product is consumed.
type OutputPort struct {
	Name          string         `avro:"name" json:"name"`
	Topic         string         `avro:"topic" json:"topic"`
	SchemaSubject string         `avro:"schema_subject" json:"schema_subject"`
	SchemaID      *int32         `avro:"schema_id" json:"schema_id,omitempty"`
	Format        string         `avro:"format" json:"format"`
	Partitions    int32          `avro:"partitions" json:"partitions"`
	Fields        []string       `avro:"fields" json:"fields"`
	Rules         []ContractRule `avro:"rules" json:"rules,omitempty"`
}

// RuleAction is what a PortWriter does with a record that breaks a
// contract rule.
type RuleAction string

// Rule actions.
const (
	RuleReject RuleAction = "REJECT"
	RuleDLQ    RuleAction = "DLQ"
)

// ContractRule is a rule every record written to a port must satisfy: a CEL
// expression over the record's top-level fields.
type ContractRule struct {
	Name      string     `avro:"name" json:"name"`
	Rule      string     `avro:"rule" json:"rule"`
	OnFailure RuleAction `avro:"on_failure" json:"on_failure"`
}

// Ownership names the people responsible for a product.
type Ownership struct {
	TechnicalOwner *string  `avro:"technical_owner" json:"technical_owner,omitempty"`
	BusinessOwner  *string  `avro:"business_owner" json:"business_owner,omitempty"`
	Steward        *string  `avro:"steward" json:"steward,omitempty"`
	OnCall         *string  `avro:"on_call" json:"on_call,omitempty"`
	Developer      *string  `avro:"developer" json:"developer,omitempty"`
	EscalationPath []string `avro:"escalation_path" json:"escalation_path,omitempty"`
	Channel        *string  `avro:"channel" json:"channel,omitempty"`
}

// Security is the security controls a product declares.
type Security struct {
	EncryptionAtRest bool     `avro:"encryption_at_rest" json:"encryption_at_rest"`
	PIIFields        []string `avro:"pii_fields" json:"pii_fields"`
	PIIMasked        bool     `avro:"pii_masked" json:"pii_masked"`
	AuditLogging     bool     `avro:"audit_logging" json:"audit_logging"`
}

// ProductLifecycleEvent records a change to a product's registration
// (io.meshbone.v1.ProductLifecycleEvent, topic mesh.product.lifecycle.v1).
type ProductLifecycleEvent struct {
	EventID    string        `avro:"event_id" json:"event_id"`
	Type       LifecycleType `avro:"type" json:"type"`
	OccurredAt time.Time     `avro:"occurred_at" json:"occurred_at"`
	Actor      string        `avro:"actor" json:"actor"`
	Product    DataProduct   `avro:"product" json:"product"`
	Reason     *string       `avro:"reason" json:"reason,omitempty"`
	Successor  *string       `avro:"successor" json:"successor,omitempty"`
	SunsetAt   *time.Time    `avro:"sunset_at" json:"sunset_at,omitempty"`
}

// QualityEvent is the result of one quality run over a product
// (io.meshbone.v1.QualityEvent, topic mesh.product.quality.v1).
type QualityEvent struct {
	EventID        string         `avro:"event_id" json:"event_id"`
	ProductID      string         `avro:"product_id" json:"product_id"`
	ProductVersion string         `avro:"product_version" json:"product_version"`
	RunID          string         `avro:"run_id" json:"run_id"`
	ObservedAt     time.Time      `avro:"observed_at" json:"observed_at"`
	DataWatermark  *time.Time     `avro:"data_watermark" json:"data_watermark,omitempty"`
	Checks         []QualityCheck `avro:"checks" json:"checks"`
	// Origin is who measured the run: nil or OriginReported for the
	// domain's own quality tool, OriginObserved for meshbone's monitor.
	Origin *QualityOrigin `avro:"origin" json:"origin,omitempty"`
	// Port, WindowStart and WindowEnd say what an observed run measured:
	// one output port's records whose event time is in [start, end).
	Port        *string    `avro:"port" json:"port,omitempty"`
	WindowStart *time.Time `avro:"window_start" json:"window_start,omitempty"`
	WindowEnd   *time.Time `avro:"window_end" json:"window_end,omitempty"`
}

// Observed reports whether meshbone's monitor measured the run (rather than
// the domain reporting it).
func (e *QualityEvent) Observed() bool { return e.Origin != nil && *e.Origin == OriginObserved }

// QualityOrigin is who measured a quality run.
type QualityOrigin string

// Quality origins.
const (
	OriginReported QualityOrigin = "REPORTED"
	OriginObserved QualityOrigin = "OBSERVED"
)

// QualityCheck is one measured check of a quality run.
type QualityCheck struct {
	Name      string           `avro:"name" json:"name"`
	Dimension QualityDimension `avro:"dimension" json:"dimension"`
	Column    *string          `avro:"column" json:"column,omitempty"`
	Observed  float64          `avro:"observed" json:"observed"`
	Operator  string           `avro:"operator" json:"operator"`
	Threshold float64          `avro:"threshold" json:"threshold"`
	Passed    bool             `avro:"passed" json:"passed"`
}

// PolicyViolation is a policy's judgement that an event breaks it, or the
// resolution of an earlier one (io.meshbone.v1.PolicyViolation, topic
// mesh.governance.violations.v1).
type PolicyViolation struct {
	ViolationID     string            `avro:"violation_id" json:"violation_id"`
	ProductID       string            `avro:"product_id" json:"product_id"`
	Domain          string            `avro:"domain" json:"domain"`
	PolicyID        string            `avro:"policy_id" json:"policy_id"`
	PolicyVersion   string            `avro:"policy_version" json:"policy_version"`
	Scope           PolicyScope       `avro:"scope" json:"scope"`
	Severity        Severity          `avro:"severity" json:"severity"`
	Status          ViolationStatus   `avro:"status" json:"status"`
	Message         string            `avro:"message" json:"message"`
	Evidence        map[string]string `avro:"evidence" json:"evidence"`
	SourceEventID   string            `avro:"source_event_id" json:"source_event_id"`
	SourceTopic     string            `avro:"source_topic" json:"source_topic"`
	SourcePartition int32             `avro:"source_partition" json:"source_partition"`
	SourceOffset    int64             `avro:"source_offset" json:"source_offset"`
	DetectedAt      time.Time         `avro:"detected_at" json:"detected_at"`
}

// ComplianceStatus is a product's compliance after its latest evaluation
// (io.meshbone.v1.ComplianceStatus, compacted topic
// mesh.governance.compliance.v1).
type ComplianceStatus struct {
	ProductID      string          `avro:"product_id" json:"product_id"`
	ProductVersion string          `avro:"product_version" json:"product_version"`
	Domain         string          `avro:"domain" json:"domain"`
	Status         Compliance      `avro:"status" json:"status"`
	OpenViolations []OpenViolation `avro:"open_violations" json:"open_violations"`
	EvaluatedAt    time.Time       `avro:"evaluated_at" json:"evaluated_at"`
}

// OpenViolation is a violation still open in a ComplianceStatus.
type OpenViolation struct {
	ViolationID string   `avro:"violation_id" json:"violation_id"`
	PolicyID    string   `avro:"policy_id" json:"policy_id"`
	Severity    Severity `avro:"severity" json:"severity"`
	Message     string   `avro:"message" json:"message"`
}

// AuditEvent records an action attempted on the mesh
// (io.meshbone.v1.AuditEvent, topic mesh.audit.v1).
type AuditEvent struct {
	EventID string            `avro:"event_id" json:"event_id"`
	Actor   string            `avro:"actor" json:"actor"`
	Domain  string            `avro:"domain" json:"domain"`
	Action  string            `avro:"action" json:"action"`
	Target  string            `avro:"target" json:"target"`
	Outcome Outcome           `avro:"outcome" json:"outcome"`
	At      time.Time         `avro:"at" json:"at"`
	Details map[string]string `avro:"details" json:"details"`
}
