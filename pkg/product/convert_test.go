package product_test

import (
	"math"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/meshbone/meshbone/pkg/events"
	"github.com/meshbone/meshbone/pkg/product"
)

func TestToEventCustomerOrders(t *testing.T) {
	d, err := product.ParseFile(filepath.Join("testdata", "good", "customer-orders.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	want := events.DataProduct{
		ID:               "sales.customer-orders",
		Name:             "customer-orders",
		Domain:           "sales",
		OwnerTeam:        "sales-data-team",
		Description:      ptr("Orders placed by customers in every channel, one record per order."),
		Tags:             []string{"customer", "orders", "gdpr"},
		DocumentationURL: ptr("https://wiki.example.com/sales/customer-orders"),
		Version:          "2.1.0",
		Sensitivity:      events.SensitivityConfidential,
		RetentionDays:    730,
		SLA:              &events.SLA{Freshness: ptr("15m"), Availability: ptr(99.95)},
		QualitySLOs: []events.QualitySLO{
			{Dimension: events.DimensionCompleteness, Operator: ">=", Threshold: 0.98},
			{Dimension: events.DimensionVolume, Operator: ">", Threshold: 1000},
		},
		OutputPorts: []events.OutputPort{
			{
				Name:          "orders",
				Topic:         "sales.customer-orders.orders.v2",
				SchemaSubject: "sales.customer-orders.orders.v2-value",
				Format:        "avro",
				Partitions:    6,
				Fields:        []string{"order_id", "customer_id", "email", "amount", "currency", "placed_at", "coupon"},
			},
			{
				Name:          "order-totals",
				Topic:         "sales.customer-orders.order-totals.v2",
				SchemaSubject: "sales.customer-orders.order-totals.v2-value",
				Format:        "avro",
				Partitions:    1,
				Fields:        []string{"day", "total"},
			},
		},
		Inputs: []string{"marketing.campaigns", "product.catalog"},
		Ownership: &events.Ownership{
			TechnicalOwner: ptr("ada@example.com"),
			BusinessOwner:  ptr("grace@example.com"),
			Steward:        ptr("alan@example.com"),
			OnCall:         ptr("#sales-oncall"),
			Developer:      ptr("sales-pipelines-team"),
			EscalationPath: []string{"grace@example.com", "sales-head@example.com"},
			Channel:        ptr("slack:#sales-data"),
		},
		Security: &events.Security{EncryptionAtRest: true, PIIFields: []string{"email"}, PIIMasked: true, AuditLogging: true},
		Labels:   map[string]string{"tier": "gold", "cost-center": "4711"},
	}
	if got := d.ToEvent(); !reflect.DeepEqual(got, want) {
		t.Errorf("ToEvent() =\n%#v\nwant\n%#v", got, want)
	}
}

func TestToEventMinimal(t *testing.T) {
	d, err := product.ParseFile(filepath.Join("testdata", "good", "minimal.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	want := events.DataProduct{
		ID:            "finance.ledger",
		Name:          "ledger",
		Domain:        "finance",
		OwnerTeam:     "finance-team",
		Tags:          []string{},
		Version:       "0.3.0-rc.1+build.7",
		Sensitivity:   events.SensitivityInternal,
		RetentionDays: 1,
		QualitySLOs:   []events.QualitySLO{},
		OutputPorts: []events.OutputPort{{
			Name:          "entries",
			Topic:         "finance.ledger.entries.v0",
			SchemaSubject: "finance.ledger.entries.v0-value",
			Format:        "avro",
			Partitions:    1,
			Fields:        []string{"amount"},
		}},
		Inputs: []string{},
		Labels: map[string]string{},
	}
	if got := d.ToEvent(); !reflect.DeepEqual(got, want) {
		t.Errorf("ToEvent() =\n%#v\nwant\n%#v", got, want)
	}
}

func TestToEventCampaigns(t *testing.T) {
	d, err := product.ParseFile(filepath.Join("testdata", "good", "campaigns.json"))
	if err != nil {
		t.Fatal(err)
	}
	e := d.ToEvent()
	if e.Sensitivity != events.SensitivityPublic {
		t.Errorf("Sensitivity = %q", e.Sensitivity)
	}
	// "1d" is not a Go duration; the contract wants one.
	if e.SLA == nil || e.SLA.Freshness == nil || *e.SLA.Freshness != "24h0m0s" || e.SLA.Availability != nil {
		t.Errorf("SLA = %+v", e.SLA)
	}
	if want := []events.QualitySLO{{Dimension: events.DimensionUniqueness, Operator: "==", Threshold: 1}}; !reflect.DeepEqual(e.QualitySLOs, want) {
		t.Errorf("QualitySLOs = %+v", e.QualitySLOs)
	}
	if want := (&events.Security{PIIFields: []string{}, AuditLogging: true}); !reflect.DeepEqual(e.Security, want) {
		t.Errorf("Security = %+v", e.Security)
	}
	if p := e.OutputPorts[0]; p.Partitions != 3 || !reflect.DeepEqual(p.Fields, []string{"id", "budget"}) || p.SchemaID != nil {
		t.Errorf("port = %+v", p)
	}
}

// TestToEventDoesNotAlias checks that the event shares no slices or maps
// with the descriptor.
func TestToEventDoesNotAlias(t *testing.T) {
	d, err := product.ParseFile(filepath.Join("testdata", "good", "customer-orders.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	e := d.ToEvent()
	e.Tags[0] = "changed"
	e.Inputs[0] = "changed"
	e.Labels["tier"] = "changed"
	e.Security.PIIFields[0] = "changed"
	if d.Metadata.Tags[0] == "changed" || d.Spec.Inputs[0] == "changed" || d.Metadata.Labels["tier"] == "changed" || d.Spec.Security.PIIFields[0] == "changed" {
		t.Error("the event aliases the descriptor")
	}
}

func TestCanonicalAndEqual(t *testing.T) {
	base := `apiVersion: meshbone/v1
kind: DataProduct
metadata: {domain: sales, name: orders, owner: sales-team, tags: [a, b]}
spec:
  version: 1.0.0
  sensitivity: internal
  retentionDays: 7
  quality: [{dimension: completeness, operator: ">=", threshold: 0.9}]
  outputPorts:
    - name: orders
      schema: {type: record, name: Order, fields: [{name: id, type: string}]}
`
	same := map[string]string{
		"layout and case": `{"kind": "DataProduct", "apiVersion": "meshbone/v1",
  "spec": {"retentionDays": 7, "sensitivity": "INTERNAL", "version": "1.0.0",
    "quality": [{"threshold": 0.90, "operator": ">=", "dimension": "Completeness"}],
    "outputPorts": [{"name": "orders", "partitions": 1, "format": "avro",
      "schema": "{\n  \"name\": \"Order\",\n  \"type\": \"record\",\n  \"fields\": [{\"type\": \"string\", \"name\": \"id\"}]\n}\n"}]},
  "metadata": {"owner": "sales-team", "name": "orders", "domain": "sales", "tags": ["a", "b"], "labels": {}}}`,
	}
	different := map[string]string{
		"tag order":   strings.Replace(base, "[a, b]", "[b, a]", 1),
		"field type":  strings.Replace(base, "type: string}", "type: bytes}", 1),
		"threshold":   strings.Replace(base, "0.9", "0.95", 1),
		"partitions":  strings.Replace(base, "- name: orders\n", "- name: orders\n      partitions: 2\n", 1),
		"description": strings.Replace(base, "tags:", "description: x, tags:", 1),
	}
	parse := func(doc string) *product.Descriptor {
		t.Helper()
		d, err := product.Parse([]byte(doc))
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	b := parse(base)
	if !b.Equal(b) {
		t.Error("a descriptor is not Equal to itself")
	}
	for name, doc := range same {
		if d := parse(doc); !d.Equal(b) {
			x, _ := d.Canonical()
			y, _ := b.Canonical()
			t.Errorf("%s: not Equal:\n%s\n%s", name, x, y)
		}
	}
	for name, doc := range different {
		if d := parse(doc); d.Equal(b) {
			t.Errorf("%s: Equal", name)
		}
	}
	var nilD *product.Descriptor
	if nilD.Equal(b) || b.Equal(nil) || !nilD.Equal(nil) {
		t.Error("Equal with nil")
	}

	// Canonical does not change the descriptor.
	before := parse(base)
	if _, err := b.Canonical(); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(before, b) {
		t.Error("Canonical changed the descriptor")
	}

	// NaN has no JSON form.
	b.Spec.Quality[0].Threshold = ptr(math.NaN())
	if _, err := b.Canonical(); err == nil {
		t.Error("Canonical with NaN: no error")
	}
	if b.Equal(b) {
		t.Error("a descriptor without a canonical form is Equal")
	}
}

func TestAccessorsInvalidVersion(t *testing.T) {
	d := &product.Descriptor{Metadata: product.Metadata{Domain: "d", Name: "n"}, Spec: product.Spec{Version: "banana"}}
	if d.MajorVersion() != 0 || d.PortTopic("p") != "d.n.p.v0" {
		t.Errorf("MajorVersion, PortTopic = %d, %s", d.MajorVersion(), d.PortTopic("p"))
	}
	d.Spec.Version = "12.0.1-beta"
	if d.MajorVersion() != 12 || d.PortSubject("p") != "d.n.p.v12-value" {
		t.Errorf("MajorVersion, PortSubject = %d, %s", d.MajorVersion(), d.PortSubject("p"))
	}
}

func TestOutputPortAvroSchema(t *testing.T) {
	// Named types do not leak between ports through a shared cache.
	a := product.OutputPort{Schema: `{"type":"record","name":"com.x.A","fields":[{"name":"f","type":"int"}]}`}
	b := product.OutputPort{Schema: `{"type":"record","name":"B","fields":[{"name":"a","type":"com.x.A"}]}`}
	if _, err := a.AvroSchema(); err != nil {
		t.Fatal(err)
	}
	if _, err := b.AvroSchema(); err == nil {
		t.Error("a named type from another port's schema resolved")
	}
	if got := b.Fields(); got != nil {
		t.Errorf("Fields() of an invalid schema = %q", got)
	}
}
