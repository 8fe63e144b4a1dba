package events

import (
	"context"
	"errors"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// Retrying retries a record whose handling fails with a transient error (a
// registry outage or a handler error; never a permanent decode error) up to
// max more times, waiting backoff, then twice that, and so on.
func Retrying(max int, backoff time.Duration, log Logger) Middleware {
	return func(next RecordHandler) RecordHandler {
		return func(ctx context.Context, r *kgo.Record) error {
			wait := backoff
			for attempt := 0; ; attempt++ {
				err := next(ctx, r)
				var de *DecodeError
				if err == nil || attempt >= max || (errors.As(err, &de) && de.Permanent()) || ctx.Err() != nil {
					return err
				}
				log.Log(LogLevelWarn, "retrying record", "topic", r.Topic, "partition", r.Partition, "offset", r.Offset, "attempt", attempt+1, "err", err)
				select {
				case <-ctx.Done():
					return ctx.Err()
				case <-time.After(wait):
				}
				wait *= 2
			}
		}
	}
}
