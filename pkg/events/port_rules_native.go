package events

import (
	"math"
	"reflect"
	"strings"
	"sync/atomic"
	"unicode/utf8"

	celast "cel.dev/cel-go/common/ast"
	celops "cel.dev/cel-go/common/operators"
	"cel.dev/cel-go/common/types"
)

// Contract rules run on every record a PortWriter writes, so the common
// shapes of rule (comparisons of fields with constants, size() of a string,
// membership in a list of constants, startsWith/endsWith/contains, joined by
// &&, || and !) are also compiled into Go closures that read the record's
// fields directly, without CEL's interpreter. Anything else, and any record
// on which the closures meet what CEL would not take as it is (a null where
// a value is needed, a value of an unexpected type, an int beyond 2^53 next
// to a double), is evaluated by the CEL program: the closures either agree
// with CEL or step aside. TestNativeRulesAgreeWithCEL checks that on many
// records.

// nval is a value the native evaluator computes: null, bool, int, double or
// string.
type nval struct {
	kind nkind
	b    bool
	i    int64
	f    float64
	s    string
}

type nkind uint8

const (
	nNull nkind = iota
	nBool
	nInt
	nDouble
	nString
)

// nexpr evaluates a sub-expression over a record; ok false means "ask CEL".
type nexpr func(rec nrecord) (v nval, ok bool)

// nrecord reads the fields a rule refers to, by slot. It is passed by
// value, so that evaluating a rule allocates nothing.
type nrecord struct {
	m     map[string]any // a generic record, or
	v     reflect.Value  // a typed one (a struct)
	index [][]int        // slot -> field index of v's type
	names []string       // slot -> field name
}

func (r nrecord) field(slot int) (nval, bool) {
	if r.m != nil {
		x, ok := r.m[r.names[slot]]
		if !ok {
			return nval{kind: nNull}, true
		}
		return nativeOf(x)
	}
	idx := r.index[slot]
	if idx == nil {
		return nval{}, false
	}
	if len(idx) == 1 {
		return nativeField(r.v.Field(idx[0]))
	}
	f, err := r.v.FieldByIndexErr(idx) // through a nil embedded pointer: CEL decides
	if err != nil {
		return nval{}, false
	}
	return nativeField(f)
}

func nativeOf(x any) (nval, bool) {
	switch x := x.(type) {
	case nil:
		return nval{kind: nNull}, true
	case string:
		return nval{kind: nString, s: x}, true
	case float64:
		return nval{kind: nDouble, f: x}, true
	case float32:
		return nval{kind: nDouble, f: float64(x)}, true
	case int:
		return nval{kind: nInt, i: int64(x)}, true
	case int64:
		return nval{kind: nInt, i: x}, true
	case int32:
		return nval{kind: nInt, i: int64(x)}, true
	case bool:
		return nval{kind: nBool, b: x}, true
	}
	return nval{}, false
}

func nativeField(f reflect.Value) (nval, bool) {
	if f.Kind() == reflect.Pointer {
		if f.IsNil() {
			return nval{kind: nNull}, true
		}
		f = f.Elem()
	}
	switch f.Kind() {
	case reflect.String:
		return nval{kind: nString, s: f.String()}, true
	case reflect.Float32, reflect.Float64:
		return nval{kind: nDouble, f: f.Float()}, true
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32:
		return nval{kind: nInt, i: f.Int()}, true
	case reflect.Int64:
		if f.Type() == durationType {
			return nval{}, false
		}
		return nval{kind: nInt, i: f.Int()}, true
	case reflect.Bool:
		return nval{kind: nBool, b: f.Bool()}, true
	}
	return nval{}, false
}

// nativeRule is a rule compiled to closures.
type nativeRule struct {
	eval  nexpr
	names []string
	// typed caches the slot indexes of the last struct type seen.
	typed atomic.Pointer[typedSlots]
}

type typedSlots struct {
	t     reflect.Type
	index [][]int
}

