package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/meshbone/meshbone/internal/governor"
	"github.com/meshbone/meshbone/internal/kafka"
	"github.com/meshbone/meshbone/internal/policy"
	"github.com/meshbone/meshbone/internal/testkit"
	"github.com/meshbone/meshbone/pkg/events"
)

// syncBuffer is a bytes.Buffer safe for a command writing while the test
// reads.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// govCtl runs meshctl in-process with ctx and returns stdout and stderr.
func govCtl(ctx context.Context, args ...string) (string, string, error) {
	var out, errOut syncBuffer
	root := newRoot(&out, &errOut)
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	return out.String(), errOut.String(), err
}

func TestPolicyCheck(t *testing.T) {
	out, _, err := govCtl(context.Background(), "policy", "check", "../../policies")
	if err != nil {
		t.Fatalf("policy check of the default policies: %v", err)
	}
	if !strings.Contains(out, "11 policies OK") || !strings.Contains(out, "orders-retention      DOMAIN  sales") {
		t.Errorf("output:\n%s", out)
	}

	dir := t.TempDir()
	bad := "apiVersion: meshbone/v1\nkind: Policy\nmetadata: {id: typo, severity: info}\nspec:\n  on: [lifecycle]\n  require: prodcut.security.encryption_at_rest\n  message: x\n"
	if err := os.WriteFile(filepath.Join(dir, "typo.yaml"), []byte(bad), 0o644); err != nil {
		t.Fatal(err)
	}
	_, errOut, err := govCtl(context.Background(), "policy", "check", dir)
	var ee exitError
	if !errors.As(err, &ee) || ee != 1 {
		t.Fatalf("policy check of a bad policy: %v, want exit status 1", err)
	}
	want := filepath.Join(dir, "typo.yaml") + `:6: policy "typo": spec.require: 1:1: undeclared reference to 'prodcut' (did you mean 'product'?)`
	if strings.TrimSpace(errOut) != want {
		t.Errorf("stderr %q, want %q", errOut, want)
	}
}

