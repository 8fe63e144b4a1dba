// Package txn is the plumbing that the mesh's transactional services (the
// governor and the monitor) share: each consumes its input in a group
// transact session, writes its outcome, its state and the consumer offsets
// in one Kafka transaction a batch, and follows the lifecycle topic from
// its start alongside. What each does with a batch is its own; how a
// session is opened, supervised, polled, written to and ended, and how a
// topic is followed, is here.
package txn
