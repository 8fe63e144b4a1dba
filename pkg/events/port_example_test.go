package events_test

import (
	"context"
	"errors"
	"log"
	"time"

	"github.com/meshbone/meshbone/pkg/events"
)

// A pipeline writes its product's records under the port's contract: a Go
// struct with avro tags, or a map[string]any. A record that breaks a REJECT
// rule is refused with an error naming the rule; one that breaks a DLQ rule
// goes to the port's dead-letter topic.
func ExampleNewPortWriter() {
	type order struct {
		OrderID  string    `avro:"order_id"`
		Amount   float64   `avro:"amount"`
		Currency string    `avro:"currency"`
		PlacedAt time.Time `avro:"placed_at"`
	}
	w, err := events.NewPortWriter("sales.customer-orders", "orders",
		events.SeedBrokers("localhost:9092"), events.RegistryURLs("http://localhost:8081"), events.Run("nightly-2026-11-29"))
	if err != nil {
		log.Fatal(err)
	}
	defer w.Close()
	ctx := context.Background()
	err = w.Write(ctx, "o-1", order{OrderID: "o-1", Amount: 12.5, Currency: "EUR", PlacedAt: time.Now()})
	var broken *events.RuleError
	if errors.As(err, &broken) {
		log.Printf("refused by rule %s", broken.Rule)
	}
	err = w.Write(ctx, "o-2", map[string]any{"order_id": "o-2", "amount": 3.0, "currency": "USD", "placed_at": time.Now()})
	if err != nil {
		log.Fatal(err)
	}
}
