// Command pipeline is the sales domain's returns pipeline of the README
// tour: it writes two returns to the product's port through a PortWriter
// (which finds the port's topic and schema, applies the port's contract
// rules and sets the CloudEvents headers), each with the time it was
// returned as its event time, and reports the quality run over them with a
// Publisher. The run's completeness check misses its SLO, so the governor
// raises a violation; the monitor measures the port's objectives on the
// records themselves.
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

const productID = "sales.order-returns"

// orderReturn is a record of the product's port "returns", with the Avro
// field names of docs/tour/schemas/order-return.avsc.
type orderReturn struct {
	ReturnID   string    `avro:"return_id"`
	OrderID    string    `avro:"order_id"`
	SKU        string    `avro:"sku"`
	Reason     string    `avro:"reason"`
	Refund     float64   `avro:"refund"`
	ReturnedAt time.Time `avro:"returned_at"`
}

func run(ctx context.Context) error {
	mesh := []events.Opt{
		events.SeedBrokers(env("MESHBONE_KAFKA_BROKERS", "127.0.0.1:9092")),
		events.RegistryURLs(env("MESHBONE_REGISTRY_URL", "http://127.0.0.1:8081")),
	}
	now := time.Now().UTC().Truncate(time.Millisecond)
	runID := now.Format(time.RFC3339)

	// 1. The data, written under the port's contract.
	w, err := events.NewPortWriter(productID, "returns", mesh[0], mesh[1], events.Run(runID))
	if err != nil {
		return fmt.Errorf("the port of %s (is it registered?): %w", productID, err)
	}
	defer w.Close()
	for _, r := range []orderReturn{
		{ReturnID: "r-1001", OrderID: "o-77", SKU: "umbrella-xl", Reason: "DAMAGED", Refund: 24.9, ReturnedAt: now.Add(-3 * time.Minute)},
		{ReturnID: "r-1002", OrderID: "o-81", SKU: "boots-42", Reason: "CHANGED_MIND", Refund: 89.0, ReturnedAt: now},
	} {
		if err := w.WriteAt(ctx, r.ReturnedAt, r.OrderID, r); err != nil {
			return err
		}
	}

	// 2. The quality run over it, in a few lines of pkg/events.
	pub, err := events.NewPublisher(mesh[0], mesh[1])
	if err != nil {
		return err
	}
	defer pub.Close()
	err = pub.Publish(ctx, &events.QualityEvent{
		EventID: "returns-run-" + now.Format("20060102T150405"), ProductID: productID, ProductVersion: w.Product().Version,
		RunID: runID, ObservedAt: now, DataWatermark: &now,
		Checks: []events.QualityCheck{{
			Name: "reason_not_null", Dimension: events.DimensionCompleteness, Column: ptr("reason"),
			Observed: 0.95, Operator: ">=", Threshold: 0.98, Passed: false,
		}},
	})
	if err != nil {
		return err
	}
	fmt.Println("wrote 2 returns to", w.Topic(), "and published quality run", runID)
	return nil
}

func ptr[T any](v T) *T { return &v }
