package examples_test

import (
	"context"
	"net/http"
	"path/filepath"
	"slices"
	"testing"

	"github.com/meshbone/meshbone/examples"
	"github.com/meshbone/meshbone/internal/registrar"
	"github.com/meshbone/meshbone/internal/registrar/registrartest"
	"github.com/meshbone/meshbone/internal/testkit"
	"github.com/meshbone/meshbone/pkg/events"
	"github.com/meshbone/meshbone/pkg/product"
)

func TestExamplesParseAndValidate(t *testing.T) {
	files, err := examples.Files()
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != 5 {
		t.Fatalf("%d example descriptors: %v", len(files), files)
	}
	for _, f := range files {
		// From disk too: the schema paths resolve relative to the file.
		d, err := product.ParseFile(filepath.FromSlash(f))
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		if err := d.Validate(); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		if want := d.Metadata.Domain + "/" + d.Metadata.Name + ".yaml"; f != want {
			t.Errorf("%s holds %s, want it in %s", f, d.ID(), want)
		}
		for _, p := range d.Spec.OutputPorts {
			rec, _ := p.AvroSchema()
			if rec.Doc() == "" {
				t.Errorf("%s port %s: schema without doc", f, p.Name)
			}
			for _, fld := range rec.Fields() {
				if fld.Doc() == "" {
					t.Errorf("%s port %s: field %s without doc", f, p.Name, fld.Name())
				}
			}
		}
	}

	ds, err := examples.Descriptors()
	if err != nil {
		t.Fatal(err)
	}
	pos := map[string]int{}
	for i, d := range ds {
		pos[d.ID()] = i
	}
	for _, d := range ds {
		for _, in := range d.Spec.Inputs {
			if p, ok := pos[in]; !ok || p > pos[d.ID()] {
				t.Errorf("%s reads %s, which is not an example listed before it", d.ID(), in)
			}
		}
	}
	// The one product that breaks a global policy (encryption-at-rest).
	var breakers []string
	for _, d := range ds {
		if d.Spec.Sensitivity != "public" && (d.Spec.Security == nil || !d.Spec.Security.EncryptionAtRest) {
			breakers = append(breakers, d.ID())
		}
	}
	if !slices.Equal(breakers, []string{"product.usage-feedback"}) {
		t.Fatalf("products without encryption at rest: %v, want only product.usage-feedback", breakers)
	}
}

func TestExamplesRegister(t *testing.T) {
	env := testkit.New(t)
	t.Logf("examples on %s", env.Backend)
	url, tokens := registrartest.Start(t, env, "sales", "marketing", "finance", "product")
	ctx := context.Background()

	ds, err := examples.Descriptors()
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range ds {
		cl := &registrar.Client{URL: url, Token: tokens[d.Metadata.Domain]}
		res, err := cl.Apply(ctx, d)
		if err != nil {
			t.Fatalf("%s: %v", d.ID(), err)
		}
		if res.Type != events.LifecycleRegistered || len(res.Ports) != len(d.Spec.OutputPorts) {
			t.Fatalf("%s: %+v", d.ID(), res)
		}
	}
	// Another domain's token may not touch them.
	cl := &registrar.Client{URL: url, Token: tokens["product"]}
	if _, err := cl.Apply(ctx, ds[0]); err == nil {
		t.Fatalf("product's token registered %s", ds[0].ID())
	} else if ae, ok := err.(*registrar.APIError); !ok || ae.Status != http.StatusForbidden {
		t.Fatalf("cross-domain apply: %v", err)
	}
	list, err := cl.List(ctx)
	if err != nil || len(list) != len(ds) {
		t.Fatalf("list: %d products, %v", len(list), err)
	}
}
