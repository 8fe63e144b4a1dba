package events_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sr"

	"github.com/meshbone/meshbone/pkg/events"
)

// Shared options go to every constructor (this file would not compile
// otherwise).
var (
	_ events.PublisherOpt  = events.SeedBrokers()
	_ events.SubscriberOpt = events.SeedBrokers()
	_ []events.Opt         = []events.Opt{events.KafkaOpts(), events.RegistryURLs(), events.RegistryOpts(), events.Registry(nil), events.TopicPrefix(""), events.WithLogger(nil)}
)

// Each option is of the set its constructors take and of no other: an option
// of the Publisher is no SubscriberOpt, so giving it to NewSubscriber or
// NewPortReader does not compile, and the other way round; only the shared
// ones go to NewPortWriter too.
func TestOptionSets(t *testing.T) {
	for _, tc := range []struct {
		name     string
		opt      any
		pub, sub bool
	}{
		{"SeedBrokers", events.SeedBrokers("b:9092"), true, true},
		{"KafkaOpts", events.KafkaOpts(kgo.ClientID("x")), true, true},
		{"RegistryURLs", events.RegistryURLs("http://r"), true, true},
		{"RegistryOpts", events.RegistryOpts(sr.UserAgent("x")), true, true},
		{"Registry", events.Registry(nil), true, true},
		{"TopicPrefix", events.TopicPrefix("p."), true, true},
		{"WithLogger", events.WithLogger(nil), true, true},
		{"KafkaClient", events.KafkaClient(nil), true, false},
		{"Domain", events.Domain("sales"), true, false},
		{"Source", events.Source("/services/x"), true, false},
		{"ConsumerGroup", events.ConsumerGroup("g"), false, true},
		{"ConsumeTopics", events.ConsumeTopics("t"), false, true},
		{"MaxRetries", events.MaxRetries(1), false, true},
		{"RetryBackoff", events.RetryBackoff(time.Second), false, true},
		{"DeadLetterTopic", events.DeadLetterTopic("d"), false, true},
		{"HandlerErrorsToDLQ", events.HandlerErrorsToDLQ(false), false, true},
		{"FromEnd", events.FromEnd(), false, true},
	} {
		_, pub := tc.opt.(events.PublisherOpt)
		_, sub := tc.opt.(events.SubscriberOpt)
		_, writer := tc.opt.(events.PortWriterOpt)
		_, shared := tc.opt.(events.Opt)
		if want := tc.pub && tc.sub; pub != tc.pub || sub != tc.sub || writer != want || shared != want {
			t.Errorf("%s: PublisherOpt %t, SubscriberOpt %t, PortWriterOpt %t, Opt %t; want %t, %t, %t, %t", tc.name, pub, sub, writer, shared, tc.pub, tc.sub, want, want)
		}
	}
}

// What the types cannot refuse, the constructors do, naming the options.
func TestConstructorsRefuseMisuse(t *testing.T) {
	cl, err := kgo.NewClient(kgo.SeedBrokers("127.0.0.1:1"))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	reg, err := sr.NewClient(sr.URLs("http://127.0.0.1:1"))
	if err != nil {
		t.Fatal(err)
	}
	const (
		clientMsg   = "events: KafkaClient is used as it was built: SeedBrokers and KafkaOpts cannot go with it"
		registryMsg = "events: Registry is used as it was built: RegistryURLs and RegistryOpts cannot go with it"
	)
	groupMsg := func(position int) string {
		return fmt.Sprintf("events: option %d is a consumer group's (ConsumerGroup, ConsumeTopics, MaxRetries, RetryBackoff, DeadLetterTopic or HandlerErrorsToDLQ): a PortReader has no consumer group", position)
	}
	group := events.ConsumerGroup("g")
	for _, tc := range []struct {
		name  string
		build func() error
		want  string // "" for success
	}{
		{"publisher on its own client", pub(events.KafkaClient(cl), events.Registry(reg), events.Source("/x")), ""},
		{"KafkaClient and SeedBrokers", pub(events.KafkaClient(cl), events.SeedBrokers("b:9092")), clientMsg},
		{"KafkaOpts and KafkaClient", pub(events.KafkaOpts(kgo.ClientID("x")), events.KafkaClient(cl)), clientMsg},
		{"Registry and RegistryURLs", pub(events.Registry(reg), events.RegistryURLs("http://r")), registryMsg},
		{"subscriber with Registry and RegistryOpts", sub(group, events.RegistryOpts(sr.UserAgent("x")), events.Registry(reg)), registryMsg},
		{"subscriber", sub(group, events.Registry(reg), events.MaxRetries(0), events.RetryBackoff(0), events.FromEnd()), ""},
		{"subscriber without a group", sub(events.Registry(reg)), "events: a Subscriber needs a ConsumerGroup"},
		{"negative MaxRetries", sub(group, events.MaxRetries(-1)), "events: MaxRetries -1: must be 0 or more"},
		{"negative RetryBackoff", sub(group, events.RetryBackoff(-time.Second)), "events: RetryBackoff -1s: must be 0 or more"},
		{"subscriber of a non-mesh topic", sub(group, events.ConsumeTopics("sales.orders.v1")), `events: "sales.orders.v1" is not a mesh event topic (prefix "")`},
		{"port reader", reader(events.SeedBrokers("b:9092"), events.Registry(reg), events.TopicPrefix("p."), events.FromEnd()), ""},
		{"port reader with ConsumerGroup", reader(events.FromEnd(), group), groupMsg(2)},
		{"port reader with MaxRetries", reader(events.MaxRetries(1)), groupMsg(1)},
		{"port reader with HandlerErrorsToDLQ", reader(events.SeedBrokers("b:9092"), events.HandlerErrorsToDLQ(true)), groupMsg(2)},
		{"port reader with Registry and RegistryURLs", reader(events.Registry(reg), events.RegistryURLs("http://r")), registryMsg},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.build()
			got := ""
			if err != nil {
				got = err.Error()
			}
			if got != tc.want {
				t.Errorf("error %q, want %q", got, tc.want)
			}
		})
	}
}

func pub(opts ...events.PublisherOpt) func() error {
	return func() error {
		p, err := events.NewPublisher(opts...)
		if err == nil {
			p.Close()
		}
		return err
	}
}

func sub(opts ...events.SubscriberOpt) func() error {
	return func() error {
		s, err := events.NewSubscriber(opts...)
		if err == nil {
			s.Close()
		}
		return err
	}
}

func reader(opts ...events.SubscriberOpt) func() error {
	return func() error { _, err := events.NewPortReader("sales.orders.orders.v1", opts...); return err }
}
