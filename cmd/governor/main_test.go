package main

import (
	"fmt"
	"testing"
	"time"

	"github.com/meshbone/meshbone/internal/governor"
	"github.com/meshbone/meshbone/internal/policy"
)

func TestRunRefusesBadConfiguration(t *testing.T) {
	for _, c := range []struct {
		args []string
		want int
	}{
		{[]string{"-h"}, 0},
		{[]string{"-no-such-flag"}, 2},
		{[]string{"-max-batch", "many"}, 2},
		{[]string{"-log-level", "loud"}, 2},
		{[]string{"-max-batch", "-1", "-listen", "127.0.0.1:0"}, 1},
		{[]string{"-txn-timeout", "10ms", "-listen", "127.0.0.1:0"}, 1},
		{[]string{"-policies", "", "-listen", "127.0.0.1:0"}, 1},
		{[]string{"-replication-factor", "70000"}, 2},
		{[]string{"-replication-factor", "0", "-listen", "127.0.0.1:0"}, 1},
		{[]string{"-partitions", "0", "-listen", "127.0.0.1:0"}, 1},
	} {
		if got := run(c.args); got != c.want {
			t.Errorf("run(%q) = %d, want %d", c.args, got, c.want)
		}
	}
}

// valid is how fmt prints the nil error of valid options.
const valid = "<nil>"

// The governor's options speak the wording of the registrar's and the
// indexer's (see their TestOptionsValidate): "<flag>: <value> <what is
// wrong>".
func TestOptionsValidate(t *testing.T) {
	for _, c := range []struct {
		name string
		edit func(*governor.Options)
		want string // as fmt prints the error; valid for none
	}{
		{"defaults", func(*governor.Options) {}, valid},
		{"no brokers", func(o *governor.Options) { o.Kafka.Brokers = nil }, "kafka-brokers: at least one address is required"},
		{"no policies", func(o *governor.Options) { o.Policies = policy.Dirs{} }, "policies: is required (a global or a domain policy directory)"},
		{"domain policies only", func(o *governor.Options) { o.Policies = policy.Dirs{Domains: "d"} }, valid},
		{"fast freshness", func(o *governor.Options) { o.FreshnessInterval = time.Millisecond }, "freshness-interval: 1ms is below 10ms"},
		{"no batch", func(o *governor.Options) { o.MaxBatch = 0 }, "max-batch: 0 is below 1"},
		{"negative backoff", func(o *governor.Options) { o.RetryBackoff = -time.Second }, "retry-backoff: -1s is negative"},
		{"short transactions", func(o *governor.Options) { o.TxnTimeout = 999 * time.Millisecond }, "txn-timeout: 999ms is below 1s"},
		{"negative session", func(o *governor.Options) { o.SessionTimeout = -time.Second }, "session-timeout: -1s is negative"},
		{"replication of three", func(o *governor.Options) { o.Topics.ReplicationFactor, o.Topics.MinInsyncReplicas = 3, 2 }, valid},
		{"no replication", func(o *governor.Options) { o.Topics.ReplicationFactor = 0 }, "replication-factor: 0 is neither -1 (the broker's default) nor 1 or more"},
		{"min insync above", func(o *governor.Options) { o.Topics.ReplicationFactor, o.Topics.MinInsyncReplicas = 2, 3 }, "min-insync-replicas: 3 is above the replication factor 2"},
	} {
		t.Run(c.name, func(t *testing.T) {
			o := governor.DefaultOptions()
			c.edit(&o)
			if err := o.Validate(); fmt.Sprint(err) != c.want {
				t.Fatalf("Validate() = %v, want %s", err, c.want)
			}
		})
	}
}
