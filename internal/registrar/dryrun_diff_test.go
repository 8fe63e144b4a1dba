package registrar

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
)

// record wraps Avro fields in a record named r.
func record(name string, fields ...string) string {
	return fmt.Sprintf(`{"type": "record", "name": %q, "namespace": "t", "fields": [%s]}`, name, strings.Join(fields, ", "))
}

// TestDiffSchemas: each kind of change, with the directions it breaks
// (BACKWARD: the new schema cannot read old data; FORWARD: the current
// schema cannot read new data), exactly; the directions broken as a whole
// agree with hamba/avro's check of the whole schemas.
func TestDiffSchemas(t *testing.T) {
	id, amount := `{"name": "id", "type": "string"}`, `{"name": "amount", "type": "int"}`
	lines := func(item string) string {
		return `{"name": "lines", "type": {"type": "array", "items": ` + record("Line", item) + `}}`
	}
	for _, c := range []struct {
		name, cur, next string
		want            []string // field change from->to [breaks]
		back, fwd       bool     // broken as a whole
	}{
		{"identical", record("R", id, amount), record("R", id, amount), nil, false, false},
		{"added with a default", record("R", id), record("R", id, `{"name": "note", "type": ["null", "string"], "default": null}`),
			[]string{"note ADDED ->null|string []"}, false, false},
		{"added without a default", record("R", id), record("R", id, amount),
			[]string{"amount ADDED ->int [BACKWARD]"}, true, false},
		{"removed with a default", record("R", id, `{"name": "amount", "type": "int", "default": 0}`), record("R", id),
			[]string{"amount REMOVED int-> []"}, false, false},
		{"removed without a default", record("R", id, amount), record("R", id),
			[]string{"amount REMOVED int-> [FORWARD]"}, false, true},
		{"int promoted to long", record("R", amount), record("R", `{"name": "amount", "type": "long"}`),
			[]string{"amount TYPE_CHANGED int->long [FORWARD]"}, false, true},
		{"string to int", record("R", `{"name": "amount", "type": "string"}`), record("R", amount),
			[]string{"amount TYPE_CHANGED string->int [BACKWARD FORWARD]"}, true, true},
		{"made nullable", record("R", amount), record("R", `{"name": "amount", "type": ["null", "int"], "default": null}`),
			[]string{"amount TYPE_CHANGED int->null|int [FORWARD]"}, false, true},
		{"inside a nullable union", record("R", `{"name": "amount", "type": ["null", "int"], "default": null}`), record("R", `{"name": "amount", "type": ["null", "string"], "default": null}`),
			[]string{"amount TYPE_CHANGED int->string [BACKWARD FORWARD]"}, true, true},
		{"inside an array of records", record("R", lines(amount)), record("R", lines(`{"name": "amount", "type": "string"}`)),
			[]string{"lines[].amount TYPE_CHANGED int->string [BACKWARD FORWARD]"}, true, true},
		{"logical type", record("R", `{"name": "at", "type": "long"}`), record("R", `{"name": "at", "type": {"type": "long", "logicalType": "timestamp-millis"}}`),
			[]string{"at TYPE_CHANGED long->long(timestamp-millis) []"}, false, false},
		{"renamed with an alias", record("R", amount), record("R", `{"name": "total", "aliases": ["amount"], "type": "int"}`),
			[]string{"amount RENAMED ->total [FORWARD]"}, false, true},
		{"enum symbol added", record("R", `{"name": "c", "type": {"type": "enum", "name": "C", "symbols": ["A"]}}`),
			record("R", `{"name": "c", "type": {"type": "enum", "name": "C", "symbols": ["A", "B"]}}`),
			[]string{"c TYPE_CHANGED t.C->t.C [FORWARD]"}, false, true},
		{"record renamed", record("R", id), record("S", id),
			[]string{" SCHEMA_CHANGED t.R->t.S [BACKWARD]", " SCHEMA_CHANGED t.R->t.S [FORWARD]"}, true, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			cur, err := parseSchema(c.cur)
			if err != nil {
				t.Fatal(err)
			}
			next, err := parseSchema(c.next)
			if err != nil {
				t.Fatal(err)
			}
			d := diffSchemas(cur, next)
			var got []string
			for _, ch := range d.changes {
				got = append(got, fmt.Sprintf("%s %s %s->%s %v", ch.Field, ch.Change, ch.From, ch.To, ch.Breaks))
				if ch.Reason == "" {
					t.Errorf("change %+v says not why", ch)
				}
			}
			if !reflect.DeepEqual(got, c.want) {
				t.Errorf("changes %q, want %q", got, c.want)
			}
			if d.broken[DirectionBackward] != c.back || d.broken[DirectionForward] != c.fwd {
				t.Errorf("broken BACKWARD %v FORWARD %v, want %v %v", d.broken[DirectionBackward], d.broken[DirectionForward], c.back, c.fwd)
			}
		})
	}
}
