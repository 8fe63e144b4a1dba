package events

import (
	"context"
	"errors"
	"reflect"
	"testing"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sr"
	"github.com/twmb/franz-go/pkg/sr/srfake"
)

// testCodec returns a Codec on a fresh in-process registry.
func testCodec(t *testing.T) *Codec {
	t.Helper()
	reg := srfake.New()
	t.Cleanup(reg.Close)
	cl, err := sr.NewClient(sr.URLs(reg.URL()))
	if err != nil {
		t.Fatal(err)
	}
	return NewCodec(cl, MeshTopics(""))
}

// Decoding hands the handler each record's event, its CloudEvents headers
// and the record itself, and gives back the handler's error.
func TestDecoding(t *testing.T) {
	c := testCodec(t)
	ctx := context.Background()
	ev := sampleEvents()[1]
	r, err := c.Encode(ctx, ev, "/domains/sales")
	if err != nil {
		t.Fatal(err)
	}
	var got *Message
	refused := errors.New("downstream refused")
	h := Decoding(c, func(_ context.Context, m *Message) error { got = m; return refused })
	if err := h(ctx, r); err != refused {
		t.Errorf("Decoding returned %v, want the handler's error", err)
	}
	if got == nil {
		t.Fatal("handler not called")
	}
	if !reflect.DeepEqual(got.Event, ev) {
		t.Errorf("event %+v, want %+v", got.Event, ev)
	}
	if got.Record != r {
		t.Error("Message.Record is not the record handled")
	}
	if want := CloudEventOf(r); got.CloudEvent != want || want.ID != ev.ID() {
		t.Errorf("CloudEvent %+v, want %+v", got.CloudEvent, want)
	}
}

// A record that does not decode yields its *DecodeError, of the right
// class, and the handler is not called.
func TestDecodingRefusesWhatDoesNotDecode(t *testing.T) {
	c := testCodec(t)
	ctx := context.Background()
	good, err := c.Encode(ctx, sampleEvents()[1], "")
	if err != nil {
		t.Fatal(err)
	}
	invalid, err := appendQuality(good.Value[:5:5], &QualityEvent{EventID: "no-product"}) // well-formed Avro, fails Validate
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name  string
		r     *kgo.Record
		class ErrorClass
	}{
		{"not the wire format", &kgo.Record{Topic: TopicQuality, Value: []byte(`{"json":true}`)}, ClassBadMagic},
		{"too short", &kgo.Record{Topic: TopicQuality, Value: []byte{0, 0}}, ClassBadMagic},
		{"unknown schema id", &kgo.Record{Topic: TopicQuality, Value: []byte{0, 0, 0, 0x30, 0x39, 2}}, ClassUnknownSchema},
		{"corrupt body", &kgo.Record{Topic: TopicQuality, Value: append(good.Value[:5:5], 0xc8, 0x01, 'x')}, ClassCorruptBody}, // a 100-byte string of 1 byte
		{"invalid event", &kgo.Record{Topic: TopicQuality, Value: invalid}, ClassInvalidEvent},
		{"not a mesh topic", &kgo.Record{Topic: "sales.orders.v1", Value: good.Value}, ClassUnknownTopic},
	} {
		t.Run(tc.name, func(t *testing.T) {
			called := false
			err := Decoding(c, func(context.Context, *Message) error { called = true; return nil })(ctx, tc.r)
			var de *DecodeError
			if !errors.As(err, &de) || de.Class != tc.class {
				t.Errorf("error %v, want a *DecodeError of class %s", err, tc.class)
			}
			if called {
				t.Error("handler called for a record that does not decode")
			}
		})
	}
}
