package product

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// The document is decoded in two steps. First YAML (or JSON) becomes a tree of
// map[string]any, []any, string, json.Number, bool and nil. Then decodeValue
// walks the tree and the Go type together, so that every unknown field and
// every value of the wrong type is reported with its path, all of them, not
// just the first as encoding/json would.

// maxDepth bounds the nesting of a document (inline schemas included), so
// that hostile input cannot exhaust the stack.
const maxDepth = 100

// readJSON reads one JSON value into a tree, numbers as json.Number. Unlike
// encoding/json it rejects duplicate keys and nesting deeper than maxDepth.
func readJSON(data []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	v, err := readJSONValue(dec, "", 0)
	if err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("json: unexpected data after the top-level value")
	}
	return v, nil
}

func readJSONValue(dec *json.Decoder, path string, depth int) (any, error) {
	if depth > maxDepth {
		return nil, fmt.Errorf("json: nesting deeper than %d levels", maxDepth)
	}
	tok, err := dec.Token()
	if err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return nil, fmt.Errorf("json: %w", trimJSONPrefix(err))
	}
	delim, ok := tok.(json.Delim)
	if !ok {
		return tok, nil // string, json.Number, bool or nil
	}
	switch delim {
	case '{':
		m := map[string]any{}
		for dec.More() {
			tok, err := dec.Token()
			if err != nil {
				return nil, fmt.Errorf("json: %w", trimJSONPrefix(err))
			}
			key, _ := tok.(string) // the decoder only yields strings here
			if _, dup := m[key]; dup {
				return nil, fmt.Errorf("json: duplicate key %q in %s", key, orTop(path))
			}
			v, err := readJSONValue(dec, fieldPath(path, key), depth+1)
			if err != nil {
				return nil, err
			}
			m[key] = v
		}
		if _, err := dec.Token(); err != nil {
			return nil, fmt.Errorf("json: %w", trimJSONPrefix(err))
		}
		return m, nil
	default: // '['
		l := []any{}
		for i := 0; dec.More(); i++ {
			v, err := readJSONValue(dec, indexPath(path, i), depth+1)
			if err != nil {
				return nil, err
			}
			l = append(l, v)
		}
		if _, err := dec.Token(); err != nil {
			return nil, fmt.Errorf("json: %w", trimJSONPrefix(err))
		}
		return l, nil
	}
}

// trimJSONPrefix drops encoding/json's own "json: " so that it is not doubled.
func trimJSONPrefix(err error) error {
	if msg, ok := strings.CutPrefix(err.Error(), "json: "); ok {
		return errors.New(msg)
	}
	return err
}

func orTop(path string) string {
	if path == "" {
		return "the top-level mapping"
	}
	return path
}

// decodeValue decodes tree value v into rv, adding a problem for every value
// that does not fit. tag is the field's `product` struct tag.
func decodeValue(v any, rv reflect.Value, path, tag string, probs *problems) {
	if v == nil {
		return // null (or an empty YAML value) leaves the zero value
	}
	if tag == "jsontext" && rv.Kind() == reflect.String {
		decodeJSONText(v, rv, path, probs)
		return
	}
	switch rv.Kind() {
	case reflect.Pointer:
		elem := reflect.New(rv.Type().Elem())
		before := len(*probs)
		decodeValue(v, elem.Elem(), path, tag, probs)
		if len(*probs) == before {
			rv.Set(elem)
		}
	case reflect.Struct:
		m, ok := v.(map[string]any)
		if !ok {
			probs.add(path, "expected a mapping, got %s", describe(v))
			return
		}
		decodeStruct(m, rv, path, probs)
	case reflect.Slice:
		l, ok := v.([]any)
		if !ok {
			probs.add(path, "expected a list, got %s", describe(v))
			return
		}
		s := reflect.MakeSlice(rv.Type(), len(l), len(l))
		for i, e := range l {
			decodeValue(e, s.Index(i), indexPath(path, i), "", probs)
		}
		rv.Set(s)
	case reflect.Map: // map[string]T
		m, ok := v.(map[string]any)
		if !ok {
			probs.add(path, "expected a mapping, got %s", describe(v))
			return
		}
		out := reflect.MakeMapWithSize(rv.Type(), len(m))
		for _, k := range sortedKeys(m) {
			e := reflect.New(rv.Type().Elem()).Elem()
			decodeValue(m[k], e, fieldPath(path, k), "", probs)
			out.SetMapIndex(reflect.ValueOf(k).Convert(rv.Type().Key()), e)
		}
		rv.Set(out)
	case reflect.String:
		s, ok := v.(string)
		if !ok {
			probs.add(path, "expected a string, got %s", describe(v))
			return
		}
		rv.SetString(s)
	case reflect.Bool:
		b, ok := v.(bool)
		if !ok {
			probs.add(path, "expected true or false, got %s", describe(v))
			return
		}
		rv.SetBool(b)
	case reflect.Int:
		n, ok := v.(json.Number)
		if !ok {
			probs.add(path, "expected an integer, got %s", describe(v))
			return
		}
		i, ok := toInt(n)
		if !ok {
			probs.add(path, "expected an integer, got %s", describe(v))
			return
		}
		rv.SetInt(int64(i))
	case reflect.Float64:
		n, ok := v.(json.Number)
		if !ok {
			probs.add(path, "expected a number, got %s", describe(v))
			return
		}
		f, err := strconv.ParseFloat(n.String(), 64)
		if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
			probs.add(path, "expected a number, got %s (out of range)", describe(v))
			return
		}
		rv.SetFloat(f)
	default:
		// Unreachable for the types of this package; reported, not panicked.
		probs.add(path, "cannot decode into %s", rv.Type())
	}
}

