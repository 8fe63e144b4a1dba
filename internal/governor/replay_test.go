package governor

import (
	"fmt"
	"strings"
	"testing"

	"github.com/meshbone/meshbone/pkg/events"
)

// recordedOrders: a product without encryption, then fixed (from another
// domain's source); a freshness tick between.
const recordedOrders = `# a product without encryption, then fixed; a stale product
{"kind":"lifecycle","event":{"event_id":"e1","type":"REGISTERED","occurred_at":"2026-03-01T12:00:00Z","actor":"a","product":{"id":"sales.orders","name":"orders","domain":"sales","owner_team":"t","tags":[],"version":"1.0.0","sensitivity":"CONFIDENTIAL","retention_days":400,"sla":{"freshness":"15m"},"quality_slos":[{"dimension":"COMPLETENESS","operator":">=","threshold":0.9}],"output_ports":[],"inputs":[],"security":{"encryption_at_rest":false,"pii_fields":[],"pii_masked":true,"audit_logging":true},"labels":{"kind":"source"}}}}
{"kind":"quality","event":{"event_id":"q1","product_id":"sales.orders","product_version":"1.0.0","run_id":"r1","observed_at":"2026-03-01T12:01:00Z","data_watermark":"2026-03-01T12:00:00Z","checks":[]}}

{"kind":"tick","at":"2026-03-01T13:00:00Z"}
{"kind":"lifecycle","source":"/domains/marketing","event":{"event_id":"e2","type":"UPDATED","occurred_at":"2026-03-01T13:00:00Z","actor":"a","product":{"id":"sales.orders","name":"orders","domain":"sales","owner_team":"t","tags":[],"version":"1.0.1","sensitivity":"CONFIDENTIAL","retention_days":400,"sla":{"freshness":"15m"},"quality_slos":[{"dimension":"COMPLETENESS","operator":">=","threshold":0.9}],"output_ports":[],"inputs":[],"security":{"encryption_at_rest":true,"pii_fields":[],"pii_masked":true,"audit_logging":true},"labels":{"kind":"source"}}}}
`

func TestReplay(t *testing.T) {
	vs, err := Replay(defaultSet(t), strings.NewReader(recordedOrders), "recorded.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	type row struct {
		line           int
		policy, source string
		sourceLine     int64
		status         events.ViolationStatus
		severity       events.Severity
	}
	// A freshness violation's source is the event of the newest watermark:
	// the quality run of line 3.
	want := []row{
		{2, "encryption-at-rest", "e1", 2, events.ViolationOpen, events.SeverityCritical},
		{5, "freshness", "q1", 3, events.ViolationOpen, events.SeverityWarning},
		{6, "encryption-at-rest", "e2", 6, events.ViolationResolved, events.SeverityCritical},
		{6, "ownership", "e2", 6, events.ViolationOpen, events.SeverityCritical},
	}
	if len(vs) != len(want) {
		t.Fatalf("%d violation records, want %d: %+v", len(vs), len(want), vs)
	}
	for i, w := range want {
		v := vs[i].Violation
		if vs[i].Line != w.line || v.PolicyID != w.policy || v.Status != w.status || v.Severity != w.severity || v.ProductID != "sales.orders" {
			t.Errorf("record %d: line %d %s %s %s %s, want %+v", i, vs[i].Line, v.ProductID, v.PolicyID, v.Status, v.Severity, w)
		}
		if v.SourceEventID != w.source || v.SourceTopic != RecordedTopic || v.SourceOffset != w.sourceLine {
			t.Errorf("record %d: source %s in %s@%d, want %s in %s@%d", i, v.SourceEventID, v.SourceTopic, v.SourceOffset, w.source, RecordedTopic, w.sourceLine)
		}
	}
	if m := vs[0].Violation.Message; m != "sales.orders holds CONFIDENTIAL data but does not declare encryption at rest" {
		t.Errorf("message of the first: %q", m)
	}
	if m := vs[3].Violation.Message; !strings.HasPrefix(m, "UPDATED event e2 about sales.orders came from /domains/marketing") {
		t.Errorf("message of the ownership violation: %q", m)
	}
}

