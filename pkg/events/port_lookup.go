package events

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
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
// call. Transaction markers are kept by the client so that the position is
// known even when a partition ends with one.
func (c *cfg) readCommitted(ctx context.Context, topic string, each func(*kgo.Record)) error {
	base := append([]kgo.Opt{kgo.SeedBrokers(c.seeds...), kgo.WithLogger(kgoLogger{c.logger})}, c.kafkaOpts...)
	admCl, err := kgo.NewClient(base...)
	if err != nil {
		return err
	}
	defer admCl.Close()
	adm := kadm.NewClient(admCl)
	var starts, ends kadm.ListedOffsets
	for backoff := 10 * time.Millisecond; ; backoff = min(2*backoff, 200*time.Millisecond) {
		if starts, err = adm.ListStartOffsets(ctx, topic); err == nil {
			err = starts.Error()
		}
		if err == nil {
			if ends, err = adm.ListCommittedOffsets(ctx, topic); err == nil {
				err = ends.Error()
			}
		}
		if err == nil || !kerr.IsRetriable(err) && !errors.Is(err, kerr.UnknownTopicOrPartition) {
			break
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("list offsets: %w (last error: %w)", ctx.Err(), err)
		case <-time.After(backoff):
		}
	}
	if err != nil {
		return fmt.Errorf("list offsets: %w", err)
	}
	from := map[int32]kgo.Offset{}
	left := map[int32]int64{}
	ends.Each(func(o kadm.ListedOffset) {
		st, _ := starts.Lookup(topic, o.Partition)
		if o.Offset > st.Offset {
			from[o.Partition] = kgo.NewOffset().At(st.Offset)
			left[o.Partition] = o.Offset
		}
	})
	if len(left) == 0 {
		return nil
	}
	cl, err := kgo.NewClient(append(base,
		kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{topic: from}),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()),
		kgo.KeepControlRecords(),
	)...)
	if err != nil {
		return err
	}
	defer cl.Close()
	for len(left) > 0 {
		fetches := cl.PollFetches(ctx)
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("%w with %d partitions not read to the end", err, len(left))
		}
		var ferr error
		fetches.EachError(func(_ string, p int32, err error) { ferr = fmt.Errorf("partition %d: %w", p, err) })
		if ferr != nil {
			return ferr
		}
		fetches.EachRecord(func(r *kgo.Record) {
			end, ok := left[r.Partition]
			if !ok || r.Offset >= end {
				return
			}
			if r.Offset+1 >= end {
				delete(left, r.Partition)
			}
			if !r.Attrs.IsControl() {
				each(r)
			}
		})
	}
	return nil
}
