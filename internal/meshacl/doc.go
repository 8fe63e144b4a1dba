// Package meshacl says which Kafka ACLs each meshbone service needs to run
// on a cluster that authorizes (allow.everyone.if.no.acl.found=false): the
// registrar, the governor, the indexer and the monitor, each as its own
// principal. Bindings returns them, derived from what each service does
// with Kafka (the topics it reads, writes and creates, its consumer groups,
// its transactional ids, the ACLs it creates and deletes); Apply creates
// them with kadm; KafkaACLsArgs gives the same as kafka-acls.sh arguments.
// `meshctl acl bootstrap` prints and applies them, and docs/access.md
// tabulates them.
//
// The consumers of data products are not here: the registrar grants them
// READ on the port topics they have an agreement for (see docs/access.md).
// A domain's publisher of a product gets PublisherBindings: WRITE on the
// port topics and their dead-letter topics, which the registrar creates.
package meshacl
