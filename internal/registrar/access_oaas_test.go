package registrar_test

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/meshbone/meshbone/internal/registrar"
	"github.com/meshbone/meshbone/pkg/events"
)

func sampleAgreement() registrar.Agreement {
	at := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	until, by, marketing, channel := at.Add(90*24*time.Hour), "ada@sales", "marketing", "mailto:campaigns@example.com"
	return registrar.Agreement{
		AccessAgreement: events.AccessAgreement{
			AgreementID: "0b6f1c84-2f7e-4a57-9d0a-3c1e2b4d5f60", ProductID: "sales.orders", Ports: []string{"events", "daily"},
			Consumer:  events.AccessConsumer{Type: events.ConsumerDataProduct, ID: "marketing.campaigns", Domain: &marketing, Channel: &channel},
			Principal: "User:campaigns", GroupPrefix: "campaigns-", Purpose: "attribution",
			RequestedBy: "bob@marketing", RequestedAt: at, DecidedBy: &by, DecidedAt: &at, ValidFrom: at, ValidUntil: &until,
		},
		Status: events.AgreementApproved,
	}
}

// TestOAASRoundTrip exports an agreement as OAAS YAML and JSON and imports
// each back as the request that makes the same agreement.
func TestOAASRoundTrip(t *testing.T) {
	a := sampleAgreement()
	want := registrar.AccessRequest{
		Product: "sales.orders", Ports: []string{"events", "daily"},
		Consumer:  registrar.ConsumerSpec{Type: "data-product", ID: "marketing.campaigns", Channel: "mailto:campaigns@example.com"},
		Principal: "User:campaigns", GroupPrefix: "campaigns-", Purpose: "attribution",
		ValidFrom: "2026-11-22T10:00:00Z", ValidUntil: "2027-02-20T10:00:00Z",
	}
	doc := registrar.ExportOAAS(a)
	if doc.Kind != "AccessAgreement" || doc.Status != "approved" || doc.ApprovedBy != "ada@sales" || doc.Provider.Domain != "sales" || doc.Consumer.Type != "dataProduct" {
		t.Errorf("exported %+v", doc)
	}
	for _, format := range []string{"yaml", "json"} {
		data, err := registrar.MarshalOAAS(doc, format)
		if err != nil {
			t.Fatal(err)
		}
		got, err := registrar.ImportOAAS(data)
		if err != nil {
			t.Fatalf("%s: %v\n%s", format, err, data)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s round trip:\n got %+v\nwant %+v", format, got, want)
		}
	}
}

func TestOAASImportRefuses(t *testing.T) {
	good, err := registrar.MarshalOAAS(registrar.ExportOAAS(sampleAgreement()), "yaml")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct{ name, doc, want string }{
		{"unknown field", string(good) + "owner: x\n", `OAAS document: error unmarshaling JSON: while decoding JSON: json: unknown field "owner"`},
		{"wrong kind", strings.Replace(string(good), "kind: AccessAgreement", "kind: DataContract", 1), `OAAS document: apiVersion "v0.1.0" kind "DataContract", want v0.1.0 AccessAgreement`},
		{"consumer type", strings.Replace(string(good), "type: dataProduct", "type: robot", 1), `OAAS document: consumer.type "robot" is not team, application or dataProduct`},
		{"unknown property", strings.Replace(string(good), "meshbone.kafkaPrincipal", "meshbone.acl", 1), `OAAS document: customProperties[0]: unknown property "meshbone.acl" (known: meshbone.kafkaPrincipal, meshbone.consumerGroupPrefix, meshbone.consumerChannel)`},
		{"not YAML", "{", "OAAS document: error converting YAML to JSON: yaml: line 1: did not find expected node content"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := registrar.ImportOAAS([]byte(tt.doc))
			if got := err.Error(); got != tt.want {
				t.Errorf("got  %s\nwant %s", got, tt.want)
			}
		})
	}
}
