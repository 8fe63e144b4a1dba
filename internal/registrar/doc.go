// Package registrar is the self-serve platform of the mesh: a domain team
// hands it a data product descriptor over HTTP, and it provisions what the
// product needs (one Kafka topic per output port and its dead-letter topic
// <topic>.dlq, the port schemas under their subjects after a BACKWARD
// compatibility check) and announces the
// product on the lifecycle topic. Every write is authenticated with a bearer
// token bound to one domain (or to the governance role) and audited on
// mesh.audit.v1.
//
// The registrar keeps no state of its own: its view of the products is
// rebuilt at start by reading the lifecycle topic, and kept current by
// following it.
//
// Provisioning is ordered so that a refused request changes nothing: parse
// and validate, authorise, compare with the current view, check every port
// schema (locally with hamba/avro, then with the registry), and only then
// create topics, register schemas and publish the lifecycle event. If a step
// after topic creation fails, the topics and schema versions created by the
// request are deleted again before it is answered.
//
// # Several instances
//
// Any number of instances of one mesh (one topic prefix) may run behind one
// load balancer; exactly one of them writes. Each instance serves reads
// from its own view; a write sent to an instance that is not the writer is
// forwarded to the writer, whose answer it relays once its own view holds
// the write's event (so a client reads its own write from any instance).
//
// The writer is elected through Kafka: it is the member of the consumer
// group <prefix>meshbone-registrar-lease assigned partition 0 of the private
// one-partition topic <prefix>_meshbone.registrar.lease.v1 (cooperative-sticky,
// so instances joining do not move the lease). Its Kafka writes go out in
// transactions under transactional ids every instance shares, so that a new
// writer fences the deposed one: from the successor's first InitProducerID
// the old writer can neither publish a lifecycle event nor record an intent.
// A writer that dies without leaving keeps the lease for -lease-timeout
// (10s by default; 5.9s measured from kill -9 to the next registration with
// 6s); one that stops cleanly hands it over at once.
//
// Before provisioning, a registration commits an intent (what it will
// create) to the lease topic; its lifecycle event commits together with the
// intent's done record. Before a new writer serves, it reads the lifecycle
// and lease topics to their last stable offsets (so REGISTERED versus
// UNCHANGED is decided against everything committed) and rolls back every
// intent without a done record: its topics and schema versions are deleted,
// changed retentions restored. Rolling back rather than completing is the
// choice because such a registration was never answered with success; the
// client's retry registers it again.
//
// Why one writer rather than writes routed to the owner of the product's
// lifecycle partition: retirement checks that no active product reads the
// product, a question across partitions that one writer answers from one
// view under one lock, and topic creation is serialised by the Kafka
// controller anyway (the benchmark's raw baseline: about 10 products/s,
// alone or with 8 clients), so several writers would not register faster.
// Forwarding costs one loopback HTTP hop on the instances that are not the
// writer; instances add read capacity and availability, not write
// throughput.
//
// Known window: a writer paused (not dead) for longer than the lease
// timeout between committing its intent and a provisioning call may create
// a topic after its successor rolled the intent back; its lifecycle event
// is then fenced, and the topic stays until the product is registered again
// (creation keeps an existing topic) or deleted by hand.
package registrar
