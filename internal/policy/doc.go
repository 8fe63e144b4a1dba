// Package policy loads, compiles and evaluates meshbone's governance
// policies: YAML files with CEL expressions (see DESIGN.md, Policies). It is
// pure: no Kafka, no clock, no I/O beyond reading the policy files.
//
// # Files
//
// Global policies live in one directory (the governance team's), domain
// policies in one directory per domain, by default policies/global/*.yaml and
// policies/domains/<domain>/*.yaml. One file holds one policy:
//
//	apiVersion: meshbone/v1
//	kind: Policy
//	metadata: {id: encryption-at-rest, scope: global, severity: critical}
//	spec:
//	  on: [lifecycle]                                 # lifecycle, quality, freshness, access
//	  when: product.sensitivity != "PUBLIC"            # optional, must be bool
//	  require: product.security.encryption_at_rest    # must be bool; false = violation
//	  message: "${product.id} holds ${product.sensitivity} data unencrypted"
//
// Decoding is strict: unknown fields, duplicate keys, a missing id or
// require, an unknown severity or trigger are errors naming the file, its
// line, the policy id and the field. Every expression (when, require and each
// ${...} placeholder of message) is compiled and type-checked once, at load;
// a bad one is refused with its position in the expression. A domain policy
// must say metadata.domain equal to its directory's name; it may neither
// reuse the id of a global policy (to replace or disable it) nor be global.
// Ids are unique across the whole set. A policy's Version is a short SHA-256
// of its canonical content and goes into every decision.
//
// # The CEL environment
//
// Field names are the Avro field names of the mesh contracts; enumerations
// are the upper-case Avro symbols ("PUBLIC", "COMPLETENESS", "DEPRECATED").
// Optional records that are absent are present with zero values (so
// product.security.encryption_at_rest is false, not an error, when a product
// declares no security section); has() is false for an empty string, list,
// map or a zero timestamp.
//
//	product   policy.Product   the product's current descriptor (a DataProduct)
//	event     policy.Event     the event being judged: kind ("lifecycle",
//	                           "quality", "freshness"), type (REGISTERED...,
//	                           QUALITY, FRESHNESS), id, source (ce_source),
//	                           source_domain (the <domain> of a
//	                           /domains/<domain> source, else ""), subject,
//	                           time, actor, reason, successor, sunset_at,
//	                           product_id, product_domain (the domain part of
//	                           the product id), product_known (a lifecycle
//	                           event was seen for it), watermark (the newest
//	                           data_watermark seen for the product);
//	                           for a re-judgement (kind "upstream": one of
//	                           the product's inputs changed, and its newest
//	                           lifecycle event, whose type is event.type, is
//	                           judged again) upstream_id and upstream_change
//	                           (the input's lifecycle event type)
//	quality   policy.Quality   the quality event (zero for other kinds), with
//	                           checks [{port, name, dimension, column,
//	                           observed, operator, threshold, passed}],
//	                           origin (REPORTED by the domain's pipeline,
//	                           also when the event says nothing; OBSERVED by
//	                           meshbone's monitor), port, window_start and
//	                           window_end (an observed run: one port's
//	                           records of event time in [start, end)); each
//	                           check's port is its run's
//	observations list(policy.Observation)  for quality events, the newest
//	                           observed value of each of the product's
//	                           checks: {port, name, dimension, column,
//	                           observed, event_id}, the checks of the newest
//	                           observed run of each port and window length
//	                           ({..., window: "1h0m0s"}) in the order of the
//	                           product's partition (kept by the governor)
//	upstream  list(policy.Upstream)  the product's inputs as the mesh knows
//	                           them: {id, known, status} with status ACTIVE,
//	                           DEPRECATED, RETIRED or UNKNOWN. A lifecycle
//	                           policy that reads upstream (or
//	                           event.upstream_*) judges the product again
//	                           whenever one of its inputs changes.
//	now       timestamp        the time of the evaluation
//	access    policy.Access    for the access trigger, the request judged:
//	                           agreement_id, product_id, ports,
//	                           consumer_type (TEAM, APPLICATION,
//	                           DATA_PRODUCT), consumer_id, consumer_domain,
//	                           principal, group_prefix, purpose,
//	                           requested_by, requester_domain, valid_from,
//	                           valid_until (zero: until revoked); event.kind
//	                           is "access", event.type REQUESTED
//
// Functions beyond standard CEL and its strings extension (join, split, ...):
//
//	meets_slos(check, slos) bool          the check's observed value satisfies every
//	                                      SLO it is judged against: those of its
//	                                      dimension and its run's port ("" for a
//	                                      reported run: the objectives without a
//	                                      port), and of its column when they name
//	                                      one; when several are left (a port's
//	                                      validity rules), those of the check's
//	                                      operator and threshold, if any (no such
//	                                      SLO: check.passed)
//	slo_breaches(checks, slos) list(string)  "name (dimension observed op threshold)"
//	                                      of each check that does not
//	observed_differences(quality, observations, tolerance) list(string)
//	                                      each check of a reported run whose value
//	                                      differs from the newest observation of the
//	                                      same dimension and column (and port, when
//	                                      the run names one; several: the one of the
//	                                      same name) by more than tolerance *
//	                                      max(1, |observed|); none for an observed run
//	mesh_duration(string) duration        an SLA duration: a Go duration, optionally
//	                                      led by days ("15m", "1d", "1d12h")
//
// A policy that reads quality or observations judges the observed runs of
// each port and window length in a slot of its own (see the governor): one
// port's window neither clears nor hides what a reported run or another
// series' window raised.
//
// An expression that fails at run time (a missing map key, a bad duration)
// does not stop anything: the decision says so, and the governor turns it
// into a WARNING violation naming the policy and the error.
package policy
