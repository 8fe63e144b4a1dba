package monitor

import (
	"fmt"
	"time"

	"github.com/meshbone/meshbone/internal/kafka"
	"github.com/meshbone/meshbone/internal/kafka/txn"
)

// Defaults of Options; their names mirror the flags of cmd/monitor.
const (
	DefaultListen          = ":8092"
	DefaultGroup           = "meshbone-monitor"
	DefaultAllowedLateness = time.Minute
	DefaultMaxBatch        = 100000
	DefaultIdleProbe       = time.Second
	DefaultTxnTimeout      = 30 * time.Second
	// MaxWindowsPerBatch bounds the windows one transaction closes on one
	// topic (a stream whose event time jumps far ahead closes the empty
	// windows in between over several transactions, none skipped).
	MaxWindowsPerBatch = 500
	// StateTopic is the monitor's own compacted topic (with the mesh prefix
	// before it): the open windows of every port topic, and where each of
	// its partitions was read to. It is private (JSON and raw hashes, no
	// registered schema).
	StateTopic = "_meshbone.monitor.state.v1"
	// ServiceSource is the CloudEvents source of the QualityEvents the
	// monitor publishes.
	ServiceSource = "/services/monitor"
	// GCPercent is the GOGC cmd/monitor runs with unless GOGC is set:
	// decoding allocates a map per record against a live heap of a few MB
	// (the open windows), so at the default of 100 the collector runs many
	// times a second.
	GCPercent = 400
)

// Options configures a Service.
type Options struct {
	// Kafka is how to reach the brokers and the schema registry, and the
	// mesh's topic prefix.
	Kafka kafka.Config
	// Listen is the HTTP address of /healthz, /readyz and /metrics; ":0"
	// picks a free port; "" serves none.
	Listen string
	// Group is the consumer group of the port topics.
	Group string
	// TransactionalID is the producer's transactional id, unique per
	// running instance and kept across its restarts. Default:
	// "<Group>-<InstanceID>"; without an InstanceID,
	// "<Group>-<host name>-<Listen port>", or "<Group>-<host name>-<random>"
	// when Listen has no fixed port.
	TransactionalID string
	// InstanceID, when set, makes the instance a static group member.
	InstanceID string
	// SessionTimeout is the group session timeout; 0 for franz-go's (45s).
	SessionTimeout time.Duration
	// AllowedLateness is how long, in event time, a window stays open after
	// its end: it closes when a port topic's watermark passes its end plus
	// AllowedLateness. A record for a window already closed is late: it is
	// counted (meshbone_monitor_late_records_total) and measured in no
	// window.
	AllowedLateness time.Duration
	// IdleProbe is how often, at most, the end offsets of a port topic are
	// listed to find the partitions read to their end, which then do not
	// hold the topic's watermark back.
	IdleProbe time.Duration
	// MaxBatch bounds the records measured in one transaction.
	MaxBatch int
	// TxnTimeout bounds producing and committing one transaction.
	TxnTimeout time.Duration
	// Topics shapes the topics the monitor creates if they do not exist
	// (the mesh topics, its state topic).
	Topics kafka.TopicSpec
	// Now is the clock of observed_at; default time.Now.
	Now func() time.Time
}

// DefaultOptions returns Options with every default set.
func DefaultOptions() Options {
	return Options{
		Kafka:           kafka.DefaultConfig(),
		Listen:          DefaultListen,
		Group:           DefaultGroup,
		AllowedLateness: DefaultAllowedLateness,
		IdleProbe:       DefaultIdleProbe,
		MaxBatch:        DefaultMaxBatch,
		TxnTimeout:      DefaultTxnTimeout,
		Topics:          kafka.DefaultTopicSpec,
		Now:             time.Now,
	}
}

// withDefaults fills zero values with the defaults (AllowedLateness 0 is
// a valid choice and stays).
func (o Options) withDefaults() Options {
	d := DefaultOptions()
	if o.Group == "" {
		o.Group = d.Group
	}
	if o.TransactionalID == "" {
		o.TransactionalID = txn.DefaultTransactionalID(o.Group, o.InstanceID, o.Listen)
	}
	if o.IdleProbe == 0 {
		o.IdleProbe = d.IdleProbe
	}
	if o.MaxBatch == 0 {
		o.MaxBatch = d.MaxBatch
	}
	if o.TxnTimeout == 0 {
		o.TxnTimeout = d.TxnTimeout
	}
	if o.Topics == (kafka.TopicSpec{}) {
		o.Topics = d.Topics
	}
	if o.Now == nil {
		o.Now = d.Now
	}
	return o
}

// Validate reports the first option that cannot work, in the wording the
// services share: "<flag>: <value> <what is wrong>".
func (o Options) Validate() error {
	if err := o.Kafka.Validate(); err != nil {
		return err
	}
	switch {
	case o.AllowedLateness < 0:
		return fmt.Errorf("allowed-lateness: %s is negative", o.AllowedLateness)
	case o.IdleProbe < 10*time.Millisecond:
		return fmt.Errorf("idle-probe: %s is below 10ms", o.IdleProbe)
	}
	if err := o.session().Validate(); err != nil {
		return err
	}
	return o.Topics.Validate()
}

// session is what o says about the group transact session.
func (o Options) session() txn.Session {
	return txn.Session{Group: o.Group, TransactionalID: o.TransactionalID, InstanceID: o.InstanceID,
		SessionTimeout: o.SessionTimeout, TxnTimeout: o.TxnTimeout, MaxBatch: o.MaxBatch}
}
