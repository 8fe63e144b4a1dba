// Package clustertest holds the fault tests that need a replicated Kafka
// cluster and a real schema registry: a broker killed with kill -9 under a
// publishing SDK, a broker kept down past every transaction timeout under the
// governor and the indexer, the registry stopped and started under the
// registrar.
//
// The tests are behind the build tag "cluster", so `go test ./...` (and
// `make test`) compiles none of them. `make test-cluster` builds them with
// the tag inside `scripts/kafka.sh cluster run 3 -- scripts/registry.sh run
// -- ...`; built with the tag but run without that cluster, every test fails
// (it does not skip). Each test prints its figures as lines "name: value",
// which make test-cluster repeats last.
package clustertest
