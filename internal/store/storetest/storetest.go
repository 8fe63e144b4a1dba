// Package storetest builds mesh events for the indexer's tests and
// benchmarks: single events with sensible defaults, and a small example
// mesh (products in four domains with lineage, a cycle, quality runs,
// violations, compliance, deprecation and retirement).
package storetest

import (
	"fmt"
	"strings"
	"time"

	"github.com/meshbone/meshbone/pkg/events"
)

// T0 is when the example mesh's history starts.
var T0 = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)

// OrdersSchema is an Avro schema with field docs, for an output port.
const OrdersSchema = `{"type": "record", "name": "Order", "namespace": "sales",
 "fields": [
  {"name": "order_id", "type": "string", "doc": "Unique order identifier"},
  {"name": "customer_email", "type": "string", "doc": "Customer contact address (PII)"},
  {"name": "amount_cents", "type": "long", "doc": "Order total in cents"},
  {"name": "placed_at", "type": {"type": "long", "logicalType": "timestamp-millis"}, "doc": "When the customer placed the order"},
  {"name": "coupon", "type": ["null", "string"], "default": null, "doc": "Marketing coupon redeemed"}
 ]}`

func ptr[T any](v T) *T { return &v }

// ProductOpt changes a product built by Product.
type ProductOpt func(*events.DataProduct)

// Product returns a valid product of domain with one output port.
func Product(domain, name string, opts ...ProductOpt) events.DataProduct {
	id := domain + "." + name
	p := events.DataProduct{
		ID:            id,
		Name:          name,
		Domain:        domain,
		OwnerTeam:     domain + "-data-team",
		Description:   ptr("The " + strings.ReplaceAll(name, "-", " ") + " of the " + domain + " domain."),
		Tags:          []string{domain},
		Version:       "1.0.0",
		Sensitivity:   events.SensitivityInternal,
		RetentionDays: 365,
		SLA:           &events.SLA{Freshness: ptr("1h"), Availability: ptr(99.9)},
		QualitySLOs:   []events.QualitySLO{{Dimension: events.DimensionCompleteness, Operator: ">=", Threshold: 0.95}},
		OutputPorts: []events.OutputPort{{
			Name: "events", Topic: id + ".events.v1", SchemaSubject: id + ".events.v1-value",
			Format: "avro", Partitions: 3, Fields: []string{"id", "at"},
		}},
		Inputs:    []string{},
		Ownership: &events.Ownership{TechnicalOwner: ptr("alice@" + domain + ".example"), BusinessOwner: ptr("bob@" + domain + ".example"), Steward: ptr("carol@" + domain + ".example"), OnCall: ptr("#" + domain + "-oncall")},
		Security:  &events.Security{EncryptionAtRest: true, PIIFields: []string{}, PIIMasked: true, AuditLogging: true},
		Labels:    map[string]string{},
	}
	for _, o := range opts {
		o(&p)
	}
	return p
}

// Desc sets the description.
func Desc(d string) ProductOpt { return func(p *events.DataProduct) { p.Description = &d } }

// Tags sets the tags.
func Tags(t ...string) ProductOpt { return func(p *events.DataProduct) { p.Tags = t } }

// Inputs sets the upstream products.
func Inputs(ids ...string) ProductOpt { return func(p *events.DataProduct) { p.Inputs = ids } }

// Version sets the version.
func Version(v string) ProductOpt { return func(p *events.DataProduct) { p.Version = v } }

// Sensitivity sets the sensitivity.
func Sensitivity(s events.Sensitivity) ProductOpt {
	return func(p *events.DataProduct) { p.Sensitivity = s }
}

// Owner sets the owning team.
func Owner(team string) ProductOpt { return func(p *events.DataProduct) { p.OwnerTeam = team } }

// Port replaces the output ports with one port; schemaID may be nil.
func Port(name string, schemaID *int32, fields ...string) ProductOpt {
	return func(p *events.DataProduct) {
		topic := p.ID + "." + name + ".v1"
		p.OutputPorts = []events.OutputPort{{Name: name, Topic: topic, SchemaSubject: topic + "-value", SchemaID: schemaID, Format: "avro", Partitions: 3, Fields: fields}}
	}
}