// eval returns the rule's verdict, or ok false when CEL must decide.
func (n *nativeRule) evalRecord(record any) (verdict, ok bool) {
	rec := nrecord{names: n.names}
	switch x := record.(type) {
	case map[string]any:
		rec.m = x
		if x == nil {
			return false, false
		}
	default:
		v := reflect.ValueOf(record)
		if v.Kind() == reflect.Pointer {
			if v.IsNil() {
				return false, false
			}
			v = v.Elem()
		}
		if v.Kind() != reflect.Struct {
			return false, false
		}
		ts := n.typed.Load()
		if ts == nil || ts.t != v.Type() {
			fields := structFields(v.Type())
			ts = &typedSlots{t: v.Type(), index: make([][]int, len(n.names))}
			for i, name := range n.names {
				ts.index[i] = fields[name]
			}
			n.typed.Store(ts)
		}
		rec.v, rec.index = v, ts.index
	}
	out, ok := n.eval(rec)
	if !ok || out.kind != nBool {
		return false, false
	}
	return out.b, true
}

// compileNative compiles a checked rule to closures, or returns nil when
// the rule uses anything the closures do not cover.
func compileNative(e celast.Expr) *nativeRule {
	n := &nativeRule{}
	slots := map[string]int{}
	var comp func(e celast.Expr) nexpr
	comp = func(e celast.Expr) nexpr {
		switch e.Kind() {
		case celast.LiteralKind:
			v, ok := literal(e)
			if !ok {
				return nil
			}
			return func(nrecord) (nval, bool) { return v, true }
		case celast.IdentKind:
			name := e.AsIdent()
			slot, seen := slots[name]
			if !seen {
				slot = len(n.names)
				slots[name] = slot
				n.names = append(n.names, name)
			}
			return func(r nrecord) (nval, bool) { return r.field(slot) }
		case celast.CallKind:
			return compileCall(e.AsCall(), comp)
		}
		return nil
	}
	if n.eval = comp(e); n.eval == nil {
		return nil
	}
	return n
}

func literal(e celast.Expr) (nval, bool) {
	switch v := e.AsLiteral().(type) {
	case types.Bool:
		return nval{kind: nBool, b: bool(v)}, true
	case types.Int:
		return nval{kind: nInt, i: int64(v)}, true
	case types.Double:
		return nval{kind: nDouble, f: float64(v)}, true
	case types.String:
		return nval{kind: nString, s: string(v)}, true
	case types.Null:
		return nval{kind: nNull}, true
	}
	return nval{}, false
}

func compileCall(c celast.CallExpr, comp func(celast.Expr) nexpr) nexpr {
	args := c.Args()
	if c.IsMemberFunction() {
		args = append([]celast.Expr{c.Target()}, args...)
	}
	subs := make([]nexpr, len(args))
	for i, a := range args {
		if c.FunctionName() == celops.In && i == 1 {
			break // the list, compiled below
		}
		if subs[i] = comp(a); subs[i] == nil {
			return nil
		}
	}
	switch fn := c.FunctionName(); {
	case fn == celops.LogicalAnd && len(subs) == 2:
		l, r := subs[0], subs[1]
		return func(rec nrecord) (nval, bool) {
			a, ok := l(rec)
			if !ok || a.kind != nBool {
				return nval{}, false
			}
			if !a.b {
				return a, true
			}
			b, ok := r(rec)
			return b, ok && b.kind == nBool
		}
	case fn == celops.LogicalOr && len(subs) == 2:
		l, r := subs[0], subs[1]
		return func(rec nrecord) (nval, bool) {
			a, ok := l(rec)
			if !ok || a.kind != nBool {
				return nval{}, false
			}
			if a.b {
				return a, true
			}
			b, ok := r(rec)
			return b, ok && b.kind == nBool
		}
	case fn == celops.LogicalNot && len(subs) == 1:
		x := subs[0]
		return func(rec nrecord) (nval, bool) {
			a, ok := x(rec)
			return nval{kind: nBool, b: !a.b}, ok && a.kind == nBool
		}
	case fn == celops.Negate && len(subs) == 1:
		x := subs[0]
		return func(rec nrecord) (nval, bool) {
			a, ok := x(rec)
			switch {
			case ok && a.kind == nDouble:
				return nval{kind: nDouble, f: -a.f}, true
			case ok && a.kind == nInt && a.i != math.MinInt64:
				return nval{kind: nInt, i: -a.i}, true
			}
			return nval{}, false
		}
	case (fn == celops.Equals || fn == celops.NotEquals) && len(subs) == 2:
		l, r, negate := subs[0], subs[1], fn == celops.NotEquals
		return func(rec nrecord) (nval, bool) {
			a, ok1 := l(rec)
			b, ok2 := r(rec)
			eq, ok := equal(a, b)
			return nval{kind: nBool, b: eq != negate}, ok1 && ok2 && ok
		}
	case isOrdering(fn) && len(subs) == 2:
		l, r := subs[0], subs[1]
		want := orderingTest(fn)
		return func(rec nrecord) (nval, bool) {
			a, ok1 := l(rec)
			b, ok2 := r(rec)
			c, ok := compare(a, b)
			return nval{kind: nBool, b: want(c)}, ok1 && ok2 && ok
		}
	case fn == "size" && len(subs) == 1:
		x := subs[0]
		return func(rec nrecord) (nval, bool) {
			a, ok := x(rec)
			return nval{kind: nInt, i: int64(utf8.RuneCountInString(a.s))}, ok && a.kind == nString
		}
	case (fn == "startsWith" || fn == "endsWith" || fn == "contains") && len(subs) == 2 && c.IsMemberFunction():
		l, r := subs[0], subs[1]
		test := map[string]func(string, string) bool{"startsWith": strings.HasPrefix, "endsWith": strings.HasSuffix, "contains": strings.Contains}[fn]
		return func(rec nrecord) (nval, bool) {
			a, ok1 := l(rec)
			b, ok2 := r(rec)
			return nval{kind: nBool, b: test(a.s, b.s)}, ok1 && ok2 && a.kind == nString && b.kind == nString
		}
	case fn == celops.In && len(args) == 2 && args[1].Kind() == celast.ListKind:
		var list []nval
		for _, el := range args[1].AsList().Elements() {
			if el.Kind() != celast.LiteralKind {
				return nil
			}
			v, ok := literal(el)
			if !ok {
				return nil
			}
			list = append(list, v)
		}
		x := subs[0]
		return func(rec nrecord) (nval, bool) {
			a, ok := x(rec)
			if !ok {
				return nval{}, false
			}
			for _, el := range list {
				eq, ok := equal(a, el)
				if !ok {
					return nval{}, false
				}
				if eq {
					return nval{kind: nBool, b: true}, true
				}
			}
			return nval{kind: nBool}, true
		}
	}
	return nil
}

