package store

import (
	"context"
	"testing"

	"github.com/meshbone/meshbone/pkg/events"
)

// applier returns a function that folds events into s as one batch, with
// offsets counting up from 1 on each event's mesh topic.
func applier(t *testing.T, ctx context.Context, s *Store) func(evs ...events.Event) {
	topics := events.MeshTopics("")
	off := int64(0)
	return func(evs ...events.Event) {
		t.Helper()
		b := Batch{}
		for _, ev := range evs {
			off++
			b.Records = append(b.Records, Record{Topic: topics.For(ev.Kind()), Offset: off, Event: ev})
		}
		if _, err := s.Apply(ctx, b); err != nil {
			t.Fatal(err)
		}
	}
}
