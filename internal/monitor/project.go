package monitor

import (
	"context"
	"regexp"
	"sync"

	"github.com/hamba/avro/v2"
)

// A port's records are decoded with a projection of their schema: the
// fields the port's measures read (its completeness and uniqueness columns
// and every field a rule names), the others skipped by hamba's schema
// resolution instead of decoded into the map.

// identifier matches what can be a field name in a CEL rule; a rule's
// needed fields are the schema fields among the identifiers in its text (a
// string literal that happens to name one keeps it: harmless).
var identifier = regexp.MustCompile(`[A-Za-z_][A-Za-z0-9_]*`)

// needed returns the names of the fields the measures of c read.
func (c *portConf) needed() map[string]bool {
	n := map[string]bool{}
	for _, col := range c.cols {
		n[col] = true
	}
	for _, col := range c.uniq {
		n[col] = true
	}
	for _, r := range c.ruleText {
		for _, id := range identifier.FindAllString(r, -1) {
			n[id] = true
		}
	}
	return n
}

// projections caches the resolved reader schema of each port
// configuration and writer schema id.
type projections struct {
	m sync.Map // projKey -> avro.Schema
}

type projKey struct {
	conf *portConf
	id   int
}

// schema returns the schema to decode records of schema id on the port of
// c with: the writer's schema projected on the fields c needs, or the
// writer's schema itself when it is not a record or the projection does
// not resolve.
func (s *Service) schema(ctx context.Context, c *portConf, id int) (avro.Schema, error) {
	k := projKey{c, id}
	if v, ok := s.proj.m.Load(k); ok {
		return v.(avro.Schema), nil
	}
	writer, err := s.dec.Schema(ctx, id)
	if err != nil {
		return nil, err
	}
	sch := project(writer, c.needed())
	s.proj.m.Store(k, sch)
	return sch, nil
}

// project returns writer resolved against a reader schema of its needed
// fields, or writer when that cannot be done.
func project(writer avro.Schema, need map[string]bool) avro.Schema {
	rec, ok := unrefSchema(writer).(*avro.RecordSchema)
	if !ok {
		return writer
	}
	var fields []*avro.Field
	for _, f := range rec.Fields() {
		if !need[f.Name()] {
			continue
		}
		var opts []avro.SchemaOption
		if f.HasDefault() {
			opts = append(opts, avro.WithDefault(f.Default()))
		}
		nf, err := avro.NewField(f.Name(), f.Type(), opts...)
		if err != nil {
			return writer
		}
		fields = append(fields, nf)
	}
	if len(fields) == len(rec.Fields()) {
		return writer
	}
	reader, err := avro.NewRecordSchema(rec.Name(), rec.Namespace(), fields)
	if err != nil {
		return writer
	}
	resolved, err := avro.NewSchemaCompatibility().Resolve(reader, writer)
	if err != nil {
		return writer
	}
	return resolved
}

func unrefSchema(s avro.Schema) avro.Schema {
	for {
		r, ok := s.(*avro.RefSchema)
		if !ok {
			return s
		}
		s = r.Schema()
	}
}
