package product_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/meshbone/meshbone/pkg/product"
)

// badCases maps each file under testdata/bad to the exact error ParseFile or,
// when it parses, Validate gives for it, and the path of its first problem
// ("" for a *SyntaxError).
var badCases = []struct {
	file string
	path string
	want string
}{
	// Not YAML or JSON, or not one mapping.
	{"empty.yaml", "", "empty document"},
	{"garbage.yaml", "", "yaml: line 3: did not find expected ',' or ']'"},
	{"tabs.yaml", "", "yaml: line 4: found character that cannot start any token"},
	{"not-a-mapping.yaml", "", "the document must be a mapping, got a list"},
	{"two-documents.yaml", "", "yaml: a descriptor is a single document, found a second one"},
	{"duplicate-key.yaml", "", `yaml: unmarshal errors: line 6: key "name" already set in map`},
	{"unknown-anchor.yaml", "", "yaml: unknown anchor 'team' referenced"},
	{"alias-bomb.yaml", "", "yaml: document contains excessive aliasing"},
	// A known limitation of strict YAML decoding: a key may not override one
	// brought in by a merge key.
	{"merge-override.yaml", "", `yaml: unmarshal errors: line 11: key "name" already set in map`},
	{"json-duplicate-key.json", "", `json: duplicate key "domain" in metadata`},
	{"json-truncated.json", "", "yaml: line 1: did not find expected ',' or '}'"},

	// Unknown fields and wrong types.
	{"unknown-fields.yaml", "status", `status: unknown field; expected one of apiVersion, kind, metadata, spec; ` +
		`metadata.team: unknown field; expected one of description, documentationUrl, domain, labels, name, owner, tags; ` +
		`spec.retentiondays: unknown field (did you mean "retentionDays"?); ` +
		`spec.sla.fresness: unknown field (did you mean "freshness"?); ` +
		`spec.outputPorts[0].replicas: unknown field; expected one of format, name, partitions, rules, schema`},
	{"wrong-types.yaml", "metadata.owner", `metadata.owner: expected a string, got a list; ` +
		`metadata.tags: expected a list, got string "customer"; ` +
		`metadata.labels.tier: expected a string, got a mapping; ` +
		`spec.version: expected a string, got number 2.1; ` +
		`spec.retentionDays: expected an integer, got string "ten"; ` +
		`spec.sla: expected a mapping, got string "15m"; ` +
		`spec.quality[0].threshold: expected a number, got string "high"; ` +
		`spec.outputPorts[0].schema: expected an Avro schema (a file path, JSON text or a mapping), got number 42; ` +
		`spec.outputPorts[0].partitions: expected an integer, got number 1.5; ` +
		`spec.security.encryptionAtRest: expected true or false, got number 1`},
	{"json-wrong-types.json", "spec.outputPorts", "spec.outputPorts: expected a list, got a mapping"},

	// Rules.
	{"header.yaml", "apiVersion", `apiVersion: must be "meshbone/v1", got "meshbone/v2"; kind: is required: "DataProduct"`},
	{"missing-everything.yaml", "metadata.domain", "metadata.domain: is required; metadata.name: is required; " +
		"metadata.owner: is required; spec.version: is required; spec.sensitivity: is required; " +
		"spec.retentionDays: must be between 1 and 36500, got 0; spec.outputPorts: must have at least one output port"},
	{"names.yaml", "metadata.domain", `metadata.domain: must be a lowercase DNS label (a letter, then letters, digits or '-', at most 63 characters, not ending in '-'), got "Sales"; ` +
		`metadata.name: must be a lowercase DNS label (a letter, then letters, digits or '-', at most 63 characters, not ending in '-'), got "customer-orders-"; ` +
		`metadata.owner: is required`},
	{"metadata.yaml", "metadata.tags[1]", `metadata.tags[1]: must not be empty; ` +
		`metadata.tags[2]: must be lowercase letters, digits, '.', '_' or '-' (at most 63 characters, starting with a letter or digit), got "Orders"; ` +
		`metadata.tags[3]: duplicate tag "customer"; ` +
		`metadata.tags[4]: must be lowercase letters, digits, '.', '_' or '-' (at most 63 characters, starting with a letter or digit), got "with space"; ` +
		`metadata.documentationUrl: must be an absolute http or https URL, got "wiki/sales/orders"; ` +
		`metadata.labels["Cost Center"]: label key must be lowercase letters, digits, '.', '_', '/' or '-' (at most 63 characters, starting with a letter or digit)`},
	{"documentation-url.yaml", "metadata.documentationUrl", `metadata.documentationUrl: must be an absolute http or https URL, got "ftp://files.example.com/orders"`},
	{"version.yaml", "spec.version", `spec.version: must be a semantic version MAJOR.MINOR.PATCH[-PRERELEASE][+BUILD] such as "2.1.0", got "2.1"; ` +
		`spec.sensitivity: must be one of public, internal, confidential, restricted, got "secret"; ` +
		`spec.retentionDays: must be between 1 and 36500, got 0`},
	{"version-v.yaml", "spec.version", `spec.version: must be a semantic version without a leading "v", got "v2.1.0"; ` +
		`spec.retentionDays: must be between 1 and 36500, got 36501`},
	{"sla.yaml", "spec.sla.freshness", `spec.sla.freshness: must be a positive duration such as "15m", "6h" or "1d", got "soon"; ` +
		`spec.sla.availability: must be a percentage greater than 0 and at most 100, got 100.5`},
	{"sla-not-positive.yaml", "spec.sla.freshness", `spec.sla.freshness: must be a positive duration such as "15m", "6h" or "1d", got "0d"; ` +
		`spec.sla.availability: must be a percentage greater than 0 and at most 100, got 0`},
	{"quality.yaml", "spec.quality[1].threshold", `spec.quality[1].threshold: must be a number between 0 and 1, got 1.5; ` +
		`spec.quality[2].dimension: must be one of completeness, freshness, accuracy, validity, uniqueness, volume, got "speed"; ` +
		`spec.quality[2].operator: must be one of >=, >, <=, <, ==, got "=>"; ` +
		`spec.quality[3].threshold: must be a number greater than or equal to 0, got -1; ` +
		`spec.quality[5].dimension: is required; spec.quality[5].threshold: is required`},
	{"quality-ports.yaml", "spec.quality[0].column", `spec.quality[0].column: "emial" is not a field of port "orders" (fields: order_id, email, amount, currency); ` +
		`spec.quality[1].port: no output port named "ordres"; ` +
		`spec.quality[2].column: is required: the field of port "orders" whose uniqueness is measured; ` +
		`spec.quality[3].rule: 1:1: undeclared reference to 'amout' (did you mean 'amount'?); ` +
		`spec.quality[4].rule: is required: a CEL expression over the records of port "orders" that valid records satisfy; ` +
		`spec.quality[5].rule: 1:1: must be a bool expression, this one is double; ` +
		`spec.quality[6].column: only completeness and uniqueness objectives take a column; ` +
		`spec.quality[6].rule: only validity objectives take a rule; ` +
		`spec.quality[6].window: must be a positive duration of at most 7d such as "5m", "1h" or "1d", got "0s"; ` +
		`spec.quality[7].port: a freshness objective is not measured on a port: port objectives are completeness, validity, uniqueness and volume, and freshness comes from spec.sla.freshness; ` +
		`spec.quality[8].column: is measured on a port: set port too; ` +
		`spec.quality[8].window: is measured on a port: set port too; ` +
		`spec.quality[9].window: must be a positive duration of at most 7d such as "5m", "1h" or "1d", got "8d"`},
	{"rules.yaml", "spec.outputPorts[0].rules[1].name", `spec.outputPorts[0].rules[1].name: must be lowercase letters, digits, '_' or '-' (at most 63 characters, starting with a letter), got "Positive Amount"; ` +
		`spec.outputPorts[0].rules[1].rule: 2:19: found no matching overload for '_==_' applied to '(int, string)'; ` +
		`spec.outputPorts[0].rules[1].onFailure: must be one of reject, dlq, got "drop"; ` +
		`spec.outputPorts[0].rules[2].name: duplicate rule name "positive"; ` +
		`spec.outputPorts[0].rules[2].rule: 1:25: undeclared reference to 'emial' (did you mean 'email'?); ` +
		`spec.outputPorts[0].rules[3].name: is required; ` +
		`spec.outputPorts[0].rules[3].rule: is required: a CEL expression over the record that must be true; ` +
		// The rules of a port whose schema is broken are not compiled.
		`spec.outputPorts[1].schema: invalid Avro schema: avro: unknown type: strnig`},
	{"no-ports.yaml", "spec.outputPorts", "spec.outputPorts: must have at least one output port"},
	{"ports.yaml", "spec.outputPorts[1].name", `spec.outputPorts[1].name: must be a lowercase DNS label (a letter, then letters, digits or '-', at most 63 characters, not ending in '-'), got "Orders_v2"; ` +
		`spec.outputPorts[1].partitions: must be between 1 and 1000, got 0; ` +
		`spec.outputPorts[2].name: duplicate port name "orders"; ` +
		`spec.outputPorts[2].partitions: must be between 1 and 1000, got 1001; ` +
		`spec.outputPorts[2].format: unsupported format "json": only "avro" is supported; ` +
		`spec.outputPorts[3].name: is required`},
	{"schema-invalid.yaml", "spec.outputPorts[0].schema", `spec.outputPorts[0].schema: invalid Avro schema: avro: unknown type: strnig; ` +
		`spec.outputPorts[1].schema: must be an Avro record schema, got "array"; ` +
		`spec.outputPorts[2].schema: is required: a path to an .avsc file or an inline Avro schema; ` +
		`spec.outputPorts[3].schema: is required: a path to an .avsc file or an inline Avro schema`},
	{"schema-files.yaml", "spec.outputPorts[0].schema", `spec.outputPorts[0].schema: schema file "schemas/missing.avsc" does not exist; ` +
		`spec.outputPorts[1].schema: cannot read schema file "schemas": is a directory`},
	{"schema-broken-file.yaml", "spec.outputPorts[0].schema", `spec.outputPorts[0].schema: invalid Avro schema in "schemas/broken.avsc": avro: field requires a type; ` +
		`spec.outputPorts[1].schema: must be an Avro record schema in "schemas/list.avsc", got "array"`},
	{"inputs.yaml", "spec.inputs[1]", `spec.inputs[1]: must be a product id <domain>.<name> (lowercase DNS labels), got "marketing"; ` +
		`spec.inputs[2]: must be a product id <domain>.<name> (lowercase DNS labels), got "Marketing.campaigns"; ` +
		`spec.inputs[3]: must be a product id <domain>.<name> (lowercase DNS labels), got "marketing.campaigns.v1"; ` +
		`spec.inputs[4]: duplicate input "marketing.campaigns"; ` +
		`spec.inputs[5]: must not be the product itself`},
	{"ownership.yaml", "spec.ownership.developer", `spec.ownership.developer: must not be blank; ` +
		`spec.ownership.escalationPath[1]: must not be blank; ` +
		`spec.ownership.escalationPath[2]: duplicate entry "grace@example.com"; ` +
		`spec.ownership.escalationPath[3]: must be one line without control characters, got "line\nbreak"; ` +
		`spec.ownership.channel: must be mailto:<address>, slack:#<channel> or an https URL, got "#sales-data"`},
	{"ownership-types.yaml", "spec.ownership.escalationPath", `spec.ownership.escalationPath: expected a list, got string "sales-head@example.com"`},
	{"pii.yaml", "spec.security.piiFields[2]", `spec.security.piiFields[2]: "ssn" is not a top-level field of any output port schema; ` +
		`spec.security.piiFields[3]: duplicate field "email"; ` +
		`spec.security.piiFields[4]: must not be empty`},
}

