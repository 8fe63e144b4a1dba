//go:build cluster && clusterpending

package clustertest

import (
	"bytes"
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/meshbone/meshbone/pkg/events"
)

// TestRegistrarLosesQuorumAfterProvisioning registers a product with one
// broker of three dead (which works), then kills a second broker and
// registers another: that request must fail within the write timeout and
// leave nothing behind, and the registrar must go on.
//
// It is behind the extra tag clusterpending because it has failed: on the
// registrar of 16:18 on 2026-11-29 the second request had no answer after 2
// minutes and the registrar did not stop within a minute of its context's
// end; on the registrar being changed at 16:55 it passed (503 after 30 s,
// "not the writer"). make test-cluster-pending runs it; a service that does
// not stop has its goroutines printed.
func TestRegistrarLosesQuorumAfterProvisioning(t *testing.T) {
	c := newCluster(t)
	env := c.env
	ctx := context.Background()
	svc, _ := startRegistrar(t, c)
	products := svc.URL() + "/api/v1/products"

	first, _ := c.leaderOfMost(env.Topics.Lifecycle)
	c.kill(first)
	c.waitBrokers(2)
	a := call(t, http.MethodPost, products, salesToken, []byte(descriptor("gamma")))
	if a.status != http.StatusCreated {
		t.Fatalf("register sales.gamma with one broker of three down: %d %s, want 201", a.status, a.raw)
	}
	before := c.endOffsets(env.Topics.Lifecycle)
	second := first%3 + 1
	c.kill(second)
	topic := env.Prefix + "sales.delta.events.v1"
	start := time.Now()
	a = call(t, http.MethodPost, products, salesToken, []byte(descriptor("delta")))
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
}
