package events

import (
	"context"
	"testing"

	"github.com/twmb/franz-go/pkg/sr"
	"github.com/twmb/franz-go/pkg/sr/srfake"
)

func BenchmarkEncodeQuality(b *testing.B) {
	reg := srfake.New()
	defer reg.Close()
	cl, _ := sr.NewClient(sr.URLs(reg.URL()))
	c := NewCodec(cl, MeshTopics(""))
	ev := sampleEvents()[1]
	ctx := context.Background()
	if _, err := c.Encode(ctx, ev, "/domains/sales"); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.Encode(ctx, ev, "/domains/sales"); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkEncodeQualityReused is the Publisher's path: the record and its
// buffer are refilled.
func BenchmarkEncodeQualityReused(b *testing.B) {
	reg := srfake.New()
	defer reg.Close()
	cl, _ := sr.NewClient(sr.URLs(reg.URL()))
	c := NewCodec(cl, MeshTopics(""))
	ev := sampleEvents()[1]
	ctx := context.Background()
	var rb recordBuf
	if err := c.encodeInto(ctx, &rb, ev, ""); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if err := c.encodeInto(ctx, &rb, ev, ""); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkHambaQuality(b *testing.B) {
	s := NewCodec(nil, MeshTopics("")).Schema(KindQuality)
	ev := sampleEvents()[1]
	b.ReportAllocs()
	for b.Loop() {
		if _, err := appendAvro(nil, s, ev); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkValidateQuality(b *testing.B) {
	ev := sampleEvents()[1]
	b.ReportAllocs()
	for b.Loop() {
		_ = ev.Validate()
	}
}

func BenchmarkHandQuality(b *testing.B) {
	ev := sampleEvents()[1].(*QualityEvent)
	b.ReportAllocs()
	buf := make([]byte, 0, 512)
	for b.Loop() {
		if _, err := appendQuality(buf[:0], ev); err != nil {
			b.Fatal(err)
		}
	}
}
