// Package schemas embeds the Avro contracts of the mesh's own events
// (schemas/avro/*.avsc) and parses them with hamba/avro.
//
// Every mesh topic has exactly one value schema. ProductLifecycleEvent embeds
// DataProduct, AccessEvent embeds AccessAgreement and Notice names
// AccessAgreement's ConsumerType, so each is parsed with what it refers to;
// every other file stands alone.
// Topic schemas are registered under TopicNameStrategy subjects
// ("<topic>-value") by pkg/events.
package schemas
