package kafka

import (
	"context"
	"testing"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/meshbone/meshbone/pkg/events"
)

func TestTopicSpecValidate(t *testing.T) {
	for _, tc := range []struct {
		spec TopicSpec
		want string
	}{
		{DefaultTopicSpec, ""},
		{TopicSpec{3, 3, 2}, ""},
		{TopicSpec{0, -1, 0}, "partitions: 0 is below 1"},
		{TopicSpec{3, 0, 0}, "replication-factor: 0 is neither -1 (the broker's default) nor 1 or more"},
		{TopicSpec{3, -2, 0}, "replication-factor: -2 is neither -1 (the broker's default) nor 1 or more"},
		{TopicSpec{3, -1, -1}, "min-insync-replicas: -1 is below 0 (the broker's default)"},
		{TopicSpec{3, 2, 3}, "min-insync-replicas: 3 is above the replication factor 2"},
	} {
		err := tc.spec.Validate()
		if got := ""; err != nil {
			got = err.Error()
			if got != tc.want {
				t.Errorf("%+v: %q, want %q", tc.spec, got, tc.want)
			}
		} else if tc.want != "" {
			t.Errorf("%+v: valid, want %q", tc.spec, tc.want)
		}
	}
}

// With the default spec the broker decides: on a three-broker cluster
// (kfake's default replication factor is 3, at most its broker count), the
// mesh topics get three replicas and no min.insync.replicas of their own.
func TestEnsureMeshTopicsTakesTheBrokerDefaults(t *testing.T) {
	c, err := kfake.NewCluster(kfake.NumBrokers(3))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	cl, err := kgo.NewClient(kgo.SeedBrokers(c.ListenAddrs()...))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	topics := events.MeshTopics("t.")
	if _, err := EnsureMeshTopics(context.Background(), adm, topics, DefaultTopicSpec); err != nil {
		t.Fatal(err)
	}
	details, err := adm.ListTopics(context.Background(), topics.Lifecycle)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range details[topics.Lifecycle].Partitions {
		if len(p.Replicas) != 3 {
			t.Fatalf("partition %d has %d replicas, want the broker's default 3", p.Partition, len(p.Replicas))
		}
	}
	cfgs, err := adm.DescribeTopicConfigs(context.Background(), topics.Lifecycle)
	if err != nil {
		t.Fatal(err)
	}
	for _, rc := range cfgs {
		for _, c := range rc.Configs {
			if c.Key == "min.insync.replicas" && c.Source == 1 /* DYNAMIC_TOPIC_CONFIG */ {
				t.Errorf("min.insync.replicas set on the topic (%v): want the broker's default", c.MaybeValue())
			}
		}
	}
}
