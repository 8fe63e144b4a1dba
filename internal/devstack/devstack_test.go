package devstack

import (
	"context"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sr"
)

// Schemas, topics and records survive a restart of the broker and registry
// on the same data directory, with the same ids.
func TestStackSurvivesRestart(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	schemaA := sr.Schema{Schema: `{"type":"record","name":"A","fields":[{"name":"x","type":"string"}]}`, Type: sr.TypeAvro}
	schemaA2 := sr.Schema{Schema: `{"type":"record","name":"A","fields":[{"name":"x","type":"string"},{"name":"y","type":["null","int"],"default":null}]}`, Type: sr.TypeAvro}
	schemaB := sr.Schema{Schema: `{"type":"record","name":"B","fields":[{"name":"z","type":"long"}]}`, Type: sr.TypeAvro}

	start := func() (*Broker, *Registry, *sr.Client) {
		b, err := StartBroker(dir, 0)
		if err != nil {
			t.Fatal(err)
		}
		r, err := StartRegistry(ctx, b.Addrs(), "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		cl, err := sr.NewClient(sr.URLs(r.URL()))
		if err != nil {
			t.Fatal(err)
		}
		return b, r, cl
	}

	b, r, cl := start()
	a1, err := cl.CreateSchema(ctx, "a-value", schemaA)
	if err != nil {
		t.Fatal(err)
	}
	a2, _ := cl.CreateSchema(ctx, "a-value", schemaA2)
	bb, _ := cl.CreateSchema(ctx, "b-value", schemaB)
	if _, err := cl.DeleteSubject(ctx, "b-value", sr.SoftDelete); err != nil {
		t.Fatal(err)
	}
	// A compatibility check and a lookup are not changes.
	if _, err := cl.LookupSchema(ctx, "a-value", schemaA); err != nil {
		t.Fatal(err)
	}
	kc, _ := kgo.NewClient(kgo.SeedBrokers(b.Addrs()...))
	if _, err := kadm.NewClient(kc).CreateTopic(ctx, 1, 1, nil, "orders"); err != nil {
		t.Fatal(err)
	}
	if err := kc.ProduceSync(ctx, &kgo.Record{Topic: "orders", Value: []byte("kept")}).FirstErr(); err != nil {
		t.Fatal(err)
	}
	kc.Close()
	r.Close()
	b.Close()

	b, r, cl = start()
	defer b.Close()
	defer r.Close()
	if r.Replayed != 4 {
		t.Errorf("replayed %d changes, want 4 (3 registrations, 1 delete)", r.Replayed)
	}
	got, err := cl.SchemaByVersion(ctx, "a-value", 2)
	if err != nil || got.ID != a2.ID || got.Schema.Schema == "" {
		t.Fatalf("a-value v2 after restart: %+v, %v (want id %d)", got, err, a2.ID)
	}
	if s, err := cl.SchemaByID(ctx, a1.ID); err != nil || s.Schema == "" {
		t.Errorf("schema id %d after restart: %v", a1.ID, err)
	}
	subjects, _ := cl.Subjects(ctx)
	for _, s := range subjects {
		if s == "b-value" {
			t.Error("soft-deleted subject b-value is back after restart")
		}
	}
	c, err := cl.CreateSchema(ctx, "c-value", sr.Schema{Schema: `{"type":"record","name":"C","fields":[]}`, Type: sr.TypeAvro})
	if err != nil {
		t.Fatal(err)
	}
	if c.ID <= bb.ID {
		t.Errorf("new schema got id %d, which an earlier schema (%d) had", c.ID, bb.ID)
	}
	kc, _ = kgo.NewClient(kgo.SeedBrokers(b.Addrs()...), kgo.ConsumeTopics("orders"), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	defer kc.Close()
	fctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	recs := kc.PollFetches(fctx).Records()
	if len(recs) != 1 || string(recs[0].Value) != "kept" {
		t.Errorf("topic orders after restart holds %d records", len(recs))
	}
}
