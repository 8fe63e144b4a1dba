package product

import (
	"errors"
	"fmt"
	"strings"

	"github.com/hamba/avro/v2"
)

// ErrNotRecord is the cause of the error from OutputPort.AvroSchema for a
// schema that parses but is not an Avro record.
var ErrNotRecord = errors.New("not an Avro record schema")

// AvroSchema parses the port's schema. It uses a schema cache of its own, so
// that named types from other schemas (or hamba/avro's global cache) never
// leak in. The error is hamba/avro's, or wraps ErrNotRecord.
func (p OutputPort) AvroSchema() (*avro.RecordSchema, error) {
	s, err := avro.ParseWithCache(p.Schema, "", &avro.SchemaCache{})
	if err != nil {
		return nil, err
	}
	rec, ok := s.(*avro.RecordSchema)
	if !ok {
		return nil, fmt.Errorf("%w: got %s", ErrNotRecord, quote(string(s.Type())))
	}
	return rec, nil
}

// Fields returns the top-level field names of the port's schema, or nil if
// the schema is not a valid record schema.
func (p OutputPort) Fields() []string {
	rec, err := p.AvroSchema()
	if err != nil {
		return nil
	}
	names := make([]string, len(rec.Fields()))
	for i, f := range rec.Fields() {
		names[i] = f.Name()
	}
	return names
}

// isInlineSchema tells schema text (JSON: an object, a union or a quoted
// type name) from a path to a schema file.
func isInlineSchema(s string) bool {
	s = strings.TrimSpace(s)
	return s != "" && strings.ContainsRune(`{["`, rune(s[0]))
}

// canonicalJSON rewrites JSON text compactly with sorted keys, so that two
// texts of the same schema compare equal. Text that is not JSON is returned
// trimmed.
func canonicalJSON(text string) string {
	tree, err := readJSON([]byte(text))
	if err != nil {
		return strings.TrimSpace(text)
	}
	out, err := marshalJSON(tree)
	if err != nil {
		return strings.TrimSpace(text)
	}
	return string(out)
}
