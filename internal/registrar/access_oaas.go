package registrar

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"sigs.k8s.io/yaml"

	"github.com/meshbone/meshbone/pkg/events"
)

// An agreement exported as a document of Bitol's Open Access Agreement
// Standard (OAAS), and such a document imported as an access request. The
// mapping, field by field, is in docs/access.md; the Kafka specifics (the
// principal and the consumer-group prefix) travel as customProperties.

// OAAS document header.
const (
	OAASAPIVersion = "v0.1.0"
	OAASKind       = "AccessAgreement"
)

// Custom properties of an OAAS document that carry meshbone's Kafka
// specifics.
const (
	OAASPropPrincipal   = "meshbone.kafkaPrincipal"
	OAASPropGroupPrefix = "meshbone.consumerGroupPrefix"
	OAASPropDecidedBy   = "meshbone.decidedBy"
	OAASPropChannel     = "meshbone.consumerChannel"
)

// OAASDocument is an access agreement as an OAAS document.
type OAASDocument struct {
	APIVersion       string         `json:"apiVersion"`
	Kind             string         `json:"kind"`
	ID               string         `json:"id,omitempty"`
	Status           string         `json:"status,omitempty"`
	Purpose          string         `json:"purpose"`
	Provider         OAASProvider   `json:"provider"`
	Consumer         OAASConsumer   `json:"consumer"`
	RequestedBy      string         `json:"requestedBy,omitempty"`
	RequestedAt      *time.Time     `json:"requestedAt,omitempty"`
	ApprovedBy       string         `json:"approvedBy,omitempty"`
	ApprovedAt       *time.Time     `json:"approvedAt,omitempty"`
	StartDate        *time.Time     `json:"startDate,omitempty"`
	EndDate          *time.Time     `json:"endDate,omitempty"`
	CustomProperties []OAASProperty `json:"customProperties,omitempty"`
}

// OAASProvider is the product access is given to.
type OAASProvider struct {
	DataProductID string   `json:"dataProductId"`
	Domain        string   `json:"domain,omitempty"`
	OutputPorts   []string `json:"outputPortIds"`
}

// OAASConsumer is who consumes.
type OAASConsumer struct {
	Type          string `json:"type"` // team, application, dataProduct
	ID            string `json:"id"`
	Domain        string `json:"domain,omitempty"`
	DataProductID string `json:"dataProductId,omitempty"`
}

// OAASProperty is one custom property.
type OAASProperty struct {
	Property string `json:"property"`
	Value    string `json:"value"`
}

var (
	oaasConsumerTypes = map[events.ConsumerType]string{
		events.ConsumerTeam: "team", events.ConsumerApplication: "application", events.ConsumerDataProduct: "dataProduct",
	}
	oaasToRequestType = map[string]string{"team": "team", "application": "application", "dataProduct": "data-product"}
)

// ExportOAAS returns agreement a as an OAAS document.
func ExportOAAS(a Agreement) OAASDocument {
	domain, _, _ := strings.Cut(a.ProductID, ".")
	from := a.ValidFrom.UTC()
	req := a.RequestedAt.UTC()
	doc := OAASDocument{
		APIVersion: OAASAPIVersion, Kind: OAASKind, ID: a.AgreementID, Status: strings.ToLower(string(a.Status)),
		Purpose:     a.Purpose,
		Provider:    OAASProvider{DataProductID: a.ProductID, Domain: domain, OutputPorts: append([]string(nil), a.Ports...)},
		Consumer:    OAASConsumer{Type: oaasConsumerTypes[a.Consumer.Type], ID: a.Consumer.ID},
		RequestedBy: a.RequestedBy, RequestedAt: &req, StartDate: &from,
		CustomProperties: []OAASProperty{
			{Property: OAASPropPrincipal, Value: a.Principal},
			{Property: OAASPropGroupPrefix, Value: a.GroupPrefix},
		},
	}
	if a.Consumer.Domain != nil {
		doc.Consumer.Domain = *a.Consumer.Domain
	}
	if a.Consumer.Channel != nil {
		doc.CustomProperties = append(doc.CustomProperties, OAASProperty{Property: OAASPropChannel, Value: *a.Consumer.Channel})
	}
	if a.Consumer.Type == events.ConsumerDataProduct {
		doc.Consumer.DataProductID = a.Consumer.ID
	}
	if a.ValidUntil != nil {
		u := a.ValidUntil.UTC()
		doc.EndDate = &u
	}
	if a.DecidedBy != nil && (a.Status == events.AgreementApproved || a.Status == events.AgreementGranted || a.Status == events.AgreementRevoked || a.Status == events.AgreementExpired) {
		doc.ApprovedBy = *a.DecidedBy
		if a.DecidedAt != nil {
			at := a.DecidedAt.UTC()
			doc.ApprovedAt = &at
		}
	} else if a.DecidedBy != nil {
		doc.CustomProperties = append(doc.CustomProperties, OAASProperty{Property: OAASPropDecidedBy, Value: *a.DecidedBy})
	}
	return doc
}

// MarshalOAAS renders doc as "yaml" or "json".
func MarshalOAAS(doc OAASDocument, format string) ([]byte, error) {
	switch format {
	case "json":
		return json.MarshalIndent(doc, "", "  ")
	case "yaml":
		return yaml.Marshal(doc)
	}
	return nil, newError(ErrBadRequest, "format", "format %q is not yaml or json", format)
}

// ImportOAAS reads an OAAS document (YAML or JSON, unknown fields refused)
// as an access request. What it says of the request's outcome (id, status,
// approvals, requester) is not taken: the registrar decides those.
func ImportOAAS(data []byte) (AccessRequest, error) {
	var doc OAASDocument
	if err := yaml.UnmarshalStrict(data, &doc); err != nil {
		return AccessRequest{}, fmt.Errorf("OAAS document: %w", err)
	}
	if doc.APIVersion != OAASAPIVersion || doc.Kind != OAASKind {
		return AccessRequest{}, fmt.Errorf("OAAS document: apiVersion %q kind %q, want %s %s", doc.APIVersion, doc.Kind, OAASAPIVersion, OAASKind)
	}
	typ, ok := oaasToRequestType[doc.Consumer.Type]
	if !ok {
		return AccessRequest{}, fmt.Errorf("OAAS document: consumer.type %q is not team, application or dataProduct", doc.Consumer.Type)
	}
	req := AccessRequest{
		Product: doc.Provider.DataProductID, Ports: doc.Provider.OutputPorts,
		Consumer: ConsumerSpec{Type: typ, ID: doc.Consumer.ID}, Purpose: doc.Purpose,
	}
	if typ == "data-product" && doc.Consumer.DataProductID != "" {
		req.Consumer.ID = doc.Consumer.DataProductID
	}
	for i, p := range doc.CustomProperties {
		switch p.Property {
		case OAASPropPrincipal:
			req.Principal = p.Value
		case OAASPropGroupPrefix:
			req.GroupPrefix = p.Value
		case OAASPropChannel:
			req.Consumer.Channel = p.Value
		case OAASPropDecidedBy:
		default:
			return AccessRequest{}, fmt.Errorf("OAAS document: customProperties[%d]: unknown property %q (known: %s, %s, %s)", i, p.Property, OAASPropPrincipal, OAASPropGroupPrefix, OAASPropChannel)
		}
	}
	if doc.StartDate != nil {
		req.ValidFrom = doc.StartDate.UTC().Format(time.RFC3339)
	}
	if doc.EndDate != nil {
		req.ValidUntil = doc.EndDate.UTC().Format(time.RFC3339)
	}
	return req, nil
}
