package product

import (
	"strconv"
	"strings"
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
type QualityObjective struct {
	// Dimension is completeness, freshness, accuracy, validity, uniqueness or
	// volume, in any case.
	Dimension string `json:"dimension"`
	// Operator is one of >=, >, <=, <, ==.
	Operator string `json:"operator"`
	// Threshold is a ratio in [0, 1], or a count >= 0 for volume.
	Threshold *float64 `json:"threshold"`
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

	// schemaFile is the path Schema was read from, for error messages.
	schemaFile string
}

// Ownership names the people responsible for a product.
type Ownership struct {
	TechnicalOwner string `json:"technicalOwner,omitempty"`
	BusinessOwner  string `json:"businessOwner,omitempty"`
	Steward        string `json:"steward,omitempty"`
	OnCall         string `json:"onCall,omitempty"`
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
// the defaults (DefaultFormat, DefaultPartitions). Parse does this for the
// fields a document leaves out; a descriptor built in code may call it
// before Validate.
func (d *Descriptor) SetDefaults() {
	for i := range d.Spec.OutputPorts {
		p := &d.Spec.OutputPorts[i]
		if p.Format == "" {
			p.Format = DefaultFormat
		}
		if p.Partitions == 0 {
			p.Partitions = DefaultPartitions
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
