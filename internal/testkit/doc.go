// Package testkit gives each test its own mesh world: a Kafka broker, a
// schema registry and a unique topic prefix and group names.
//
// The broker is the real one named by MESH_TEST_KAFKA (bootstrap addresses)
// when set, else an Apache Kafka container through testcontainers-go when a
// Docker engine answers, else franz-go's in-process kfake. The registry is
// the one named by MESH_TEST_SR when set, else an in-process srfake server
// on loopback. Integration suites are written once against an *Env and run on
// whichever backend was chosen; Env.Backend names it in the test output.
//
// On a real cluster of three brokers or more (scripts/kafka.sh cluster), the
// mesh topics are replicated 3 with min.insync.replicas=2: Env.Spec says so.
package testkit
