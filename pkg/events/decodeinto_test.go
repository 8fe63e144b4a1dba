package events

import (
	"context"
	"slices"
	"testing"

	"github.com/twmb/franz-go/pkg/sr"
	"github.com/twmb/franz-go/pkg/sr/srfake"
)

// DecodeInto reads the fields a struct names and skips the others, from
// the same wire format Decode reads; a corrupt body is a classified error
// (a truncated one is not: hamba reads what is there, which is why the
// result is for the caller to check).
func TestDecodeInto(t *testing.T) {
	reg := srfake.New()
	defer reg.Close()
	cl, err := sr.NewClient(sr.URLs(reg.URL()))
	if err != nil {
		t.Fatal(err)
	}
	c := NewCodec(cl, MeshTopics(""))
	ctx := context.Background()
	ev := sampleEvents()[0].(*ProductLifecycleEvent)
	ev.Product.Inputs = []string{"sales.orders", "marketing.campaigns"}
	r, err := c.Encode(ctx, ev, DomainSource(ev.Product.Domain))
	if err != nil {
		t.Fatal(err)
	}
	var head struct {
		Type    LifecycleType `avro:"type"`
		Product struct {
			ID     string   `avro:"id"`
			Inputs []string `avro:"inputs"`
		} `avro:"product"`
	}
	if err := c.DecodeInto(ctx, KindLifecycle, r.Value, &head); err != nil {
		t.Fatal(err)
	}
	if head.Type != ev.Type || head.Product.ID != ev.Product.ID || !slices.Equal(head.Product.Inputs, ev.Product.Inputs) {
		t.Fatalf("decoded %+v, want type %s id %s inputs %v", head, ev.Type, ev.Product.ID, ev.Product.Inputs)
	}
	// The same schema id, an event id "a", then a type of enum index 63.
	bad := append(append([]byte(nil), r.Value[:5]...), 0x02, 'a', 0x7e)
	if err := c.DecodeInto(ctx, KindLifecycle, bad, &head); ClassOf(err) != ClassCorruptBody {
		t.Fatalf("corrupt body: %v (class %s), want %s", err, ClassOf(err), ClassCorruptBody)
	}
}
