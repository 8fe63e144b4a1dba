// Package devstack is the embedded infrastructure of `meshctl dev`: a kfake
// Kafka broker whose data lives in a directory, and a schema registry (srfake)
// whose state survives restarts because every change it accepts is logged to
// a compacted-free `_schemas` topic on that broker and replayed at start, the
// way Confluent's registry keeps its state in Kafka.
package devstack
