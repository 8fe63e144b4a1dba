package indexer_test

import (
	"context"
	"testing"
	"time"

	"github.com/meshbone/meshbone/internal/indexer"
	"github.com/meshbone/meshbone/internal/store/storetest"
	"github.com/meshbone/meshbone/internal/testkit"
)

// Several indexers are read replicas: each folds every partition into its
// own view, with no consumer group between them, so two fed the same topics
// -- one from the start, one joining half-way and resuming after a stop --
// reach the same view (Digest), and wait_for works against each.
func TestReplicasConverge(t *testing.T) {
	env := testkit.New(t)
	t.Logf("indexer replicas on %s", env.Backend)
	s := storetest.NewStream(80, 3)
	pub := newPublisher(t, env)
	pub.publish(streamEvents(s, 300)...)

	dbA, dbB := dbPath(t), dbPath(t)
	a, stopA := start(t, env, dbA, false)
	pub.publish(streamEvents(s, 300)...)
	b, stopB := start(t, env, dbB, false)
	pub.publish(streamEvents(s, 300)...)
	stopB()
	pub.publish(streamEvents(s, 300)...)
	b, stopB = start(t, env, dbB, false)

	ctx, cancel := context.WithTimeout(context.Background(), testkit.DefaultWait)
	defer cancel()
	for name, ix := range map[string]*indexer.Indexer{"a": a, "b": b} {
		st, err := (&indexer.Client{URL: ix.URL()}).WaitFor(ctx, pub.last, 30*time.Second)
		if err != nil {
			t.Fatalf("replica %s: wait_for: %v", name, err)
		}
		if st.Reached == nil || !*st.Reached {
			t.Fatalf("replica %s: wait_for not reached: %+v", name, st.Partitions)
		}
	}
	stopA()
	stopB()
	compareDigests(t, "replica a vs replica b", dbA, dbB)
}
