package product_test

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/meshbone/meshbone/pkg/product"
)

func TestGoodDescriptors(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "good", "*.*"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 4 {
		t.Fatalf("found %d good descriptors, want at least 4", len(files))
	}
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			d, err := product.ParseFile(file)
			if err != nil {
				t.Fatal(err)
			}
			if d.Source() != file {
				t.Errorf("Source() = %q, want %q", d.Source(), file)
			}
			if err := d.Validate(); err != nil {
				t.Fatal(err)
			}
			for i, p := range d.Spec.OutputPorts {
				if !strings.HasPrefix(strings.TrimSpace(p.Schema), "{") {
					t.Errorf("port %d schema not inline: %q", i, p.Schema)
				}
			}

			// What ParseFile returns is self-contained: its JSON form parses
			// (with Parse, no files) to an equal, valid descriptor.
			j, err := json.Marshal(d)
			if err != nil {
				t.Fatal(err)
			}
			back, err := product.Parse(j)
			if err != nil {
				t.Fatalf("Parse(json.Marshal(d)): %v\n%s", err, j)
			}
			if err := back.Validate(); err != nil {
				t.Errorf("round trip: %v", err)
			}
			if !back.Equal(d) {
				t.Errorf("round trip is not Equal")
			}
		})
	}
}

