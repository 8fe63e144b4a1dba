// Package product reads, validates and converts data product descriptors, the
// documents in which a domain team describes a product of the mesh: who owns
// it, what it promises (SLA, quality objectives), what it publishes (output
// ports, each a Kafka topic with an Avro schema) and what it is built from
// (inputs). It works offline, so that a pipeline or a CI job can check a
// descriptor before the registrar sees it.
//
// A descriptor is YAML or JSON:
//
//	apiVersion: meshbone/v1
//	kind: DataProduct
//	metadata:
//	  domain: sales
//	  name: customer-orders
//	  owner: sales-data-team
//	  tags: [customer, orders]
//	spec:
//	  version: 2.1.0
//	  sensitivity: confidential
//	  retentionDays: 730
//	  sla: {freshness: 15m, availability: 99.95}
//	  quality:
//	    - {dimension: completeness, port: orders, column: email, operator: ">=", threshold: 0.99, window: 1h}
//	    - {dimension: validity, port: orders, rule: "amount >= 0.0 && currency.size() == 3", threshold: 0.999}
//	    - {dimension: uniqueness, port: orders, column: order_id, threshold: 1.0}
//	    - {dimension: volume, port: orders, threshold: 1000, window: 1h}
//	  outputPorts:
//	    - name: orders
//	      schema: schemas/orders.avsc
//	      partitions: 6
//	      rules:
//	        - {name: positive-amount, rule: "amount > 0", onFailure: reject}
//	        - {name: known-currency, rule: 'currency in ["EUR", "USD"]', onFailure: dlq}
//	  inputs: [marketing.campaigns]
//	  security: {encryptionAtRest: true, piiFields: [email], piiMasked: true, auditLogging: true}
//
// A quality objective with a port is measured by meshbone on the port's
// records, per event-time window (DefaultWindow when none is given); rules
// are CEL over the record's top-level fields, compiled against the port's
// schema when the descriptor is validated. A port's contract rules are
// applied by its writers (pkg/events PortWriter) to every record: reject
// fails the write, dlq sends the record to the port's dead-letter topic.
//
// A port's schema is a path relative to the descriptor file, or the Avro
// schema inline, as JSON text or as a YAML mapping. ParseFile and Load read
// the files a descriptor refers to, so that the Descriptor they return is
// self-contained and can be sent as JSON to the registrar, which Parses it.
//
// Parsing is strict and validation thorough; both report every problem with
// its file and field path:
//
//	customer-orders.yaml: spec.quality[1].threshold: must be a number between 0 and 1, got 1.5
//
// Errors are a *SyntaxError (not YAML or JSON, empty, not a mapping) or a
// *ValidationError (a list of FieldError: unknown fields, wrong types, broken
// rules); both match ErrInvalid with errors.Is.
//
// A valid Descriptor names its Kafka resources (ID, PortTopic, PortSubject),
// converts to the events.DataProduct record of lifecycle events (ToEvent),
// and has a canonical form (Canonical, Equal) to recognise an identical
// re-registration.
package product
