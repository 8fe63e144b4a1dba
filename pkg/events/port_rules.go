package events

import (
	"errors"
	"fmt"
	"math/big"
	"reflect"
	"strings"
	"sync"
	"time"

	"cel.dev/cel-go/cel"
	"cel.dev/cel-go/common/types"
	"cel.dev/cel-go/common/types/ref"
	"cel.dev/cel-go/ext"
	"cel.dev/cel-go/interpreter"
	"github.com/hamba/avro/v2"
)

// RuleEnv is the CEL environment in which the rules over one port's records
// are compiled: every top-level field of the port's Avro record schema is a
// variable, typed as its Avro type reads in CEL (string and enum: string;
// int and long: int; float and double: double; boolean: bool; bytes and
// fixed: bytes; timestamps and dates: timestamp; arrays: lists; maps and
// records: maps; an optional ["null", T]: a nullable T, null when absent).
// Ints and doubles compare with each other, so "amount >= 0" works on a
// double amount. The ext.Strings functions are there too.
type RuleEnv struct {
	env    *cel.Env
	fields map[string]bool
}

// NewRuleEnv returns the rule environment of records of schema, which must
// be an Avro record schema.
func NewRuleEnv(schema avro.Schema) (*RuleEnv, error) {
	rec, ok := unref(schema).(*avro.RecordSchema)
	if !ok {
		return nil, fmt.Errorf("events: rules need an Avro record schema, got %s", schema.Type())
	}
	opts := []cel.EnvOption{cel.CrossTypeNumericComparisons(true), ext.Strings()}
	fields := make(map[string]bool, len(rec.Fields()))
	for _, f := range rec.Fields() {
		fields[f.Name()] = true
		opts = append(opts, cel.Variable(f.Name(), celType(f.Type(), 0)))
	}
	env, err := cel.NewEnv(opts...)
	if err != nil {
		return nil, fmt.Errorf("events: rule environment: %w", err)
	}
	return &RuleEnv{env: env, fields: fields}, nil
}

// celType is the CEL type of values of an Avro schema.
func celType(s avro.Schema, depth int) *cel.Type {
	if depth > 32 {
		return cel.DynType
	}
	s = unref(s)
	if l, ok := s.(avro.LogicalTypeSchema); ok && l.Logical() != nil {
		switch l.Logical().Type() {
		case avro.Date, avro.TimestampMillis, avro.TimestampMicros, avro.LocalTimestampMillis, avro.LocalTimestampMicros:
			return cel.TimestampType
		case avro.TimeMillis, avro.TimeMicros:
			return cel.DurationType
		case avro.Decimal:
			return cel.DynType
		}
	}
	switch s := s.(type) {
	case *avro.PrimitiveSchema:
		switch s.Type() {
		case avro.String:
			return cel.StringType
		case avro.Int, avro.Long:
			return cel.IntType
		case avro.Float, avro.Double:
			return cel.DoubleType
		case avro.Boolean:
			return cel.BoolType
		case avro.Bytes:
			return cel.BytesType
		case avro.Null:
			return cel.NullType
		}
	case *avro.EnumSchema:
		return cel.StringType
	case *avro.FixedSchema:
		return cel.BytesType
	case *avro.ArraySchema:
		return cel.ListType(celType(s.Items(), depth+1))
	case *avro.MapSchema:
		return cel.MapType(cel.StringType, celType(s.Values(), depth+1))
	case *avro.RecordSchema:
		return cel.MapType(cel.StringType, cel.DynType)
	case *avro.UnionSchema:
		if s.Nullable() && len(s.Types()) == 2 {
			i := 0
			if unref(s.Types()[0]).Type() == avro.Null {
				i = 1
			}
			switch t := celType(s.Types()[i], depth+1); t {
			case cel.StringType, cel.IntType, cel.DoubleType, cel.BoolType, cel.BytesType:
				return cel.NullableType(t)
			}
		}
	}
	return cel.DynType
}

func unref(s avro.Schema) avro.Schema {
	for {
		r, ok := s.(*avro.RefSchema)
		if !ok {
			return s
		}
		s = r.Schema()
	}
}

