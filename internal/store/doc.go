// Package store is the indexer's discovery view: an SQLite database (WAL,
// one writer connection, a pool of readers) folded from the mesh topics.
//
// Apply folds one batch of decoded events and the offsets it consumed in a
// single transaction, so the view and the offsets never disagree and a
// restart resumes exactly where the last committed batch ended. The fold is
// deterministic: it reads only the events (never the wall clock), and each
// table is a function of one topic's per-product history (compliance and
// quality are not copied into products but joined when read), which Kafka
// orders (records are keyed by product id). Replaying the topics from the
// start therefore yields the same view whatever the interleaving of
// partitions; Digest proves it.
//
// Search runs on the search engine, internal/store/searchindex: an
// in-memory index of every product that matches, filters, counts and ranks
// without reading the database. Apply hands it what each batch changed and
// it publishes that together with the commit; Open loads it from the
// tables. products_fts (FTS5) is the durable full text: the index answers
// its matches from memory and asks it (on the reader pool) only for text
// its tokenizer has not learned.
//
// The other reads (Product, Lineage, Domains) run on the reader pool inside
// one read transaction each, so every answer is a consistent snapshot.
package store
