package product

import (
	"bytes"
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/meshbone/meshbone/pkg/events"
)

// ToEvent converts the descriptor to the DataProduct record that lifecycle
// events carry. Call Validate first: ToEvent does not fail, but converts an
// invalid descriptor only as far as it goes (a port whose schema does not
// parse has no fields, an out-of-range number is truncated).
//
// Enumerations become the upper-case Avro symbols; an empty description or
// documentation URL becomes nil; absent sla, ownership and security sections
// stay nil. Each port gets its topic (PortTopic), subject (PortSubject) and
// the top-level field names of its schema; SchemaID is nil until the
// registrar registers the schema, and its contract rules with onFailure in
// upper case (nil when it has none). An objective on a port carries its
// port, column, rule and window (DefaultWindow when the descriptor gives
// none). An SLA freshness or a window with days ("1d") is written as a Go
// duration ("24h0m0s"), as the contract says.
func (d *Descriptor) ToEvent() events.DataProduct {
	m, s := d.Metadata, d.Spec
	p := events.DataProduct{
		ID:               d.ID(),
		Name:             m.Name,
		Domain:           m.Domain,
		OwnerTeam:        m.Owner,
		Description:      optional(m.Description),
		Tags:             nonNil(m.Tags),
		DocumentationURL: optional(m.DocumentationURL),
		Version:          s.Version,
		Sensitivity:      events.Sensitivity(strings.ToUpper(s.Sensitivity)),
		RetentionDays:    int32(s.RetentionDays),
		QualitySLOs:      make([]events.QualitySLO, 0, len(s.Quality)),
		OutputPorts:      make([]events.OutputPort, 0, len(s.OutputPorts)),
		Inputs:           nonNil(s.Inputs),
		Labels:           make(map[string]string, len(m.Labels)),
	}
	for k, v := range m.Labels {
		p.Labels[k] = v
	}
	if s.SLA != nil {
		p.SLA = &events.SLA{Freshness: optional(goDuration(s.SLA.Freshness))}
		if s.SLA.Availability != nil {
			a := *s.SLA.Availability
			p.SLA.Availability = &a
		}
	}
	for _, q := range s.Quality {
		slo := events.QualitySLO{
			Dimension: events.QualityDimension(strings.ToUpper(q.Dimension)),
			Operator:  q.Operator,
		}
		if q.Threshold != nil {
			slo.Threshold = *q.Threshold
		}
		if q.Port != "" {
			slo.Port, slo.Column, slo.Rule = optional(q.Port), optional(q.Column), optional(q.Rule)
			w := DefaultWindow.String()
			if q.Window != "" {
				w = goDuration(q.Window)
			}
			slo.Window = &w
		}
		p.QualitySLOs = append(p.QualitySLOs, slo)
	}
	for _, port := range s.OutputPorts {
		op := events.OutputPort{
			Name:          port.Name,
			Topic:         d.PortTopic(port.Name),
			SchemaSubject: d.PortSubject(port.Name),
			Format:        strings.ToLower(port.Format),
			Partitions:    int32(port.Partitions),
			Fields:        nonNil(port.Fields()),
		}
		for _, r := range port.Rules {
			onFailure := r.OnFailure
			if onFailure == "" {
				onFailure = DefaultOnFailure
			}
			op.Rules = append(op.Rules, events.ContractRule{Name: r.Name, Rule: r.Rule, OnFailure: events.RuleAction(strings.ToUpper(onFailure))})
		}
		p.OutputPorts = append(p.OutputPorts, op)
	}
	if o := s.Ownership; o != nil {
		p.Ownership = &events.Ownership{
			TechnicalOwner: optional(o.TechnicalOwner),
			BusinessOwner:  optional(o.BusinessOwner),
			Steward:        optional(o.Steward),
			OnCall:         optional(o.OnCall),
			Developer:      optional(o.Developer),
			EscalationPath: slices.Clone(o.EscalationPath),
			Channel:        optional(o.Channel),
		}
	}
	if sec := s.Security; sec != nil {
		p.Security = &events.Security{
			EncryptionAtRest: sec.EncryptionAtRest,
			PIIFields:        nonNil(sec.PIIFields),
			PIIMasked:        sec.PIIMasked,
			AuditLogging:     sec.AuditLogging,
		}
	}
	return p
}

// goDuration rewrites a freshness that time.ParseDuration does not accept
// but ParseDuration does ("1d") as a Go duration.
func goDuration(s string) string {
	if _, err := time.ParseDuration(s); err == nil {
		return s
	}
	if d, err := ParseDuration(s); err == nil {
		return d.String()
	}
	return s
}

func optional(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return append([]string(nil), s...)
}

// Canonical returns the descriptor's canonical form: compact JSON of the
// descriptor with defaults set, sensitivity, dimensions and formats in lower
// case, and each port schema rewritten as compact JSON with sorted keys. Two
// descriptors with the same canonical form say the same thing, whatever their
// layout, key order, YAML or JSON syntax, or whether a schema was inline or
// read from a file; the registrar uses this to recognise an identical
// re-post. The order of lists (tags, ports, fields) counts.
//
// It fails only for a descriptor built in code with a NaN or infinite
// number, which has no JSON form.
func (d *Descriptor) Canonical() ([]byte, error) {
	if d == nil {
		return nil, errors.New("no descriptor")
	}
	c := *d
	c.Metadata.Tags = cloneNonEmpty(d.Metadata.Tags)
	c.Spec.Inputs = cloneNonEmpty(d.Spec.Inputs)
	c.Spec.Sensitivity = strings.ToLower(d.Spec.Sensitivity)
	if len(d.Metadata.Labels) == 0 {
		c.Metadata.Labels = nil
	}
	c.Spec.Quality = nil
	for _, q := range d.Spec.Quality {
		q.Dimension = strings.ToLower(q.Dimension)
		c.Spec.Quality = append(c.Spec.Quality, q)
	}
	c.Spec.OutputPorts = nil
	for _, p := range d.Spec.OutputPorts {
		p.Format = strings.ToLower(p.Format)
		p.Schema = canonicalJSON(p.Schema)
		rules := p.Rules
		p.Rules = nil
		for _, r := range rules {
			r.OnFailure = strings.ToLower(r.OnFailure)
			p.Rules = append(p.Rules, r)
		}
		c.Spec.OutputPorts = append(c.Spec.OutputPorts, p)
	}
	c.SetDefaults()
	if d.Spec.Security != nil {
		sec := *d.Spec.Security
		sec.PIIFields = cloneNonEmpty(sec.PIIFields)
		c.Spec.Security = &sec
	}
	return marshalJSON(&c)
}

func cloneNonEmpty(s []string) []string {
	if len(s) == 0 {
		return nil
	}
	return append([]string(nil), s...)
}

// Equal reports whether d and other have the same canonical form (see
// Canonical). Two nil descriptors are equal.
func (d *Descriptor) Equal(other *Descriptor) bool {
	if d == nil || other == nil {
		return d == other
	}
	a, errA := d.Canonical()
	b, errB := other.Canonical()
	return errA == nil && errB == nil && bytes.Equal(a, b)
}
