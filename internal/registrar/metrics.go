package registrar

import (
	"github.com/prometheus/client_golang/prometheus"
)

// metrics of the registrar; every label has a bounded set of values.
type metrics struct {
	// registrations counts POST /api/v1/products by outcome: the lifecycle
	// type emitted (registered, version_published, updated), unchanged, or
	// the error code of the answer.
	registrations *prometheus.CounterVec
	// actions counts deprecations and retirements by action and outcome.
	actions *prometheus.CounterVec
	// duration is the request latency by route pattern and status code.
	duration *prometheus.HistogramVec
	// lifecycleRecords counts lifecycle records read by the follower.
	lifecycleRecords *prometheus.CounterVec
	// auditFailures counts audit events Kafka did not take.
	auditFailures prometheus.Counter
	// writer is 1 while this instance is the writer.
	writer prometheus.Gauge
	// forwarded counts writes sent on to the writer, by outcome: relayed
	// (the writer's answer), no_answer, no_writer (none within the write
	// timeout: answered 503 here).
	forwarded *prometheus.CounterVec
}

func newMetrics(reg *prometheus.Registry, v *view) *metrics {
	m := &metrics{
		registrations: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "meshbone_registrar_registrations_total",
			Help: "Product registrations by outcome (registered, version_published, updated, unchanged, or the error code).",
		}, []string{"outcome"}),
		actions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "meshbone_registrar_actions_total",
			Help: "Deprecations and retirements by action and outcome (ok or the error code).",
		}, []string{"action", "outcome"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "meshbone_registrar_request_duration_seconds",
			Help:    "HTTP API request latency by route and status code.",
			Buckets: prometheus.ExponentialBuckets(0.001, 2.5, 12),
		}, []string{"route", "code"}),
		lifecycleRecords: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "meshbone_registrar_lifecycle_records_total",
			Help: "Lifecycle records read from the topic: applied, already_applied (written by this instance) or undecodable.",
		}, []string{"result"}),
		auditFailures: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "meshbone_registrar_audit_failures_total",
			Help: "Audit events that could not be encoded or were not acknowledged by Kafka.",
		}),
		writer: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "meshbone_registrar_writer",
			Help: "1 while this instance is the mesh's single writer, else 0.",
		}),
		forwarded: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "meshbone_registrar_forwarded_total",
			Help: "Writes forwarded to the writer, by outcome: relayed, no_answer, no_writer.",
		}, []string{"outcome"}),
	}
	reg.MustRegister(m.registrations, m.actions, m.duration, m.lifecycleRecords, m.auditFailures, m.writer, m.forwarded,
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "meshbone_registrar_products",
			Help: "Products in the registrar's view, retired ones included.",
		}, func() float64 { return float64(v.size()) }))
	return m
}
