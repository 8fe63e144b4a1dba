package events_test

import (
	"context"
	"fmt"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/sr/srfake"

	"github.com/meshbone/meshbone/pkg/events"
)

// A domain pipeline reports a quality run: build the event, publish it, done.
// (The in-process broker and registry stand in for your cluster.)
func ExamplePublisher_Publish() {
	broker, _ := kfake.NewCluster(kfake.SeedTopics(3, events.TopicQuality))
	defer broker.Close()
	registry := srfake.New()
	defer registry.Close()
	ctx := context.Background()

	pub, err := events.NewPublisher(events.SeedBrokers(broker.ListenAddrs()...), events.RegistryURLs(registry.URL()))
	if err != nil {
		panic(err)
	}
	defer pub.Close()

	now := time.Now()
	err = pub.Publish(ctx, &events.QualityEvent{
		EventID: "run-2026-11-22-0800", ProductID: "sales.customer-orders", ProductVersion: "2.1.0",
		RunID: "2026-11-22-0800", ObservedAt: now, DataWatermark: &now,
		Checks: []events.QualityCheck{{Name: "email_not_null", Dimension: events.DimensionCompleteness, Observed: 0.995, Operator: ">=", Threshold: 0.98, Passed: true}},
	})
	fmt.Println("published:", err == nil)

	// An event that breaks its contract is refused before anything is sent.
	err = pub.Publish(ctx, &events.QualityEvent{ProductID: "sales.customer-orders"})
	fmt.Println(err)
	// Output:
	// published: true
	// invalid QualityEvent: event_id: is required
}
