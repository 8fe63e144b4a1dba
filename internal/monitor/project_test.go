package monitor

import (
	"fmt"
	"testing"

	"github.com/hamba/avro/v2"
)

// A record decoded with the projection on the fields the measures need
// holds those fields, with the values a full decode gives, and nothing
// else.
func TestProjection(t *testing.T) {
	writer := avro.MustParse(orderSchema)
	full := map[string]any{"order_id": "o-1", "email": "a@b.c", "amount": 2.5, "note": "hello",
		"lines": []any{map[string]any{"sku": "s", "qty": 3}}}
	body, err := avro.Marshal(writer, full)
	if err != nil {
		t.Fatal(err)
	}
	c := &portConf{cols: []string{"email"}, uniq: []string{"order_id"}, ruleText: []string{`amount >= 0.0 && "note" != ""`}}
	need := c.needed()
	for _, f := range []string{"email", "order_id", "amount", "note"} {
		if !need[f] {
			t.Errorf("needed() lacks %s: %v", f, need)
		}
	}
	// "note" in the rule is a string literal: kept, harmless. Without it:
	c.ruleText = []string{"amount >= 0.0"}
	var got map[string]any
	if err := decodeAPI.Unmarshal(project(writer, c.needed()), body, &got); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"order_id": "o-1", "email": "a@b.c", "amount": 2.5}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("projected decode = %v, want %v", got, want)
	}
	// Every field needed: the writer's schema itself.
	if s := project(writer, map[string]bool{"order_id": true, "lines": true, "email": true, "amount": true, "note": true}); s != writer {
		t.Errorf("a projection on every field is not the writer's schema")
	}
}
