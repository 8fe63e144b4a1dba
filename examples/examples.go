// Package examples holds the descriptors of the example mesh (see
// README.md), embedded so that meshctl dev can load them from any directory.
package examples

import (
	"embed"
	"fmt"
	"io/fs"
	"sort"

	"github.com/meshbone/meshbone/pkg/product"
)

// FS holds every descriptor (<domain>/<product>.yaml) and schema
// (<domain>/schemas/*.avsc) of the example mesh.
//
//go:embed */*.yaml */schemas/*.avsc
var FS embed.FS

// Files returns the paths of the descriptors in FS, sorted.
func Files() ([]string, error) {
	files, err := fs.Glob(FS, "*/*.yaml")
	sort.Strings(files)
	return files, err
}

// Descriptors parses and validates every example descriptor (schemas
// resolved) and returns them in lineage order: every product after the
// products it lists in its inputs.
func Descriptors() ([]*product.Descriptor, error) {
	files, err := Files()
	if err != nil {
		return nil, err
	}
	byID := map[string]*product.Descriptor{}
	var ids []string
	for _, f := range files {
		d, err := product.Load(FS, f)
		if err != nil {
			return nil, err
		}
		if err := d.Validate(); err != nil {
			return nil, err
		}
		byID[d.ID()] = d
		ids = append(ids, d.ID())
	}
	var (
		out  []*product.Descriptor
		done = map[string]bool{}
		seen = map[string]bool{}
	)
	var visit func(id string) error
	visit = func(id string) error {
		d, ok := byID[id]
		if !ok || done[id] {
			return nil // an input outside the examples, or done
		}
		if seen[id] {
			return fmt.Errorf("examples: lineage cycle through %s", id)
		}
		seen[id] = true
		for _, in := range d.Spec.Inputs {
			if err := visit(in); err != nil {
				return err
			}
		}
		done[id] = true
		out = append(out, d)
		return nil
	}
	for _, id := range ids {
		if err := visit(id); err != nil {
			return nil, err
		}
	}
	return out, nil
}
