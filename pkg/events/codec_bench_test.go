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
