package events

import (
	"reflect"
	"testing"
	"time"

	"github.com/hamba/avro/v2"

	"github.com/meshbone/meshbone/schemas"
)

func ptr[T any](v T) *T { return &v }

// sampleEvents returns one fully populated value of every event type.
func sampleEvents() []Event {
	at := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	product := DataProduct{
		ID: "sales.customer-orders", Name: "customer-orders", Domain: "sales", OwnerTeam: "sales-data-team",
		Description: ptr("Orders placed by customers"), Tags: []string{"orders"}, DocumentationURL: ptr("https://wiki/orders"),
		Version: "2.1.0", Sensitivity: SensitivityConfidential, RetentionDays: 730,
		SLA:         &SLA{Freshness: ptr("15m"), Availability: ptr(99.95)},
		QualitySLOs: []QualitySLO{{Dimension: DimensionCompleteness, Operator: ">=", Threshold: 0.98}},
		OutputPorts: []OutputPort{{Name: "orders", Topic: "sales.customer-orders.orders.v2", SchemaSubject: "sales.customer-orders.orders.v2-value", SchemaID: ptr(int32(7)), Format: "avro", Partitions: 6, Fields: []string{"order_id"}}},
		Inputs:      []string{"marketing.campaigns"},
		Ownership:   &Ownership{TechnicalOwner: ptr("ana"), OnCall: ptr("#sales-oncall"), Developer: ptr("sales-pipelines"), EscalationPath: []string{"bo", "cy"}, Channel: ptr("mailto:sales@example.com")},
		Security:    &Security{EncryptionAtRest: true, PIIFields: []string{"email"}, PIIMasked: true, AuditLogging: true},
		Labels:      map[string]string{"tier": "gold"},
	}
	return []Event{
		&ProductLifecycleEvent{EventID: "e1", Type: LifecycleDeprecated, OccurredAt: at, Actor: "ana", Product: product, Reason: ptr("replaced"), Successor: ptr("sales.orders"), SunsetAt: ptr(at.Add(24 * time.Hour))},
		&QualityEvent{EventID: "e2", ProductID: product.ID, ProductVersion: "2.1.0", RunID: "r1", ObservedAt: at, DataWatermark: ptr(at.Add(-time.Minute)),
			Checks: []QualityCheck{{Name: "email_not_null", Dimension: DimensionCompleteness, Column: ptr("email"), Observed: 0.97, Operator: ">=", Threshold: 0.98, Passed: false}}},
		&PolicyViolation{ViolationID: "v1", ProductID: product.ID, Domain: "sales", PolicyID: "quality-slo", PolicyVersion: "abc", Scope: ScopeGlobal, Severity: SeverityWarning, Status: ViolationOpen,
			Message: "completeness 0.97 < 0.98", Evidence: map[string]string{"observed": "0.97"}, SourceEventID: "e2", SourceTopic: TopicQuality, SourcePartition: 1, SourceOffset: 42, DetectedAt: at},
		&ComplianceStatus{ProductID: product.ID, ProductVersion: "2.1.0", Domain: "sales", Status: NonCompliant,
			OpenViolations: []OpenViolation{{ViolationID: "v1", PolicyID: "quality-slo", Severity: SeverityWarning, Message: "m"}}, EvaluatedAt: at},
		&AuditEvent{EventID: "e3", Actor: "ana", Domain: "sales", Action: "product.register", Target: product.ID, Outcome: Denied, At: at, Details: map[string]string{"status": "403"}},
	}
}

// TestTypesMatchSchemas round-trips a fully populated value of every event
// type through its Avro contract: a field missing on either side, a wrong
// type or a wrong tag fails.
func TestTypesMatchSchemas(t *testing.T) {
	for _, ev := range sampleEvents() {
		name := reflect.TypeOf(ev).Elem().Name()
		t.Run(name, func(t *testing.T) {
			s := schemas.MustParse(name)
			b, err := avro.Marshal(s, ev)
			if err != nil {
				t.Fatalf("encode: %v", err)
			}
			back := reflect.New(reflect.TypeOf(ev).Elem()).Interface()
			if err := avro.Unmarshal(s, b, back); err != nil {
				t.Fatalf("decode: %v", err)
			}
			if !reflect.DeepEqual(back, ev) {
				t.Errorf("round trip changed the value:\n got %+v\nwant %+v", back, ev)
			}
			checkFieldsCovered(t, s.(*avro.RecordSchema), reflect.TypeOf(ev).Elem())
		})
	}
}

// checkFieldsCovered fails when the schema has a field the Go type lacks or
// the other way round (hamba would silently skip some of those).
func checkFieldsCovered(t *testing.T, rec *avro.RecordSchema, typ reflect.Type) {
	t.Helper()
	tags := map[string]reflect.Type{}
	for i := range typ.NumField() {
		tags[typ.Field(i).Tag.Get("avro")] = typ.Field(i).Type
	}
	for _, f := range rec.Fields() {
		ft, ok := tags[f.Name()]
		if !ok {
			t.Errorf("%s: schema field %q has no Go field", typ.Name(), f.Name())
			continue
		}
		delete(tags, f.Name())
		if sub := recordOf(f.Type()); sub != nil {
			for ft.Kind() == reflect.Pointer || ft.Kind() == reflect.Slice {
				ft = ft.Elem()
			}
			checkFieldsCovered(t, sub, ft)
		}
	}
	for tag := range tags {
		t.Errorf("%s: Go field tagged %q is not in the schema", typ.Name(), tag)
	}
}

func recordOf(s avro.Schema) *avro.RecordSchema {
	switch s := s.(type) {
	case *avro.RecordSchema:
		return s
	case *avro.RefSchema:
		return recordOf(s.Schema())
	case *avro.ArraySchema:
		return recordOf(s.Items())
	case *avro.UnionSchema:
		for _, t := range s.Types() {
			if r := recordOf(t); r != nil {
				return r
			}
		}
	}
	return nil
}
