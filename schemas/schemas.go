package schemas

import (
	"embed"
	"encoding/json"
	"fmt"
	"io/fs"

	"github.com/hamba/avro/v2"
)

//go:embed avro/*.avsc
var files embed.FS

// Record names of the mesh contracts, each the base name of its .avsc file.
const (
	DataProduct           = "DataProduct"
	ProductLifecycleEvent = "ProductLifecycleEvent"
	QualityEvent          = "QualityEvent"
	PolicyViolation       = "PolicyViolation"
	ComplianceStatus      = "ComplianceStatus"
	AuditEvent            = "AuditEvent"
	AccessAgreement       = "AccessAgreement"
	AccessEvent           = "AccessEvent"
	Notice                = "Notice"
)

// Records lists every contract, in dependency order.
var Records = []string{DataProduct, ProductLifecycleEvent, QualityEvent, PolicyViolation, ComplianceStatus, AuditEvent, AccessAgreement, AccessEvent, Notice}

// deps names the contracts a contract refers to by name.
var deps = map[string][]string{ProductLifecycleEvent: {DataProduct}, AccessEvent: {AccessAgreement}, Notice: {AccessAgreement}}

// FS returns the embedded .avsc files, named "<Record>.avsc".
func FS() fs.FS {
	sub, err := fs.Sub(files, "avro")
	if err != nil {
		panic(err) // the embed pattern above guarantees the directory
	}
	return sub
}

// Source returns the .avsc text of the named record as committed.
func Source(name string) (string, error) {
	b, err := fs.ReadFile(FS(), name+".avsc")
	if err != nil {
		return "", fmt.Errorf("schemas: no contract %q", name)
	}
	return string(b), nil
}

// Parse parses the named contract (and the contracts it refers to) from the
// embedded files.
func Parse(name string) (avro.Schema, error) {
	return ParseFS(FS(), name)
}

// ParseFS parses the named contract from fsys, which holds "<Record>.avsc"
// files (used to compare against earlier committed versions).
func ParseFS(fsys fs.FS, name string) (avro.Schema, error) {
	cache := &avro.SchemaCache{}
	var s avro.Schema
	for _, n := range append(deps[name], name) {
		b, err := fs.ReadFile(fsys, n+".avsc")
		if err != nil {
			return nil, fmt.Errorf("schemas: read %s.avsc: %w", n, err)
		}
		if s, err = avro.ParseBytesWithCache(b, "", cache); err != nil {
			return nil, fmt.Errorf("schemas: parse %s.avsc: %w", n, err)
		}
	}
	return s, nil
}

// MustParse is Parse for the embedded contracts, which are tested to parse.
func MustParse(name string) avro.Schema {
	s, err := Parse(name)
	if err != nil {
		panic(err)
	}
	return s
}

// Full renders a parsed schema as self-contained JSON with docs and defaults
// kept (unlike Schema.String, which gives the Parsing Canonical Form). This is
// what is registered in the schema registry.
func Full(s avro.Schema) (string, error) {
	b, err := json.Marshal(s)
	if err != nil {
		return "", fmt.Errorf("schemas: render %s: %w", s.Type(), err)
	}
	return string(b), nil
}