func TestBadDescriptors(t *testing.T) {
	for _, tc := range badCases {
		t.Run(tc.file, func(t *testing.T) {
			file := filepath.Join("testdata", "bad", tc.file)
			d, err := product.ParseFile(file)
			if err == nil {
				err = d.Validate()
			}
			if err == nil {
				t.Fatal("no error")
			}
			if want := file + ": " + tc.want; err.Error() != want {
				t.Errorf("error:\n got %s\nwant %s", err, want)
			}
			if !errors.Is(err, product.ErrInvalid) {
				t.Errorf("errors.Is(%v, ErrInvalid) = false", err)
			}
			var verr *product.ValidationError
			var serr *product.SyntaxError
			switch {
			case errors.As(err, &verr):
				if verr.File != file {
					t.Errorf("File = %q, want %q", verr.File, file)
				}
				if got := verr.Path(); got != tc.path {
					t.Errorf("Path() = %q, want %q", got, tc.path)
				}
				if tc.path == "" {
					t.Errorf("a *ValidationError where a *SyntaxError was expected")
				}
			case errors.As(err, &serr):
				if serr.File != file {
					t.Errorf("File = %q, want %q", serr.File, file)
				}
				if tc.path != "" {
					t.Errorf("a *SyntaxError where a *ValidationError at %s was expected", tc.path)
				}
			default:
				t.Errorf("error is a %T, neither *ValidationError nor *SyntaxError", err)
			}
		})
	}
}

