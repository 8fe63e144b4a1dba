package product

import (
	"strconv"
	"strings"
	"time"
)

// Values and bounds of a descriptor.
const (
	// APIVersion is the only apiVersion a descriptor may have.
	APIVersion = "meshbone/v1"
	// Kind is the only kind a descriptor may have.
	Kind = "DataProduct"
	// DefaultFormat is a port's format when the descriptor gives none, and
	// the only format supported.
	DefaultFormat = "avro"
	// DefaultPartitions is a port's partition count when the descriptor
	// gives none.
	DefaultPartitions = 1
	// MaxPartitions is the largest partition count a port may ask for.
	MaxPartitions = 1000
	// MaxRetentionDays is the longest retention a product may ask for (100
	// years).
	MaxRetentionDays = 36500
	// DefaultOperator is a quality objective's operator when the descriptor
	// gives none.
	DefaultOperator = ">="
	// DefaultWindow is the event-time window a port objective is measured
	// over when the descriptor gives none.
	DefaultWindow = time.Hour
	// MaxWindow is the longest window a port objective may ask for.
	MaxWindow = 7 * 24 * time.Hour
	// DefaultOnFailure is what a contract rule does to a record that breaks
	// it when the descriptor does not say.
	DefaultOnFailure = "reject"
)

// Descriptor is a data product descriptor, the document a domain team writes
// to register its product. Its JSON form (encoding/json or sigs.k8s.io/yaml)
// is the document format; Parse reads it back.
//
// A Descriptor from Parse, ParseFile or Load has been decoded strictly but not
// validated: call Validate before trusting it.
type Descriptor struct {
	APIVersion string   `json:"apiVersion"`
	Kind       string   `json:"kind"`
	Metadata   Metadata `json:"metadata"`
	Spec       Spec     `json:"spec"`

	// source is the file the descriptor was read from, for error messages.
	source string
}

// Metadata identifies a product and says who owns it.
type Metadata struct {
	// Domain is the owning business domain, a lowercase DNS label.
	Domain string `json:"domain"`
	// Name is the product's name, unique within its domain, a lowercase DNS
	// label.
	Name string `json:"name"`
	// Owner is the team accountable for the product.
	Owner            string            `json:"owner"`
	Description      string            `json:"description,omitempty"`
	Tags             []string          `json:"tags,omitempty"`
	DocumentationURL string            `json:"documentationUrl,omitempty"`
	Labels           map[string]string `json:"labels,omitempty"`
}

// Spec is what a product promises: its version, classification, service
// levels, quality objectives, output ports and lineage.
type Spec struct {
	// Version is the product's semantic version; its major version is part of
	// every port topic name.
	Version string `json:"version"`
	// Sensitivity is public, internal, confidential or restricted, in any
	// case.
	Sensitivity   string             `json:"sensitivity"`
	RetentionDays int                `json:"retentionDays"`
	SLA           *SLA               `json:"sla,omitempty"`
	Quality       []QualityObjective `json:"quality,omitempty"`
	OutputPorts   []OutputPort       `json:"outputPorts"`
	// Inputs are the ids ("<domain>.<name>") of upstream products.
	Inputs    []string   `json:"inputs,omitempty"`
	Ownership *Ownership `json:"ownership,omitempty"`
	Security  *Security  `json:"security,omitempty"`
}

// SLA is the service levels a domain promises.
type SLA struct {
	// Freshness is the maximum age of the newest data, in the syntax of
	// ParseDuration ("15m", "2h30m", "1d").
	Freshness string `json:"freshness,omitempty"`
	// Availability is a percentage in (0, 100].
	Availability *float64 `json:"availability,omitempty"`
}

// QualityObjective says that a quality check of Dimension must satisfy
// "observed Operator Threshold".
//
// An objective with a Port is measured by meshbone on the port's records,
// per event-time Window: completeness of a Column (the share of records in
// which it is not null), validity (the share of records for which Rule, a
// CEL expression over the record, is true), uniqueness of a Column (the
// share of distinct values) or volume (the number of records). An objective
// without a Port is one the product's pipelines measure and report.
// Freshness is measured against the SLA's freshness.
type QualityObjective struct {
	// Dimension is completeness, freshness, accuracy, validity, uniqueness or
	// volume, in any case.
	Dimension string `json:"dimension"`
	// Operator is one of >=, >, <=, <, ==; Parse sets DefaultOperator when
	// the document gives none.
	Operator string `json:"operator"`
	// Threshold is a ratio in [0, 1], or a count >= 0 for volume.
	Threshold *float64 `json:"threshold"`
	// Port names the output port the objective is measured on.
	Port string `json:"port,omitempty"`
	// Column is the top-level field of the port's schema that a
	// completeness or uniqueness objective measures.
	Column string `json:"column,omitempty"`
	// Rule is the CEL expression a valid record satisfies (validity).
	Rule string `json:"rule,omitempty"`
	// Window is the event-time window a port objective is measured over, in
	// the syntax of ParseDuration; DefaultWindow when empty.
	Window string `json:"window,omitempty"`
}

