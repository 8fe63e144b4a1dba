package registrar_test

import (
	"context"
	"net/http"
	"strconv"
	"testing"

	"github.com/meshbone/meshbone/pkg/events"
)

func retentionMs(days int) string { return strconv.Itoa(days * 24 * 3600 * 1000) }

// TestPortsGetDeadLetterTopics: every port, with or without a dead-lettering
// rule, gets <topic>.dlq with the port topic's partitions and retention; a
// new version's retention applies to both; an existing port whose
// dead-letter topic is missing (registered before the registrar made them)
// gets it with its next version.
func TestPortsGetDeadLetterTopics(t *testing.T) {
	w := newWorld(t)
	d := desc{domain: "sales", name: "orders", version: "1.0.0", retentionDays: 30, partitions: 3, extraPort: true}
	w.post(salesToken, d.yaml()).want(t, http.StatusCreated, "")
	for topic, wantParts := range map[string]int{"sales.orders.events.v1": 3, "sales.orders.daily.v1": 1} {
		dlq := events.PortDeadLetterTopic(w.topic(topic))
		parts, retention := w.createdTopic(dlq)
		if parts != wantParts || retention != retentionMs(30) {
			t.Errorf("%s: %d partitions, retention.ms %q; want %d, %s", dlq, parts, retention, wantParts, retentionMs(30))
		}
	}

	// The daily port's dead-letter topic goes missing, as for a product
	// registered before; version 1.1.0 changes the retention.
	daily := events.PortDeadLetterTopic(w.topic("sales.orders.daily.v1"))
	if _, err := w.env.Admin().DeleteTopics(context.Background(), daily); err != nil {
		t.Fatal(err)
	}
	w.env.Eventually(func() bool { parts, _ := w.topicInfo(daily); return parts == -1 }, daily+" deleted")
	d.version, d.retentionDays = "1.1.0", 60
	a := w.post(salesToken, d.yaml())
	a.want(t, http.StatusCreated, "")
	if a.str("type") != string(events.LifecycleVersionPublished) {
		t.Fatalf("answer %s", a.Raw)
	}
	for topic, wantParts := range map[string]int{
		"sales.orders.events.v1": 3, "sales.orders.events.v1.dlq": 3,
		"sales.orders.daily.v1": 1, "sales.orders.daily.v1.dlq": 1,
	} {
		parts, retention := w.createdTopic(w.topic(topic))
		if parts != wantParts || retention != retentionMs(60) {
			t.Errorf("%s after 1.1.0: %d partitions, retention.ms %q; want %d, %s", topic, parts, retention, wantParts, retentionMs(60))
		}
	}
}
