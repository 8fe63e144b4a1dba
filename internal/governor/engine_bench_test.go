package governor

import (
	"context"
	"testing"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sr"
	"github.com/twmb/franz-go/pkg/sr/srfake"

	"github.com/meshbone/meshbone/internal/policy"
	"github.com/meshbone/meshbone/pkg/events"
)

// BenchmarkJudge measures the governor's CPU work per event, Kafka aside:
// decode, judge with the default policies, encode violations, compliance
// and state, in batches of 1,000. Decoding and encoding are serial here
// (the service runs them on every core); judging is what the service does.
func BenchmarkJudge(b *testing.B) {
	codec, recs, set := benchSetup(b)
	ctx := context.Background()
	b.ResetTimer()
	for range b.N {
		e := NewEngine(set)
		for j := 0; j < len(recs); j += 1000 {
			bt := e.Begin(t0)
			var items []Item
			for _, r := range recs[j:min(j+1000, len(recs))] {
				items = append(items, benchItem(b, codec, r))
			}
			bt.Judge(items)
			for _, v := range bt.Violations {
				if _, err := codec.Encode(ctx, v, ServiceSource); err != nil {
					b.Fatal(err)
				}
			}
			for _, c := range bt.Changed() {
				if c.Compliance {
					if _, err := codec.Encode(ctx, c.State.Compliance(t0), ServiceSource); err != nil {
						b.Fatal(err)
					}
				}
				if c.Volatile {
					if _, err := encodeVolatile(c.State); err != nil {
						b.Fatal(err)
					}
				}
			}
			bt.Commit()
		}
	}
	b.ReportMetric(float64(b.N*len(recs))/b.Elapsed().Seconds(), "events/s")
}

// BenchmarkJudgeOnly measures Batch.Judge alone over decoded events, in
// batches of 1,000, as the service runs it (on every core).
func BenchmarkJudgeOnly(b *testing.B) {
	codec, recs, set := benchSetup(b)
	items := make([]Item, len(recs))
	for i, r := range recs {
		items[i] = benchItem(b, codec, r)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		e := NewEngine(set)
		for j := 0; j < len(items); j += 1000 {
			bt := e.Begin(t0)
			bt.Judge(items[j:min(j+1000, len(items))])
			bt.Changed()
			bt.Commit()
		}
	}
	b.ReportMetric(float64(b.N*len(items))/b.Elapsed().Seconds(), "events/s")
}

// benchSetup returns a codec on a fake registry, 6,000 records of lifecycle
// and quality events about 1,000 products (eosEvents), and the default
// policies.
func benchSetup(b *testing.B) (*events.Codec, []*kgo.Record, *policy.Set) {
	reg := srfake.New()
	b.Cleanup(reg.Close)
	cl, err := sr.NewClient(sr.URLs(reg.URL()))
	if err != nil {
		b.Fatal(err)
	}
	codec := events.NewCodec(cl, events.MeshTopics(""))
	evs := eosEvents(6000, 1)
	recs := make([]*kgo.Record, len(evs))
	for i, s := range evs {
		if recs[i], err = codec.Encode(context.Background(), s.ev, s.source); err != nil {
			b.Fatal(err)
		}
	}
	set, err := policy.Load(policy.RootDirs("../../policies"))
	if err != nil {
		b.Fatal(err)
	}
	return codec, recs, set
}

// benchItem decodes r into the Item the service would judge.
func benchItem(b *testing.B, codec *events.Codec, r *kgo.Record) Item {
	ev, err := codec.Decode(context.Background(), r)
	if err != nil {
		b.Fatal(err)
	}
	it := Item{CE: events.CloudEventOf(r)}
	switch ev := ev.(type) {
	case *events.ProductLifecycleEvent:
		it.Lifecycle = ev
	case *events.QualityEvent:
		it.Quality = ev
	}
	return it
}
