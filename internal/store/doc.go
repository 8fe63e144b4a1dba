// Package store is the indexer's discovery view: an SQLite database (WAL,
// one writer connection, a pool of readers) folded from the mesh topics.
//
// Apply folds one batch of decoded events and the offsets it consumed in a
// single transaction, so the view and the offsets never disagree and a
// restart resumes exactly where the last committed batch ended. The fold is
// deterministic: it reads only the events (never the wall clock) and every
// derived value is a function of per-product state, which Kafka orders
// (records are keyed by product id), so replaying the topics from the start
// yields the same view whatever the interleaving of partitions; Digest
// proves it.
//
// Reads (Search, Product, Lineage, Domains) run on the reader pool inside
// one read transaction each, so every answer is a consistent snapshot.
package store
