package events

import (
	"context"
	"errors"
	"strconv"
	"time"

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
// metrics, logging).
type Middleware func(RecordHandler) RecordHandler

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

// DeadLettering sends a record that failed for good to the dead-letter topic
// through send (which must return only once the DLQ record is acknowledged)
// and reports success, so consumption goes on. Registry outages are never
// dead-lettered; handler errors only when handlerErrors is true.
func DeadLettering(send func(context.Context, *kgo.Record) error, dlqTopic, group string, handlerErrors bool, log Logger) Middleware {
	return func(next RecordHandler) RecordHandler {
		return func(ctx context.Context, r *kgo.Record) error {
			err := next(ctx, r)
			if err == nil || ctx.Err() != nil {
				return err
			}
			class := ClassOf(err)
			if class == ClassRegistry || (class == ClassHandler && !handlerErrors) {
				return err
			}
			if dErr := send(ctx, DeadLetter(r, err, dlqTopic, group)); dErr != nil {
				return errors.Join(err, dErr)
			}
			log.Log(LogLevelWarn, "record sent to the dead-letter topic", "topic", r.Topic, "partition", r.Partition, "offset", r.Offset, "class", class, "err", err)
			return nil
		}
	}
}

// DeadLetter builds the dead-letter record for r: the same key, value and
// headers, plus headers naming the error, its class and the origin.
func DeadLetter(r *kgo.Record, cause error, dlqTopic, group string) *kgo.Record {
	d := &kgo.Record{
		Topic:   dlqTopic,
		Key:     r.Key,
		Value:   r.Value,
		Headers: append([]kgo.RecordHeader(nil), r.Headers...),
	}
	SetHeader(d, HeaderDLQError, cause.Error())
	SetHeader(d, HeaderDLQClass, string(ClassOf(cause)))
	SetHeader(d, HeaderDLQTopic, r.Topic)
	SetHeader(d, HeaderDLQPartition, strconv.Itoa(int(r.Partition)))
	SetHeader(d, HeaderDLQOffset, strconv.FormatInt(r.Offset, 10))
	SetHeader(d, HeaderDLQGroup, group)
	SetHeader(d, HeaderDLQTime, time.Now().UTC().Format(time.RFC3339Nano))
	return d
}
