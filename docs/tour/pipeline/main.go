// Command pipeline is the sales domain's returns pipeline of the README
// tour: it writes two returns to the product's port topic and reports the
// quality run over them with pkg/events. The run's completeness check misses
// its SLO, so the governor raises a violation.
//
//	go run ./docs/tour/pipeline
//
// It reads MESHBONE_KAFKA_BROKERS and MESHBONE_REGISTRY_URL (defaults: the
// meshctl dev ports).
package main

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/hamba/avro/v2"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sr"

	"github.com/meshbone/meshbone/pkg/events"
)

func main() {
	if err := run(context.Background()); err != nil {
		fmt.Fprintln(os.Stderr, "pipeline:", err)
		os.Exit(1)
	}
}

func env(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

const (
	productID = "sales.order-returns"
	topic     = "sales.order-returns.returns.v1" // <domain>.<name>.<port>.v<major>
)

func run(ctx context.Context) error {
	brokers, registry := env("MESHBONE_KAFKA_BROKERS", "127.0.0.1:9092"), env("MESHBONE_REGISTRY_URL", "http://127.0.0.1:8081")

	// 1. The data: records in the schema the registrar registered for the port.
	reg, err := sr.NewClient(sr.URLs(registry))
	if err != nil {
		return err
	}
	latest, err := reg.SchemaByVersion(ctx, topic+"-value", -1)
	if err != nil {
		return fmt.Errorf("the port's schema (is %s registered?): %w", productID, err)
	}
	schema, err := avro.Parse(latest.Schema.Schema)
	if err != nil {
		return err
	}
	var serde sr.Serde
	serde.Register(latest.ID, map[string]any{}, sr.EncodeFn(func(v any) ([]byte, error) { return avro.Marshal(schema, v) }))
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers), kgo.DefaultProduceTopic(topic))
	if err != nil {
		return err
	}
	defer cl.Close()
	now := time.Now().UTC().Truncate(time.Millisecond)
	for i, r := range []map[string]any{
		{"return_id": "r-1001", "order_id": "o-77", "sku": "umbrella-xl", "reason": "DAMAGED", "refund": 24.9, "returned_at": now},
		{"return_id": "r-1002", "order_id": "o-81", "sku": "boots-42", "reason": "CHANGED_MIND", "refund": 89.0, "returned_at": now},
	} {
		value, err := serde.Encode(r)
		if err != nil {
			return err
		}
		if err := cl.ProduceSync(ctx, &kgo.Record{Key: []byte(r["order_id"].(string)), Value: value}).FirstErr(); err != nil {
			return fmt.Errorf("record %d: %w", i, err)
		}
	}

	// 2. The quality run over it, in a few lines of pkg/events.
	pub, err := events.NewPublisher(events.SeedBrokers(brokers), events.RegistryURLs(registry))
	if err != nil {
		return err
	}
	defer pub.Close()
	err = pub.Publish(ctx, &events.QualityEvent{
		EventID: "returns-run-" + now.Format("20060102T150405"), ProductID: productID, ProductVersion: "1.0.0",
		RunID: now.Format(time.RFC3339), ObservedAt: now, DataWatermark: &now,
		Checks: []events.QualityCheck{{
			Name: "reason_not_null", Dimension: events.DimensionCompleteness, Column: ptr("reason"),
			Observed: 0.95, Operator: ">=", Threshold: 0.98, Passed: false,
		}},
	})
	if err != nil {
		return err
	}
	fmt.Println("wrote 2 returns to", topic, "and published quality run", now.Format(time.RFC3339))
	return nil
}

func ptr[T any](v T) *T { return &v }
