package schemas_test

import (
	"os"
	"strings"
	"testing"

	"github.com/hamba/avro/v2"

	"github.com/meshbone/meshbone/schemas"
)

// TestContractsParse checks every embedded contract parses, lives in the
// io.meshbone.v1 namespace and documents every field.
func TestContractsParse(t *testing.T) {
	for _, name := range schemas.Records {
		t.Run(name, func(t *testing.T) {
			s, err := schemas.Parse(name)
			if err != nil {
				t.Fatal(err)
			}
			rec, ok := s.(*avro.RecordSchema)
			if !ok {
				t.Fatalf("%s is a %s, want a record", name, s.Type())
			}
			if rec.FullName() != "io.meshbone.v1."+name {
				t.Errorf("full name %q, want io.meshbone.v1.%s", rec.FullName(), name)
			}
			checkDocs(t, rec.FullName(), rec, map[string]bool{})
		})
	}
}

// checkDocs walks a record and its nested records, failing on any field
// without a doc and any optional union without a null default.
func checkDocs(t *testing.T, path string, rec *avro.RecordSchema, seen map[string]bool) {
	t.Helper()
	if seen[rec.FullName()] {
		return
	}
	seen[rec.FullName()] = true
	if rec.Doc() == "" {
		t.Errorf("%s: record has no doc", path)
	}
	for _, f := range rec.Fields() {
		fp := path + "." + f.Name()
		if strings.TrimSpace(f.Doc()) == "" {
			t.Errorf("%s: field has no doc", fp)
		}
		if u, ok := f.Type().(*avro.UnionSchema); ok {
			if !u.Nullable() || u.Types()[0].Type() != avro.Null {
				t.Errorf("%s: optional field must be [\"null\", T]", fp)
			}
			if !f.HasDefault() || f.Default() != nil {
				t.Errorf("%s: optional field must default to null", fp)
			}
		}
		for _, r := range nestedRecords(f.Type()) {
			checkDocs(t, fp, r, seen)
		}
	}
}

func nestedRecords(s avro.Schema) []*avro.RecordSchema {
	switch s := s.(type) {
	case *avro.RecordSchema:
		return []*avro.RecordSchema{s}
	case *avro.RefSchema:
		return nestedRecords(s.Schema())
	case *avro.ArraySchema:
		return nestedRecords(s.Items())
	case *avro.MapSchema:
		return nestedRecords(s.Values())
	case *avro.UnionSchema:
		var out []*avro.RecordSchema
		for _, t := range s.Types() {
			out = append(out, nestedRecords(t)...)
		}
		return out
	}
	return nil
}

// TestContractsBackwardCompatible checks each contract can read data written
// with its first committed version (testdata/v1): any edit that breaks a
// consumer on the new schema reading old records fails here.
func TestContractsBackwardCompatible(t *testing.T) {
	v1 := os.DirFS("avro/testdata/v1")
	compat := avro.NewSchemaCompatibility()
	for _, name := range schemas.Records {
		t.Run(name, func(t *testing.T) {
			old, err := schemas.ParseFS(v1, name)
			if err != nil {
				t.Fatal(err)
			}
			cur, err := schemas.Parse(name)
			if err != nil {
				t.Fatal(err)
			}
			if err := compat.Compatible(cur, old); err != nil {
				t.Errorf("%s is not BACKWARD compatible with testdata/v1: %v", name, err)
			}
		})
	}
}

// TestBackwardCheckCatches proves the compatibility check above can fail: a
// new required field without a default cannot read old data.
func TestBackwardCheckCatches(t *testing.T) {
	old := avro.MustParse(`{"type":"record","name":"R","fields":[{"name":"a","type":"string"}]}`)
	cur := avro.MustParse(`{"type":"record","name":"R","fields":[{"name":"a","type":"string"},{"name":"b","type":"string"}]}`)
	if err := avro.NewSchemaCompatibility().Compatible(cur, old); err == nil {
		t.Fatal("adding a required field was accepted as BACKWARD compatible")
	}
}

