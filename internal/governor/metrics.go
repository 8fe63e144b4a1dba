package governor

import (
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/meshbone/meshbone/internal/policy"
	"github.com/meshbone/meshbone/pkg/events"
)

// metrics are the governor's Prometheus series. Policy labels are bounded by
// the loaded policies, error classes by events.ErrorClass, partitions by the
// topics'.
type metrics struct {
	evaluations  *prometheus.CounterVec // policy, outcome
	violations   *prometheus.CounterVec // policy, severity, status
	lag          *prometheus.GaugeVec   // topic, partition
	transactions *prometheus.CounterVec // result: committed, aborted
	records      *prometheus.CounterVec // topic (records judged in committed transactions)
	deadLetters  *prometheus.CounterVec // class
	phaseSeconds *prometheus.CounterVec // phase (Phases)
	reloads      *prometheus.CounterVec // result: ok, failed
	restarts     prometheus.Counter     // judging sessions started again after a failure
	stateSkipped prometheus.Counter     // state records that did not decode at a rebuild
	rejudged     prometheus.Counter     // products judged again because an input changed
	policies     prometheus.Gauge
	products     prometheus.Gauge
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		evaluations: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "meshbone_governor_evaluations_total", Help: "Policy evaluations, by policy and outcome (pass, fail, skipped, error).",
		}, []string{"policy", "outcome"}),
		violations: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "meshbone_governor_violations_total", Help: "Violation records committed, by policy, severity and status (OPEN, RESOLVED).",
		}, []string{"policy", "severity", "status"}),
		lag: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "meshbone_governor_consumer_lag", Help: "Records not yet judged, by topic and partition, as of the last fetch.",
		}, []string{"topic", "partition"}),
		transactions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "meshbone_governor_transactions_total", Help: "Transactions ended, by result (committed, aborted).",
		}, []string{"result"}),
		records: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "meshbone_governor_records_total", Help: "Records judged in committed transactions, by topic.",
		}, []string{"topic"}),
		deadLetters: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "meshbone_governor_dead_letters_total", Help: "Records sent to the dead-letter topic, by error class.",
		}, []string{"class"}),
		phaseSeconds: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "meshbone_governor_phase_seconds_total", Help: "Time the judging loop spent in each phase of its batches (decode, judge, write, commit), committed or not.",
		}, []string{"phase"}),
		reloads: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "meshbone_governor_policy_reloads_total", Help: "Policy reloads, by result (ok, failed).",
		}, []string{"result"}),
		restarts: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "meshbone_governor_session_restarts_total", Help: "Judging sessions closed after a failure (brokers or coordinator unreachable) and started again.",
		}),
		stateSkipped: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "meshbone_governor_state_records_skipped_total", Help: "Records of the governor's state topic that did not decode when the state was read back (their products are judged afresh).",
		}),
		rejudged: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "meshbone_governor_rejudged_total", Help: "Products judged again, in committed transactions, because one of their inputs changed.",
		}),
		policies: prometheus.NewGauge(prometheus.GaugeOpts{Name: "meshbone_governor_policies", Help: "Policies in force."}),
		products: prometheus.NewGauge(prometheus.GaugeOpts{Name: "meshbone_governor_products", Help: "Products the governor knows."}),
	}
	reg.MustRegister(m.evaluations, m.violations, m.lag, m.transactions, m.records, m.deadLetters, m.phaseSeconds, m.reloads, m.restarts, m.stateSkipped, m.rejudged, m.policies, m.products)
	return m
}

func (m *metrics) committed(b *Batch, judged map[string]int, dead []events.ErrorClass) {
	m.rejudged.Add(float64(b.Rejudged))
	m.transactions.WithLabelValues("committed").Inc()
	for id, outcomes := range b.Evals {
		for o, n := range outcomes {
			m.evaluations.WithLabelValues(id, o.String()).Add(float64(n))
		}
	}
	for _, v := range b.Violations {
		m.violations.WithLabelValues(v.PolicyID, string(v.Severity), string(v.Status)).Inc()
	}
	for topic, n := range judged {
		m.records.WithLabelValues(topic).Add(float64(n))
	}
	for _, c := range dead {
		m.deadLetters.WithLabelValues(string(c)).Inc()
	}
}

func (m *metrics) setLag(topic string, partition int32, lag int64) {
	m.lag.WithLabelValues(topic, strconv.Itoa(int(partition))).Set(float64(max(lag, 0)))
}

func (m *metrics) setPolicies(s *policy.Set) { m.policies.Set(float64(s.Len())) }

// Phase is a step of the judging loop's cycle, timed per batch.
type Phase int

// The phases of a batch, in order. Polling is not one: it waits for
// records.
const (
	PhaseDecode Phase = iota // decoding the polled records (every core)
	PhaseJudge               // evaluating the policies and reconciling the states (every core)
	PhaseWrite               // encoding and producing the outcome, and waiting for its acks
	PhaseCommit              // committing the offsets and ending the transaction
	phases
)

func (p Phase) String() string {
	return [...]string{"decode", "judge", "write", "commit"}[p]
}

// phaseClock adds the time since the last mark to a phase.
type phaseClock struct {
	s    *Service
	last time.Time
}

func (s *Service) startPhases() phaseClock { return phaseClock{s: s, last: time.Now()} }

// done ends phase p now.
func (c *phaseClock) done(p Phase) {
	now := time.Now()
	d := now.Sub(c.last)
	c.last = now
	c.s.phases[p].Add(int64(d))
	c.s.m.phaseSeconds.WithLabelValues(p.String()).Add(d.Seconds())
}
