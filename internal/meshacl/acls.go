package meshacl

import (
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/twmb/franz-go/pkg/kadm"

	"github.com/meshbone/meshbone/internal/governor"
	"github.com/meshbone/meshbone/internal/monitor"
	"github.com/meshbone/meshbone/internal/registrar"
	"github.com/meshbone/meshbone/pkg/events"
)

// Service is a meshbone service that connects to Kafka as its own principal.
type Service string

// The services, in the order Bindings lists them.
const (
	Registrar Service = "registrar"
	Governor  Service = "governor"
	Indexer   Service = "indexer"
	Monitor   Service = "monitor"
)

// Services are every service, in the order Bindings lists them.
var Services = []Service{Registrar, Governor, Indexer, Monitor}

// Names the registrar uses with Kafka that its package does not export (the
// real-broker test in internal/clustertest fails if one drifts: the
// registrar is refused).
const (
	// RegistrarLeaseGroup is the registrar's election group, after the
	// topic prefix (internal/registrar/lease.go).
	RegistrarLeaseGroup = "meshbone-registrar-lease"
	// RegistrarWriterTxn is the transactional id of the registrar's writer,
	// after the topic prefix; its intents use RegistrarWriterTxn+"-intents".
	RegistrarWriterTxn = "meshbone-registrar-writer"
)

// Resource types of a binding, as Kafka names them.
const (
	ResourceTopic           = "TOPIC"
	ResourceGroup           = "GROUP"
	ResourceTransactionalID = "TRANSACTIONAL_ID"
	ResourceCluster         = "CLUSTER"
)

// ClusterName is the name of the one CLUSTER resource.
const ClusterName = "kafka-cluster"

// AnyTopic is the topic name Kafka matches every topic with (LITERAL).
const AnyTopic = "*"

// ACL is one allow rule: principal may do Operations on the resource from
// any host. Why says what the service does that needs it.
type ACL struct {
	Service      Service             `json:"service"`
	Principal    string              `json:"principal"`
	Host         string              `json:"host"`
	ResourceType string              `json:"resource_type"`
	PatternType  kadm.ACLPattern     `json:"pattern_type"`
	ResourceName string              `json:"resource_name"`
	Operations   []kadm.ACLOperation `json:"operations"`
	Why          string              `json:"why"`
}

// Options says whom the ACLs are for and which names the services use.
type Options struct {
	// TopicPrefix is the mesh's topic prefix (kafka.Config.TopicPrefix).
	// Without one, the rights a service has on every topic of the mesh (the
	// registrar creating port topics, the monitor reading them) cover
	// every topic of the cluster.
	TopicPrefix string
	// Principals are the services' principals, User:<name>; a service
	// missing here gets DefaultPrincipal.
	Principals map[Service]string
	// GovernorGroup is the governor's -group; GovernorTxnPrefix the prefix
	// of its transactional ids (default: the group, as its default
	// transactional id <group>-<instance id> starts with it).
	GovernorGroup     string
	GovernorTxnPrefix string
	// MonitorGroup and MonitorTxnPrefix are the monitor's (default
	// monitor.DefaultGroup, and the group).
	MonitorGroup     string
	MonitorTxnPrefix string
	// Services are the services to list; empty for all.
	Services []Service
}

// DefaultPrincipal is the principal a service gets unless told otherwise:
// User:meshbone-<service>.
func DefaultPrincipal(s Service) string { return "User:meshbone-" + string(s) }

// DefaultOptions returns Options for the services' default groups and
// principals and no topic prefix.
func DefaultOptions() Options {
	return Options{GovernorGroup: governor.DefaultGroup, MonitorGroup: monitor.DefaultGroup}
}

func (o Options) withDefaults() Options {
	if o.GovernorGroup == "" {
		o.GovernorGroup = governor.DefaultGroup
	}
	if o.GovernorTxnPrefix == "" {
		o.GovernorTxnPrefix = o.GovernorGroup
	}
	if o.MonitorGroup == "" {
		o.MonitorGroup = monitor.DefaultGroup
	}
	if o.MonitorTxnPrefix == "" {
		o.MonitorTxnPrefix = o.MonitorGroup
	}
	if len(o.Services) == 0 {
		o.Services = Services
	}
	return o
}

// principal returns the principal of s.
func (o Options) principal(s Service) string {
	if p := o.Principals[s]; p != "" {
		return p
	}
	return DefaultPrincipal(s)
}

var (
	// Kafka's legal topic characters; group and transactional ids are
	// held to the same, so that a prefix ACL means what it says.
	legalName = regexp.MustCompile(`^[a-zA-Z0-9._-]+$`)
	userName  = regexp.MustCompile(`^User:[a-zA-Z0-9._@-]+$`)
)

