package events

import (
	"context"

	"github.com/twmb/franz-go/pkg/kgo"
)

// Decoding turns h into a RecordHandler that decodes each record with c. A
// record that does not decode yields its *DecodeError; h is not called.
func Decoding(c *Codec, h Handler) RecordHandler {
	return func(ctx context.Context, r *kgo.Record) error {
		ev, err := c.Decode(ctx, r)
		if err != nil {
			return err
		}
		return h(ctx, &Message{Event: ev, CloudEvent: CloudEventOf(r), Record: r})
	}
}