// recordedObserved: a product with an objective on its port orders; the
// monitor observes a window below it, the pipeline reports a value the
// monitor did not see, then the next window and the next report agree.
const recordedObserved = `{"kind":"lifecycle","event":{"event_id":"e1","type":"REGISTERED","occurred_at":"2026-03-01T12:00:00Z","actor":"a","product":{"id":"sales.orders","name":"orders","domain":"sales","owner_team":"t","tags":[],"version":"1.0.0","sensitivity":"CONFIDENTIAL","retention_days":400,"quality_slos":[{"dimension":"COMPLETENESS","operator":">=","threshold":0.9},{"dimension":"COMPLETENESS","operator":">=","threshold":0.99,"port":"orders","column":"email","window":"1h0m0s"}],"output_ports":[],"inputs":[],"security":{"encryption_at_rest":true,"pii_fields":[],"pii_masked":true,"audit_logging":true},"labels":{"kind":"source"}}}}
{"kind":"quality","event":{"event_id":"o1","product_id":"sales.orders","product_version":"1.0.0","run_id":"monitor","observed_at":"2026-03-01T13:00:10Z","data_watermark":"2026-03-01T12:59:58Z","origin":"OBSERVED","port":"orders","window_start":"2026-03-01T12:00:00Z","window_end":"2026-03-01T13:00:00Z","checks":[{"name":"orders.email.completeness","dimension":"COMPLETENESS","column":"email","observed":0.9,"operator":">=","threshold":0.99,"passed":false}]}}
{"kind":"quality","event":{"event_id":"r1","product_id":"sales.orders","product_version":"1.0.0","run_id":"nightly","observed_at":"2026-03-01T13:05:00Z","checks":[{"name":"email","dimension":"COMPLETENESS","column":"email","observed":0.99,"operator":">=","threshold":0.9,"passed":true}]}}
{"kind":"quality","event":{"event_id":"o2","product_id":"sales.orders","product_version":"1.0.0","run_id":"monitor","observed_at":"2026-03-01T14:00:10Z","data_watermark":"2026-03-01T13:59:58Z","origin":"OBSERVED","port":"orders","window_start":"2026-03-01T13:00:00Z","window_end":"2026-03-01T14:00:00Z","checks":[{"name":"orders.email.completeness","dimension":"COMPLETENESS","column":"email","observed":0.995,"operator":">=","threshold":0.99,"passed":true}]}}
{"kind":"quality","event":{"event_id":"r2","product_id":"sales.orders","product_version":"1.0.0","run_id":"nightly","observed_at":"2026-03-01T14:05:00Z","checks":[{"name":"email","dimension":"COMPLETENESS","column":"email","observed":0.99,"operator":">=","threshold":0.9,"passed":true}]}}
`

func TestReplayObserved(t *testing.T) {
	vs, err := Replay(defaultSet(t), strings.NewReader(recordedObserved), "recorded.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, v := range vs {
		got = append(got, fmt.Sprintf("%d %s %s %s", v.Line, v.Violation.Status, v.Violation.PolicyID, v.Violation.Message))
	}
	want := []string{
		"2 OPEN quality-slo sales.orders run monitor: checks below their SLO: orders.email.completeness (COMPLETENESS 0.9, SLO >= 0.99)",
		"3 OPEN reported-vs-observed sales.orders run nightly reports values meshbone did not observe: email (COMPLETENESS of email on port orders: reported 0.99, observed 0.9 in o1)",
		"4 RESOLVED quality-slo sales.orders run monitor: checks below their SLO: orders.email.completeness (COMPLETENESS 0.9, SLO >= 0.99)",
		"5 RESOLVED reported-vs-observed sales.orders run nightly reports values meshbone did not observe: email (COMPLETENESS of email on port orders: reported 0.99, observed 0.9 in o1)",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("violations\n  %s\nwant\n  %s", strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}
}

func TestReplayErrors(t *testing.T) {
	set := defaultSet(t)
	for _, tc := range []struct {
		in, want string
	}{
		{`{"kind":"audit"}`, `f:1: kind "audit" is not lifecycle, quality or tick`},
		{"# comment\n\n" + `{"kind":"tick"}`, `f:3: a tick needs "at"`},
		{`{"kind":"lifecycle"}`, `f:1: event: is missing`},
		{`{"kind":"tick","at":"2026-03-01T13:00:00Z","extra":1}`, `f:1: json: unknown field "extra"`},
		{`{"kind":"quality","event":{"event_id":"q1","nope":true}}`, `f:1: event: json: unknown field "nope"`},
		{`not json`, `f:1: invalid character 'o' in literal null (expecting 'u')`},
	} {
		_, err := Replay(set, strings.NewReader(tc.in), "f")
		if err == nil || err.Error() != tc.want {
			t.Errorf("%s: err %v, want %q", tc.in, err, tc.want)
		}
	}
	// An event that decodes but is not valid is refused with why.
	_, err := Replay(set, strings.NewReader(`{"kind":"quality","event":{"event_id":"q1"}}`), "f")
	if err == nil || !strings.HasPrefix(err.Error(), "f:1: ") || strings.HasPrefix(err.Error(), "f:1: event:") {
		t.Errorf("invalid quality event: %v", err)
	}
	vs, err := Replay(set, strings.NewReader("# nothing\n\n"), "f")
	if err != nil || vs == nil || len(vs) != 0 {
		t.Errorf("only comments: %v %v, want an empty list", vs, err)
	}
}
