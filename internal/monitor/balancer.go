package monitor

import (
	"sort"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// topicBalancer gives every partition of a topic to one member: the member
// that measures a port topic sees all of it, so uniqueness is exact and the
// watermark is taken over all its partitions. Topics go, in name order, to
// the interested member with the fewest partitions so far (ties to the
// first in the group's member order), so a topic is never split and a port
// topic's load is the unit of scale: more instances than port topics idle.
type topicBalancer struct{}

// topicBalancerProtocol is the group protocol name of topicBalancer.
const topicBalancerProtocol = "meshbone-monitor-topic"

func (topicBalancer) ProtocolName() string { return topicBalancerProtocol }
func (topicBalancer) IsCooperative() bool  { return false }

func (topicBalancer) JoinGroupMetadata(interests []string, _ map[string][]int32, generation int32) []byte {
	meta := kmsg.NewConsumerMemberMetadata()
	meta.Version = 3
	meta.Topics = interests
	meta.Generation = generation
	return meta.AppendTo(nil)
}

func (topicBalancer) ParseSyncAssignment(assignment []byte) (map[string][]int32, error) {
	return kgo.ParseConsumerSyncAssignment(assignment)
}

func (b topicBalancer) MemberBalancer(members []kmsg.JoinGroupResponseMember) (kgo.GroupMemberBalancer, map[string]struct{}, error) {
	cb, err := kgo.NewConsumerBalancer(b, members)
	if err != nil {
		return nil, nil, err
	}
	return cb, cb.MemberTopics(), nil
}

func (topicBalancer) Balance(b *kgo.ConsumerBalancer, topics map[string]int32) kgo.IntoSyncAssignment {
	plan := b.NewPlan()
	type member struct {
		m      *kmsg.JoinGroupResponseMember
		topics map[string]bool
		load   int
	}
	var members []*member
	b.EachMember(func(m *kmsg.JoinGroupResponseMember, meta *kmsg.ConsumerMemberMetadata) {
		mb := &member{m: m, topics: map[string]bool{}}
		for _, t := range meta.Topics {
			mb.topics[t] = true
		}
		members = append(members, mb)
	})
	names := make([]string, 0, len(topics))
	for t := range topics {
		names = append(names, t)
	}
	sort.Strings(names)
	for _, t := range names {
		var best *member
		for _, mb := range members {
			if mb.topics[t] && (best == nil || mb.load < best.load) {
				best = mb
			}
		}
		if best == nil {
			continue
		}
		parts := make([]int32, topics[t])
		for i := range parts {
			parts[i] = int32(i)
		}
		plan.AddPartitions(best.m, t, parts)
		best.load += len(parts)
	}
	return plan
}
