package kafka

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"strconv"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/meshbone/meshbone/pkg/events"
)

// Defaults for the topics meshbone creates: three partitions, and the
// broker's own defaults for the rest, so that topics on a replicated cluster
// are replicated as the operator configured it (default.replication.factor,
// min.insync.replicas) without a flag per service. See the README's
// "Running several instances" for the settings recommended in production.
const (
	DefaultPartitions = 3
	// DefaultReplicationFactor, -1, asks the broker for its
	// default.replication.factor (KIP-464, Kafka 2.4 and later).
	DefaultReplicationFactor = -1
	// DefaultMinInsyncReplicas, 0, leaves min.insync.replicas to the
	// broker's default.
	DefaultMinInsyncReplicas = 0
)

// TopicSpec says how to create the mesh topics.
type TopicSpec struct {
	Partitions        int32
	ReplicationFactor int16 // -1: the broker's default
	MinInsyncReplicas int   // 0: the broker's default
}

// DefaultTopicSpec leaves replication to the broker's defaults.
var DefaultTopicSpec = TopicSpec{DefaultPartitions, DefaultReplicationFactor, DefaultMinInsyncReplicas}

// Validate reports the first field that cannot work, named by its flag.
func (s TopicSpec) Validate() error {
	switch {
	case s.Partitions < 1:
		return fmt.Errorf("partitions: %d is below 1", s.Partitions)
	case s.ReplicationFactor < 1 && s.ReplicationFactor != -1:
		return fmt.Errorf("replication-factor: %d is neither -1 (the broker's default) nor 1 or more", s.ReplicationFactor)
	case s.MinInsyncReplicas < 0:
		return fmt.Errorf("min-insync-replicas: %d is below 0 (the broker's default)", s.MinInsyncReplicas)
	case s.ReplicationFactor > 0 && s.MinInsyncReplicas > int(s.ReplicationFactor):
		return fmt.Errorf("min-insync-replicas: %d is above the replication factor %d", s.MinInsyncReplicas, s.ReplicationFactor)
	}
	return nil
}

// RegisterFlags adds -partitions, -replication-factor and
// -min-insync-replicas to fs, with s's current values as defaults; a value
// out of its Kafka type's range is a bad flag.
func (s *TopicSpec) RegisterFlags(fs *flag.FlagSet, what string) {
	intFlag := func(name, usage string, bits int, set func(int64)) {
		fs.Func(name, usage, func(v string) error {
			n, err := strconv.ParseInt(v, 10, bits)
			if err != nil {
				return fmt.Errorf("%q is not an integer of %d bits", v, bits)
			}
			set(n)
			return nil
		})
	}
	intFlag("partitions", fmt.Sprintf("partitions of the %s created at start (default %d)", what, s.Partitions), 32, func(n int64) { s.Partitions = int32(n) })
	intFlag("replication-factor", fmt.Sprintf("replication factor of the %s; -1 for the broker's default.replication.factor (default %d)", what, s.ReplicationFactor), 16, func(n int64) { s.ReplicationFactor = int16(n) })
	intFlag("min-insync-replicas", fmt.Sprintf("min.insync.replicas of the %s; 0 for the broker's default (default %d)", what, s.MinInsyncReplicas), 32, func(n int64) { s.MinInsyncReplicas = int(n) })
}

// Configs returns the topic configs of the spec (min.insync.replicas when
// set) and the given key-value pairs.
func (s TopicSpec) Configs(kv ...string) map[string]*string {
	cfg := make(map[string]*string, 1+len(kv)/2)
	if s.MinInsyncReplicas > 0 {
		cfg["min.insync.replicas"] = kadm.StringPtr(strconv.Itoa(s.MinInsyncReplicas))
	}
	for i := 0; i+1 < len(kv); i += 2 {
		cfg[kv[i]] = kadm.StringPtr(kv[i+1])
	}
	return cfg
}

// EnsureMeshTopics creates every mesh topic that does not exist yet (the
// compliance topic compacted, the others deleted by time) and leaves existing
// ones alone, so it is safe to call at every start. It returns the topics it
// created.
func EnsureMeshTopics(ctx context.Context, adm *kadm.Client, t events.Topics, spec TopicSpec) ([]string, error) {
	var created []string
	for _, topic := range t.All() {
		cfg := spec.Configs()
		if topic == t.Compliance {
			cfg["cleanup.policy"] = kadm.StringPtr("compact")
		}
		resp, err := adm.CreateTopic(ctx, spec.Partitions, spec.ReplicationFactor, cfg, topic)
		if err == nil {
			err = resp.Err
		}
		switch {
		case err == nil:
			created = append(created, topic)
		case errors.Is(err, kerr.TopicAlreadyExists):
		default:
			return created, fmt.Errorf("create topic %s: %w", topic, err)
		}
	}
	return created, nil
}
