// Package monitor is meshbone's quality monitor: a service that measures
// each data product's declared port objectives (pkg/product
// QualityObjective with a port) on the port topics themselves and publishes
// the results as observed QualityEvents (origin OBSERVED, CloudEvents
// source /services/monitor) to mesh.product.quality.v1, where the governor
// judges them with the same quality-slo policy as reported runs.
//
// # What is measured
//
// The ports come from the lifecycle topic, followed for as long as the
// monitor runs: a product registered or given a new version is measured
// from then on, without a restart; a retired one no longer is. Every
// objective on a port is measured per tumbling event-time window of its
// window length (aligned on the Unix epoch); objectives of the same length
// share a window and one QualityEvent, with one check per objective:
// completeness of a column (share of the window's records where it is not
// null), validity of a rule (share for which the CEL rule, compiled once
// per descriptor version with pkg/events' rule machinery, holds),
// uniqueness of a column (distinct values over non-null values) and volume
// (records). An undecodable record is measured as a failure: it counts in
// the volume, as a null and as failing every rule (and is counted in
// meshbone_monitor_undecodable_records_total); the monitor goes on. Each
// event carries the window's newest event time as its data watermark.
//
// Event time is the record's Kafka timestamp: it is always there (the
// CloudEvents ce_time header is there only for records a PortWriter wrote,
// and is parsed text), it costs nothing to read, and a producer can set it
// (CreateTime) when it writes data of the past. On a topic with
// message.timestamp.type=LogAppendTime event time is append time.
//
// # When a window closes
//
// A port topic's watermark is the oldest, over its partitions that still
// have records to read, of the newest event time read from each; a
// partition read to its end (its position at or past its last stable
// offset, which the monitor lists at most every IdleProbe while the
// watermark is held back) does not hold it, so a partition that never gets
// a record holds no window open; when every partition is read to its end,
// the watermark is the newest event time read. A window [start, end) closes
// when the watermark reaches end + AllowedLateness: then its QualityEvent is
// published, and the windows without records between it and the stream's
// first record are published too (volume 0; completeness, validity and
// uniqueness 1). A record read for a window already closed is late: counted
// (meshbone_monitor_late_records_total), measured nowhere. The newest
// window stays open until newer records arrive.
//
// What a window holds depends on the records only, never on timing or on
// the number of instances, when each partition's event times are in order
// up to the allowed lateness and the records are written before the window
// closes: records read later than that, for example records of the past
// written to a partition after it was read to its end, are late.
//
// # Exactly once, and scale
//
// The monitor consumes the port topics as a consumer group (kgo
// GroupTransactSession, read_committed, default transactional id
// "<group>-<instance id>") with a group balancer that gives all partitions of
// a port topic to one member: the member sees the whole topic, so
// uniqueness is exact and the watermark spans every partition; the unit of
// scale is the port topic (more instances than port topics leave some
// idle, and one very busy topic is measured by one instance).
//
// Each poll of at most MaxBatch records is one Kafka transaction holding the
// QualityEvents of the windows it closes, the state of every port topic it
// touched and the consumer offsets. The state (the private compacted topic
// _meshbone.monitor.state.v1) holds per port topic each partition's
// position and newest event time and the counts of the open windows, and,
// per open window and unique column, the 64-bit hashes (FNV-1a) of the
// distinct values seen, in chunks written by the transactions that found
// them (deleted when the window closes). An instance that gets a topic (a
// rebalance, a restart after a crash) reads its state back as committed,
// which matches the committed offsets exactly: no record is measured
// twice, and a window is published once, under an event id derived from
// product, port, window length and start (EventID). Uniqueness counts two
// values with the same 64-bit hash as one: with a million distinct values
// in a window the chance of any collision is about 3e-8.
package monitor
