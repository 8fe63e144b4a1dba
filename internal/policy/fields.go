package policy

import (
	"fmt"
	"reflect"
	"sync/atomic"

	"cel.dev/cel-go/cel"
	"cel.dev/cel-go/common/types"
)

// Reading a field of a native Go value in CEL boxes it anew at every read
// (a string, a nested struct, a list wrapper). The product and the event
// are read by most policies, the same fields again and again, so a Product
// made by ProductView (shared by the events of one descriptor) and the
// Event of a Vars keep each field as a CEL value once read, for every
// later read: the environment's type provider (fieldCache) reads their
// fields through the cache. Caches fill as fields are read (boxing every
// field up front costs more than the reads it saves), atomically: events
// of one view may be judged on several goroutines.

// cachedType is a struct type whose fields CEL reads through a cache.
type cachedType struct {
	name   string   // its CEL name
	fields []string // its CEL field names in struct order
	// cache returns obj's cache, by position in fields, or nil when obj
	// is not of the type or has none.
	cache func(obj any) []atomic.Value
}

var cachedTypes = []cachedType{
	{name: celType(Product{}).String(), fields: celFields(reflect.TypeFor[Product]()), cache: func(obj any) []atomic.Value {
		if p, ok := obj.(*Product); ok {
			return p.cel
		}
		return nil
	}},
	{name: celType(Event{}).String(), fields: celFields(reflect.TypeFor[Event]()), cache: func(obj any) []atomic.Value {
		if e, ok := obj.(*Event); ok {
			return e.cel[:]
		}
		return nil
	}},
}

func celFields(t reflect.Type) []string {
	var out []string
	for i := range t.NumField() {
		if name := t.Field(i).Tag.Get("cel"); name != "" {
			out = append(out, name)
		}
	}
	return out
}

// fieldCache is a type provider that reads the fields of the cachedTypes
// through their caches and everything else as its provider does.
type fieldCache struct {
	types.Provider
	fields map[string]map[string]*types.FieldType // type name -> field name -> field
}

// cacheFields is the EnvOption that installs a fieldCache over the
// environment's provider (which must know the cachedTypes).
func cacheFields(e *cel.Env) (*cel.Env, error) {
	fc := &fieldCache{Provider: e.CELTypeProvider(), fields: map[string]map[string]*types.FieldType{}}
	adapter := e.CELTypeAdapter()
	for _, t := range cachedTypes {
		fc.fields[t.name] = map[string]*types.FieldType{}
		for i, name := range t.fields {
			ft, ok := fc.Provider.FindStructFieldType(t.name, name)
			if !ok {
				return nil, fmt.Errorf("policy: CEL type %s has no field %s", t.name, name)
			}
			get, cacheOf := ft.GetFrom, t.cache
			cached := *ft
			cached.GetFrom = func(obj any) (any, error) {
				c := cacheOf(obj)
				if c == nil {
					return get(obj)
				}
				if v := c[i].Load(); v != nil {
					return v, nil
				}
				v, err := get(obj)
				if err != nil {
					return nil, err
				}
				// What the interpreter makes of the getter's value.
				val := adapter.NativeToValue(v)
				c[i].Store(val)
				return val, nil
			}
			fc.fields[t.name][name] = &cached
		}
	}
	return cel.CustomTypeProvider(fc)(e)
}

func (fc *fieldCache) FindStructFieldType(structType, fieldName string) (*types.FieldType, bool) {
	if ft, ok := fc.fields[structType][fieldName]; ok {
		return ft, true
	}
	return fc.Provider.FindStructFieldType(structType, fieldName)
}

// withCache gives p a field cache. p must not change after.
func (p *Product) withCache() {
	p.cel = make([]atomic.Value, len(cachedTypes[0].fields))
}

// eventFields is the number of Event's CEL fields (the size of its cache);
// a test holds it to the struct.
const eventFields = 17