// RuleCompileError says why a rule does not compile: one or more problems,
// each at a line and column (from 1) of the rule's text.
type RuleCompileError struct {
	Issues []RuleIssue
}

// RuleIssue is one problem of a rule that does not compile.
type RuleIssue struct {
	Line, Column int
	Message      string
}

// Error returns the issues as "<line>:<column>: <message>", joined by "; ".
func (e *RuleCompileError) Error() string {
	msgs := make([]string, len(e.Issues))
	for i, is := range e.Issues {
		msgs[i] = fmt.Sprintf("%d:%d: %s", is.Line, is.Column, is.Message)
	}
	return strings.Join(msgs, "; ")
}

// Rule is a compiled CEL rule over a port's records. It is safe for
// concurrent use.
type Rule struct {
	// Source is the rule's text.
	Source string
	prg    cel.Program
	fields map[string]bool
	native *nativeRule // nil when the rule has a shape only CEL evaluates
}

// Compile compiles and type-checks a rule, which must be a bool expression
// over the record's fields. The error is a *RuleCompileError.
func (e *RuleEnv) Compile(rule string) (*Rule, error) {
	if strings.TrimSpace(rule) == "" {
		return nil, &RuleCompileError{Issues: []RuleIssue{{Line: 1, Column: 1, Message: "empty rule"}}}
	}
	ast, iss := e.env.Compile(rule)
	if iss.Err() != nil {
		out := &RuleCompileError{}
		for _, is := range iss.Errors() {
			out.Issues = append(out.Issues, RuleIssue{Line: is.Location.Line(), Column: is.Location.Column() + 1, Message: is.Message})
		}
		return nil, out
	}
	if t := ast.OutputType(); t != cel.BoolType && t != cel.DynType {
		return nil, &RuleCompileError{Issues: []RuleIssue{{Line: 1, Column: 1, Message: "must be a bool expression, this one is " + t.String()}}}
	}
	prg, err := e.env.Program(ast, cel.EvalOptions(cel.OptOptimize))
	if err != nil {
		return nil, &RuleCompileError{Issues: []RuleIssue{{Line: 1, Column: 1, Message: err.Error()}}}
	}
	return &Rule{Source: rule, prg: prg, fields: e.fields, native: compileNative(ast.NativeRep().Expr())}, nil
}

// Eval evaluates the rule over a record: a map[string]any keyed by the Avro
// field names (as hamba/avro encodes), or a Go struct or pointer to one whose
// fields carry avro tags (or the Avro names). A field the map leaves out
// reads as null. It returns the rule's verdict, or an error when the rule
// cannot be evaluated on this record (a null where a value is needed, say),
// which a writer counts as the rule failing.
func (r *Rule) Eval(record any) (bool, error) {
	if r.native != nil {
		if verdict, ok := r.native.evalRecord(record); ok {
			return verdict, nil
		}
	}
	return r.evalCEL(record)
}

// evalCEL evaluates the rule with CEL's interpreter.
func (r *Rule) evalCEL(record any) (bool, error) {
	var act interpreter.Activation
	switch v := record.(type) {
	case map[string]any:
		act = mapActivation{m: v, fields: r.fields}
	default:
		sa, err := newStructActivation(record)
		if err != nil {
			return false, err
		}
		act = sa
	}
	out, _, err := r.prg.Eval(act)
	if err != nil {
		return false, err
	}
	b, ok := out.(types.Bool)
	if !ok {
		return false, fmt.Errorf("the rule gave %s, not a bool", out.Type())
	}
	return bool(b), nil
}

// mapActivation reads a generic record's fields; a declared field the map
// does not hold is null.
type mapActivation struct {
	m      map[string]any
	fields map[string]bool
}

func (a mapActivation) ResolveName(name string) (any, bool) {
	if v, ok := a.m[name]; ok {
		switch v := v.(type) {
		case nil:
			return types.NullValue, true
		case *big.Rat: // a decimal, as hamba/avro decodes it
			f, _ := v.Float64()
			return types.Double(f), true
		}
		return v, true
	}
	if a.fields[name] {
		return types.NullValue, true
	}
	return nil, false
}

func (mapActivation) Parent() interpreter.Activation { return nil }

