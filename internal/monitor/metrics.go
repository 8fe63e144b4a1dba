package monitor

import "github.com/prometheus/client_golang/prometheus"

// metrics are the monitor's Prometheus series; labels are bounded (results,
// no topic names: a mesh has as many port topics as products).
type metrics struct {
	records      prometheus.Counter     // records measured in committed transactions
	undecodable  prometheus.Counter     // of which undecodable
	late         prometheus.Counter     // records for windows already closed
	windows      prometheus.Counter     // QualityEvents published
	transactions *prometheus.CounterVec // result: committed, aborted
	restarts     prometheus.Counter
	topics       prometheus.Gauge // port topics measured by this instance
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		records: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "meshbone_monitor_records_total", Help: "Port records measured in committed transactions.",
		}),
		undecodable: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "meshbone_monitor_undecodable_records_total", Help: "Port records that could not be decoded (measured as failures), in committed transactions.",
		}),
		late: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "meshbone_monitor_late_records_total", Help: "Port records whose window had closed when they were read (measured in no window).",
		}),
		windows: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "meshbone_monitor_windows_total", Help: "Windows closed and published as observed QualityEvents, in committed transactions.",
		}),
		transactions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "meshbone_monitor_transactions_total", Help: "Transactions ended, by result (committed, aborted).",
		}, []string{"result"}),
		restarts: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "meshbone_monitor_session_restarts_total", Help: "Measuring sessions closed after a failure and started again.",
		}),
		topics: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "meshbone_monitor_port_topics", Help: "Port topics this instance measures.",
		}),
	}
	reg.MustRegister(m.records, m.undecodable, m.late, m.windows, m.transactions, m.restarts, m.topics)
	return m
}