// TestFullKeepsDefaults checks the registered text keeps docs and defaults
// and parses back to the same canonical form.
func TestFullKeepsDefaults(t *testing.T) {
	for _, name := range schemas.Records {
		s := schemas.MustParse(name)
		full, err := schemas.Full(s)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(full, `"doc"`) || !strings.Contains(full, `"default"`) {
			t.Errorf("%s: full text lost docs or defaults: %.200s", name, full)
		}
		back, err := avro.Parse(full)
		if err != nil {
			t.Fatalf("%s: full text does not parse: %v", name, err)
		}
		if back.Fingerprint() != s.Fingerprint() {
			t.Errorf("%s: full text changed the schema", name)
		}
	}
}

// TestAccessEventTypes holds the symbols of the access contract's enums in
// order: a symbol may only be appended (consumers on an older contract
// resolve symbols by name; removing or renaming one breaks them).
func TestAccessEventTypes(t *testing.T) {
	s := schemas.MustParse(schemas.AccessEvent).(*avro.RecordSchema)
	want := map[string]string{
		"type":     "REQUESTED APPROVED REJECTED GRANTED REVOKED EXPIRED",
		"bindings": "TOPIC GROUP|LITERAL PREFIXED|READ DESCRIBE",
	}
	for _, f := range s.Fields() {
		switch f.Name() {
		case "type":
			if got := strings.Join(f.Type().(*avro.EnumSchema).Symbols(), " "); got != want["type"] {
				t.Errorf("AccessEventType symbols %s, want %s", got, want["type"])
			}
		case "bindings":
			var enums []string
			for _, bf := range f.Type().(*avro.ArraySchema).Items().(*avro.RecordSchema).Fields() {
				if e, ok := bf.Type().(*avro.EnumSchema); ok {
					enums = append(enums, strings.Join(e.Symbols(), " "))
				}
			}
			if got := strings.Join(enums, "|"); got != want["bindings"] {
				t.Errorf("AclBinding enums %s, want %s", got, want["bindings"])
			}
			if !f.HasDefault() {
				t.Error("bindings has no default")
			}
		}
	}
}

// TestNoticeTypes holds the symbols of the notice contract's enums in order:
// a symbol may only be appended.
func TestNoticeTypes(t *testing.T) {
	s := schemas.MustParse(schemas.Notice).(*avro.RecordSchema)
	got := map[string]string{}
	for _, f := range s.Fields() {
		switch f.Name() {
		case "type":
			got["type"] = strings.Join(f.Type().(*avro.EnumSchema).Symbols(), " ")
		case "recipient":
			for _, rf := range f.Type().(*avro.RecordSchema).Fields() {
				switch rt := rf.Type().(type) {
				case *avro.EnumSchema:
					got["recipient."+rf.Name()] = strings.Join(rt.Symbols(), " ")
				case *avro.UnionSchema:
					inner := rt.Types()[1]
					if ref, ok := inner.(*avro.RefSchema); ok {
						inner = ref.Schema()
					}
					if e, ok := inner.(*avro.EnumSchema); ok {
						got["recipient."+rf.Name()] = strings.Join(e.Symbols(), " ")
					}
				}
			}
		}
	}
	want := map[string]string{
		"type":                    "DEPRECATED RETIRED MAJOR_VERSION SUNSET_SOON",
		"recipient.type":          "AGREEMENT DOWNSTREAM_PRODUCT",
		"recipient.consumer_type": "TEAM APPLICATION DATA_PRODUCT",
	}
	for k, w := range want {
		if got[k] != w {
			t.Errorf("%s symbols %q, want %q", k, got[k], w)
		}
	}
	full, err := schemas.Full(s)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(full, `"symbols":["TEAM","APPLICATION","DATA_PRODUCT"]`) {
		t.Errorf("the registered Notice text does not define ConsumerType itself: %.300s", full)
	}
}
