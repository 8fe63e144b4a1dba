package kafka

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/meshbone/meshbone/pkg/events"
)

// Defaults for the mesh topics.
const (
	DefaultPartitions        = 3
	DefaultReplicationFactor = 1
	DefaultMinInsyncReplicas = 1
)

// TopicSpec says how to create the mesh topics.
type TopicSpec struct {
	Partitions        int32
	ReplicationFactor int16
	MinInsyncReplicas int
}

// DefaultTopicSpec suits a single-broker cluster.
var DefaultTopicSpec = TopicSpec{DefaultPartitions, DefaultReplicationFactor, DefaultMinInsyncReplicas}

// EnsureMeshTopics creates every mesh topic that does not exist yet (the
// compliance topic compacted, the others deleted by time) and leaves existing
// ones alone, so it is safe to call at every start. It returns the topics it
// created.
func EnsureMeshTopics(ctx context.Context, adm *kadm.Client, t events.Topics, spec TopicSpec) ([]string, error) {
	var created []string
	for _, topic := range t.All() {
		cfg := map[string]*string{"min.insync.replicas": kadm.StringPtr(strconv.Itoa(spec.MinInsyncReplicas))}
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
