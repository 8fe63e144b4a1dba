package registrar

import (
	"errors"
	"fmt"
	"time"

	"github.com/meshbone/meshbone/internal/kafka"
	"github.com/meshbone/meshbone/internal/policy"
)

// Defaults of Options; their names mirror the flags of cmd/registrar.
const (
	DefaultListen       = ":8090"
	DefaultMaxBodyBytes = 1 << 20
	DefaultWriteTimeout = 30 * time.Second
	DefaultLeaseTimeout = 10 * time.Second
)

// Options configures a Service.
type Options struct {
	// Kafka is how to reach the brokers and the schema registry, and the
	// topic prefix of the mesh. The prefix also prefixes every product port
	// topic, so that several meshes can share a cluster.
	Kafka kafka.Config
	// Listen is the HTTP listen address; ":0" picks a free port.
	Listen string
	// TokenFile is the YAML file of hashed bearer tokens (see TokenFile);
	// required.
	TokenFile string
	// Topics shapes the topics the registrar creates: the mesh topics at
	// start with its Partitions, and every topic (mesh, product, lease)
	// with its ReplicationFactor and MinInsyncReplicas (-1 and 0: the
	// broker's defaults); a product topic's partitions come from its
	// descriptor.
	Topics kafka.TopicSpec
	// MaxBodyBytes bounds a request body; a larger one is answered 413.
	MaxBodyBytes int64
	// WriteTimeout bounds the Kafka and registry work of one write request.
	WriteTimeout time.Duration
	// AdvertiseURL is the base URL the other instances forward writes to
	// while this one is the writer (see lease.go); default the listen
	// address, with 127.0.0.1 for an unspecified host.
	AdvertiseURL string
	// LeaseTimeout is the session timeout of the writer election: how long
	// a writer that died without leaving keeps the lease (the broker's
	// group.min.session.timeout.ms, 6s by default, is the floor).
	LeaseTimeout time.Duration
	// AccessPolicies are the policy directories whose access policies
	// (on: [access]) decide which access requests are approved by rule;
	// none: the built-in copy of policies/global/access-approval.yaml.
	AccessPolicies policy.Dirs
	// Now, when set, is the clock the writer's sunset timer goes by
	// (notice_sunset.go); nil is the wall clock. For tests.
	Now func() time.Time
}

// DefaultOptions returns Options with every default set, for a single-broker
// cluster on localhost. TokenFile is still to be set.
func DefaultOptions() Options {
	return Options{
		Kafka:        kafka.DefaultConfig(),
		Listen:       DefaultListen,
		Topics:       kafka.DefaultTopicSpec,
		MaxBodyBytes: DefaultMaxBodyBytes,
		WriteTimeout: DefaultWriteTimeout,
		LeaseTimeout: DefaultLeaseTimeout,
	}
}

// withDefaults fills zero values with the defaults.
func (o Options) withDefaults() Options {
	d := DefaultOptions()
	if o.Listen == "" {
		o.Listen = d.Listen
	}
	if o.Topics.Partitions == 0 {
		o.Topics.Partitions = d.Topics.Partitions
	}
	if o.Topics.ReplicationFactor == 0 {
		o.Topics.ReplicationFactor = d.Topics.ReplicationFactor
	}
	if o.MaxBodyBytes == 0 {
		o.MaxBodyBytes = d.MaxBodyBytes
	}
	if o.WriteTimeout == 0 {
		o.WriteTimeout = d.WriteTimeout
	}
	if o.LeaseTimeout == 0 {
		o.LeaseTimeout = d.LeaseTimeout
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
	case o.TokenFile == "":
		return errors.New("token-file: is required")
	}
	if err := o.Topics.Validate(); err != nil {
		return err
	}
	switch {
	case o.MaxBodyBytes < 1:
		return fmt.Errorf("max-body-bytes: %d is below 1", o.MaxBodyBytes)
	case o.WriteTimeout <= 0:
		return fmt.Errorf("write-timeout: %s is not positive", o.WriteTimeout)
	case o.LeaseTimeout < time.Second:
		return fmt.Errorf("lease-timeout: %s is below 1s", o.LeaseTimeout)
	case o.AdvertiseURL != "" && !validBaseURL(o.AdvertiseURL):
		return fmt.Errorf("advertise-url: %q is not an http(s) URL with a host", o.AdvertiseURL)
	}
	return o.validateAccess()
}
