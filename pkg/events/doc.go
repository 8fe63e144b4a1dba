// Package events is the meshbone SDK: the Go forms of the mesh's event
// contracts, the topics they travel on, their CloudEvents headers, and a
// Publisher and Subscriber that speak Avro through a Confluent-compatible
// schema registry.
//
// A domain pipeline publishes a quality run in a few lines:
//
//	pub, err := events.NewPublisher(events.SeedBrokers("kafka:9092"), events.RegistryURLs("http://registry:8081"))
//	if err != nil { ... }
//	defer pub.Close()
//	err = pub.Publish(ctx, &events.QualityEvent{EventID: ..., ProductID: "sales.customer-orders", ...})
//
// Options follow franz-go's style, one function each whose doc names its
// default. NewPublisher takes PublisherOpts, NewSubscriber (and
// NewPortReader) SubscriberOpts and NewPortWriter PortWriterOpts; the
// options all of them take, such as SeedBrokers and RegistryURLs, are Opts,
// which are all of these. An option of the Publisher given to a Subscriber,
// or the other way round, does not compile.
// A Publisher or Subscriber used after its Close returns ErrClosed.
//
// Every record is written in the Confluent wire format (magic byte 0, a
// four-byte schema id, the Avro body), keyed by product id so that everything
// about one product stays ordered, and carries CloudEvents Kafka binary-mode
// headers (ce_id, ce_source, ce_type, ...). Producers are idempotent with
// acks=all; subscribers read committed records only and send what they cannot
// decode to the dead-letter topic, then go on.
//
// The package depends on little beyond franz-go, its schema registry client
// and hamba/avro, and logs through the Logger interface.
package events