// ContractRule is a rule every record written to an output port must
// satisfy, applied by the writers of the port (pkg/events PortWriter).
type ContractRule struct {
	// Name names the rule in errors and dead-letter headers: lowercase
	// letters, digits, '_' or '-', unique within the port.
	Name string `json:"name"`
	// Rule is a CEL expression over the record's top-level fields that must
	// be true.
	Rule string `json:"rule"`
	// OnFailure is reject (the write fails with an error naming the rule) or
	// dlq (the record goes to the port's dead-letter topic), in any case;
	// Parse sets DefaultOnFailure when the document gives none.
	OnFailure string `json:"onFailure"`
}

// OutputPort is a Kafka topic through which the product is consumed.
type OutputPort struct {
	// Name is the port's name, a lowercase DNS label unique within the
	// product.
	Name string `json:"name"`
	// Schema is the port's Avro value schema as JSON text. In a document it
	// may also be a YAML mapping (converted to JSON text by Parse) or a path
	// to a schema file relative to the descriptor (read by ParseFile and
	// Load).
	Schema string `json:"schema" product:"jsontext"`
	// Partitions is the partition count of the port's topic; Parse sets
	// DefaultPartitions when the document gives none.
	Partitions int `json:"partitions"`
	// Format is the port's record encoding; Parse sets DefaultFormat when the
	// document gives none.
	Format string `json:"format"`
	// Rules are the port's contract rules, applied in order to every record
	// written.
	Rules []ContractRule `json:"rules,omitempty"`

	// schemaFile is the path Schema was read from, for error messages.
	schemaFile string
}

// Ownership names the people responsible for a product and how to reach
// them.
type Ownership struct {
	TechnicalOwner string `json:"technicalOwner,omitempty"`
	BusinessOwner  string `json:"businessOwner,omitempty"`
	Steward        string `json:"steward,omitempty"`
	OnCall         string `json:"onCall,omitempty"`
	// Developer is the person or team that builds and runs the product's
	// pipelines.
	Developer string `json:"developer,omitempty"`
	// EscalationPath lists, in order, whom to turn to when the owners do
	// not answer.
	EscalationPath []string `json:"escalationPath,omitempty"`
	// Channel is where notices and access requests reach the owners:
	// mailto:<address>, slack:#<channel> or an https URL (see
	// CheckChannel).
	Channel string `json:"channel,omitempty"`
}

// Security is the security controls a product declares.
type Security struct {
	EncryptionAtRest bool `json:"encryptionAtRest"`
	// PIIFields are top-level fields of the port schemas that hold personal
	// data.
	PIIFields    []string `json:"piiFields,omitempty"`
	PIIMasked    bool     `json:"piiMasked"`
	AuditLogging bool     `json:"auditLogging"`
}

// Source returns the path of the file the descriptor was read from, or "" if
// it came from Parse or was built in code.
func (d *Descriptor) Source() string { return d.source }

// SetDefaults gives every output port without a format or partition count
// the defaults (DefaultFormat, DefaultPartitions), every quality objective
// without an operator DefaultOperator and every contract rule without an
// onFailure DefaultOnFailure. Parse does this for the fields a document
// leaves out; a descriptor built in code may call it
// before Validate.
func (d *Descriptor) SetDefaults() {
	for i := range d.Spec.Quality {
		if d.Spec.Quality[i].Operator == "" {
			d.Spec.Quality[i].Operator = DefaultOperator
		}
	}
	for i := range d.Spec.OutputPorts {
		p := &d.Spec.OutputPorts[i]
		if p.Format == "" {
			p.Format = DefaultFormat
		}
		if p.Partitions == 0 {
			p.Partitions = DefaultPartitions
		}
		for j := range p.Rules {
			if p.Rules[j].OnFailure == "" {
				p.Rules[j].OnFailure = DefaultOnFailure
			}
		}
	}
}

// ID returns the product id, "<domain>.<name>".
func (d *Descriptor) ID() string { return d.Metadata.Domain + "." + d.Metadata.Name }

// MajorVersion returns the major version of Spec.Version, or 0 when the
// version is not valid semver (which Validate reports).
func (d *Descriptor) MajorVersion() int {
	major, ok := majorVersion(d.Spec.Version)
	if !ok {
		return 0
	}
	return major
}

// PortTopic returns the Kafka topic of the named port,
// "<domain>.<name>.<port>.v<major>". It does not check that the port exists.
func (d *Descriptor) PortTopic(port string) string {
	return d.ID() + "." + port + ".v" + strconv.Itoa(d.MajorVersion())
}

// PortSubject returns the Schema Registry subject of the named port's value
// schema, "<topic>-value" (TopicNameStrategy).
func (d *Descriptor) PortSubject(port string) string { return d.PortTopic(port) + "-value" }

// Port returns the output port with the given name, if there is one.
func (d *Descriptor) Port(name string) (OutputPort, bool) {
	for _, p := range d.Spec.OutputPorts {
		if p.Name == name {
			return p, true
		}
	}
	return OutputPort{}, false
}

// majorVersion returns the major version of a semantic version.
func majorVersion(v string) (int, bool) {
	if !semverRE.MatchString(v) {
		return 0, false
	}
	major, err := strconv.Atoi(v[:strings.IndexByte(v, '.')])
	if err != nil {
		return 0, false
	}
	return major, true
}
