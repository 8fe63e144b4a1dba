package events

import (
	"context"

	"github.com/twmb/franz-go/pkg/kgo"
)

// Message is a decoded mesh event with the record it arrived in.
type Message struct {
	Event      Event
	CloudEvent CloudEvent
	Record     *kgo.Record
}

// Handler handles one decoded mesh event. Returning an error makes the
// Subscriber retry it and, failing that, dead-letter it (see
// HandlerErrorsToDLQ).
type Handler func(ctx context.Context, m *Message) error

// RecordHandler handles one raw record; the Subscriber runs a chain of
// Middleware around the decoding of a Handler.
type RecordHandler func(ctx context.Context, r *kgo.Record) error

// Middleware wraps a RecordHandler with one concern (retries, dead letters,
// metrics, logging). A Subscriber runs its Handler inside Decoding, then the
// middleware given to Use, then Retrying, then DeadLettering outermost.
type Middleware func(RecordHandler) RecordHandler
