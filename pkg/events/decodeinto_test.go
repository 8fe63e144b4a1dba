package events

import (
	"context"
	"encoding/binary"
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

// A product record whose array claims 10^12 elements is a corrupt body
// for PortDecoder, not an allocation that kills the process.
func TestPortDecoderBoundsArrays(t *testing.T) {
	reg := srfake.New()
	defer reg.Close()
	cl, err := sr.NewClient(sr.URLs(reg.URL()))
	if err != nil {
		t.Fatal(err)
	}
	ss, err := cl.CreateSchema(context.Background(), "t-value", sr.Schema{Type: sr.TypeAvro,
		Schema: `{"type":"record","name":"r","fields":[{"name":"xs","type":{"type":"array","items":"long"}}]}`})
	if err != nil {
		t.Fatal(err)
	}
	value := []byte{0, 0, 0, 0, byte(ss.ID)}
	value = binary.AppendVarint(value, 1_000_000_000_000) // the block's element count
	_, _, err = NewPortDecoder(cl).Decode(context.Background(), value)
	if ClassOf(err) != ClassCorruptBody {
		t.Fatalf("Decode: %v (class %s), want %s", err, ClassOf(err), ClassCorruptBody)
	}
}