// TestBadCasesCoverTestdata keeps the table and testdata/bad in step.
func TestBadCasesCoverTestdata(t *testing.T) {
	entries, err := os.ReadDir(filepath.Join("testdata", "bad"))
	if err != nil {
		t.Fatal(err)
	}
	inTable := map[string]bool{}
	for _, tc := range badCases {
		inTable[tc.file] = true
	}
	for _, e := range entries {
		if !e.IsDir() && !inTable[e.Name()] {
			t.Errorf("testdata/bad/%s has no case in badCases", e.Name())
		}
		delete(inTable, e.Name())
	}
	for f := range inTable {
		t.Errorf("badCases names testdata/bad/%s, which does not exist", f)
	}
}

func TestEmptyDocuments(t *testing.T) {
	for _, doc := range []string{"", "   \n\t\n", "# only a comment\n", "---\n", "null\n", "~"} {
		_, err := product.Parse([]byte(doc))
		if !errors.Is(err, product.ErrEmpty) || !errors.Is(err, product.ErrInvalid) {
			t.Errorf("Parse(%q) = %v, want ErrEmpty", doc, err)
		}
		if err != nil && err.Error() != "empty document" {
			t.Errorf("Parse(%q) error = %q, want %q", doc, err, "empty document")
		}
	}
}

