package examples_test

import (
	"context"
	"net/http"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/meshbone/meshbone/examples"
	"github.com/meshbone/meshbone/internal/kafka"
	"github.com/meshbone/meshbone/internal/registrar"
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
	tokens := map[string]string{}
	var entries []registrar.Token
	for _, domain := range []string{"sales", "marketing", "finance", "product"} {
		tok, err := registrar.NewToken()
		if err != nil {
			t.Fatal(err)
		}
		tokens[domain] = tok
		entries = append(entries, registrar.Token{SHA256: registrar.HashToken(tok), Principal: domain + "-team", Domain: domain, Role: registrar.RoleDomainOwner})
	}
	tokenFile := filepath.Join(t.TempDir(), "tokens.yaml")
	if err := registrar.WriteTokenFile(tokenFile, entries); err != nil {
		t.Fatal(err)
	}
	opts := registrar.DefaultOptions()
	opts.Kafka = kafka.Config{Brokers: env.Brokers, TopicPrefix: env.Prefix, RegistryURL: env.Registry}
	opts.Listen, opts.TokenFile = "127.0.0.1:0", tokenFile
	svc, err := registrar.New(opts, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- svc.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Error(err)
			}
		case <-time.After(30 * time.Second):
			t.Error("registrar did not stop")
		}
	})
	env.Eventually(func() bool {
		resp, err := http.Get(svc.URL() + "/readyz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	}, "registrar ready")

	ds, err := examples.Descriptors()
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range ds {
		cl := &registrar.Client{URL: svc.URL(), Token: tokens[d.Metadata.Domain]}
		res, err := cl.Apply(ctx, d)
		if err != nil {
			t.Fatalf("%s: %v", d.ID(), err)
		}
		if res.Type != events.LifecycleRegistered || len(res.Ports) != len(d.Spec.OutputPorts) {
			t.Fatalf("%s: %+v", d.ID(), res)
		}
	}
	// Another domain's token may not touch them.
	cl := &registrar.Client{URL: svc.URL(), Token: tokens["product"]}
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
