package events

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"

	"github.com/twmb/franz-go/pkg/kgo"
)

// Publisher sends mesh events to Kafka: validated, Avro-encoded against the
// registered contract, keyed by product id, with CloudEvents headers, through
// an idempotent acks=all producer.
type Publisher struct {
	cl     *kgo.Client
	owned  bool
	codec  *Codec
	slots  *slots
	source string
	log    Logger
	closed atomic.Bool
}

// NewPublisher builds a Publisher. Schemas are registered (or found) on the
// first publish.
func NewPublisher(opts ...PublisherOpt) (*Publisher, error) {
	c, err := newCfg(opts)
	if err != nil {
		return nil, err
	}
	reg, err := c.registry()
	if err != nil {
		return nil, fmt.Errorf("events: registry client: %w", err)
	}
	p := &Publisher{cl: c.client, codec: NewCodec(reg, MeshTopics(c.prefix)), source: c.source, log: c.logger}
	if p.cl == nil {
		kopts := append([]kgo.Opt{
			kgo.SeedBrokers(c.seeds...),
			kgo.RequiredAcks(kgo.AllISRAcks()),
			kgo.WithLogger(kgoLogger{c.logger}),
		}, c.kafkaOpts...)
		if p.cl, err = kgo.NewClient(kopts...); err != nil {
			return nil, fmt.Errorf("events: kafka client: %w", err)
		}
		p.owned = true
	}
	maxBuffered, _ := p.cl.OptValue(kgo.MaxBufferedRecords).(int64)
	p.slots = newSlots(maxBuffered)
	return p, nil
}

// Codec returns the Publisher's codec.
func (p *Publisher) Codec() *Codec { return p.codec }

// Client returns the underlying franz-go client.
func (p *Publisher) Client() *kgo.Client { return p.cl }

// Publish sends ev and waits until Kafka acknowledged it. An invalid event
// returns a *ValidationError (errors.Is ErrInvalidEvent) and sends nothing;
// after Close, Publish returns ErrClosed.
func (p *Publisher) Publish(ctx context.Context, ev Event) error {
	if p.closed.Load() {
		return ErrClosed
	}
	pd := p.slots.get()
	defer pd.release()
	if err := p.codec.encodeInto(ctx, &pd.recordBuf, ev, p.source); err != nil {
		return err
	}
	if err := p.cl.ProduceSync(ctx, &pd.r).FirstErr(); err != nil {
		return publishError(ev, err)
	}
	return nil
}

// PublishAsync sends ev without waiting. It returns at once with an error if
// the event is invalid or cannot be encoded (and then sends nothing and never
// calls done); otherwise done, if not nil, is called with the outcome once
// Kafka answers. Flush waits for every outstanding event. After Close,
// PublishAsync returns ErrClosed.
//
// The SDK reuses a record once its promise has run, so producer hooks given
// through KafkaOpts must not keep records past OnProduceRecordUnbuffered.
func (p *Publisher) PublishAsync(ctx context.Context, ev Event, done func(error)) error {
	if p.closed.Load() {
		return ErrClosed
	}
	pd := p.slots.get()
	if err := p.codec.encodeInto(ctx, &pd.recordBuf, ev, p.source); err != nil {
		pd.release()
		return err
	}
	pd.p, pd.ev, pd.done = p, ev, done
	p.cl.Produce(ctx, &pd.r, pd.promise)
	return nil
}

// published is PublishAsync's promise.
func (pd *pending) published(_ *kgo.Record, err error) {
	p, ev, done := pd.p, pd.ev, pd.done
	if err != nil {
		err = publishError(ev, err)
		p.log.Log(LogLevelWarn, "publish failed", "err", err)
	}
	pd.release()
	if done != nil {
		done(err)
	}
}

// publishError says which event Kafka refused. An event that met a closing
// Publisher's client (Publish racing Close) is errors.Is ErrClosed too.
func publishError(ev Event, err error) error {
	if errors.Is(err, kgo.ErrClientClosed) {
		return fmt.Errorf("events: publish %s %s: %w: %w", ev.Kind(), ev.ID(), ErrClosed, err)
	}
	return fmt.Errorf("events: publish %s %s: %w", ev.Kind(), ev.ID(), err)
}

// Flush waits until every event published so far has been acknowledged or
// failed. After Close it returns ErrClosed.
func (p *Publisher) Flush(ctx context.Context) error {
	if p.closed.Load() {
		return ErrClosed
	}
	return p.cl.Flush(ctx)
}

// Close stops the Publisher: from then on Publish, PublishAsync and Flush
// return ErrClosed. If the Publisher built its client, Close flushes the
// events still outstanding and closes the client; a client given with
// KafkaClient stays open and is the caller's to flush and close. Close is
// idempotent.
func (p *Publisher) Close() {
	if !p.closed.CompareAndSwap(false, true) {
		return
	}
	if p.owned {
		_ = p.cl.Flush(context.Background())
		p.cl.Close()
	}
}

// domainOf returns the domain an event is about: the product's domain, or the
// part of the key before the first dot.
func domainOf(ev Event) string {
	switch e := ev.(type) {
	case *ProductLifecycleEvent:
		return e.Product.Domain
	case *PolicyViolation:
		return e.Domain
	case *ComplianceStatus:
		return e.Domain
	case *AuditEvent:
		if e.Domain != "" {
			return e.Domain
		}
	}
	d, _, _ := strings.Cut(ev.Key(), ".")
	return d
}
