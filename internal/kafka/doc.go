// Package kafka holds the Kafka and schema registry wiring the meshbone
// services share: connection settings (TLS, SASL) as flags, client options,
// and the idempotent creation of the mesh topics.
package kafka
