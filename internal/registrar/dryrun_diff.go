package registrar

import (
	"slices"
	"strings"

	"github.com/hamba/avro/v2"
)

// Compatibility directions a schema change can break.
const (
	// DirectionBackward: the new schema cannot read data written with the
	// current one (consumers that upgrade cannot read the topic's history).
	DirectionBackward = "BACKWARD"
	// DirectionForward: the current schema cannot read data written with
	// the new one (consumers still on the current schema break).
	DirectionForward = "FORWARD"
)

// Kinds of field change.
const (
	ChangeAdded   = "ADDED"
	ChangeRemoved = "REMOVED"
	ChangeType    = "TYPE_CHANGED"
	// ChangeRenamed: a new field names the current one among its aliases.
	ChangeRenamed = "RENAMED"
	// ChangeSchema: the schemas differ in a way no field names (a record
	// renamed, a schema that is not a record).
	ChangeSchema = "SCHEMA_CHANGED"
)

// FieldChange is one difference between a port's current schema and the
// new one, found locally with hamba/avro.
type FieldChange struct {
	// Field is the field's path: "amount", "address.city"; empty for the
	// schema as a whole.
	Field  string `json:"field"`
	Change string `json:"change"`
	// From and To are the field's type before and after ("" when the
	// field is added or removed).
	From string `json:"from,omitempty"`
	To   string `json:"to,omitempty"`
	// Default says whether the added or removed field has a default.
	Default bool `json:"default"`
	// Breaks lists the directions the change breaks: BACKWARD, FORWARD.
	Breaks []string `json:"breaks"`
	// Reason says why, in words.
	Reason string `json:"reason"`
}

// schemaDiff compares the current schema with the new one: the field
// changes, and which directions break as a whole (from hamba/avro's check of
// the whole schemas, so that a break no field explains still counts).
type schemaDiff struct {
	changes []FieldChange
	broken  map[string]bool // direction -> broken
}

// diffSchemas compares two parsed schemas.
func diffSchemas(cur, next avro.Schema) schemaDiff {
	d := schemaDiff{broken: map[string]bool{}}
	compat := avro.NewSchemaCompatibility()
	backErr := compat.Compatible(next, cur)
	fwdErr := compat.Compatible(cur, next)
	d.broken[DirectionBackward] = backErr != nil
	d.broken[DirectionForward] = fwdErr != nil
	d.compare("", cur, next, compat)
	// A break no field change explains (a renamed record, say) is named
	// for the schema as a whole.
	for _, w := range []struct {
		dir string
		err error
	}{{DirectionBackward, backErr}, {DirectionForward, fwdErr}} {
		dir, err := w.dir, w.err
		if err == nil || slices.ContainsFunc(d.changes, func(c FieldChange) bool { return slices.Contains(c.Breaks, dir) }) {
			continue
		}
		d.changes = append(d.changes, FieldChange{Change: ChangeSchema, From: typeName(cur), To: typeName(next),
			Breaks: []string{dir}, Reason: err.Error()})
	}
	slices.SortStableFunc(d.changes, func(a, b FieldChange) int { return strings.Compare(a.Field, b.Field) })
	return d
}

// compare adds the changes between cur and next at path.
func (d *schemaDiff) compare(path string, cur, next avro.Schema, compat *avro.SchemaCompatibility) {
	cur, next = deref(cur), deref(next)
	cr, ok1 := cur.(*avro.RecordSchema)
	nr, ok2 := next.(*avro.RecordSchema)
	if ok1 && ok2 {
		d.compareRecords(path, cr, nr, compat)
		return
	}
	// Into arrays, maps and nullable unions, so that a change inside
	// names its field: lines[].sku, totals{}.amount.
	switch c := cur.(type) {
	case *avro.ArraySchema:
		if n, ok := next.(*avro.ArraySchema); ok {
			d.compare(path+"[]", c.Items(), n.Items(), compat)
			return
		}
	case *avro.MapSchema:
		if n, ok := next.(*avro.MapSchema); ok {
			d.compare(path+"{}", c.Values(), n.Values(), compat)
			return
		}
	case *avro.UnionSchema:
		if n, ok := next.(*avro.UnionSchema); ok && c.Nullable() && n.Nullable() && len(c.Types()) == 2 && len(n.Types()) == 2 {
			d.compare(path, nonNull(c), nonNull(n), compat)
			return
		}
	}
	if cur.String() == next.String() {
		return
	}
	c := FieldChange{Field: path, Change: ChangeType, From: typeName(cur), To: typeName(next), Breaks: []string{}}
	var why []string
	if err := compat.Compatible(next, cur); err != nil {
		c.Breaks = append(c.Breaks, DirectionBackward)
		why = append(why, "the new type cannot read "+c.From+" data")
	}
	if err := compat.Compatible(cur, next); err != nil {
		c.Breaks = append(c.Breaks, DirectionForward)
		why = append(why, "readers of "+c.From+" cannot read "+c.To+" data")
	}
	if len(why) == 0 {
		why = append(why, "either type reads the other's data")
	}
	c.Reason = strings.Join(why, "; ")
	if path == "" {
		c.Change = ChangeSchema
	}
	d.changes = append(d.changes, c)
}

