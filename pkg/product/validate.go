package product

import (
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strings"

	"github.com/hamba/avro/v2"

	"github.com/meshbone/meshbone/pkg/events"
)

var (
	// dnsLabel is a lowercase DNS label: domains, product and port names.
	dnsLabel = regexp.MustCompile(`^[a-z]([a-z0-9-]{0,61}[a-z0-9])?$`)
	// semverRE is semver.org's MAJOR.MINOR.PATCH[-PRERELEASE][+BUILD].
	semverRE = regexp.MustCompile(`^(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)` +
		`(-(0|[1-9][0-9]*|[0-9]*[a-zA-Z-][0-9a-zA-Z-]*)(\.(0|[1-9][0-9]*|[0-9]*[a-zA-Z-][0-9a-zA-Z-]*))*)?` +
		`(\+[0-9a-zA-Z-]+(\.[0-9a-zA-Z-]+)*)?$`)
	// tagRE is a discovery tag.
	tagRE = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,62}$`)
	// labelKeyRE is a label key; unlike a tag it may hold '/' ("team.io/tier").
	labelKeyRE = regexp.MustCompile(`^[a-z0-9][a-z0-9._/-]{0,62}$`)
)

// maxLabelValue is the longest a label value may be.
const maxLabelValue = 256

const (
	msgDNSLabel = "must be a lowercase DNS label (a letter, then letters, digits or '-', at most 63 characters, not ending in '-'), got %s"
	msgRequired = "is required"
)

// Sensitivity levels, dimensions and operators as a descriptor spells them
// (sensitivity and dimension in any case).
var (
	sensitivities = []string{"public", "internal", "confidential", "restricted"}
	dimensions    = []string{"completeness", "freshness", "accuracy", "validity", "uniqueness", "volume"}
	operators     = []string{">=", ">", "<=", "<", "=="}
)

// Validate checks the descriptor against the rules of a data product and
// returns every problem it finds as a *ValidationError (in document order;
// see ValidationError for the message format), or nil. A port schema that
// is still a file path (from Parse rather than ParseFile or Load) is a
// problem.
//
// Rules: apiVersion is APIVersion and kind is Kind; domain, name and port
// names are lowercase DNS labels; owner is set; tags are lowercase and
// unique; documentationUrl is an absolute http(s) URL; version is semver;
// sensitivity is public, internal, confidential or restricted; retentionDays
// is in [1, MaxRetentionDays]; sla.freshness is a positive duration
// (ParseDuration) and sla.availability is in (0, 100]; a quality objective
// has a known dimension, a known operator and a threshold in [0, 1] (>= 0
// for volume); an objective with a port names an output port and measures
// completeness or uniqueness of a column (a top-level field of the port's
// schema), validity by a rule (a bool CEL expression over the record that
// compiles against the port's schema, see events.RuleEnv) or volume, over a
// window that is a positive duration of at most MaxWindow; column, rule and
// window need a port; there is at least one output port, port names are
// unique, partitions are in [1, MaxPartitions], the format is avro and the
// schema is an Avro record; a port's contract rules have unique names
// (lowercase letters, digits, '_' or '-'), a rule that compiles as for
// validity, and onFailure reject or dlq; inputs are unique product ids other than the product's
// own; piiFields are unique top-level fields of some port schema (checked
// only when every port schema is valid).
func (d *Descriptor) Validate() error {
	if d == nil {
		return &ValidationError{Errors: []FieldError{{Message: "no descriptor"}}}
	}
	var probs problems
	d.validateHeader(&probs)
	d.validateMetadata(&probs)
	d.validateSpec(&probs)
	return probs.err(d.source)
}

func (d *Descriptor) validateHeader(probs *problems) {
	if d.APIVersion != APIVersion {
		probs.add("apiVersion", "%s", expected(APIVersion, d.APIVersion))
	}
	if d.Kind != Kind {
		probs.add("kind", "%s", expected(Kind, d.Kind))
	}
}

func expected(want, got string) string {
	if got == "" {
		return fmt.Sprintf("is required: %q", want)
	}
	return fmt.Sprintf("must be %q, got %s", want, quote(got))
}

func (d *Descriptor) validateMetadata(probs *problems) {
	m := d.Metadata
	checkDNSLabel(probs, "metadata.domain", m.Domain)
	checkDNSLabel(probs, "metadata.name", m.Name)
	if strings.TrimSpace(m.Owner) == "" {
		probs.add("metadata.owner", msgRequired)
	}
	seen := make(map[string]bool, len(m.Tags))
	for i, tag := range m.Tags {
		path := indexPath("metadata.tags", i)
		switch {
		case tag == "":
			probs.add(path, "must not be empty")
		case !tagRE.MatchString(tag):
			probs.add(path, "must be lowercase letters, digits, '.', '_' or '-' (at most 63 characters, starting with a letter or digit), got %s", quote(tag))
		case seen[tag]:
			probs.add(path, "duplicate tag %s", quote(tag))
		}
		seen[tag] = true
	}
	if m.DocumentationURL != "" {
		u, err := url.Parse(m.DocumentationURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			probs.add("metadata.documentationUrl", "must be an absolute http or https URL, got %s", quote(m.DocumentationURL))
		}
	}
	for _, k := range sortedKeys(m.Labels) {
		path := fieldPath("metadata.labels", k)
		if !labelKeyRE.MatchString(k) {
			probs.add(path, "label key must be lowercase letters, digits, '.', '_', '/' or '-' (at most 63 characters, starting with a letter or digit)")
		}
		if len(m.Labels[k]) > maxLabelValue {
			probs.add(path, "label value must be at most %d bytes", maxLabelValue)
		}
	}
}

func checkDNSLabel(probs *problems, path, s string) {
	switch {
	case s == "":
		probs.add(path, msgRequired)
	case !dnsLabel.MatchString(s):
		probs.add(path, msgDNSLabel, quote(s))
	}
}

func (d *Descriptor) validateSpec(probs *problems) {
	s := d.Spec
	switch _, ok := majorVersion(s.Version); {
	case s.Version == "":
		probs.add("spec.version", msgRequired)
	case strings.HasPrefix(s.Version, "v") && semverRE.MatchString(s.Version[1:]):
		probs.add("spec.version", "must be a semantic version without a leading \"v\", got %s", quote(s.Version))
	case !semverRE.MatchString(s.Version):
		probs.add("spec.version", "must be a semantic version MAJOR.MINOR.PATCH[-PRERELEASE][+BUILD] such as \"2.1.0\", got %s", quote(s.Version))
	case !ok:
		probs.add("spec.version", "major version is too large, got %s", quote(s.Version))
	}
	switch {
	case s.Sensitivity == "":
		probs.add("spec.sensitivity", msgRequired)
	case !slices.Contains(sensitivities, strings.ToLower(s.Sensitivity)):
		probs.add("spec.sensitivity", "must be one of %s, got %s", strings.Join(sensitivities, ", "), quote(s.Sensitivity))
	}
	if s.RetentionDays < 1 || s.RetentionDays > MaxRetentionDays {
		probs.add("spec.retentionDays", "must be between 1 and %d, got %d", MaxRetentionDays, s.RetentionDays)
	}
	if s.SLA != nil {
		if f := s.SLA.Freshness; f != "" {
			if dur, err := ParseDuration(f); err != nil || dur <= 0 {
				probs.add("spec.sla.freshness", "must be a positive duration such as \"15m\", \"6h\" or \"1d\", got %s", quote(f))
			}
		}
		if a := s.SLA.Availability; a != nil && !(*a > 0 && *a <= 100) {
			probs.add("spec.sla.availability", "must be a percentage greater than 0 and at most 100, got %v", *a)
		}
	}
	envs := d.ruleEnvs()
	for i, q := range s.Quality {
		d.validateQuality(probs, indexPath("spec.quality", i), q, envs)
	}
	fields, schemasOK := d.validatePorts(probs, envs)
	d.validateInputs(probs)
	if o := s.Ownership; o != nil {
		validateOwnership(probs, o)
	}
	if sec := s.Security; sec != nil {
		seen := make(map[string]bool, len(sec.PIIFields))
		for i, f := range sec.PIIFields {
			path := indexPath("spec.security.piiFields", i)
			switch {
			case f == "":
				probs.add(path, "must not be empty")
			case seen[f]:
				probs.add(path, "duplicate field %s", quote(f))
			case schemasOK && !fields[f]:
				probs.add(path, "%s is not a top-level field of any output port schema", quote(f))
			}
			seen[f] = true
		}
	}
}

func (d *Descriptor) validateQuality(probs *problems, path string, q QualityObjective, envs map[string]*portEnv) {
	dim := strings.ToLower(q.Dimension)
	switch {
	case q.Dimension == "":
		probs.add(path+".dimension", msgRequired)
	case !slices.Contains(dimensions, dim):
		probs.add(path+".dimension", "must be one of %s, got %s", strings.Join(dimensions, ", "), quote(q.Dimension))
	}
	switch {
	case q.Operator == "":
		probs.add(path+".operator", msgRequired)
	case !slices.Contains(operators, q.Operator):
		probs.add(path+".operator", "must be one of %s, got %s", strings.Join(operators, ", "), quote(q.Operator))
	}
	switch t := q.Threshold; {
	case t == nil:
		probs.add(path+".threshold", msgRequired)
	case dim == "volume":
		if !(*t >= 0 && *t <= maxVolume) {
			probs.add(path+".threshold", "must be a number greater than or equal to 0, got %v", *t)
		}
	case !(*t >= 0 && *t <= 1):
		probs.add(path+".threshold", "must be a number between 0 and 1, got %v", *t)
	}
	d.validatePortObjective(probs, path, q, dim, envs)
}

// portDimensions are the dimensions measured on a port's records.
var portDimensions = []string{"completeness", "validity", "uniqueness", "volume"}

// validatePortObjective checks the port, column, rule and window of an
// objective: a column or rule must be a field of, or compile against, the
// port's schema (checked only when that schema is valid).
func (d *Descriptor) validatePortObjective(probs *problems, path string, q QualityObjective, dim string, envs map[string]*portEnv) {
	if q.Port == "" {
		for _, f := range []struct{ name, value string }{{"column", q.Column}, {"rule", q.Rule}, {"window", q.Window}} {
			if f.value != "" {
				probs.add(path+"."+f.name, "is measured on a port: set port too")
			}
		}
		return
	}
	env, portOK := envs[q.Port]
	if _, ok := d.Port(q.Port); !ok {
		probs.add(path+".port", "no output port named %s", quote(q.Port))
	} else if slices.Contains(dimensions, dim) && !slices.Contains(portDimensions, dim) {
		probs.add(path+".port", "a %s objective is not measured on a port: port objectives are completeness, validity, uniqueness and volume, and freshness comes from spec.sla.freshness", dim)
	}
	wantColumn := dim == "completeness" || dim == "uniqueness"
	switch {
	case wantColumn && q.Column == "":
		probs.add(path+".column", "%s: the field of port %s whose %s is measured", msgRequired, quote(q.Port), dim)
	case !wantColumn && q.Column != "" && slices.Contains(dimensions, dim):
		probs.add(path+".column", "only completeness and uniqueness objectives take a column")
	case q.Column != "" && portOK && env.rec != nil && !env.fields[q.Column]:
		probs.add(path+".column", "%s is not a field of port %s (fields: %s)", quote(q.Column), quote(q.Port), strings.Join(env.names, ", "))
	}
	switch {
	case dim == "validity" && q.Rule == "":
		probs.add(path+".rule", "%s: a CEL expression over the records of port %s that valid records satisfy", msgRequired, quote(q.Port))
	case dim != "validity" && q.Rule != "" && slices.Contains(dimensions, dim):
		probs.add(path+".rule", "only validity objectives take a rule")
	case q.Rule != "" && portOK && env.env != nil:
		if _, err := env.env.Compile(q.Rule); err != nil {
			probs.add(path+".rule", "%v", err)
		}
	}
	if q.Window != "" {
		if w, err := ParseDuration(q.Window); err != nil || w <= 0 || w > MaxWindow {
			probs.add(path+".window", "must be a positive duration of at most 7d such as \"5m\", \"1h\" or \"1d\", got %s", quote(q.Window))
		}
	}
}

// portEnv is what rules and columns are checked against: a port's schema,
// its top-level fields and its rule environment (nil where the schema is
// not valid).
type portEnv struct {
	rec    *avro.RecordSchema
	fields map[string]bool
	names  []string
	env    *events.RuleEnv
}

// ruleEnvs returns the portEnv of every port, by name (the first port of a
// name).
func (d *Descriptor) ruleEnvs() map[string]*portEnv {
	envs := map[string]*portEnv{}
	for _, p := range d.Spec.OutputPorts {
		if _, dup := envs[p.Name]; dup {
			continue
		}
		pe := &portEnv{}
		envs[p.Name] = pe
		if p.schemaFile == "" && !isInlineSchema(p.Schema) {
			continue
		}
		rec, err := p.AvroSchema()
		if err != nil {
			continue
		}
		pe.rec, pe.fields = rec, map[string]bool{}
		for _, f := range rec.Fields() {
			pe.fields[f.Name()] = true
			pe.names = append(pe.names, f.Name())
		}
		pe.env, _ = events.NewRuleEnv(rec)
	}
	return envs
}

// ruleNameRE is a contract rule's name.
var ruleNameRE = regexp.MustCompile(`^[a-z][a-z0-9_-]{0,62}$`)

// onFailures are what a contract rule may do to a record that breaks it.
var onFailures = []string{"reject", "dlq"}

// validateRules checks a port's contract rules.
func validateRules(probs *problems, base string, rules []ContractRule, env *portEnv) {
	seen := make(map[string]bool, len(rules))
	for j, r := range rules {
		path := indexPath(base+".rules", j)
		switch {
		case r.Name == "":
			probs.add(path+".name", msgRequired)
		case !ruleNameRE.MatchString(r.Name):
			probs.add(path+".name", "must be lowercase letters, digits, '_' or '-' (at most 63 characters, starting with a letter), got %s", quote(r.Name))
		case seen[r.Name]:
			probs.add(path+".name", "duplicate rule name %s", quote(r.Name))
		}
		seen[r.Name] = true
		switch {
		case strings.TrimSpace(r.Rule) == "":
			probs.add(path+".rule", "%s: a CEL expression over the record that must be true", msgRequired)
		case env != nil && env.env != nil:
			if _, err := env.env.Compile(r.Rule); err != nil {
				probs.add(path+".rule", "%v", err)
			}
		}
		if !slices.Contains(onFailures, strings.ToLower(r.OnFailure)) {
			probs.add(path+".onFailure", "must be one of %s, got %s", strings.Join(onFailures, ", "), quote(r.OnFailure))
		}
	}
}

// maxVolume is the largest volume threshold: the largest float64, so that
// infinities are rejected.
const maxVolume = 1.7976931348623157e308

// validatePorts checks the output ports. It returns the top-level fields of
// all port schemas, and whether every port schema is valid.
func (d *Descriptor) validatePorts(probs *problems, envs map[string]*portEnv) (map[string]bool, bool) {
	ports := d.Spec.OutputPorts
	if len(ports) == 0 {
		probs.add("spec.outputPorts", "must have at least one output port")
		return nil, false
	}
	fields := map[string]bool{}
	schemasOK := true
	seen := make(map[string]bool, len(ports))
	for i, p := range ports {
		base := indexPath("spec.outputPorts", i)
		checkDNSLabel(probs, base+".name", p.Name)
		if p.Name != "" && seen[p.Name] {
			probs.add(base+".name", "duplicate port name %s", quote(p.Name))
		}
		seen[p.Name] = true
		if p.Partitions < 1 || p.Partitions > MaxPartitions {
			probs.add(base+".partitions", "must be between 1 and %d, got %d", MaxPartitions, p.Partitions)
		}
		if !strings.EqualFold(p.Format, DefaultFormat) {
			probs.add(base+".format", "unsupported format %s: only %q is supported", quote(p.Format), DefaultFormat)
		}
		ok := validatePortSchema(probs, base+".schema", p, fields)
		if !ok {
			schemasOK = false
		}
		env := envs[p.Name]
		if !ok || slices.IndexFunc(ports, func(o OutputPort) bool { return o.Name == p.Name }) != i {
			env = nil // a duplicate name's schema is not the one envs holds
		}
		validateRules(probs, base, p.Rules, env)
	}
	return fields, schemasOK
}

// validatePortSchema checks a port's schema and adds its top-level fields to
// fields. It reports whether the schema is valid.
func validatePortSchema(probs *problems, path string, p OutputPort, fields map[string]bool) bool {
	var from string
	if p.schemaFile != "" {
		from = " in " + quote(p.schemaFile)
	}
	switch {
	case strings.TrimSpace(p.Schema) == "":
		probs.add(path, "%s: a path to an .avsc file or an inline Avro schema", msgRequired)
		return false
	case p.schemaFile == "" && !isInlineSchema(p.Schema):
		probs.add(path, "schema file %s was not read: parse the descriptor with ParseFile or Load, or inline the schema", quote(p.Schema))
		return false
	}
	rec, err := p.AvroSchema()
	switch {
	case errors.Is(err, ErrNotRecord):
		probs.add(path, "must be an Avro record schema%s, %s", from, strings.TrimPrefix(err.Error(), ErrNotRecord.Error()+": "))
		return false
	case err != nil:
		probs.add(path, "invalid Avro schema%s: %s", from, truncateMessage(err.Error()))
		return false
	}
	for _, f := range rec.Fields() {
		fields[f.Name()] = true
	}
	return true
}

// truncateMessage shortens a parser's message, which may quote a whole
// schema.
func truncateMessage(s string) string {
	const limit = 300
	if len(s) <= limit {
		return s
	}
	return strings.ToValidUTF8(s[:limit], "") + "..."
}

func (d *Descriptor) validateInputs(probs *problems) {
	seen := make(map[string]bool, len(d.Spec.Inputs))
	for i, in := range d.Spec.Inputs {
		path := indexPath("spec.inputs", i)
		domain, name, ok := strings.Cut(in, ".")
		switch {
		case !ok || !dnsLabel.MatchString(domain) || !dnsLabel.MatchString(name):
			probs.add(path, "must be a product id <domain>.<name> (lowercase DNS labels), got %s", quote(in))
		case seen[in]:
			probs.add(path, "duplicate input %s", quote(in))
		case in == d.ID():
			probs.add(path, "must not be the product itself")
		}
		seen[in] = true
	}
}