// Validate reports the first option that cannot work, named by its flag.
func (o Options) Validate() error {
	o = o.withDefaults()
	if o.TopicPrefix != "" && !legalName.MatchString(o.TopicPrefix) {
		return fmt.Errorf("topic-prefix: %q holds a character Kafka does not allow in a topic name (letters, digits, . _ -)", o.TopicPrefix)
	}
	for _, s := range o.Services {
		if !slices.Contains(Services, s) {
			return fmt.Errorf("service: %q is not one of %s", s, joinServices(Services))
		}
	}
	for _, s := range Services {
		if p := o.principal(s); !userName.MatchString(p) {
			return fmt.Errorf("%s-principal: %q is not User:<name> (letters, digits, . _ @ -; no wildcard)", s, p)
		}
	}
	for _, f := range []struct{ flag, v string }{
		{"governor-group", o.GovernorGroup}, {"governor-txn-prefix", o.GovernorTxnPrefix},
		{"monitor-group", o.MonitorGroup}, {"monitor-txn-prefix", o.MonitorTxnPrefix},
	} {
		if !legalName.MatchString(f.v) {
			return fmt.Errorf("%s: %q is not of letters, digits, . _ -", f.flag, f.v)
		}
	}
	return nil
}

func joinServices(ss []Service) string {
	names := make([]string, len(ss))
	for i, s := range ss {
		names[i] = string(s)
	}
	return strings.Join(names, ", ")
}

// ParseService returns the service named s.
func ParseService(s string) (Service, error) {
	if slices.Contains(Services, Service(s)) {
		return Service(s), nil
	}
	return "", fmt.Errorf("%q is not one of %s", s, joinServices(Services))
}

// Bindings returns the ACLs of the services o names, service by service in
// the order of Services.
func Bindings(o Options) ([]ACL, error) {
	if err := o.Validate(); err != nil {
		return nil, err
	}
	o = o.withDefaults()
	var out []ACL
	for _, s := range Services {
		if !slices.Contains(o.Services, s) {
			continue
		}
		b := builder{svc: s, principal: o.principal(s)}
		switch s {
		case Registrar:
			registrarACLs(&b, o)
		case Governor:
			governorACLs(&b, o)
		case Indexer:
			indexerACLs(&b, o)
		case Monitor:
			monitorACLs(&b, o)
		}
		out = append(out, b.acls...)
	}
	return out, nil
}

// builder collects the ACLs of one service.
type builder struct {
	svc       Service
	principal string
	acls      []ACL
}

func (b *builder) add(typ string, pattern kadm.ACLPattern, name, why string, ops ...kadm.ACLOperation) {
	// One rule per resource: what is added to a resource listed already
	// joins its rule.
	for i := range b.acls {
		a := &b.acls[i]
		if a.ResourceType == typ && a.PatternType == pattern && a.ResourceName == name {
			for _, op := range ops {
				if !slices.Contains(a.Operations, op) {
					a.Operations = append(a.Operations, op)
				}
			}
			a.Why += "; " + why
			return
		}
	}
	b.acls = append(b.acls, ACL{Service: b.svc, Principal: b.principal, Host: "*", ResourceType: typ,
		PatternType: pattern, ResourceName: name, Operations: ops, Why: why})
}

func (b *builder) topic(name, why string, ops ...kadm.ACLOperation) {
	b.add(ResourceTopic, kadm.ACLPatternLiteral, name, why, ops...)
}

// meshTopics adds ops on every topic of the mesh: those under the prefix,
// or every topic without one.
func (b *builder) meshTopics(prefix, why string, ops ...kadm.ACLOperation) {
	if prefix == "" {
		b.add(ResourceTopic, kadm.ACLPatternLiteral, AnyTopic, why, ops...)
		return
	}
	b.add(ResourceTopic, kadm.ACLPatternPrefixed, prefix, why, ops...)
}

// createsMeshTopics adds CREATE on every mesh topic: the service creates
// those missing at start (kafka.EnsureMeshTopics), and Kafka refuses to
// create a topic, even one that exists, without CREATE.
func (b *builder) createsMeshTopics(t events.Topics) {
	for _, topic := range t.All() {
		b.topic(topic, "creates the mesh topics if missing", kadm.OpCreate)
	}
}

func (b *builder) cluster(why string, ops ...kadm.ACLOperation) {
	b.add(ResourceCluster, kadm.ACLPatternLiteral, ClusterName, why, ops...)
}

// idempotentWhy explains IDEMPOTENT_WRITE: franz-go produces idempotently.
const idempotentWhy = "its producer is idempotent (brokers before Kafka 3.0 need this; later ones accept WRITE on any topic)"