// compareRecords pairs the fields of two records by name, or by a new
// field's alias naming a current field (a rename).
func (d *schemaDiff) compareRecords(path string, cur, next *avro.RecordSchema, compat *avro.SchemaCompatibility) {
	prefix := ""
	if path != "" {
		prefix = path + "."
	}
	matched := map[string]bool{} // names of next's fields paired
	for _, f := range cur.Fields() {
		nf := fieldOf(next, f.Name())
		if nf == nil {
			d.add(FieldChange{Field: prefix + f.Name(), Change: ChangeRemoved, From: typeName(f.Type()), Default: f.HasDefault()}, DirectionForward,
				"removed; readers of the current schema fill in its default",
				"removed without a default: readers of the current schema cannot read new records")
			continue
		}
		matched[nf.Name()] = true
		if nf.Name() != f.Name() {
			renamed := "renamed to " + nf.Name() + " (an alias keeps the new schema reading old data); readers of the current schema "
			d.add(FieldChange{Field: prefix + f.Name(), Change: ChangeRenamed, To: nf.Name(), Default: f.HasDefault()}, DirectionForward,
				renamed+"fill in the old field's default",
				renamed+"find no "+f.Name()+" in new records")
		}
		d.compare(prefix+nf.Name(), f.Type(), nf.Type(), compat)
	}
	for _, nf := range next.Fields() {
		if !matched[nf.Name()] {
			d.add(FieldChange{Field: prefix + nf.Name(), Change: ChangeAdded, To: typeName(nf.Type()), Default: nf.HasDefault()}, DirectionBackward,
				"added with a default",
				"added without a default: the new schema cannot read the records already written")
		}
	}
}

// add appends a change of a field that breaks dir unless it has a default,
// with the reason of either case.
func (d *schemaDiff) add(c FieldChange, dir, withDefault, without string) {
	c.Breaks, c.Reason = []string{}, withDefault
	if !c.Default {
		c.Breaks, c.Reason = []string{dir}, without
	}
	d.changes = append(d.changes, c)
}

// fieldOf returns the field of r named name, or whose alias is name.
func fieldOf(r *avro.RecordSchema, name string) *avro.Field {
	for _, f := range r.Fields() {
		if f.Name() == name {
			return f
		}
	}
	for _, f := range r.Fields() {
		if slices.Contains(f.Aliases(), name) {
			return f
		}
	}
	return nil
}

// nonNull returns the other member of a nullable union of two.
func nonNull(u *avro.UnionSchema) avro.Schema {
	for _, m := range u.Types() {
		if m.Type() != avro.Null {
			return m
		}
	}
	return u
}

func deref(s avro.Schema) avro.Schema {
	if r, ok := s.(*avro.RefSchema); ok {
		return r.Schema()
	}
	return s
}

// typeName names a type shortly: string, long(timestamp-millis),
// null|string, array<double>, map<string>, or a named type's full name.
func typeName(s avro.Schema) string {
	s = deref(s)
	switch t := s.(type) {
	case avro.NamedSchema:
		return t.FullName()
	case *avro.UnionSchema:
		names := make([]string, len(t.Types()))
		for i, m := range t.Types() {
			names[i] = typeName(m)
		}
		return strings.Join(names, "|")
	case *avro.ArraySchema:
		return "array<" + typeName(t.Items()) + ">"
	case *avro.MapSchema:
		return "map<" + typeName(t.Values()) + ">"
	case *avro.PrimitiveSchema:
		if lt := t.Logical(); lt != nil {
			return string(t.Type()) + "(" + string(lt.Type()) + ")"
		}
		return string(t.Type())
	}
	return string(s.Type())
}
