package topicread_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/meshbone/meshbone/internal/kafka/topicread"
	"github.com/meshbone/meshbone/internal/testkit"
)

// produceTx produces one record per value in one transaction, committed or
// aborted, spread over the topic's partitions by key.
func produceTx(t *testing.T, env *testkit.Env, txid, topic string, commit bool, values ...string) {
	t.Helper()
	cl := env.Client(kgo.TransactionalID(txid), kgo.DefaultProduceTopic(topic))
	ctx := context.Background()
	if err := cl.BeginTransaction(); err != nil {
		t.Fatal(err)
	}
	for _, v := range values {
		if err := cl.ProduceSync(ctx, &kgo.Record{Key: []byte(v), Value: []byte(v)}).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
	if err := cl.EndTransaction(ctx, kgo.TransactionEndTry(commit)); err != nil {
		t.Fatal(err)
	}
}

func readValues(t *testing.T, env *testkit.Env, topic string) []string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), testkit.DefaultWait)
	defer cancel()
	var got []string
	err := topicread.ReadCommitted(ctx, []kgo.Opt{kgo.SeedBrokers(env.Brokers...)}, topic, func(r *kgo.Record) {
		got = append(got, string(r.Value))
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(got)
	return got
}

func TestReadCommittedReadsCommittedRecordsToTheEnd(t *testing.T) {
	env := testkit.New(t)
	topic := env.Prefix + "readall"
	if _, err := env.Admin().CreateTopic(context.Background(), 3, -1, nil, topic); err != nil {
		t.Fatal(err)
	}
	if got := readValues(t, env, topic); len(got) != 0 {
		t.Fatalf("empty topic: read %q, want nothing", got)
	}

	var want []string
	for i := range 12 {
		want = append(want, fmt.Sprintf("committed-%02d", i))
	}
	produceTx(t, env, env.Group("tx"), topic, true, want...)
	// Every partition ends with an aborted transaction: its records are
	// skipped and its marker is the last offset to reach.
	produceTx(t, env, env.Group("tx"), topic, false, "aborted-0", "aborted-1", "aborted-2", "aborted-3", "aborted-4", "aborted-5")

	if got := readValues(t, env, topic); !slices.Equal(got, want) {
		t.Fatalf("read %q\nwant %q", got, want)
	}

	// Records produced after a read are read by the next one.
	plain := env.Client(kgo.DefaultProduceTopic(topic))
	if err := plain.ProduceSync(context.Background(), &kgo.Record{Value: []byte("plain")}).FirstErr(); err != nil {
		t.Fatal(err)
	}
	want = append(want, "plain")
	if got := readValues(t, env, topic); !slices.Equal(got, want) {
		t.Fatalf("after a plain record: read %q\nwant %q", got, want)
	}
}

func TestReadCommittedUnknownTopicEndsWithContext(t *testing.T) {
	env := testkit.New(t)
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	called := false
	err := topicread.ReadCommitted(ctx, []kgo.Opt{kgo.SeedBrokers(env.Brokers...)}, env.Prefix+"no-such-topic", func(*kgo.Record) { called = true })
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want one wrapping context.DeadlineExceeded", err)
	}
	if called {
		t.Fatal("records handed over for a topic that does not exist")
	}
}
