package registrar_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/meshbone/meshbone/internal/registrar"
)

// valid is how fmt prints the nil error of valid options.
const valid = "<nil>"

func TestOptionsValidate(t *testing.T) {
	for _, c := range []struct {
		name string
		edit func(*registrar.Options)
		want string // as fmt prints the error; valid for none
	}{
		{"defaults with a token file", func(*registrar.Options) {}, valid},
		{"no token file", func(o *registrar.Options) { o.TokenFile = "" }, "token-file: is required"},
		{"no brokers", func(o *registrar.Options) { o.Kafka.Brokers = nil }, "kafka-brokers: at least one address is required"},
		{"no partitions", func(o *registrar.Options) { o.Topics.Partitions = 0 }, "partitions: 0 is below 1"},
		{"the broker's replication", func(o *registrar.Options) { o.Topics.ReplicationFactor, o.Topics.MinInsyncReplicas = -1, 0 }, valid},
		{"bad replication", func(o *registrar.Options) { o.Topics.ReplicationFactor = -2 }, "replication-factor: -2 is neither -1 (the broker's default) nor 1 or more"},
		{"bad min insync", func(o *registrar.Options) { o.Topics.MinInsyncReplicas = -1 }, "min-insync-replicas: -1 is below 0 (the broker's default)"},
		{"min insync above replication", func(o *registrar.Options) { o.Topics.ReplicationFactor, o.Topics.MinInsyncReplicas = 2, 3 }, "min-insync-replicas: 3 is above the replication factor 2"},
		{"min insync at replication", func(o *registrar.Options) { o.Topics.ReplicationFactor, o.Topics.MinInsyncReplicas = 3, 3 }, valid},
		{"no body", func(o *registrar.Options) { o.MaxBodyBytes = 0 }, "max-body-bytes: 0 is below 1"},
		{"no write time", func(o *registrar.Options) { o.WriteTimeout = -time.Second }, "write-timeout: -1s is not positive"},
	} {
		t.Run(c.name, func(t *testing.T) {
			o := registrar.DefaultOptions()
			o.TokenFile = "tokens.yaml"
			c.edit(&o)
			if err := o.Validate(); fmt.Sprint(err) != c.want {
				t.Fatalf("Validate() = %v, want %s", err, c.want)
			}
		})
	}
}