// exactInt is the largest int a double holds exactly, and so the largest
// int compared with a double here.
const exactInt = 1 << 53

func numeric(a nval) (float64, bool) {
	switch a.kind {
	case nDouble:
		return a.f, true
	case nInt:
		return float64(a.i), a.i >= -exactInt && a.i <= exactInt
	}
	return 0, false
}

// equal is CEL's equality: numbers by value across int and double (NaN
// equals nothing), other values of one kind by value, values of different
// kinds never.
func equal(a, b nval) (bool, bool) {
	if a.kind == nInt && b.kind == nInt {
		return a.i == b.i, true
	}
	if (a.kind == nInt || a.kind == nDouble) && (b.kind == nInt || b.kind == nDouble) {
		x, ok1 := numeric(a)
		y, ok2 := numeric(b)
		return x == y, ok1 && ok2
	}
	if a.kind != b.kind {
		return false, true
	}
	switch a.kind {
	case nNull:
		return true, true
	case nBool:
		return a.b == b.b, true
	case nString:
		return a.s == b.s, true
	}
	return false, false
}

// compare orders two numbers or two strings: -1, 0 or 1; ok false for
// anything CEL would not order, and for NaN (CEL's answer is false for
// every test, which the CEL program gives).
func compare(a, b nval) (int, bool) {
	if a.kind == nString && b.kind == nString {
		return strings.Compare(a.s, b.s), true
	}
	if a.kind == nInt && b.kind == nInt {
		switch {
		case a.i < b.i:
			return -1, true
		case a.i > b.i:
			return 1, true
		}
		return 0, true
	}
	x, ok1 := numeric(a)
	y, ok2 := numeric(b)
	if !ok1 || !ok2 || math.IsNaN(x) || math.IsNaN(y) {
		return 0, false
	}
	switch {
	case x < y:
		return -1, true
	case x > y:
		return 1, true
	}
	return 0, true
}

func isOrdering(fn string) bool {
	return fn == celops.Less || fn == celops.LessEquals || fn == celops.Greater || fn == celops.GreaterEquals
}

func orderingTest(fn string) func(int) bool {
	switch fn {
	case celops.Less:
		return func(c int) bool { return c < 0 }
	case celops.LessEquals:
		return func(c int) bool { return c <= 0 }
	case celops.Greater:
		return func(c int) bool { return c > 0 }
	}
	return func(c int) bool { return c >= 0 }
}