// registrarACLs: the registrar creates the mesh topics, its lease topic and
// the port topics and their dead-letter topics (a failed registration's are
// deleted again, a port's retention follows its descriptor); it reads the lifecycle, lease, access
// and notice topics, writes them in its writer's transactions, writes audit
// events; it joins the lease group; and it creates and deletes the ACLs of
// access agreements.
func registrarACLs(b *builder, o Options) {
	p, t := o.TopicPrefix, events.MeshTopics(o.TopicPrefix)
	b.meshTopics(p, "creates the mesh topics, its lease topic and each port topic with its dead-letter topic; deletes the topics of a registration that failed; sets a port topic's retention",
		kadm.OpCreate, kadm.OpDelete, kadm.OpAlterConfigs)
	b.topic(t.Lifecycle, "reads the products' history, publishes lifecycle events (transactions)", kadm.OpRead, kadm.OpWrite)
	b.topic(p+registrar.LeaseTopic, "its lease topic: the writer's election, intents and announcements", kadm.OpRead, kadm.OpWrite)
	b.topic(t.Access, "reads and publishes access events", kadm.OpRead, kadm.OpWrite)
	b.topic(t.Notices, "reads and publishes the notices to consumers and downstream products", kadm.OpRead, kadm.OpWrite)
	b.topic(t.Audit, "publishes audit events", kadm.OpWrite)
	b.add(ResourceGroup, kadm.ACLPatternLiteral, p+RegistrarLeaseGroup, "the lease group elects the single writer", kadm.OpRead)
	b.add(ResourceTransactionalID, kadm.ACLPatternPrefixed, p+RegistrarWriterTxn, "the writer's transactional ids (events and -intents), shared by every instance", kadm.OpWrite)
	b.cluster("creates and deletes the ACLs of access agreements (ALTER); "+idempotentWhy+" (IDEMPOTENT_WRITE)", kadm.OpAlter, kadm.OpIdempotentWrite)
}

// governorACLs: the governor creates the mesh topics and its state topic if
// missing, judges the lifecycle and quality topics as a consumer group,
// and writes violations, compliance, dead letters and its state in
// transactions that commit its offsets.
func governorACLs(b *builder, o Options) {
	p, t := o.TopicPrefix, events.MeshTopics(o.TopicPrefix)
	b.topic(t.Lifecycle, "judges lifecycle events, follows the products' inputs", kadm.OpRead)
	b.topic(t.Quality, "judges quality events", kadm.OpRead)
	b.topic(t.Violations, "publishes violations", kadm.OpWrite)
	b.topic(t.Compliance, "publishes compliance statuses", kadm.OpWrite)
	b.topic(t.DLQ, "dead-letters undecodable records", kadm.OpWrite)
	b.createsMeshTopics(t)
	b.topic(p+governor.StateTopic, "its state topic: created, read back at start, written in its transactions", kadm.OpRead, kadm.OpWrite, kadm.OpCreate)
	b.add(ResourceGroup, kadm.ACLPatternLiteral, o.GovernorGroup, "its consumer group (offsets committed in its transactions)", kadm.OpRead)
	b.add(ResourceTransactionalID, kadm.ACLPatternPrefixed, o.GovernorTxnPrefix, "its transactional ids (default <group>-<instance id>)", kadm.OpWrite)
}

// indexerACLs: the indexer reads the mesh's event topics, the access topic
// and the notice topic by partition (no group, its offsets live in its
// view) and dead-letters what it cannot decode.
func indexerACLs(b *builder, o Options) {
	t := events.MeshTopics(o.TopicPrefix)
	for _, topic := range append(t.Events(), t.Access, t.Notices) {
		b.topic(topic, "folds the events into its view", kadm.OpRead)
	}
	b.topic(t.DLQ, "dead-letters undecodable records", kadm.OpWrite)
	b.cluster(idempotentWhy, kadm.OpIdempotentWrite)
}

// monitorACLs: the monitor creates the mesh topics and its state topic if
// missing, reads every port topic as a consumer group and the lifecycle
// topic by partition, and writes quality events and its state in
// transactions that commit its offsets.
func monitorACLs(b *builder, o Options) {
	p, t := o.TopicPrefix, events.MeshTopics(o.TopicPrefix)
	b.meshTopics(p, "reads every product's port topics and the lifecycle topic (port topics have no common name but the mesh's prefix)", kadm.OpRead)
	b.topic(t.Quality, "publishes the quality it observes", kadm.OpWrite)
	b.createsMeshTopics(t)
	b.topic(p+monitor.StateTopic, "its state topic: created, read back at start, written in its transactions", kadm.OpRead, kadm.OpWrite, kadm.OpCreate)
	b.add(ResourceGroup, kadm.ACLPatternLiteral, o.MonitorGroup, "its consumer group (offsets committed in its transactions)", kadm.OpRead)
	b.add(ResourceTransactionalID, kadm.ACLPatternPrefixed, o.MonitorTxnPrefix, "its transactional ids (they start with its group)", kadm.OpWrite)
}
