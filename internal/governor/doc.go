// Package governor is meshbone's federated computational governance: a
// service that judges every event of mesh.product.lifecycle.v1 and
// mesh.product.quality.v1 with the policies in force (internal/policy: the
// global ones and those of the product's domain) and publishes each
// PolicyViolation to mesh.governance.violations.v1 and each product's
// ComplianceStatus to the compacted mesh.governance.compliance.v1.
//
// # Exactly once
//
// The service consumes as a consumer group through franz-go's
// GroupTransactSession, read_committed. One poll of at most MaxBatch records
// is one Kafka transaction holding the violations, the compliance statuses,
// the dead letters of undecodable records, the governor's own state records
// and the consumer offsets. A crash at any point leaves either all of it or
// none of it; the restarted instance (same transactional id) fences the old
// one, and judges again from the committed offsets.
//
// Judging needs state: each product's current descriptor (to judge quality
// events and lineage), its newest data watermark (freshness) and its open
// violations (to raise one violation per breach and to resolve it). That
// state lives in memory in an Engine and, per product, in the governor's own
// compacted topic <prefix>mesh.governor.state.v1 (JSON, key = product id),
// written in the same transaction. At start and after every rebalance the
// state is read back read_committed to the last stable offset, so it is
// exactly the state after the last committed batch. A batch's state changes
// are applied to the Engine only once its transaction committed: an aborted
// batch is judged again from the same state and yields the same violations
// with the same ids. (The compliance topic alone could not serve: it does
// not say which event class a violation belongs to, nor hold descriptors or
// watermarks.)
//
// # Violations
//
// A violation's id is deterministic: a hash of the policy id, its version
// and the id of the event that broke it (for freshness, the quality event
// that carried the watermark that went stale). A policy judges lifecycle
// events in one slot and data (quality events, freshness checks) in another;
// a policy that reads the quality run judges the monitor's observed runs of
// each port and window length in a slot of their own (see
// ProductState.Open), so that one port's window neither clears nor hides
// what a reported run or another series raised. While a slot is open,
// further failures are the same breach and raise nothing. When a later event passes the policy (or the policy no longer
// applies, or is removed), the governor publishes a RESOLVED record with
// the same id and the compliance status drops it; with no open violation
// left the product is COMPLIANT. A policy that fails to evaluate raises a
// WARNING violation naming the policy and the error.
//
// # Freshness
//
// Every FreshnessInterval, in a transaction of its own (or with the batch at
// hand), the freshness policies judge every product with a descriptor and a
// watermark. The first check past the SLA raises the violation; later ones
// find the slot open; a quality event with fresh data resolves it. Because
// the open slot is in the state topic, a restart does not raise it again.
//
// # Operations
//
// /healthz, /readyz (state rebuilt, broker and registry answer) and
// /metrics (evaluations, violations by policy and severity, consumer lag,
// transactions committed and aborted, dead letters, policy reloads). Reload
// (SIGHUP in cmd/governor) or a change of the policy files reloads the
// policies; a reload that fails keeps the old set and logs every problem.
package governor
