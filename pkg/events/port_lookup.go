package events

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/meshbone/meshbone/internal/kafka/topicread"
)

// Errors of finding a product's port.
var (
	// ErrNoProduct: the lifecycle topic holds no event about the product.
	ErrNoProduct = errors.New("events: no such product")
	// ErrNoPort: the product has no output port of that name.
	ErrNoPort = errors.New("events: no such port")
	// ErrRetired: the product is retired; nothing more is written to it.
	ErrRetired = errors.New("events: product retired")
)

// FindProduct reads the lifecycle topic (read_committed, to its end as of
// the call) and returns the newest lifecycle event about productID, or an
// error wrapping ErrNoProduct.
func FindProduct(ctx context.Context, productID string, opts ...Opt) (*ProductLifecycleEvent, error) {
	c, err := newCfg(opts)
	if err != nil {
		return nil, err
	}
	return c.findProduct(ctx, productID)
}

// FindPort returns the named output port of productID as the product's
// newest lifecycle event describes it (its topic, for NewPortReader, its
// schema subject and contract rules), or an error wrapping ErrNoProduct,
// ErrRetired or ErrNoPort.
func FindPort(ctx context.Context, productID, port string, opts ...Opt) (OutputPort, error) {
	ev, err := FindProduct(ctx, productID, opts...)
	if err != nil {
		return OutputPort{}, err
	}
	return portOf(ev, port)
}

func (c *cfg) findProduct(ctx context.Context, productID string) (*ProductLifecycleEvent, error) {
	reg, err := c.registry()
	if err != nil {
		return nil, fmt.Errorf("events: registry client: %w", err)
	}
	codec := NewCodec(reg, MeshTopics(c.prefix))
	topic := codec.Topics().Lifecycle
	key := []byte(productID)
	var newest *kgo.Record
	err = c.readCommitted(ctx, topic, func(r *kgo.Record) {
		// Every event about a product has its id as key, so they share a
		// partition and the last one read is the newest.
		if bytes.Equal(r.Key, key) {
			newest = r
		}
	})
	if err != nil {
		return nil, fmt.Errorf("events: read %s: %w", topic, err)
	}
	if newest == nil {
		return nil, fmt.Errorf("%w %q on %s", ErrNoProduct, productID, topic)
	}
	ev, err := codec.DecodeKind(ctx, KindLifecycle, newest.Value)
	if err != nil {
		return nil, fmt.Errorf("events: the newest lifecycle event of %s (partition %d, offset %d): %w", productID, newest.Partition, newest.Offset, err)
	}
	return ev.(*ProductLifecycleEvent), nil
}

// portOf returns the named port of the product of ev, refusing a retired
// product.
func portOf(ev *ProductLifecycleEvent, port string) (OutputPort, error) {
	p := ev.Product
	if ev.Type == LifecycleRetired {
		return OutputPort{}, fmt.Errorf("%w: %s was retired at %s", ErrRetired, p.ID, ev.OccurredAt.UTC().Format(time.RFC3339))
	}
	names := make([]string, 0, len(p.OutputPorts))
	for _, op := range p.OutputPorts {
		if op.Name == port {
			return op, nil
		}
		names = append(names, op.Name)
	}
	slices.Sort(names)
	return OutputPort{}, fmt.Errorf("%w %q in %s %s (ports: %s)", ErrNoPort, port, p.ID, p.Version, strings.Join(names, ", "))
}

// readCommitted hands each data record of topic to each, read_committed,
// from the start of every partition to its last stable offset as of the
// call.
func (c *cfg) readCommitted(ctx context.Context, topic string, each func(*kgo.Record)) error {
	base := append([]kgo.Opt{kgo.SeedBrokers(c.seeds...), kgo.WithLogger(kgoLogger{c.logger})}, c.kafkaOpts...)
	return topicread.ReadCommitted(ctx, base, topic, each)
}
