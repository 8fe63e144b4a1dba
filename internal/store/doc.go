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
// Search: FTS5 (unicode61, diacritics folded) finds the products that hold
// every query term; user text is reduced to quoted terms first (FTSQuery),
// so no FTS5 syntax gets through. Filtering, facet counts and ranking (a
// bm25 over the weighted columns name, tags, domain and owner) run on an
// in-memory index of those few fields per product, which Apply updates in
// step with its commit.
//
// Reads (Search, Product, Lineage, Domains) run on the reader pool inside
// one read transaction each, so every answer is a consistent snapshot.
package store
