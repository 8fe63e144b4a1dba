// Package schemas embeds the Avro contracts of the mesh's own events
// (schemas/avro/*.avsc) and parses them with hamba/avro.
//
// Every mesh topic has exactly one value schema. ProductLifecycleEvent embeds
// DataProduct and AccessEvent embeds AccessAgreement, so each pair is parsed
// together; every other file stands alone.
// Topic schemas are registered under TopicNameStrategy subjects
// ("<topic>-value") by pkg/events.
package schemas