// structActivation reads a typed record's fields by their Avro names,
// converting only the fields a rule reads.
type structActivation struct {
	v      reflect.Value
	fields map[string][]int
}

func newStructActivation(record any) (*structActivation, error) {
	v := reflect.ValueOf(record)
	for v.Kind() == reflect.Pointer {
		if v.IsNil() {
			return nil, errors.New("a nil record")
		}
		v = v.Elem()
	}
	if v.Kind() != reflect.Struct {
		return nil, fmt.Errorf("a record must be a map[string]any or a struct, got %T", record)
	}
	return &structActivation{v: v, fields: structFields(v.Type())}, nil
}

func (a *structActivation) ResolveName(name string) (any, bool) {
	idx, ok := a.fields[name]
	if !ok {
		return nil, false
	}
	f, err := a.v.FieldByIndexErr(idx)
	if err != nil { // a field of a nil embedded struct
		return types.NullValue, true
	}
	return celValue(f, 0), true
}

func (*structActivation) Parent() interpreter.Activation { return nil }

// fieldIndexes caches structFields per struct type.
var fieldIndexes sync.Map // reflect.Type -> map[string][]int

// structFields maps the Avro names of a struct's fields (the avro tag, else
// the field name, as hamba/avro matches them; embedded structs' fields
// included) to their indexes.
func structFields(t reflect.Type) map[string][]int {
	if m, ok := fieldIndexes.Load(t); ok {
		return m.(map[string][]int)
	}
	m := map[string][]int{}
	for _, f := range reflect.VisibleFields(t) {
		if !f.IsExported() || f.Anonymous && f.Type.Kind() == reflect.Struct {
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("avro"), ",")
		if name == "-" {
			continue
		}
		if name == "" {
			name = f.Name
		}
		if _, dup := m[name]; !dup {
			m[name] = f.Index
		}
	}
	fieldIndexes.Store(t, m)
	return m
}

var (
	timeType     = reflect.TypeFor[time.Time]()
	durationType = reflect.TypeFor[time.Duration]()
	bytesType    = reflect.TypeFor[[]byte]()
	ratType      = reflect.TypeFor[big.Rat]()
)

// celValue converts a field of a typed record to the CEL value a rule reads.
func celValue(v reflect.Value, depth int) ref.Val {
	if depth > 32 {
		return types.NewErr("record nested too deeply")
	}
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if v.IsNil() {
			return types.NullValue
		}
		return celValue(v.Elem(), depth+1)
	}
	switch v.Type() {
	case timeType:
		return types.Timestamp{Time: v.Interface().(time.Time)}
	case durationType:
		return types.Duration{Duration: time.Duration(v.Int())}
	case bytesType:
		return types.Bytes(v.Bytes())
	case ratType:
		f, _ := v.Addr().Interface().(*big.Rat).Float64()
		return types.Double(f)
	}
	switch v.Kind() {
	case reflect.String:
		return types.String(v.String())
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return types.Int(v.Int())
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return types.Int(int64(v.Uint()))
	case reflect.Float32, reflect.Float64:
		return types.Double(v.Float())
	case reflect.Bool:
		return types.Bool(v.Bool())
	case reflect.Slice, reflect.Array:
		vals := make([]ref.Val, v.Len())
		for i := range vals {
			vals[i] = celValue(v.Index(i), depth+1)
		}
		return types.NewRefValList(types.DefaultTypeAdapter, vals)
	case reflect.Map:
		m := make(map[ref.Val]ref.Val, v.Len())
		for it := v.MapRange(); it.Next(); {
			m[types.String(fmt.Sprint(it.Key().Interface()))] = celValue(it.Value(), depth+1)
		}
		return types.NewRefValMap(types.DefaultTypeAdapter, m)
	case reflect.Struct:
		fields := structFields(v.Type())
		m := make(map[ref.Val]ref.Val, len(fields))
		for name, idx := range fields {
			if f, err := v.FieldByIndexErr(idx); err == nil {
				m[types.String(name)] = celValue(f, depth+1)
			} else {
				m[types.String(name)] = types.NullValue
			}
		}
		return types.NewRefValMap(types.DefaultTypeAdapter, m)
	}
	return types.DefaultTypeAdapter.NativeToValue(v.Interface())
}