func TestPolicyTest(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "recorded.jsonl")
	lines := `# a product without encryption, then fixed; a stale product
{"kind":"lifecycle","event":{"event_id":"e1","type":"REGISTERED","occurred_at":"2026-03-01T12:00:00Z","actor":"a","product":{"id":"sales.orders","name":"orders","domain":"sales","owner_team":"t","tags":[],"version":"1.0.0","sensitivity":"CONFIDENTIAL","retention_days":400,"sla":{"freshness":"15m"},"quality_slos":[{"dimension":"COMPLETENESS","operator":">=","threshold":0.9}],"output_ports":[],"inputs":[],"security":{"encryption_at_rest":false,"pii_fields":[],"pii_masked":true,"audit_logging":true},"labels":{"kind":"source"}}}}
{"kind":"quality","event":{"event_id":"q1","product_id":"sales.orders","product_version":"1.0.0","run_id":"r1","observed_at":"2026-03-01T12:01:00Z","data_watermark":"2026-03-01T12:00:00Z","checks":[]}}
{"kind":"tick","at":"2026-03-01T13:00:00Z"}
{"kind":"lifecycle","source":"/domains/marketing","event":{"event_id":"e2","type":"UPDATED","occurred_at":"2026-03-01T13:00:00Z","actor":"a","product":{"id":"sales.orders","name":"orders","domain":"sales","owner_team":"t","tags":[],"version":"1.0.1","sensitivity":"CONFIDENTIAL","retention_days":400,"sla":{"freshness":"15m"},"quality_slos":[{"dimension":"COMPLETENESS","operator":">=","threshold":0.9}],"output_ports":[],"inputs":[],"security":{"encryption_at_rest":true,"pii_fields":[],"pii_masked":true,"audit_logging":true},"labels":{"kind":"source"}}}}
`
	if err := os.WriteFile(file, []byte(lines), 0o644); err != nil {
		t.Fatal(err)
	}
	out, errOut, err := govCtl(context.Background(), "policy", "test", "../../policies", "--events", file)
	if err != nil {
		t.Fatalf("policy test: %v\n%s", err, errOut)
	}
	for _, want := range []string{
		"2     sales.orders  encryption-at-rest  CRITICAL  OPEN      sales.orders holds CONFIDENTIAL data but does not declare encryption at rest",
		"4     sales.orders  freshness           WARNING   OPEN",
		"5     sales.orders  encryption-at-rest  CRITICAL  RESOLVED",
		"5     sales.orders  ownership           CRITICAL  OPEN      UPDATED event e2 about sales.orders came from /domains/marketing",
		"4 violation records from 11 policies",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}

	if err := os.WriteFile(file, []byte(`{"kind":"audit"}`+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, _, err := govCtl(context.Background(), "policy", "test", "../../policies", "--events", file); err == nil || err.Error() != file+`:1: kind "audit" is not lifecycle, quality or tick` {
		t.Errorf("bad kind: %v", err)
	}
}

// TestViolationsAndCompliance runs a governor, judges two products and reads
// its output back with meshctl violations (with and without --follow) and
// meshctl compliance.
func TestViolationsAndCompliance(t *testing.T) {
	env := testkit.New(t)
	t.Logf("meshctl governance on %s", env.Backend)
	o := governor.DefaultOptions()
	o.Kafka = kafka.Config{Brokers: env.Brokers, RegistryURL: env.Registry, TopicPrefix: env.Prefix}
	o.Policies = policy.RootDirs("../../policies")
	o.Listen = ""
	o.Group = env.Group("governor")
	o.InstanceID = o.Group
	gov, err := governor.New(o, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- gov.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })

	codec := events.NewCodec(env.RegistryClient(), env.Topics)
	prod := env.Client()
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	publish := func(p events.DataProduct) {
		ev := &events.ProductLifecycleEvent{EventID: "ev-" + p.ID, Type: events.LifecycleRegistered, OccurredAt: t0, Actor: "test", Product: p}
		r, err := codec.Encode(context.Background(), ev, events.DomainSource(p.Domain))
		if err != nil {
			t.Fatal(err)
		}
		if err := prod.ProduceSync(context.Background(), r).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
	product := func(domain, name string, encrypted bool) events.DataProduct {
		return events.DataProduct{
			ID: domain + "." + name, Name: name, Domain: domain, OwnerTeam: "t", Tags: []string{}, Version: "1.0.0",
			Sensitivity: events.SensitivityInternal, RetentionDays: 30,
			QualitySLOs: []events.QualitySLO{{Dimension: events.DimensionVolume, Operator: ">", Threshold: 0}},
			OutputPorts: []events.OutputPort{}, Inputs: []string{}, Labels: map[string]string{"kind": "source"},
			Security: &events.Security{EncryptionAtRest: encrypted, PIIFields: []string{}},
		}
	}
	kargs := []string{"--kafka-brokers", strings.Join(env.Brokers, ","), "--registry-url", env.Registry, "--topic-prefix", env.Prefix}

	// Follow from before anything is judged.
	fctx, fcancel := context.WithCancel(context.Background())
	var fout, ferr syncBuffer
	followDone := make(chan error, 1)
	go func() {
		root := newRoot(&fout, &ferr)
		root.SetArgs(append([]string{"violations", "--follow", "--domain", "sales"}, kargs...))
		followDone <- root.ExecuteContext(fctx)
	}()

	publish(product("sales", "plain", false))
	publish(product("marketing", "plain", false))
	publish(product("sales", "safe", true))

	var out string
	env.Eventually(func() bool {
		out, _, err = govCtl(context.Background(), append([]string{"compliance", "sales.safe"}, kargs...)...)
		return err == nil
	}, "compliance of sales.safe")
	if !strings.Contains(out, "status:    COMPLIANT") || !strings.Contains(out, "no open violations") {
		t.Errorf("compliance sales.safe:\n%s", out)
	}
	env.Eventually(func() bool {
		out, _, err = govCtl(context.Background(), append([]string{"compliance", "sales.plain"}, kargs...)...)
		return err == nil
	}, "compliance of sales.plain")
	if !strings.Contains(out, "status:    NON_COMPLIANT") || !strings.Contains(out, "encryption-at-rest  CRITICAL") {
		t.Errorf("compliance sales.plain:\n%s", out)
	}
	if _, _, err := govCtl(context.Background(), append([]string{"compliance", "sales.nothing"}, kargs...)...); err == nil ||
		!strings.Contains(err.Error(), "no compliance status for sales.nothing") {
		t.Errorf("compliance of an unknown product: %v", err)
	}
	env.Eventually(func() bool {
		out, _, err = govCtl(context.Background(), append([]string{"violations"}, kargs...)...)
		return err == nil && strings.Count(out, "encryption-at-rest") == 2
	}, "two violations listed")
	out, _, err = govCtl(context.Background(), append([]string{"violations", "--domain", "sales"}, kargs...)...)
	if err != nil || strings.Count(out, "\n") != 2 || !strings.Contains(out, "sales.plain  encryption-at-rest  CRITICAL  OPEN    sales.plain holds INTERNAL data") {
		t.Errorf("violations --domain sales (%v):\n%s", err, out)
	}
	followed := regexp.MustCompile(`(?m)^\S+  sales\.plain +encryption-at-rest +CRITICAL  OPEN      sales\.plain holds`)
	env.Eventually(func() bool { return followed.MatchString(fout.String()) }, "followed violation, in padded columns")
	fcancel()
	if err := <-followDone; err != nil {
		t.Errorf("violations --follow: %v", err)
	}
	if strings.Contains(fout.String(), "marketing.plain") {
		t.Errorf("--domain sales followed a marketing violation:\n%s", fout.String())
	}
}
