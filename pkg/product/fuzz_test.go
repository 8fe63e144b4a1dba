package product_test

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/meshbone/meshbone/pkg/product"
)

// FuzzParse feeds arbitrary documents through Parse, Validate, ToEvent and
// Canonical, which must never panic. Errors must match ErrInvalid, and a valid
// descriptor must survive a round trip through its canonical form.
//
//	go test -fuzz=FuzzParse ./pkg/product
func FuzzParse(f *testing.F) {
	for _, pattern := range []string{"testdata/good/*.*", "testdata/bad/*.*"} {
		files, err := filepath.Glob(pattern)
		if err != nil {
			f.Fatal(err)
		}
		for _, file := range files {
			data, err := os.ReadFile(file)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(data)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		d, err := product.Parse(data)
		if err != nil {
			if !errors.Is(err, product.ErrInvalid) {
				t.Fatalf("Parse error %v does not match ErrInvalid", err)
			}
			return
		}
		canon, canonErr := d.Canonical()
		if err := d.Validate(); err != nil {
			if !errors.Is(err, product.ErrInvalid) {
				t.Fatalf("Validate error %v does not match ErrInvalid", err)
			}
			return
		}
		e := d.ToEvent()
		if e.ID != d.ID() || len(e.OutputPorts) != len(d.Spec.OutputPorts) {
			t.Fatalf("ToEvent: id %q, %d ports", e.ID, len(e.OutputPorts))
		}
		for i, p := range e.OutputPorts {
			if p.Topic != d.PortTopic(d.Spec.OutputPorts[i].Name) || len(p.Fields) == 0 && len(d.Spec.OutputPorts[i].Fields()) != 0 {
				t.Fatalf("ToEvent: port %d = %+v", i, p)
			}
		}
		if canonErr != nil {
			t.Fatalf("Canonical of a valid descriptor: %v", canonErr)
		}
		back, err := product.Parse(canon)
		if err != nil {
			t.Fatalf("Parse(Canonical()): %v\n%s", err, canon)
		}
		if err := back.Validate(); err != nil {
			t.Fatalf("Validate(Parse(Canonical())): %v\n%s", err, canon)
		}
		if !back.Equal(d) {
			again, _ := back.Canonical()
			t.Fatalf("round trip differs:\n%s\n%s", canon, again)
		}
	})
}
