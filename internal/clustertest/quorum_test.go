//go:build cluster

package clustertest

import (
	"bytes"
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/meshbone/meshbone/pkg/events"
)

// TestRegistrarWithoutQuorum registers a product with two brokers of three
// dead: the controllers have no quorum and no partition has two replicas,
// so the request must fail within the registrar's write timeout (30 s) and
// leave no topic, no schema and no lifecycle event; with the brokers back the
// same request succeeds. (TestRegistrarLosesQuorumAfterProvisioning, tag
// clusterpending, kills the second broker after a registration made with
// the first one dead.)
func TestRegistrarWithoutQuorum(t *testing.T) {
	c := newCluster(t)
	env := c.env
	ctx := context.Background()
	svc, _ := startRegistrar(t, c)
	products := svc.URL() + "/api/v1/products"
	before := c.endOffsets(env.Topics.Lifecycle)

	first, _ := c.leaderOfMost(env.Topics.Lifecycle)
	second := first%3 + 1
	c.kill(first)
	c.kill(second)
	topic := env.Prefix + "sales.delta.events.v1"
	start := time.Now()
	a := call(t, http.MethodPost, products, salesToken, []byte(descriptor("delta")))
	t.Logf("register with two brokers of three down: %d after %s: %s", a.status, time.Since(start).Round(time.Millisecond), bytes.TrimSpace(a.raw))
	if a.status < 500 {
		t.Errorf("register sales.delta with two brokers down: %d %s, want a 5xx", a.status, a.raw)
	}
	c.restart(first)
	c.restart(second)
	td, err := env.Admin().ListTopics(ctx, topic)
	if err != nil {
		t.Fatal(err)
	}
	if d, ok := td[topic]; ok && d.Err == nil {
		t.Errorf("the topic of sales.delta exists after the refused registration")
	}
	if _, err := env.RegistryClient().SchemaByVersion(ctx, events.Subject(topic), -1); err == nil {
		t.Errorf("the subject of sales.delta has a version after the refused registration")
	}
	if now := c.endOffsets(env.Topics.Lifecycle); !equalOffsets(now, before) {
		t.Errorf("the lifecycle topic moved with the refused registration: %v, before %v", now, before)
	}
	var b answer
	for i := 0; i < 30; i++ {
		b = call(t, http.MethodPost, products, salesToken, []byte(descriptor("delta")))
		if b.status < 500 {
			break
		}
		time.Sleep(2 * time.Second)
	}
	if b.status != http.StatusCreated {
		t.Fatalf("register sales.delta with every broker back: %d %s", b.status, b.raw)
	}
}

func equalOffsets(a, b map[int32]int64) bool {
	if len(a) != len(b) {
		return false
	}
	for p, o := range a {
		if b[p] != o {
			return false
		}
	}
	return true
}
