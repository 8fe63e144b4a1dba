package main

import (
	"context"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/meshbone/meshbone/internal/governor"
	"github.com/meshbone/meshbone/internal/kafka"
	"github.com/meshbone/meshbone/internal/policy"
	"github.com/meshbone/meshbone/internal/testkit"
	"github.com/meshbone/meshbone/pkg/events"
)

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