// Lifecycle returns a lifecycle event about p.
func Lifecycle(id string, typ events.LifecycleType, p events.DataProduct, at time.Time) *events.ProductLifecycleEvent {
	return &events.ProductLifecycleEvent{EventID: id, Type: typ, OccurredAt: at, Actor: p.Domain + "-ci", Product: p}
}

// Check returns a check that passes when observed >= threshold.
func Check(name string, dim events.QualityDimension, observed, threshold float64) events.QualityCheck {
	return events.QualityCheck{Name: name, Dimension: dim, Observed: observed, Operator: ">=", Threshold: threshold, Passed: observed >= threshold}
}

// Quality returns a quality run.
func Quality(id, productID, runID string, at time.Time, checks ...events.QualityCheck) *events.QualityEvent {
	wm := at.Add(-5 * time.Minute)
	return &events.QualityEvent{EventID: id, ProductID: productID, ProductVersion: "1.0.0", RunID: runID, ObservedAt: at, DataWatermark: &wm, Checks: checks}
}

// Violation returns a violation of policy by productID.
func Violation(id, productID, policy string, sev events.Severity, status events.ViolationStatus, msg string, at time.Time) *events.PolicyViolation {
	domain, _, _ := strings.Cut(productID, ".")
	return &events.PolicyViolation{
		ViolationID: id, ProductID: productID, Domain: domain, PolicyID: policy, PolicyVersion: "1",
		Scope: events.ScopeGlobal, Severity: sev, Status: status, Message: msg,
		Evidence: map[string]string{"policy": policy}, SourceEventID: "src-" + id,
		SourceTopic: events.TopicLifecycle, DetectedAt: at,
	}
}

// Compliance returns a compliance state.
func Compliance(productID string, status events.Compliance, at time.Time, open ...events.OpenViolation) *events.ComplianceStatus {
	domain, _, _ := strings.Cut(productID, ".")
	return &events.ComplianceStatus{ProductID: productID, ProductVersion: "1.0.0", Domain: domain, Status: status, OpenViolations: open, EvaluatedAt: at}
}

// Audit returns an audit event.
func Audit(id, actor, action, target string, at time.Time) *events.AuditEvent {
	domain, _, _ := strings.Cut(target, ".")
	return &events.AuditEvent{EventID: id, Actor: actor, Domain: domain, Action: action, Target: target, Outcome: events.Allowed, At: at, Details: map[string]string{}}
}

// Mesh ids of the example mesh.
const (
	Orders      = "sales.customer-orders"
	Campaigns   = "marketing.campaigns"
	Catalog     = "product.catalog"
	Revenue     = "finance.revenue"
	Forecast    = "finance.forecast"
	Legacy      = "sales.legacy-orders"
	OldLeads    = "sales.old-leads"
	Attribution = "marketing.attribution"
	Segments    = "marketing.segments"
	FXRates     = "external.fx-rates" // an input no product is registered for
)

