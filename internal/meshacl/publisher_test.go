package meshacl_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/meshbone/meshbone/internal/meshacl"
)

// TestPublisherBindings: a domain's publisher reads the lifecycle topic and
// writes each port topic and its dead-letter topic, which the registrar
// created: no CREATE anywhere.
func TestPublisherBindings(t *testing.T) {
	acls, err := meshacl.PublisherBindings("User:sales-pipeline", "p.", "p.sales.orders.events.v1", "p.sales.orders.daily.v1")
	if err != nil {
		t.Fatal(err)
	}
	got := make([]string, len(acls))
	for i, a := range acls {
		got[i] = string(a.Service) + " " + a.String()
	}
	want := []string{
		"publisher User:sales-pipeline TOPIC LITERAL p.mesh.product.lifecycle.v1 READ",
		"publisher User:sales-pipeline TOPIC LITERAL p.sales.orders.events.v1 WRITE",
		"publisher User:sales-pipeline TOPIC LITERAL p.sales.orders.events.v1.dlq WRITE",
		"publisher User:sales-pipeline TOPIC LITERAL p.sales.orders.daily.v1 WRITE",
		"publisher User:sales-pipeline TOPIC LITERAL p.sales.orders.daily.v1.dlq WRITE",
		"publisher User:sales-pipeline CLUSTER LITERAL kafka-cluster IDEMPOTENT_WRITE",
	}
	if !slices.Equal(got, want) {
		t.Errorf("ACLs\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}

	for _, tc := range []struct {
		principal string
		topics    []string
		want      string
	}{
		{"User:*", []string{"t"}, `principal: "User:*" is not User:<name> (letters, digits, . _ @ -; no wildcard)`},
		{"sales", []string{"t"}, `principal: "sales" is not User:<name> (letters, digits, . _ @ -; no wildcard)`},
		{"User:sales", nil, "port topics: none given"},
		{"User:sales", []string{"t", "*"}, `port topic: "*" holds a character Kafka does not allow in a topic name (letters, digits, . _ -)`},
	} {
		if _, err := meshacl.PublisherBindings(tc.principal, "", tc.topics...); err == nil || err.Error() != tc.want {
			t.Errorf("PublisherBindings(%q, %q): %v, want %q", tc.principal, tc.topics, err, tc.want)
		}
	}
}
