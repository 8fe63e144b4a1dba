package txn_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"go.uber.org/zap"

	"github.com/meshbone/meshbone/internal/kafka/txn"
	"github.com/meshbone/meshbone/internal/testkit"
)

// produce writes values to topic, one record each, acknowledged.
func produce(t *testing.T, env *testkit.Env, topic string, values ...string) {
	t.Helper()
	cl := env.Client(kgo.DefaultProduceTopic(topic))
	for _, v := range values {
		if err := cl.ProduceSync(context.Background(), &kgo.Record{Key: []byte(v), Value: []byte(v)}).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
}

func values(recs []*kgo.Record) []string {
	var out []string
	for _, r := range recs {
		out = append(out, string(r.Value))
	}
	slices.Sort(out)
	return out
}

// pollAll polls sess until it has n records.
func pollAll(t *testing.T, env *testkit.Env, sess *kgo.GroupTransactSession, n int) []*kgo.Record {
	t.Helper()
	var recs []*kgo.Record
	env.Eventually(func() bool {
		recs = append(recs, txn.Poll(context.Background(), sess, 100, 200*time.Millisecond, nil).Records()...)
		return len(recs) >= n
	}, fmt.Sprintf("%d records polled", n))
	return recs
}

// A transaction ended with a failure is aborted: nothing it produced is
// seen read_committed and the session polls the same records again; ended
// without one it commits the records and the offsets together. Abort
// rewinds an empty transaction the same way.
func TestTxnAbortsOrCommits(t *testing.T) {
	env := testkit.New(t)
	in, out := env.Topics.Quality, env.Topics.DLQ
	produce(t, env, in, "a", "b", "c")
	group := env.Group("txn")
	s := txn.Session{Group: group, TransactionalID: group + "-0", TxnTimeout: 10 * time.Second, MaxBatch: 100}
	sess, err := kgo.NewGroupTransactSession(append(s.Opts(), kgo.SeedBrokers(env.Brokers...), kgo.ConsumeTopics(in))...)
	if err != nil {
		t.Fatal(err)
	}
	defer sess.Close()
	ctx := context.Background()
	write := func(recs []*kgo.Record, failed error) bool {
		t.Helper()
		tx, err := txn.Begin(ctx, sess, s.TxnTimeout, zap.NewNop())
		if err != nil {
			t.Fatal(err)
		}
		defer tx.Release()
		for _, r := range recs {
			tx.Produce(&kgo.Record{Topic: out, Key: r.Key, Value: r.Value})
		}
		if err := tx.Flush(); err != nil {
			t.Fatalf("flush: %v", err)
		}
		committed, err := tx.End(failed)
		if err != nil {
			t.Fatalf("end: %v", err)
		}
		return committed
	}
	want := []string{"a", "b", "c"}
	recs := pollAll(t, env, sess, 3)
	if got := values(recs); !slices.Equal(got, want) {
		t.Fatalf("polled %v, want %v", got, want)
	}
	if write(recs, errors.New("a produce failed")) {
		t.Fatal("a transaction ended with a failure committed")
	}
	if got := values(pollAll(t, env, sess, 3)); !slices.Equal(got, want) {
		t.Fatalf("after the abort polled %v, want %v again", got, want)
	}
	if err := txn.Abort(ctx, sess, s.TxnTimeout); err != nil {
		t.Fatal(err)
	}
	recs = pollAll(t, env, sess, 3)
	if got := values(recs); !slices.Equal(got, want) {
		t.Fatalf("after Abort polled %v, want %v again", got, want)
	}
	if !write(recs, nil) {
		t.Fatal("the transaction did not commit")
	}
	if got := values(env.ReadFor(out, 4, 2*time.Second)); !slices.Equal(got, want) {
		t.Errorf("read_committed from %s: %v, want %v once", out, got, want)
	}
	env.Eventually(func() bool { return env.Committed(group) == 3 }, "the group's offsets committed with the transaction")
}

// Poll returns when wake has an element, having taken it.
func TestPollWakes(t *testing.T) {
	env := testkit.New(t)
	group := env.Group("poll")
	s := txn.Session{Group: group, TransactionalID: group + "-0", TxnTimeout: 10 * time.Second, MaxBatch: 100}
	sess, err := kgo.NewGroupTransactSession(append(s.Opts(), kgo.SeedBrokers(env.Brokers...), kgo.ConsumeTopics(env.Topics.Quality))...)
	if err != nil {
		t.Fatal(err)
	}
	defer sess.Close()
	wake := make(chan struct{}, 1)
	wake <- struct{}{}
	fetches := txn.Poll(context.Background(), sess, 100, 10*time.Minute, wake)
	if n := len(fetches.Records()); n != 0 || len(wake) != 0 {
		t.Errorf("Poll of an empty topic: %d records and %d wake-ups left, want 0 and 0", n, len(wake))
	}
}

// Follow hands over every record there was before it closes caughtUp, and
// what comes after; it returns nil when ctx is done.
func TestFollow(t *testing.T) {
	env := testkit.New(t)
	topic := env.Topics.Lifecycle
	produce(t, env, topic, "1", "2", "3", "4", "5")
	var (
		mu  sync.Mutex
		got []*kgo.Record
	)
	seen := func() []string {
		mu.Lock()
		defer mu.Unlock()
		return values(got)
	}
	ctx, cancel := context.WithCancel(context.Background())
	f := txn.StartFollower(ctx, "test: view", func(ctx context.Context, caughtUp chan<- struct{}) error {
		return txn.Follow(ctx, []kgo.Opt{kgo.SeedBrokers(env.Brokers...)}, env.Admin(), topic, zap.NewNop(), "view", caughtUp, func(recs []*kgo.Record) {
			mu.Lock()
			defer mu.Unlock()
			for _, r := range recs {
				if !r.Attrs.IsControl() {
					got = append(got, r)
				}
			}
		})
	})
	if ok, err := f.CaughtUp(ctx); !ok {
		t.Fatalf("not caught up: %v", err)
	}
	if s := seen(); !slices.Equal(s, []string{"1", "2", "3", "4", "5"}) {
		t.Fatalf("caught up with %v, want the 5 records there were", s)
	}
	produce(t, env, topic, "6")
	env.Eventually(func() bool { return len(seen()) == 6 }, "the record written after the catch-up")
	cancel()
	f.Stop()
	select {
	case err := <-f.Err:
		t.Errorf("Follow: %v, want nil when ctx is done", err)
	default:
	}
}
