package events

import (
	"context"
	"errors"
	"strconv"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

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
