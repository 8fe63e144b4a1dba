package governor

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/meshbone/meshbone/internal/kafka"
	"github.com/meshbone/meshbone/internal/policy"
	"github.com/meshbone/meshbone/internal/testkit"
	"github.com/meshbone/meshbone/pkg/events"
)

func ptr[T any](v T) *T { return &v }

// clock is a settable clock for freshness tests.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// world is one test's mesh with a governor's inputs and outputs.
type world struct {
	t     *testing.T
	env   *testkit.Env
	codec *events.Codec
	prod  *kgo.Client
	group string
	out   *outputs
}

func newWorld(t *testing.T) *world {
	t.Helper()
	env := testkit.New(t)
	w := &world{
		t:     t,
		env:   env,
		codec: events.NewCodec(env.RegistryClient(), env.Topics),
		prod:  env.Client(kgo.RequiredAcks(kgo.AllISRAcks())),
		group: env.Group("governor"),
	}
	w.out = w.follow()
	return w
}

// options returns governor options on the world's broker.
func (w *world) options() Options {
	o := DefaultOptions()
	o.Kafka = kafka.Config{Brokers: w.env.Brokers, RegistryURL: w.env.Registry, TopicPrefix: w.env.Prefix}
	o.Policies = policy.RootDirs("../../policies")
	o.Listen = "127.0.0.1:0"
	o.Group = w.group
	o.InstanceID = w.group
	o.PolicyPollInterval = -1
	o.RetryBackoff = 50 * time.Millisecond
	o.MaxBatch = 200
	return o
}

// start runs a governor until the test ends (or stop is called) and waits
// until it is ready.
func (w *world) start(o Options) (*Service, func()) {
	w.t.Helper()
	s, err := New(o, nil)
	if err != nil {
		w.t.Fatalf("governor: %v", err)
	}
	r := testkit.Run(w.t, "governor", s.Run, errCrashed)
	w.env.Eventually(func() bool { return r.Exited() || s.Ready() }, "governor ready")
	if !s.Ready() {
		r.Stop()
		w.t.Fatal("governor stopped before it was ready")
	}
	return s, r.Stop
}

// publish encodes ev with the given CloudEvents source and produces it.
func (w *world) publish(ev events.Event, source string) {
	w.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), testkit.DefaultWait)
	defer cancel()
	r, err := w.codec.Encode(ctx, ev, source)
	if err != nil {
		w.t.Fatalf("encode %s: %v", ev.ID(), err)
	}
	if err := w.prod.ProduceSync(ctx, r).FirstErr(); err != nil {
		w.t.Fatalf("produce %s: %v", ev.ID(), err)
	}
}

func (w *world) own(ev events.Event) { w.publish(ev, events.DomainSource(policy.DomainOf(ev.Key()))) }

// outputs follows the violations, compliance and DLQ topics read_committed.
type outputs struct {
	mu         sync.Mutex
	violations []*events.PolicyViolation
	compliance map[string]*events.ComplianceStatus
	dlq        []*kgo.Record
}

func (w *world) follow() *outputs {
	o := &outputs{compliance: map[string]*events.ComplianceStatus{}}
	cl := w.env.Client(
		kgo.ConsumeTopics(w.env.Topics.Violations, w.env.Topics.Compliance, w.env.Topics.DLQ),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()),
	)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	w.t.Cleanup(func() { cancel(); <-done })
	go func() {
		defer close(done)
		for {
			fetches := cl.PollFetches(ctx)
			if ctx.Err() != nil || fetches.IsClientClosed() {
				return
			}
			fetches.EachRecord(func(r *kgo.Record) {
				o.mu.Lock()
				defer o.mu.Unlock()
				if r.Topic == w.env.Topics.DLQ {
					o.dlq = append(o.dlq, r)
					return
				}
				ev, err := w.codec.Decode(ctx, r)
				if err != nil {
					w.t.Errorf("governor output does not decode: %v", err)
					return
				}
				switch ev := ev.(type) {
				case *events.PolicyViolation:
					o.violations = append(o.violations, ev)
				case *events.ComplianceStatus:
					o.compliance[ev.ProductID] = ev
				}
			})
		}
	}()
	return o
}

// violationsOf returns the violations seen for product (and policy, if not
// "").
func (o *outputs) violationsOf(product, policyID string) []*events.PolicyViolation {
	o.mu.Lock()
	defer o.mu.Unlock()
	var out []*events.PolicyViolation
	for _, v := range o.violations {
		if v.ProductID == product && (policyID == "" || v.PolicyID == policyID) {
			out = append(out, v)
		}
	}
	return out
}

func (o *outputs) complianceOf(product string) *events.ComplianceStatus {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.compliance[product]
}

// waitCompliance waits until product's compliance status satisfies cond.
func (w *world) waitCompliance(product string, cond func(c *events.ComplianceStatus) bool, what string) *events.ComplianceStatus {
	w.t.Helper()
	var c *events.ComplianceStatus
	w.env.Eventually(func() bool {
		c = w.out.complianceOf(product)
		return c != nil && cond(c)
	}, fmt.Sprintf("compliance of %s: %s (last: %+v)", product, what, c))
	return c
}

func openPolicies(c *events.ComplianceStatus) []string {
	var out []string
	for _, o := range c.OpenViolations {
		out = append(out, o.PolicyID)
	}
	return out
}

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// goodProduct complies with every default policy.
func goodProduct(domain, name string) events.DataProduct {
	return events.DataProduct{
		ID: domain + "." + name, Name: name, Domain: domain, OwnerTeam: domain + "-team",
		Tags: []string{}, Version: "1.0.0", Sensitivity: events.SensitivityConfidential, RetentionDays: 365,
		SLA:         &events.SLA{Freshness: ptr("15m")},
		QualitySLOs: []events.QualitySLO{{Dimension: events.DimensionCompleteness, Operator: ">=", Threshold: 0.98}},
		OutputPorts: []events.OutputPort{},
		Inputs:      []string{},
		Security:    &events.Security{EncryptionAtRest: true, PIIFields: []string{}, PIIMasked: true, AuditLogging: true},
		Labels:      map[string]string{"kind": "source"},
	}
}

func lifecycleEvent(id string, typ events.LifecycleType, p events.DataProduct) *events.ProductLifecycleEvent {
	return &events.ProductLifecycleEvent{EventID: id, Type: typ, OccurredAt: t0, Actor: "test", Product: p}
}

func qualityEvent(id, product string, watermark time.Time, observed float64) *events.QualityEvent {
	return &events.QualityEvent{
		EventID: id, ProductID: product, ProductVersion: "1.0.0", RunID: "run-" + id, ObservedAt: watermark,
		DataWatermark: &watermark,
		Checks: []events.QualityCheck{{Name: "complete", Dimension: events.DimensionCompleteness, Observed: observed,
			Operator: ">=", Threshold: 0.9, Passed: observed >= 0.9}},
	}
}

func kgoRecord(topic, key string, value []byte) *kgo.Record {
	return &kgo.Record{Topic: topic, Key: []byte(key), Value: value}
}

func header(r *kgo.Record, key string) string {
	v, _ := events.GetHeader(r, key)
	return v
}
