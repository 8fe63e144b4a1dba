// Package indexer is the mesh's experience plane: it folds every mesh
// topic (lifecycle, quality, violations, compliance, audit) into an SQLite
// discovery view (package store) and serves it as a JSON API under /api/v1
// and as the marketplace web page at /.
//
// Consumption is a plain franz-go consumer without a consumer group,
// read_committed, assigned the partitions of the mesh topics at the offsets
// stored in the view itself. Each polled batch is decoded, undecodable
// records are sent to the dead-letter topic (acknowledged before going on),
// and the batch is folded together with its offsets in one SQLite
// transaction: the view is exactly once across crashes, and --rebuild (or an
// empty database) replays the topics from the start into the same view.
//
// GET /api/v1/status?wait_for=<topic>:<partition>:<offset> blocks (bounded
// by timeout) until the view includes that record, so a client can read
// its own writes.
package indexer
