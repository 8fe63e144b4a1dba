package events

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// DeadLettering sends what failed for good to the dead-letter topic and
// reports success; what may yet succeed (a registry outage, a handler
// error when handler errors stop the Subscriber) is returned untouched.
func TestDeadLettering(t *testing.T) {
	boom := errors.New("boom")
	outage := &DecodeError{Class: ClassRegistry, Err: errors.New("registry down")}
	poison := &DecodeError{Class: ClassBadMagic, Err: errors.New("magic byte 0x7b")}
	for _, tc := range []struct {
		name          string
		err           error
		handlerErrors bool
		want          error
		wantClass     ErrorClass // of the dead letter; "" for none sent
	}{
		{"success", nil, true, nil, ""},
		{"poison", poison, false, nil, ClassBadMagic},
		{"registry outage", outage, true, outage, ""},
		{"handler error to the DLQ", boom, true, nil, ClassHandler},
		{"handler error kept", boom, false, boom, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var sent []*kgo.Record
			send := func(_ context.Context, r *kgo.Record) error { sent = append(sent, r); return nil }
			var log logLines
			h := DeadLettering(send, "mesh.dlq.v1", "g", tc.handlerErrors, &log)(func(context.Context, *kgo.Record) error { return tc.err })
			err := h(context.Background(), &kgo.Record{Topic: TopicQuality, Partition: 2, Offset: 41})
			if err != tc.want {
				t.Errorf("error %v, want %v", err, tc.want)
			}
			if tc.wantClass == "" {
				if len(sent) != 0 || len(log) != 0 {
					t.Errorf("sent %d dead letters, logged %q; want none", len(sent), log)
				}
				return
			}
			if len(sent) != 1 {
				t.Fatalf("sent %d dead letters, want 1", len(sent))
			}
			if class, _ := GetHeader(sent[0], HeaderDLQClass); class != string(tc.wantClass) || sent[0].Topic != "mesh.dlq.v1" {
				t.Errorf("dead letter to %s of class %q, want mesh.dlq.v1 and %s", sent[0].Topic, class, tc.wantClass)
			}
			if len(log) != 1 {
				t.Errorf("logged %q, want one line", log)
			}
		})
	}
}

// A dead letter that cannot be sent fails the record with both errors, so
// the Subscriber does not commit it; a cancelled context sends nothing.
func TestDeadLetteringFailures(t *testing.T) {
	poison := &DecodeError{Class: ClassCorruptBody, Err: errors.New("bad body")}
	down := errors.New("broker down")
	h := DeadLettering(func(context.Context, *kgo.Record) error { return down }, "dlq", "g", true, nopLogger{})(
		func(context.Context, *kgo.Record) error { return poison })
	if err := h(context.Background(), &kgo.Record{}); !errors.Is(err, poison) || !errors.Is(err, down) {
		t.Errorf("error %v, want the record's and the send's", err)
	}

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	sent := 0
	h = DeadLettering(func(context.Context, *kgo.Record) error { sent++; return nil }, "dlq", "g", true, nopLogger{})(
		func(context.Context, *kgo.Record) error { return poison })
	if err := h(ctx, &kgo.Record{}); err != poison || sent != 0 {
		t.Errorf("cancelled: error %v and %d sent, want the record's error and none", err, sent)
	}
}

// DeadLetter keeps the record's key, value and headers and adds headers
// naming the error, its class, the origin and the group.
func TestDeadLetter(t *testing.T) {
	r := &kgo.Record{Topic: TopicQuality, Partition: 3, Offset: 1234, Key: []byte("sales.orders"), Value: []byte{0, 1, 2},
		Headers: []kgo.RecordHeader{{Key: HeaderID, Value: []byte("e1")}}}
	before := time.Now().UTC().Truncate(time.Second)
	d := DeadLetter(r, &DecodeError{Class: ClassCorruptBody, Err: errors.New("bad body")}, "mesh.dlq.v1", "indexer")
	if d.Topic != "mesh.dlq.v1" || string(d.Key) != "sales.orders" || !reflect.DeepEqual(d.Value, r.Value) {
		t.Errorf("dead letter %s key %q value %v", d.Topic, d.Key, d.Value)
	}
	for key, want := range map[string]string{
		HeaderID: "e1", HeaderDLQError: "corrupt_body: bad body", HeaderDLQClass: "corrupt_body",
		HeaderDLQTopic: TopicQuality, HeaderDLQPartition: "3", HeaderDLQOffset: "1234", HeaderDLQGroup: "indexer",
	} {
		if got, _ := GetHeader(d, key); got != want {
			t.Errorf("header %s = %q, want %q", key, got, want)
		}
	}
	at, _ := GetHeader(d, HeaderDLQTime)
	if when, err := time.Parse(time.RFC3339Nano, at); err != nil || when.Before(before) || !strings.HasSuffix(at, "Z") {
		t.Errorf("header %s = %q (%v), want an RFC 3339 UTC time from now on", HeaderDLQTime, at, err)
	}
	if len(r.Headers) != 1 {
		t.Errorf("the original record's headers changed: %v", r.Headers)
	}
}