func TestParseCustomerOrders(t *testing.T) {
	d, err := product.ParseFile(filepath.Join("testdata", "good", "customer-orders.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := d.ID(), "sales.customer-orders"; got != want {
		t.Errorf("ID() = %q, want %q", got, want)
	}
	if got := d.MajorVersion(); got != 2 {
		t.Errorf("MajorVersion() = %d, want 2", got)
	}
	if got, want := d.PortTopic("orders"), "sales.customer-orders.orders.v2"; got != want {
		t.Errorf("PortTopic = %q, want %q", got, want)
	}
	if got, want := d.PortSubject("orders"), "sales.customer-orders.orders.v2-value"; got != want {
		t.Errorf("PortSubject = %q, want %q", got, want)
	}

	// The schema read from schemas/orders.avsc is the file's text.
	avsc, err := os.ReadFile(filepath.Join("testdata", "good", "schemas", "orders.avsc"))
	if err != nil {
		t.Fatal(err)
	}
	orders, ok := d.Port("orders")
	if !ok {
		t.Fatal(`no port "orders"`)
	}
	if orders.Schema != string(avsc) {
		t.Errorf("orders schema = %q, want the file's contents", orders.Schema)
	}
	if orders.Partitions != 6 || orders.Format != "avro" {
		t.Errorf("orders partitions, format = %d, %q; want 6, avro", orders.Partitions, orders.Format)
	}

	// The inline YAML mapping became JSON text; the defaults were set.
	totals, ok := d.Port("order-totals")
	if !ok {
		t.Fatal(`no port "order-totals"`)
	}
	const wantTotals = `{"fields":[{"name":"day","type":{"logicalType":"date","type":"int"}},{"name":"total","type":"double"}],"name":"OrderTotal","namespace":"com.example.sales","type":"record"}`
	if totals.Schema != wantTotals {
		t.Errorf("order-totals schema =\n %s\nwant\n %s", totals.Schema, wantTotals)
	}
	if totals.Partitions != product.DefaultPartitions {
		t.Errorf("order-totals partitions = %d, want the default", totals.Partitions)
	}
	if _, ok := d.Port("nope"); ok {
		t.Error(`Port("nope") found a port`)
	}
	if d.Spec.SLA == nil || d.Spec.SLA.Freshness != "15m" || d.Spec.SLA.Availability == nil || *d.Spec.SLA.Availability != 99.95 {
		t.Errorf("SLA = %+v", d.Spec.SLA)
	}
	if d.Spec.Sensitivity != "Confidential" {
		t.Errorf("Sensitivity = %q, want it as written", d.Spec.Sensitivity)
	}
}

// TestParseJSON reads the same product as YAML and as JSON.
func TestParseJSON(t *testing.T) {
	const doc = `{
	"apiVersion": "meshbone/v1", "kind": "DataProduct",
	"metadata": {"domain": "sales", "name": "orders", "owner": "sales-team"},
	"spec": {"version": "1.0.0", "sensitivity": "internal", "retentionDays": 7,
		"outputPorts": [{"name": "orders", "schema": {"type": "record", "name": "Order", "fields": [{"name": "id", "type": "string"}]}}]}
}`
	d, err := product.Parse([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Validate(); err != nil {
		t.Fatal(err)
	}
	if !d.Equal(minimal(t)) {
		a, _ := d.Canonical()
		b, _ := minimal(t).Canonical()
		t.Errorf("JSON and YAML forms differ:\n%s\n%s", a, b)
	}
}

func TestParseLeavesSchemaPaths(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("testdata", "good", "customer-orders.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	d, err := product.Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	if got := d.Spec.OutputPorts[0].Schema; got != "schemas/orders.avsc" {
		t.Errorf("schema = %q, want the path", got)
	}
	const want = `spec.outputPorts[0].schema: schema file "schemas/orders.avsc" was not read: parse the descriptor with ParseFile or Load, or inline the schema`
	err = d.Validate()
	if err == nil || err.Error() != want {
		t.Errorf("Validate() = %v, want %s", err, want)
	}
	var verr *product.ValidationError
	if !errors.As(err, &verr) || verr.File != "" || verr.Path() != "spec.outputPorts[0].schema" {
		t.Errorf("ValidationError = %+v", verr)
	}
}

func TestParseFileMissing(t *testing.T) {
	_, err := product.ParseFile(filepath.Join(t.TempDir(), "nope.yaml"))
	if !errors.Is(err, os.ErrNotExist) {
		t.Errorf("err = %v, want ErrNotExist", err)
	}
	if errors.Is(err, product.ErrInvalid) {
		t.Errorf("a missing file is not an invalid descriptor")
	}
}

func TestParseFileAbsoluteSchemaPath(t *testing.T) {
	dir := t.TempDir()
	schema := filepath.Join(dir, "elsewhere.avsc")
	if err := os.WriteFile(schema, []byte(`{"type":"record","name":"R","fields":[{"name":"a","type":"int"}]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	desc := filepath.Join(dir, "sub", "p.yaml")
	if err := os.MkdirAll(filepath.Dir(desc), 0o700); err != nil {
		t.Fatal(err)
	}
	doc := "apiVersion: meshbone/v1\nkind: DataProduct\nmetadata: {domain: d, name: p, owner: o}\n" +
		"spec: {version: 1.0.0, sensitivity: public, retentionDays: 1, outputPorts: [{name: a, schema: " + schema + "}, {name: b, schema: ../elsewhere.avsc}]}\n"
	if err := os.WriteFile(desc, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	d, err := product.ParseFile(desc)
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Validate(); err != nil {
		t.Fatal(err)
	}
}

func TestLoad(t *testing.T) {
	const header = "apiVersion: meshbone/v1\nkind: DataProduct\nmetadata: {domain: d, name: p, owner: o}\n"
	fsys := fstest.MapFS{
		"products/p.yaml":          {Data: []byte(header + "spec: {version: 1.0.0, sensitivity: public, retentionDays: 1, outputPorts: [{name: a, schema: schemas/a.avsc}]}\n")},
		"products/schemas/a.avsc":  {Data: []byte(`{"type":"record","name":"A","fields":[{"name":"x","type":"long"}]}`)},
		"products/escape.yaml":     {Data: []byte(header + "spec: {outputPorts: [{name: a, schema: ../../a.avsc}, {name: b, schema: /etc/passwd}]}\n")},
		"products/unreadable.yaml": {Data: []byte(header + "spec: {outputPorts: [{name: a, schema: schemas}]}\n")},
	}
	d, err := product.Load(fsys, "products/p.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Validate(); err != nil {
		t.Fatal(err)
	}
	if got := d.ToEvent().OutputPorts[0].Fields; len(got) != 1 || got[0] != "x" {
		t.Errorf("fields = %q", got)
	}

	_, err = product.Load(fsys, "products/escape.yaml")
	const wantEscape = `products/escape.yaml: spec.outputPorts[0].schema: cannot read schema file "../../a.avsc": leads outside the file system; ` +
		`spec.outputPorts[1].schema: cannot read schema file "/etc/passwd": must be relative to the descriptor`
	if err == nil || err.Error() != wantEscape {
		t.Errorf("Load(escape) = %v\nwant %s", err, wantEscape)
	}

	_, err = product.Load(fsys, "products/nope.yaml")
	if !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Load(nope) = %v, want ErrNotExist", err)
	}
}

func TestParseDefaults(t *testing.T) {
	const doc = "apiVersion: meshbone/v1\nkind: DataProduct\nmetadata: {domain: d, name: p, owner: o}\n" +
		"spec: {outputPorts: [{name: a}, {name: b, partitions: 0, format: AVRO}, {name: c, partitions: null, format: null}]}\n"
	d, err := product.Parse([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	got := []struct {
		p int
		f string
	}{}
	for _, p := range d.Spec.OutputPorts {
		got = append(got, struct {
			p int
			f string
		}{p.Partitions, p.Format})
	}
	want := []struct {
		p int
		f string
	}{{1, "avro"}, {0, "AVRO"}, {1, "avro"}}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("port %d: partitions, format = %v, want %v", i, got[i], want[i])
		}
	}
}

func TestSyntaxErrorUnwraps(t *testing.T) {
	_, err := product.Parse([]byte("a: [b"))
	var serr *product.SyntaxError
	if !errors.As(err, &serr) || serr.File != "" || serr.Err == nil {
		t.Fatalf("err = %#v, want a *SyntaxError", err)
	}
	if errors.Unwrap(err) != serr.Err {
		t.Errorf("Unwrap() is not Err")
	}
}

func TestParseNestingLimit(t *testing.T) {
	deep := `{"apiVersion": ` + strings.Repeat("[", 200) + strings.Repeat("]", 200) + `}`
	_, err := product.Parse([]byte(deep))
	if err == nil || err.Error() != "json: nesting deeper than 100 levels" {
		t.Errorf("err = %v", err)
	}
}
