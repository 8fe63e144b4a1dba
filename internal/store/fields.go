package store

import (
	"strings"

	"github.com/hamba/avro/v2"
)

// Field is one top-level field of an output port's schema.
type Field struct {
	Name string `json:"name"`
	Type string `json:"type,omitempty"`
	Doc  string `json:"doc,omitempty"`
}

// SchemaFields returns the top-level fields of an Avro record schema, with
// readable types ("string", "long (timestamp-millis)", "null | string",
// "array<string>"). A schema that does not parse, or is not a record, has
// no fields.
func SchemaFields(text string) []Field {
	s, err := avro.ParseWithCache(text, "", &avro.SchemaCache{})
	if err != nil {
		return []Field{}
	}
	rec, ok := s.(*avro.RecordSchema)
	if !ok {
		return []Field{}
	}
	out := make([]Field, 0, len(rec.Fields()))
	for _, f := range rec.Fields() {
		out = append(out, Field{Name: f.Name(), Type: typeName(f.Type()), Doc: f.Doc()})
	}
	return out
}

func typeName(s avro.Schema) string {
	switch t := s.(type) {
	case *avro.RecordSchema:
		return t.Name()
	case *avro.EnumSchema:
		return "enum " + t.Name()
	case *avro.FixedSchema:
		if l := t.Logical(); l != nil {
			return "fixed (" + string(l.Type()) + ")"
		}
		return "fixed " + t.Name()
	case *avro.ArraySchema:
		return "array<" + typeName(t.Items()) + ">"
	case *avro.MapSchema:
		return "map<" + typeName(t.Values()) + ">"
	case *avro.UnionSchema:
		parts := make([]string, 0, len(t.Types()))
		for _, m := range t.Types() {
			parts = append(parts, typeName(m))
		}
		return strings.Join(parts, " | ")
	case *avro.RefSchema:
		return t.Schema().Name()
	case *avro.PrimitiveSchema:
		if l := t.Logical(); l != nil {
			return string(t.Type()) + " (" + string(l.Type()) + ")"
		}
		return string(t.Type())
	}
	return string(s.Type())
}
