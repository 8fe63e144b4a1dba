package events

import (
	"context"
	"fmt"
	"strings"

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
}

// NewPublisher builds a Publisher. Schemas are registered (or found) on the
// first publish.
func NewPublisher(opts ...Opt) (*Publisher, error) {
	c := newCfg(opts)
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
// returns a *ValidationError (errors.Is ErrInvalidEvent) and sends nothing.
func (p *Publisher) Publish(ctx context.Context, ev Event) error {
	pd := p.slots.get()
	defer pd.release()
	if err := p.codec.encodeInto(ctx, &pd.recordBuf, ev, p.source); err != nil {
		return err
	}
	if err := p.cl.ProduceSync(ctx, &pd.r).FirstErr(); err != nil {
		return fmt.Errorf("events: publish %s %s: %w", ev.Kind(), ev.ID(), err)
	}
	return nil
}

// PublishAsync sends ev without waiting. It returns at once with an error if
// the event is invalid or cannot be encoded (and then sends nothing and never
// calls done); otherwise done, if not nil, is called with the outcome once
// Kafka answers. Flush waits for every outstanding event.
//
// The SDK reuses a record once its promise has run, so producer hooks given
// through KafkaOpts must not keep records past OnProduceRecordUnbuffered.
func (p *Publisher) PublishAsync(ctx context.Context, ev Event, done func(error)) error {
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
		err = fmt.Errorf("events: publish %s %s: %w", ev.Kind(), ev.ID(), err)
		p.log.Log(LogLevelWarn, "publish failed", "err", err)
	}
	pd.release()
	if done != nil {
		done(err)
	}
}

// Flush waits until every event published so far has been acknowledged or
// failed.
func (p *Publisher) Flush(ctx context.Context) error { return p.cl.Flush(ctx) }

// Close flushes and closes the Publisher (and its client, if it built it).
func (p *Publisher) Close() {
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
