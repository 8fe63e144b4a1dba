package governor

import (
	"errors"
	"fmt"
	"time"

	"github.com/meshbone/meshbone/internal/kafka"
	"github.com/meshbone/meshbone/internal/kafka/txn"
	"github.com/meshbone/meshbone/internal/policy"
)

// Defaults of Options; their names mirror the flags of cmd/governor.
const (
	DefaultListen             = ":8091"
	DefaultPolicies           = "policies"
	DefaultGroup              = "meshbone-governor"
	DefaultFreshnessInterval  = 30 * time.Second
	DefaultPolicyPollInterval = 5 * time.Second
	DefaultMaxBatch           = 1000
	DefaultRetryBackoff       = 500 * time.Millisecond
	DefaultTxnTimeout         = 30 * time.Second
	// GCPercent is the GOGC cmd/governor runs with unless GOGC is set:
	// judging allocates a few KB an event against a live heap of a few MB,
	// so at the default of 100 the collector ran many times a second and
	// took about a quarter of the CPU.
	GCPercent = 400
	// MetadataMinAge bounds how long the governor's transactional client
	// waits between metadata refreshes (see txn.MetadataMinAge).
	MetadataMinAge = txn.MetadataMinAge
	// StateTopic is the governor's own compacted topic (with the mesh
	// prefix before it): per product, the state that judging needs. It is
	// private (JSON and raw descriptors, no registered schema): the leading
	// underscore and the meshbone namespace keep it out of the mesh.*
	// topics that clients read as public contracts. It was
	// mesh.governor.state.v1 before 2026-11; see the README on upgrading.
	StateTopic = "_meshbone.governor.state.v1"
	// ServiceSource is the CloudEvents source of what the governor
	// publishes.
	ServiceSource = "/services/governor"
)

// Options configures a Service.
type Options struct {
	// Kafka is how to reach the brokers and the schema registry, and the
	// mesh's topic prefix.
	Kafka kafka.Config
	// Policies says where the policies are; Global or Domains is required.
	Policies policy.Dirs
	// Listen is the HTTP address of /healthz, /readyz and /metrics; ":0"
	// picks a free port.
	Listen string
	// Group is the consumer group.
	Group string
	// TransactionalID is the producer's transactional id. Each running
	// instance needs its own (a second instance with the same one fences
	// the first), and a restarted instance should reuse its old one so that
	// its unfinished transaction is aborted at once rather than after the
	// transaction timeout. Default: "<Group>-<InstanceID>"; without an
	// InstanceID, "<Group>-<host name>-<Listen port>", or, when Listen has
	// no fixed port, "<Group>-<host name>-<random>" (unique, not stable).
	TransactionalID string
	// InstanceID, when set, makes the instance a static group member
	// (KIP-345): restarted with the same id it takes its partitions back
	// without waiting for the session timeout. Default: dynamic membership.
	InstanceID string
	// SessionTimeout is the group session timeout; 0 for franz-go's (45s).
	SessionTimeout time.Duration
	// FreshnessInterval is how often freshness is checked.
	FreshnessInterval time.Duration
	// PolicyPollInterval is how often the policy files are checked for
	// changes (by size and modification time); negative disables polling
	// (Reload still works).
	PolicyPollInterval time.Duration
	// MaxBatch bounds the records judged in one transaction.
	MaxBatch int
	// RetryBackoff bounds the wait after an aborted transaction: the
	// first is retried at once, the next ones in a row after RetryBackoff/8,
	// doubling up to RetryBackoff.
	RetryBackoff time.Duration
	// TxnTimeout bounds producing and committing one transaction.
	TxnTimeout time.Duration
	// Partitions, ReplicationFactor and MinInsyncReplicas shape the topics
	// the governor creates if they do not exist (the mesh topics, its state
	// topic); zero for kafka.DefaultTopicSpec.
	Topics kafka.TopicSpec
	// Now is the clock; default time.Now.
	Now func() time.Time
}

// DefaultOptions returns Options with every default set.
func DefaultOptions() Options {
	return Options{
		Kafka:              kafka.DefaultConfig(),
		Policies:           policy.RootDirs(DefaultPolicies),
		Listen:             DefaultListen,
		Group:              DefaultGroup,
		FreshnessInterval:  DefaultFreshnessInterval,
		PolicyPollInterval: DefaultPolicyPollInterval,
		MaxBatch:           DefaultMaxBatch,
		RetryBackoff:       DefaultRetryBackoff,
		TxnTimeout:         DefaultTxnTimeout,
		Topics:             kafka.DefaultTopicSpec,
		Now:                time.Now,
	}
}

// withDefaults fills zero values with the defaults.
func (o Options) withDefaults() Options {
	d := DefaultOptions()
	if o.Group == "" {
		o.Group = d.Group
	}
	if o.TransactionalID == "" {
		o.TransactionalID = txn.DefaultTransactionalID(o.Group, o.InstanceID, o.Listen)
	}
	if o.FreshnessInterval == 0 {
		o.FreshnessInterval = d.FreshnessInterval
	}
	if o.PolicyPollInterval == 0 {
		o.PolicyPollInterval = d.PolicyPollInterval
	}
	if o.MaxBatch == 0 {
		o.MaxBatch = d.MaxBatch
	}
	if o.RetryBackoff == 0 {
		o.RetryBackoff = d.RetryBackoff
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
// three services share: "<flag>: <value> <what is wrong>", or
// "<flag>: is required" when it is missing.
func (o Options) Validate() error {
	if err := o.Kafka.Validate(); err != nil {
		return err
	}
	switch {
	case o.Policies.Global == "" && o.Policies.Domains == "":
		return errors.New("policies: is required (a global or a domain policy directory)")
	case o.FreshnessInterval < 10*time.Millisecond:
		return fmt.Errorf("freshness-interval: %s is below 10ms", o.FreshnessInterval)
	case o.RetryBackoff < 0:
		return fmt.Errorf("retry-backoff: %s is negative", o.RetryBackoff)
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
