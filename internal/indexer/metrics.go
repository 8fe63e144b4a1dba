package indexer

import (
	"github.com/prometheus/client_golang/prometheus"
)

// metrics of the indexer, registered on the ops server's registry.
type metrics struct {
	folded       *prometheus.CounterVec   // events folded, by kind
	duplicates   prometheus.Counter       // events already in the view
	deadLettered *prometheus.CounterVec   // records sent to the DLQ, by error class
	batch        prometheus.Histogram     // seconds to fold and commit a batch
	batchSize    prometheus.Histogram     // records per batch
	lag          *prometheus.GaugeVec     // records behind the high watermark, by topic and partition
	search       prometheus.Histogram     // seconds to answer a search
	requests     *prometheus.CounterVec   // API requests by route and status code
	latency      *prometheus.HistogramVec // API request seconds by route
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		folded: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "meshbone_indexer_events_folded_total", Help: "Events folded into the view, by kind (rate() is the fold rate).",
		}, []string{"kind"}),
		duplicates: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "meshbone_indexer_events_duplicate_total", Help: "Events skipped because the view already held them.",
		}),
		deadLettered: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "meshbone_indexer_records_dead_lettered_total", Help: "Records that did not decode and went to the dead-letter topic, by error class.",
		}, []string{"class"}),
		batch: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "meshbone_indexer_batch_seconds", Help: "Time to fold a batch and commit it with its offsets.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 16),
		}),
		batchSize: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "meshbone_indexer_batch_records", Help: "Records per folded batch.",
			Buckets: prometheus.ExponentialBuckets(1, 4, 8),
		}),
		lag: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "meshbone_indexer_lag_records", Help: "Records between the last folded offset and the high watermark.",
		}, []string{"topic", "partition"}),
		search: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "meshbone_indexer_search_seconds", Help: "Time to answer a search.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 14),
		}),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "meshbone_indexer_http_requests_total", Help: "API and web requests by route and status code.",
		}, []string{"route", "code"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "meshbone_indexer_http_request_seconds", Help: "API and web request time by route.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 14),
		}, []string{"route"}),
	}
	reg.MustRegister(m.folded, m.duplicates, m.deadLettered, m.batch, m.batchSize, m.lag, m.search, m.requests, m.latency)
	return m
}