// Mesh returns the example mesh's events in the order a mesh would emit
// them. ordersSchemaID, if not nil, is the registry id of OrdersSchema for
// the customer-orders port.
func Mesh(ordersSchemaID *int32) []events.Event {
	t := T0
	at := func() time.Time { t = t.Add(time.Minute); return t }
	var out []events.Event
	n := 0
	reg := func(typ events.LifecycleType, p events.DataProduct) {
		n++
		out = append(out, Lifecycle(fmt.Sprintf("lc-%03d", n), typ, p, at()))
	}
	campaigns := Product("marketing", "campaigns", Tags("marketing", "campaigns", "attribution"),
		Desc("Marketing campaigns with budget, channel and audience, one record per campaign change."))
	catalog := Product("product", "catalog", Tags("catalog", "products"), Sensitivity(events.SensitivityPublic),
		Desc("The product catalog: every item the shop sells, with category and list price."))
	orders := Product("sales", "customer-orders", Tags("customer", "orders", "revenue"), Sensitivity(events.SensitivityConfidential),
		Inputs(Campaigns, Catalog), Version("2.1.0"), Owner("sales-data-team"),
		Desc("Every order a customer placed in the web shop and the stores, updated within 15 minutes."),
		Port("orders", ordersSchemaID, "order_id", "customer_email", "amount_cents", "placed_at", "coupon"))
	revenue := Product("finance", "revenue", Tags("finance", "revenue"), Sensitivity(events.SensitivityRestricted),
		Inputs(Orders), Desc("Daily recognized revenue per store and channel."))
	forecast := Product("finance", "forecast", Tags("finance", "forecast"), Inputs(Revenue, FXRates),
		Desc("Quarterly revenue forecast in euros."))
	legacy := Product("sales", "legacy-orders", Tags("orders", "legacy"), Desc("Orders from the retired point-of-sale system."))
	oldLeads := Product("sales", "old-leads", Tags("leads"), Desc("Sales leads from the old CRM."))
	attribution := Product("marketing", "attribution", Tags("marketing", "attribution"), Inputs(Orders, Segments),
		Desc("Which campaign led to which order."))
	segments := Product("marketing", "segments", Tags("marketing", "segments"), Inputs(Attribution),
		Desc("Customer segments refined by attribution results."))

	for _, p := range []events.DataProduct{campaigns, catalog, orders, revenue, forecast, legacy, oldLeads, attribution, segments} {
		reg(events.LifecycleRegistered, p)
	}
	ordersV2 := orders
	ordersV2.Version = "2.2.0"
	reg(events.LifecycleVersionPublished, ordersV2)
	dep := Lifecycle("lc-dep", events.LifecycleDeprecated, legacy, at())
	dep.Reason, dep.Successor = ptr("replaced by the new order pipeline"), ptr(Orders)
	sunset := T0.Add(90 * 24 * time.Hour)
	dep.SunsetAt = &sunset
	out = append(out, dep)
	reg(events.LifecycleDeprecated, oldLeads)
	ret := Lifecycle("lc-ret", events.LifecycleRetired, oldLeads, at())
	ret.Reason = ptr("CRM decommissioned")
	out = append(out, ret)

	completeness := []float64{0.99, 0.985, 0.97, 0.96, 0.93, 0.91}
	for i, c := range completeness {
		out = append(out, Quality(fmt.Sprintf("q-orders-%d", i), Orders, fmt.Sprintf("run-%d", i), at(),
			Check("completeness", events.DimensionCompleteness, c, 0.95),
			Check("row_count", events.DimensionVolume, 1000+float64(i*150), 900),
		))
	}
	for i := range 3 {
		out = append(out, Quality(fmt.Sprintf("q-revenue-%d", i), Revenue, fmt.Sprintf("run-%d", i), at(),
			Check("completeness", events.DimensionCompleteness, 1, 0.99)))
	}
	pii := Violation("v-pii", Orders, "pii-masking", events.SeverityCritical, events.ViolationOpen, "PII fields must be masked: customer_email is not", at())
	enc := Violation("v-enc", Revenue, "encryption-at-rest", events.SeverityCritical, events.ViolationOpen, "All non-public data must be encrypted at rest", at())
	slo := Violation("v-slo", Orders, "quality-slo", events.SeverityWarning, events.ViolationOpen, "completeness 0.91 is below the objective 0.95", at())
	out = append(out, pii, enc, slo)
	encResolved := *enc
	encResolved.Status, encResolved.DetectedAt = events.ViolationResolved, at()
	out = append(out, &encResolved)
	out = append(out,
		Compliance(Orders, events.NonCompliant, at(),
			events.OpenViolation{ViolationID: "v-pii", PolicyID: "pii-masking", Severity: events.SeverityCritical, Message: pii.Message},
			events.OpenViolation{ViolationID: "v-slo", PolicyID: "quality-slo", Severity: events.SeverityWarning, Message: slo.Message}),
		Compliance(Revenue, events.Compliant, at()),
		Compliance(Campaigns, events.Compliant, at()),
		Compliance(Catalog, events.Compliant, at()),
	)
	for i, id := range []string{Campaigns, Catalog, Orders, Revenue} {
		out = append(out, Audit(fmt.Sprintf("a-%d", i), "registrar", "product.register", id, at()))
	}
	return out
}