// decodeStruct decodes mapping m into struct rv: first it reports the
// unknown keys, sorted, then it decodes the known fields in declaration
// order.
func decodeStruct(m map[string]any, rv reflect.Value, path string, probs *problems) {
	t := rv.Type()
	known := make([]string, 0, t.NumField())
	for i := range t.NumField() {
		if name := jsonName(t.Field(i)); name != "" {
			known = append(known, name)
		}
	}
	for _, k := range sortedKeys(m) {
		if !slices.Contains(known, k) {
			probs.add(fieldPath(path, k), "%s", unknownField(k, known))
		}
	}
	for i := range t.NumField() {
		f := t.Field(i)
		name := jsonName(f)
		if v, ok := m[name]; ok && name != "" {
			decodeValue(v, rv.Field(i), fieldPath(path, name), f.Tag.Get("product"), probs)
		}
	}
}

// decodeJSONText accepts a string as it is and turns a mapping or a list into
// its JSON text.
func decodeJSONText(v any, rv reflect.Value, path string, probs *problems) {
	switch v := v.(type) {
	case string:
		rv.SetString(v)
	case map[string]any, []any:
		text, err := marshalJSON(v)
		if err != nil {
			probs.add(path, "cannot convert to JSON: %v", err)
			return
		}
		rv.SetString(string(text))
	default:
		probs.add(path, "expected an Avro schema (a file path, JSON text or a mapping), got %s", describe(v))
	}
}

// marshalJSON is json.Marshal without HTML escaping: the text is for people
// and registries, not for web pages.
func marshalJSON(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

func jsonName(f reflect.StructField) string {
	if !f.IsExported() {
		return ""
	}
	name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
	if name == "-" {
		return ""
	}
	if name == "" {
		return f.Name
	}
	return name
}

// toInt converts a number to an int if it is integral and fits in 53 bits
// ("6", "6.0" and "6e0" are all 6).
func toInt(n json.Number) (int, bool) {
	if i, err := strconv.ParseInt(n.String(), 10, 64); err == nil {
		if i < -1<<53 || i > 1<<53 {
			return 0, false
		}
		return int(i), true
	}
	f, err := strconv.ParseFloat(n.String(), 64)
	if err != nil || f != math.Trunc(f) || f < -1<<53 || f > 1<<53 {
		return 0, false
	}
	return int(f), true
}

// unknownField says that key is not a field, suggesting the closest known one.
func unknownField(key string, known []string) string {
	best, bestDist := "", 3
	for _, k := range known {
		if strings.EqualFold(k, key) {
			best = k
			break
		}
		if d := editDistance(strings.ToLower(k), strings.ToLower(key)); d < bestDist && d < len(k)/2 {
			best, bestDist = k, d
		}
	}
	if best != "" {
		return fmt.Sprintf("unknown field (did you mean %q?)", best)
	}
	sorted := slices.Clone(known)
	slices.Sort(sorted)
	return "unknown field; expected one of " + strings.Join(sorted, ", ")
}

// editDistance is the Levenshtein distance between a and b, for field names.
func editDistance(a, b string) int {
	if len(a) > 64 || len(b) > 64 {
		return max(len(a), len(b))
	}
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// describe names the kind of a tree value, and shows it if it is a scalar.
func describe(v any) string {
	switch v := v.(type) {
	case nil:
		return "null"
	case string:
		return "string " + quote(v)
	case json.Number:
		return "number " + truncate(v.String())
	case bool:
		return "boolean " + strconv.FormatBool(v)
	case []any:
		return "a list"
	case map[string]any:
		return "a mapping"
	default:
		return fmt.Sprintf("%T", v)
	}
}

// maxShown is how many characters of a value an error message shows.
const maxShown = 64

func truncate(s string) string {
	if utf8.RuneCountInString(s) <= maxShown {
		return s
	}
	return string([]rune(s)[:maxShown]) + "..."
}

// quote quotes a value for an error message, shortening a long one.
func quote(s string) string { return strconv.Quote(truncate(s)) }

// simpleKey matches map keys that can be shown as ".key" in a path.
var simpleKey = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)

func fieldPath(parent, key string) string {
	if !simpleKey.MatchString(key) {
		return parent + "[" + quote(key) + "]"
	}
	if parent == "" {
		return key
	}
	return parent + "." + key
}

func indexPath(parent string, i int) string { return parent + "[" + strconv.Itoa(i) + "]" }

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
