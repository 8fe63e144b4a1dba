package product

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"reflect"
	"strings"

	goyaml "go.yaml.in/yaml/v2"
	"sigs.k8s.io/yaml"
)

// Parse decodes a descriptor from YAML or JSON. Decoding is strict: an
// unknown field, a value of the wrong type, a duplicate key or a second YAML
// document is an error. An inline schema given as a YAML mapping becomes JSON
// text; a schema given as a file path is left as it is (Validate reports it),
// since Parse has no file to resolve it against: use ParseFile or Load.
//
// Ports without a format or partition count get DefaultFormat and
// DefaultPartitions, quality objectives without an operator
// DefaultOperator, contract rules without an onFailure DefaultOnFailure.
// Parse does not validate: call Validate.
//
// The error is a *SyntaxError for a document that is not well-formed or is
// empty (errors.Is(err, ErrEmpty)), and a *ValidationError listing every
// unknown field and wrongly typed value. Both match ErrInvalid.
func Parse(data []byte) (*Descriptor, error) {
	return parse(data, "", nil)
}

// ParseFile reads and decodes the descriptor file at path, as Parse does, and
// replaces every port schema given as a file path (relative to the
// descriptor's directory, or absolute) by the file's contents, so that the
// descriptor it returns is self-contained. Errors name the file.
//
// An unreadable descriptor file gives the *fs.PathError of os.ReadFile; an
// unreadable schema file is a problem in the *ValidationError.
func ParseFile(path string) (*Descriptor, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	dir := filepath.Dir(path)
	return parse(data, path, func(ref string) ([]byte, error) {
		p := filepath.FromSlash(ref)
		if !filepath.IsAbs(p) {
			p = filepath.Join(dir, p)
		}
		return os.ReadFile(p)
	})
}

// Load is ParseFile on a file system: it reads the descriptor name from fsys
// and resolves schema paths relative to name's directory, which must stay
// inside fsys.
func Load(fsys fs.FS, name string) (*Descriptor, error) {
	data, err := fs.ReadFile(fsys, name)
	if err != nil {
		return nil, err
	}
	dir := path.Dir(name)
	return parse(data, name, func(ref string) ([]byte, error) {
		if path.IsAbs(ref) {
			return nil, errors.New("must be relative to the descriptor")
		}
		p := path.Join(dir, ref)
		if !fs.ValidPath(p) {
			return nil, errors.New("leads outside the file system")
		}
		return fs.ReadFile(fsys, p)
	})
}

// parse decodes data; file names the document in errors and read, if not
// nil, reads the schema files the document refers to.
func parse(data []byte, file string, read func(ref string) ([]byte, error)) (*Descriptor, error) {
	tree, err := parseTree(data)
	if err != nil {
		return nil, &SyntaxError{File: file, Err: err}
	}
	setTreeDefaults(tree)

	d := &Descriptor{source: file}
	var probs problems
	decodeStruct(tree, reflect.ValueOf(d).Elem(), "", &probs)
	if len(probs) > 0 {
		return nil, probs.err(file)
	}
	if read != nil {
		resolveSchemas(d, read, &probs)
		if len(probs) > 0 {
			return nil, probs.err(file)
		}
	}
	return d, nil
}

// parseTree turns a YAML or JSON document into a tree (see readJSON) whose
// top is a mapping.
func parseTree(data []byte) (map[string]any, error) {
	trimmed := bytes.TrimSpace(data)
	if len(trimmed) == 0 {
		return nil, ErrEmpty
	}
	var (
		tree any
		err  error
	)
	if trimmed[0] == '{' && json.Valid(trimmed) {
		// JSON as such: YAML parsers disagree with JSON on details (tabs,
		// escapes), and readJSON rejects duplicate keys.
		tree, err = readJSON(trimmed)
	} else {
		tree, err = readYAML(data)
	}
	if err != nil {
		return nil, err
	}
	switch t := tree.(type) {
	case nil:
		return nil, ErrEmpty
	case map[string]any:
		return t, nil
	default:
		return nil, fmt.Errorf("the document must be a mapping, got %s", describe(t))
	}
}

// readYAML converts one YAML document to a tree, rejecting duplicate keys and
// further documents.
func readYAML(data []byte) (any, error) {
	if err := singleDocument(data); err != nil {
		return nil, err
	}
	j, err := yaml.YAMLToJSONStrict(data)
	if err != nil {
		return nil, cleanYAMLError(err)
	}
	return readJSON(j)
}

// singleDocument reports an error if data holds more than one non-empty YAML
// document.
func singleDocument(data []byte) error {
	dec := goyaml.NewDecoder(bytes.NewReader(data))
	for n := 0; ; n++ {
		var v any
		err := dec.Decode(&v)
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return cleanYAMLError(err)
		}
		if n > 0 && v != nil {
			return errors.New("yaml: a descriptor is a single document, found a second one")
		}
	}
}

// cleanYAMLError puts the YAML parser's multi-line errors on one line.
func cleanYAMLError(err error) error {
	msg := err.Error()
	if !strings.Contains(msg, "\n") {
		return err
	}
	lines := strings.Split(msg, "\n")
	for i := range lines {
		lines[i] = strings.TrimSpace(lines[i])
	}
	return errors.New(lines[0] + " " + strings.Join(lines[1:], "; "))
}

// setTreeDefaults gives ports without a format or partition count,
// quality objectives without an operator and rules without an onFailure the
// defaults. It works on the tree, not the struct, so that an explicit
// "partitions: 0" stays an error.
func setTreeDefaults(tree map[string]any) {
	spec, _ := tree["spec"].(map[string]any)
	quality, _ := spec["quality"].([]any)
	for _, q := range quality {
		if q, ok := q.(map[string]any); ok && q["operator"] == nil {
			q["operator"] = DefaultOperator
		}
	}
	ports, _ := spec["outputPorts"].([]any)
	for _, p := range ports {
		port, ok := p.(map[string]any)
		if !ok {
			continue
		}
		if port["format"] == nil {
			port["format"] = DefaultFormat
		}
		if port["partitions"] == nil {
			port["partitions"] = json.Number(fmt.Sprint(DefaultPartitions))
		}
		rules, _ := port["rules"].([]any)
		for _, r := range rules {
			if r, ok := r.(map[string]any); ok && r["onFailure"] == nil {
				r["onFailure"] = DefaultOnFailure
			}
		}
	}
}

// resolveSchemas replaces every port schema given as a path by the file's
// contents.
func resolveSchemas(d *Descriptor, read func(string) ([]byte, error), probs *problems) {
	for i := range d.Spec.OutputPorts {
		p := &d.Spec.OutputPorts[i]
		ref := strings.TrimSpace(p.Schema)
		if ref == "" || isInlineSchema(ref) {
			continue
		}
		path := fmt.Sprintf("spec.outputPorts[%d].schema", i)
		data, err := read(ref)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			probs.add(path, "schema file %s does not exist", quote(ref))
			continue
		case err != nil:
			var pe *fs.PathError
			if errors.As(err, &pe) {
				err = pe.Err // the joined path would repeat the directory
			}
			probs.add(path, "cannot read schema file %s: %v", quote(ref), err)
			continue
		}
		p.Schema = string(data)
		p.schemaFile = ref
	}
}
