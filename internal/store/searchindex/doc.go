// Package searchindex is the indexer's search engine: an in-memory index of
// every product in the view that matches, filters, counts facets, ranks and
// pages a search without reading the database.
//
// Matching gives the products whose full text (name, tags, domain, owner,
// description, port names, schema fields) holds every query term, the last
// one as a prefix while typing: the answer FTS5 gives for the query FTSQuery
// builds on the store's full-text table. The index finds it from its own
// posting lists, tokenized by Tokenizer, which is FTS5's tokenizer
// (FTS5Tokenizer) learned rune by rune from SQLite (LearnTokenizer). Text
// holding a rune the tokenizer has not learned is left to FTS5 through
// FullText: such a product is "exotic" and FTS5 checks it, and such a query
// is answered by FTS5 alone.
//
// Ranking is a bm25 over the weighted columns name, tags, domain and owner,
// split by the same tokenizer and read through the same sorted term
// dictionary as matching. Filters and facet counts read dense per-product
// records.
//
// The store owns the data: Apply publishes what one committed batch of the
// store's fold changed, under a write lock that a search's read lock
// excludes, so a search (and FTS5, when it answers) sees the index and the
// store's tables at the same commit. Snapshot lists what the index holds.
package searchindex
