package events

import (
	"bytes"
	"context"
	"errors"
	"testing"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sr"
	"github.com/twmb/franz-go/pkg/sr/srfake"
)

// fuzzHeaders turns b into record headers: NUL-separated key, value, key,
// value...
func fuzzHeaders(b []byte) []kgo.RecordHeader {
	parts := bytes.Split(b, []byte{0})
	var out []kgo.RecordHeader
	for i := 0; i+1 < len(parts); i += 2 {
		out = append(out, kgo.RecordHeader{Key: string(parts[i]), Value: parts[i+1]})
	}
	return out
}

func joinHeaders(hs []kgo.RecordHeader) []byte {
	var b []byte
	for _, h := range hs {
		b = append(b, h.Key...)
		b = append(b, 0)
		b = append(b, h.Value...)
		b = append(b, 0)
	}
	return b
}

// decodeClasses are the classes Decode may give with a registry that
// answers.
var decodeClasses = map[ErrorClass]bool{
	ClassBadMagic: true, ClassUnknownSchema: true, ClassCorruptBody: true, ClassInvalidEvent: true, ClassUnknownTopic: true,
}

// FuzzDecode feeds the record decoder any value and headers on any mesh
// topic (or another): it returns a valid event, or a *DecodeError of a known
// class, and never panics. A decoded event encodes again, and that encoding
// decodes to an event that encodes to the same bytes.
func FuzzDecode(f *testing.F) {
	reg := srfake.New()
	f.Cleanup(reg.Close)
	cl, err := sr.NewClient(sr.URLs(reg.URL()))
	if err != nil {
		f.Fatal(err)
	}
	topics := MeshTopics("")
	codec := NewCodec(cl, topics)
	ctx := context.Background()
	names := append(topics.Events(), topics.DLQ, "sales.orders.events.v1")
	for _, ev := range sampleEvents() {
		r, err := codec.Encode(ctx, ev, DomainSource("sales"))
		if err != nil {
			f.Fatal(err)
		}
		for i, n := range names {
			if n == r.Topic {
				f.Add(uint8(i), r.Value, joinHeaders(r.Headers))
			}
		}
	}
	f.Add(uint8(0), []byte{}, []byte{})
	f.Add(uint8(1), []byte{0, 0, 0, 0, 1, 2}, []byte("ce_id\x00\x00ce_time\x00yesterday\x00"))
	f.Add(uint8(2), []byte{1, 0, 0, 0, 1}, []byte("ce_specversion\x001.0\x00ce_time\x002026-13-40T99:00:00Z\x00"))

	f.Fuzz(func(t *testing.T, topic uint8, value, headers []byte) {
		r := &kgo.Record{Topic: names[int(topic)%len(names)], Key: []byte("sales.x"), Value: value, Headers: fuzzHeaders(headers)}
		_ = CloudEventOf(r)
		for _, h := range r.Headers {
			_, _ = GetHeader(r, h.Key)
		}
		ev, err := codec.Decode(ctx, r)
		if err != nil {
			var de *DecodeError
			if !errors.As(err, &de) {
				t.Fatalf("unclassified error %T: %v", err, err)
			}
			if !decodeClasses[de.Class] {
				t.Fatalf("class %q (the registry answers): %v", de.Class, err)
			}
			if ev != nil {
				t.Fatalf("an event and an error: %v", err)
			}
			return
		}
		if ev == nil {
			t.Fatal("no event and no error")
		}
		if err := ev.Validate(); err != nil {
			t.Fatalf("decoded an invalid event: %v", err)
		}
		r1, err := codec.Encode(ctx, ev, DomainSource("sales"))
		if err != nil {
			t.Fatalf("a decoded event does not encode: %v", err)
		}
		ev2, err := codec.Decode(ctx, r1)
		if err != nil {
			t.Fatalf("a re-encoded event does not decode: %v", err)
		}
		r2, err := codec.Encode(ctx, ev2, DomainSource("sales"))
		if err != nil {
			t.Fatalf("encode again: %v", err)
		}
		if !bytes.Equal(r1.Value, r2.Value) {
			t.Fatalf("encode(decode(encode(ev))) differs from encode(ev):\n%x\n%x", r1.Value, r2.Value)
		}
	})
}
