package governor

import (
	"context"
	"testing"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/meshbone/meshbone/internal/testkit"
	"github.com/meshbone/meshbone/pkg/events"
)

// A state record that does not decode is reported, not silently dropped,
// and leaves its product without state (judged afresh); the others are
// read as written.
func TestReadStateReportsUndecodableRecords(t *testing.T) {
	env := testkit.New(t)
	topic := env.Prefix + "state-under-test"
	if _, err := env.Admin().CreateTopic(context.Background(), 1, -1, nil, topic); err != nil {
		t.Fatal(err)
	}
	good, err := encodeVolatile(&ProductState{ID: "sales.good", Status: "ACTIVE"})
	if err != nil {
		t.Fatal(err)
	}
	cl := env.Client()
	recs := []*kgo.Record{
		{Topic: topic, Key: []byte(volatileKey + "sales.good"), Value: good},
		{Topic: topic, Key: []byte(volatileKey + "sales.bad"), Value: good},
		{Topic: topic, Key: []byte(volatileKey + "sales.bad"), Value: []byte(`{"id":`)},
		{Topic: topic, Key: []byte("x/what"), Value: []byte(`{}`)},
	}
	if err := cl.ProduceSync(context.Background(), recs...).FirstErr(); err != nil {
		t.Fatal(err)
	}
	states, skipped, err := ReadState(context.Background(), []kgo.Opt{kgo.SeedBrokers(env.Brokers...)}, topic, events.NewCodec(env.RegistryClient(), env.Topics))
	if err != nil {
		t.Fatal(err)
	}
	if len(states) != 1 || states["sales.good"] == nil || states["sales.good"].Status != "ACTIVE" {
		t.Errorf("states %v, want sales.good ACTIVE alone", states)
	}
	if len(skipped) != 2 || skipped[0].Key != "v/sales.bad" || skipped[0].Offset != 2 || skipped[1].Key != "x/what" {
		t.Fatalf("skipped %+v, want v/sales.bad at offset 2 and x/what", skipped)
	}
}
