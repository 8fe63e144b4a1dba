package events_test

import (
	"context"
	"errors"
	"reflect"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/meshbone/meshbone/internal/testkit"
	"github.com/meshbone/meshbone/pkg/events"
)

// After Close, a Publisher sends nothing: Publish, PublishAsync and Flush
// return ErrClosed, and PublishAsync never calls done.
func TestPublisherClosed(t *testing.T) {
	env := testkit.New(t)
	pub := newPublisher(t, env)
	ctx := context.Background()
	if err := pub.Publish(ctx, qualityEvent("before", "sales.orders")); err != nil {
		t.Fatal(err)
	}
	pub.Close()
	pub.Close() // idempotent

	if err := pub.Publish(ctx, qualityEvent("after", "sales.orders")); !errors.Is(err, events.ErrClosed) {
		t.Errorf("Publish after Close: %v, want ErrClosed", err)
	}
	called := false
	if err := pub.PublishAsync(ctx, qualityEvent("after-async", "sales.orders"), func(error) { called = true }); !errors.Is(err, events.ErrClosed) {
		t.Errorf("PublishAsync after Close: %v, want ErrClosed", err)
	}
	if err := pub.Flush(ctx); !errors.Is(err, events.ErrClosed) {
		t.Errorf("Flush after Close: %v, want ErrClosed", err)
	}
	if called {
		t.Error("PublishAsync after Close called done")
	}
	// Nothing was sent after Close: a marker produced now, to the same
	// partition, comes right after the event published before.
	marker := &kgo.Record{Topic: env.Topics.Quality, Key: []byte("sales.orders"), Value: []byte("marker")}
	events.SetHeader(marker, events.HeaderID, "marker")
	if err := env.Client().ProduceSync(ctx, marker).FirstErr(); err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, r := range env.ReadN(env.Topics.Quality, 2) {
		id, _ := events.GetHeader(r, events.HeaderID)
		ids = append(ids, id)
	}
	if !reflect.DeepEqual(ids, []string{"before", "marker"}) {
		t.Errorf("the topic holds %v, want [before marker]", ids)
	}
}

// A Publisher on the caller's client stops at Close and leaves the client
// open for the caller.
func TestPublisherClosedLeavesGivenClientOpen(t *testing.T) {
	env := testkit.New(t)
	cl := env.Client()
	defer cl.Close()
	pub, err := events.NewPublisher(events.KafkaClient(cl), events.RegistryURLs(env.Registry), events.TopicPrefix(env.Prefix))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := pub.Publish(ctx, qualityEvent("mine", "sales.orders")); err != nil {
		t.Fatal(err)
	}
	pub.Close()
	if err := pub.Publish(ctx, qualityEvent("after", "sales.orders")); !errors.Is(err, events.ErrClosed) {
		t.Errorf("Publish after Close: %v, want ErrClosed", err)
	}
	if err := cl.ProduceSync(ctx, &kgo.Record{Topic: env.Topics.Audit, Value: []byte("x")}).FirstErr(); err != nil {
		t.Errorf("the caller's client after the Publisher's Close: %v", err)
	}
}

// Events published while the Publisher closes are each either sent or
// refused with ErrClosed, none lost without a word; those published before
// Close began are all sent, since Close flushes them.
func TestPublishRacingClose(t *testing.T) {
	env := testkit.New(t)
	pub, err := events.NewPublisher(withEnv[events.PublisherOpt](env)...)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	const n, beforeClose = 2000, 500
	var (
		outcomes = make([]error, n)
		answered sync.WaitGroup
		halfway  = make(chan struct{})
		finished = make(chan struct{})
	)
	go func() {
		defer close(finished)
		for i := range n {
			if i == beforeClose {
				close(halfway)
			}
			answered.Add(1)
			err := pub.PublishAsync(ctx, qualityEvent("race-"+strconv.Itoa(i), "sales.orders"), func(err error) {
				outcomes[i] = err
				answered.Done()
			})
			if err != nil {
				outcomes[i] = err
				answered.Done()
			}
		}
	}()
	<-halfway
	pub.Close()
	<-finished
	answered.Wait()
	refused := 0
	for i, err := range outcomes {
		switch {
		case err == nil:
		case i < beforeClose:
			t.Errorf("event %d, published before Close: %v, want it sent", i, err)
		case !errors.Is(err, events.ErrClosed):
			t.Errorf("event %d met the closing Publisher with %v, want nil or ErrClosed", i, err)
		default:
			refused++
		}
	}
	t.Logf("%d of %d events refused with ErrClosed", refused, n)
}

// Close stops a running Subscriber, which commits what it handled; Run
// after Close returns ErrClosed.
func TestSubscriberClose(t *testing.T) {
	env := testkit.New(t)
	pub := newPublisher(t, env)
	ctx := context.Background()
	group := env.Group("close")
	if err := pub.Publish(ctx, qualityEvent("first", "sales.orders")); err != nil {
		t.Fatal(err)
	}
	s, err := events.NewSubscriber(withEnv(env, events.ConsumerGroup(group))...)
	if err != nil {
		t.Fatal(err)
	}
	var first collector
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx, first.handle) }()
	env.Eventually(func() bool { return first.len() >= 1 }, "subscriber to handle the first event")
	// Close waits for Run (s.running): by the time it returns, Run has
	// committed and returned; the goroutine above hands its result over
	// just after, so it is received, not polled.
	s.Close()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Run stopped by Close: %v, want nil", err)
		}
	case <-time.After(testkit.DefaultWait):
		t.Fatal("Run did not return after Close")
	}
	if err := s.Run(ctx, first.handle); !errors.Is(err, events.ErrClosed) {
		t.Errorf("Run after Close: %v, want ErrClosed", err)
	}
	s.Close() // idempotent

	// The group resumes after what the closed Subscriber handled.
	if err := pub.Publish(ctx, qualityEvent("second", "sales.orders")); err != nil {
		t.Fatal(err)
	}
	var second collector
	runSubscriber(t, env, second.handle, events.ConsumerGroup(group))
	env.Eventually(func() bool { return second.len() >= 1 }, "next subscriber to handle the second event")
	if ids := second.ids(); len(ids) != 1 || ids[0] != "second" {
		t.Errorf("next subscriber of the group handled %v, want [second]", ids)
	}
}