func TestValidateNil(t *testing.T) {
	var d *product.Descriptor
	if err := d.Validate(); err == nil || !strings.Contains(err.Error(), "no descriptor") {
		t.Errorf("Validate() on nil = %v", err)
	}
}

// TestValidateEdges checks the edges the bad files do not reach.
func TestValidateEdges(t *testing.T) {
	tests := []struct {
		name   string
		change func(*product.Descriptor)
		want   string // "" for valid
	}{
		{"availability 100", func(d *product.Descriptor) { d.Spec.SLA = &product.SLA{Availability: ptr(100.0)} }, ""},
		{"availability tiny", func(d *product.Descriptor) { d.Spec.SLA = &product.SLA{Availability: ptr(0.001)} }, ""},
		{"freshness days and hours", func(d *product.Descriptor) { d.Spec.SLA = &product.SLA{Freshness: "1d12h"} }, ""},
		{"freshness negative", func(d *product.Descriptor) { d.Spec.SLA = &product.SLA{Freshness: "-5m"} },
			`spec.sla.freshness: must be a positive duration such as "15m", "6h" or "1d", got "-5m"`},
		{"threshold 0 and 1", func(d *product.Descriptor) {
			d.Spec.Quality = []product.QualityObjective{
				{Dimension: "validity", Operator: "<=", Threshold: ptr(0.0)},
				{Dimension: "Accuracy", Operator: "<", Threshold: ptr(1.0)},
			}
		}, ""},
		{"volume huge", func(d *product.Descriptor) {
			d.Spec.Quality = []product.QualityObjective{{Dimension: "volume", Operator: ">=", Threshold: ptr(1e12)}}
		}, ""},
		{"retention bounds", func(d *product.Descriptor) { d.Spec.RetentionDays = product.MaxRetentionDays }, ""},
		{"partitions bounds", func(d *product.Descriptor) { d.Spec.OutputPorts[0].Partitions = product.MaxPartitions }, ""},
		{"format case", func(d *product.Descriptor) { d.Spec.OutputPorts[0].Format = "AVRO" }, ""},
		{"63-character name", func(d *product.Descriptor) { d.Metadata.Name = "a" + strings.Repeat("b", 62) }, ""},
		{"64-character name", func(d *product.Descriptor) { d.Metadata.Name = "a" + strings.Repeat("b", 63) },
			`metadata.name: must be a lowercase DNS label (a letter, then letters, digits or '-', at most 63 characters, not ending in '-'), got "a` + strings.Repeat("b", 63) + `"`},
		{"name starts with a digit", func(d *product.Descriptor) { d.Metadata.Name = "1orders" },
			`metadata.name: must be a lowercase DNS label (a letter, then letters, digits or '-', at most 63 characters, not ending in '-'), got "1orders"`},
		{"huge major version", func(d *product.Descriptor) { d.Spec.Version = "99999999999999999999.0.0" },
			`spec.version: major version is too large, got "99999999999999999999.0.0"`},
		{"semver leading zero", func(d *product.Descriptor) { d.Spec.Version = "01.0.0" },
			`spec.version: must be a semantic version MAJOR.MINOR.PATCH[-PRERELEASE][+BUILD] such as "2.1.0", got "01.0.0"`},
		{"unresolved schema path", func(d *product.Descriptor) { d.Spec.OutputPorts[0].Schema = "schemas/orders.avsc" },
			`spec.outputPorts[0].schema: schema file "schemas/orders.avsc" was not read: parse the descriptor with ParseFile or Load, or inline the schema`},
		{"pii not checked when a schema is broken", func(d *product.Descriptor) {
			d.Spec.OutputPorts[0].Schema = `{"type": "record"}`
			d.Spec.Security = &product.Security{PIIFields: []string{"nowhere"}}
		}, `spec.outputPorts[0].schema: invalid Avro schema: avro: non-empty name key required`},
		{"no defaults in code", func(d *product.Descriptor) { d.Spec.OutputPorts[0].Partitions, d.Spec.OutputPorts[0].Format = 0, "" },
			`spec.outputPorts[0].partitions: must be between 1 and 1000, got 0; spec.outputPorts[0].format: unsupported format "": only "avro" is supported`},
		{"SetDefaults", func(d *product.Descriptor) {
			d.Spec.OutputPorts[0].Partitions, d.Spec.OutputPorts[0].Format = 0, ""
			d.SetDefaults()
		}, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := minimal(t)
			tc.change(d)
			err := d.Validate()
			switch {
			case tc.want == "" && err != nil:
				t.Errorf("Validate() = %v, want nil", err)
			case tc.want != "" && (err == nil || err.Error() != tc.want):
				t.Errorf("Validate() =\n %v\nwant\n %s", err, tc.want)
			}
		})
	}
}

func ptr[T any](v T) *T { return &v }

// minimal returns a fresh valid descriptor.
func minimal(t *testing.T) *product.Descriptor {
	t.Helper()
	d, err := product.Parse([]byte(`
apiVersion: meshbone/v1
kind: DataProduct
metadata: {domain: sales, name: orders, owner: sales-team}
spec:
  version: 1.0.0
  sensitivity: internal
  retentionDays: 7
  outputPorts:
    - name: orders
      schema: {type: record, name: Order, fields: [{name: id, type: string}]}
`))
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Validate(); err != nil {
		t.Fatal(err)
	}
	return d
}
