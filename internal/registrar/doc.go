// Package registrar is the self-serve platform of the mesh: a domain team
// hands it a data product descriptor over HTTP, and it provisions what the
// product needs (one Kafka topic per output port, the port schemas under
// their subjects after a BACKWARD compatibility check) and announces the
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
package registrar
