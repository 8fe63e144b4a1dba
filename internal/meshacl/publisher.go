package meshacl

import (
	"fmt"

	"github.com/twmb/franz-go/pkg/kadm"

	"github.com/meshbone/meshbone/pkg/events"
)

// Publisher is the Service of the ACLs PublisherBindings lists: a domain's
// publisher of a product, not one of meshbone's services.
const Publisher Service = "publisher"

// PublisherBindings returns the ACLs a domain's publisher needs to write a
// product's output ports with pkg/events' PortWriter: READ on the
// lifecycle topic (the writer finds the port there), WRITE on each port
// topic and on its dead-letter topic <topic>.dlq (the registrar creates
// both, so no CREATE: a PortWriter only looks the dead-letter topic up),
// and IDEMPOTENT_WRITE. topicPrefix is the mesh's; portTopics are the port
// topics as the lifecycle event names them (prefix included).
func PublisherBindings(principal, topicPrefix string, portTopics ...string) ([]ACL, error) {
	if !userName.MatchString(principal) {
		return nil, fmt.Errorf("principal: %q is not User:<name> (letters, digits, . _ @ -; no wildcard)", principal)
	}
	if len(portTopics) == 0 {
		return nil, fmt.Errorf("port topics: none given")
	}
	b := builder{svc: Publisher, principal: principal}
	b.topic(events.MeshTopics(topicPrefix).Lifecycle, "finds the product's ports and their schemas", kadm.OpRead)
	for _, t := range portTopics {
		if !legalName.MatchString(t) {
			return nil, fmt.Errorf("port topic: %q holds a character Kafka does not allow in a topic name (letters, digits, . _ -)", t)
		}
		b.topic(t, "writes the port's records", kadm.OpWrite)
		b.topic(events.PortDeadLetterTopic(t), "dead-letters the records a contract rule sends there (the registrar created the topic)", kadm.OpWrite)
	}
	b.cluster(idempotentWhy, kadm.OpIdempotentWrite)
	return b.acls, nil
}
