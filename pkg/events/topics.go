package events

// Names of the mesh topics, without a prefix.
const (
	TopicLifecycle  = "mesh.product.lifecycle.v1"
	TopicQuality    = "mesh.product.quality.v1"
	TopicViolations = "mesh.governance.violations.v1"
	TopicCompliance = "mesh.governance.compliance.v1" // compacted
	TopicAudit      = "mesh.audit.v1"
	TopicDLQ        = "mesh.dlq.v1"
	TopicAccess     = "mesh.access.v1"
	TopicNotices    = "mesh.notices.v1"
)

// Topics names the mesh topics of one mesh. A prefix lets several meshes (an
// environment each, or a test each) share one Kafka cluster.
type Topics struct {
	Prefix     string
	Lifecycle  string
	Quality    string
	Violations string
	Compliance string
	Audit      string
	DLQ        string
	Access     string
	Notices    string
}

// MeshTopics returns the mesh topic names with prefix prepended ("" for the
// standard names).
func MeshTopics(prefix string) Topics {
	return Topics{
		Prefix:     prefix,
		Lifecycle:  prefix + TopicLifecycle,
		Quality:    prefix + TopicQuality,
		Violations: prefix + TopicViolations,
		Compliance: prefix + TopicCompliance,
		Audit:      prefix + TopicAudit,
		DLQ:        prefix + TopicDLQ,
		Access:     prefix + TopicAccess,
		Notices:    prefix + TopicNotices,
	}
}

// For returns the topic events of kind k travel on.
func (t Topics) For(k Kind) string {
	switch k {
	case KindLifecycle:
		return t.Lifecycle
	case KindQuality:
		return t.Quality
	case KindViolation:
		return t.Violations
	case KindCompliance:
		return t.Compliance
	case KindAudit:
		return t.Audit
	case KindAccess:
		return t.Access
	case KindNotice:
		return t.Notices
	}
	return ""
}

// KindOf returns the kind of events that travel on topic.
func (t Topics) KindOf(topic string) (Kind, bool) {
	for _, k := range Kinds {
		if t.For(k) == topic {
			return k, true
		}
	}
	return 0, false
}

// Events returns the topics that carry the mesh's product, governance and
// audit events (all but the DLQ, the access topic, which only the
// registrar reads so far, and the notices, which their recipients read).
func (t Topics) Events() []string {
	return []string{t.Lifecycle, t.Quality, t.Violations, t.Compliance, t.Audit}
}

// All returns every mesh topic, the access and notice topics and the DLQ
// included.
func (t Topics) All() []string { return append(t.Events(), t.Access, t.Notices, t.DLQ) }

// Subject returns the schema registry subject of topic's values
// (TopicNameStrategy).
func Subject(topic string) string { return topic + "-value" }
