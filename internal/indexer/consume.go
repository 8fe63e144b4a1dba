package indexer

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sr"
	"go.uber.org/zap"

	"github.com/meshbone/meshbone/internal/store"
	"github.com/meshbone/meshbone/pkg/events"
)

// consume assigns the mesh topics' partitions at the view's offsets and
// folds batch after batch until ctx is done.
func (ix *Indexer) consume(ctx context.Context) error {
	admCl, err := kgo.NewClient(ix.kopts...)
	if err != nil {
		return fmt.Errorf("indexer: kafka client: %w", err)
	}
	defer admCl.Close()
	adm := kadm.NewClient(admCl)

	parts, err := ix.discover(ctx, adm)
	if err != nil || ctx.Err() != nil {
		return err
	}
	stored, err := ix.store.Offsets(ctx)
	if err != nil {
		return err
	}
	assign := map[string]map[int32]kgo.Offset{}
	known := map[tp]int64{}
	for topic, ps := range parts {
		assign[topic] = map[int32]kgo.Offset{}
		for _, p := range ps {
			last, ok := stored[topic][p]
			if !ok {
				last = -1
			}
			assign[topic][p] = kgo.NewOffset().At(last + 1)
			known[tp{topic, p}] = last
		}
	}
	ix.prog.assign(known)
	cl, err := kgo.NewClient(append(append([]kgo.Opt{}, ix.kopts...),
		kgo.ConsumePartitions(assign),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()),
		kgo.RequiredAcks(kgo.AllISRAcks()),
		kgo.FetchMaxWait(time.Second),
	)...)
	if err != nil {
		return fmt.Errorf("indexer: kafka client: %w", err)
	}
	defer cl.Close()
	ix.mu.Lock()
	ix.client = cl
	ix.mu.Unlock()
	ix.log.Info("consuming the mesh topics", zap.Int("partitions", len(known)), zap.Int("resumed", countStored(stored)))

	go ix.rediscover(ctx, adm, cl, parts)

	for {
		fetches := cl.PollRecords(ctx, ix.opts.MaxBatch)
		if ctx.Err() != nil || fetches.IsClientClosed() {
			return nil
		}
		fetches.EachError(func(t string, p int32, err error) {
			ix.log.Warn("fetch error", zap.String("topic", t), zap.Int32("partition", p), zap.Error(err))
		})
		fetches.EachPartition(func(p kgo.FetchTopicPartition) {
			ix.prog.setHWM(tp{p.Topic, p.Partition}, p.HighWatermark)
		})
		recs := fetches.Records()
		if len(recs) == 0 {
			continue
		}
		if err := ix.fold(ctx, cl, recs); err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
	}
}

func countStored(m map[string]map[int32]int64) int {
	n := 0
	for _, ps := range m {
		n += len(ps)
	}
	return n
}

// discover waits until every mesh event topic exists and returns their
// partitions.
func (ix *Indexer) discover(ctx context.Context, adm *kadm.Client) (map[string][]int32, error) {
	backoff := DefaultRetryBackoff
	warned := false
	for {
		parts, missing, err := ix.partitions(ctx, adm)
		if err == nil && len(missing) == 0 {
			return parts, nil
		}
		if !warned || backoff == MaxRetryBackoff {
			ix.log.Info("waiting for the mesh topics", zap.Strings("missing", missing), zap.Error(err))
			warned = true
		}
		select {
		case <-ctx.Done():
			return nil, nil
		case <-time.After(backoff):
		}
		backoff = min(backoff*2, MaxRetryBackoff)
	}
}

func (ix *Indexer) partitions(ctx context.Context, adm *kadm.Client) (map[string][]int32, []string, error) {
	topics := ix.readTopics()
	details, err := adm.ListTopics(ctx, topics...)
	if err != nil {
		return nil, topics, err
	}
	parts := map[string][]int32{}
	var missing []string
	for _, t := range topics {
		d, ok := details[t]
		if !ok || d.Err != nil || len(d.Partitions) == 0 {
			missing = append(missing, t)
			continue
		}
		parts[t] = d.Partitions.Numbers()
	}
	return parts, missing, nil
}

// readTopics are the topics the indexer folds: the mesh event topics, the
// access topic and the notices topic.
func (ix *Indexer) readTopics() []string {
	return append(ix.topics.Events(), ix.topics.Access, ix.topics.Notices)
}

// rediscover adds partitions that appear on the mesh topics later.
func (ix *Indexer) rediscover(ctx context.Context, adm *kadm.Client, cl *kgo.Client, have map[string][]int32) {
	seen := map[tp]bool{}
	for t, ps := range have {
		for _, p := range ps {
			seen[tp{t, p}] = true
		}
	}
	tick := time.NewTicker(ix.opts.DiscoverInterval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		parts, _, err := ix.partitions(ctx, adm)
		if err != nil {
			continue
		}
		add := map[string]map[int32]kgo.Offset{}
		added := map[tp]int64{}
		for t, ps := range parts {
			for _, p := range ps {
				if seen[tp{t, p}] {
					continue
				}
				seen[tp{t, p}] = true
				if add[t] == nil {
					add[t] = map[int32]kgo.Offset{}
				}
				add[t][p] = kgo.NewOffset().AtStart()
				added[tp{t, p}] = -1
			}
		}
		if len(add) > 0 {
			ix.log.Info("new partitions on the mesh topics", zap.Any("partitions", add))
			ix.prog.assign(added)
			cl.AddConsumePartitions(add)
		}
	}
}

// fold decodes a polled batch, dead-letters what does not decode, fetches
// the port schemas it needs and folds it with its offsets in one
// transaction.
func (ix *Indexer) fold(ctx context.Context, cl *kgo.Client, recs []*kgo.Record) error {
	start := time.Now()
	batch := store.Batch{Records: make([]store.Record, len(recs))}
	var dead []*kgo.Record
	var classes []events.ErrorClass
	for i, r := range recs {
		batch.Records[i] = store.Record{Topic: r.Topic, Partition: r.Partition, Offset: r.Offset}
		ev, err := ix.decode(ctx, r)
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			ix.log.Warn("record does not decode; sending it to the dead-letter topic",
				zap.String("topic", r.Topic), zap.Int32("partition", r.Partition), zap.Int64("offset", r.Offset), zap.Error(err))
			dead = append(dead, events.DeadLetter(r, err, ix.topics.DLQ, DeadLetterGroup))
			classes = append(classes, events.ClassOf(err))
			continue
		}
		batch.Records[i].Event = ev
	}
	if len(dead) > 0 {
		if err := ix.retry(ctx, "send to the dead-letter topic", func() error { return cl.ProduceSync(ctx, dead...).FirstErr() }); err != nil {
			return err
		}
		for _, c := range classes {
			ix.m.deadLettered.WithLabelValues(string(c)).Inc()
		}
	}
	if ids := ix.store.MissingSchemas(batch.Records); len(ids) > 0 {
		batch.Schemas = map[int32]string{}
		for _, id := range ids {
			text, err := ix.schema(ctx, id)
			if err != nil {
				return err
			}
			if text != "" {
				batch.Schemas[id] = text
			}
		}
	}
	st, err := ix.store.Apply(ctx, batch)
	if err != nil {
		return fmt.Errorf("indexer: %w", err)
	}
	offs := map[tp]int64{}
	for _, r := range recs {
		k := tp{r.Topic, r.Partition}
		if o, ok := offs[k]; !ok || r.Offset > o {
			offs[k] = r.Offset
		}
	}
	total := 0
	for k, n := range st.Folded {
		ix.m.folded.WithLabelValues(k.String()).Add(float64(n))
		total += n
	}
	ix.m.duplicates.Add(float64(st.Duplicates))
	ix.prog.commit(offs, total)
	ix.m.batch.Observe(time.Since(start).Seconds())
	ix.m.batchSize.Observe(float64(len(recs)))
	for _, p := range ix.prog.status().Partitions {
		if p.Lag >= 0 {
			ix.m.lag.WithLabelValues(p.Topic, strconv.Itoa(int(p.Partition))).Set(float64(p.Lag))
		}
	}
	return nil
}

// decode decodes a record, retrying while the registry does not answer.
func (ix *Indexer) decode(ctx context.Context, r *kgo.Record) (events.Event, error) {
	var ev events.Event
	err := ix.retry(ctx, "decode (registry unavailable)", func() error {
		var err error
		ev, err = ix.codec.Decode(ctx, r)
		if err != nil && events.ClassOf(err) != events.ClassRegistry {
			return permanent{err}
		}
		return err
	})
	var p permanent
	if errors.As(err, &p) {
		return nil, p.error
	}
	return ev, err
}

// schema fetches a port schema by id; "" when the registry does not have
// it (the port then lists the descriptor's field names).
func (ix *Indexer) schema(ctx context.Context, id int32) (string, error) {
	var text string
	err := ix.retry(ctx, "fetch a port schema", func() error {
		ss, err := ix.reg.SchemaByID(ctx, int(id))
		var re *sr.ResponseError
		if errors.As(err, &re) && (re.StatusCode == http.StatusNotFound || re.ErrorCode == sr.ErrSchemaNotFound.Code) {
			ix.log.Warn("port schema is not in the registry", zap.Int32("schema_id", id))
			return nil
		}
		if err == nil {
			text = ss.Schema
		}
		return err
	})
	return text, err
}

// permanent marks an error retry must not retry.
type permanent struct{ error }

// retry calls fn until it succeeds, returns a permanent error, or ctx
// ends, backing off exponentially up to MaxRetryBackoff.
func (ix *Indexer) retry(ctx context.Context, what string, fn func() error) error {
	backoff := DefaultRetryBackoff
	for {
		err := fn()
		var p permanent
		if err == nil || errors.As(err, &p) {
			return err
		}
		if errors.Is(err, kerr.UnknownTopicOrPartition) {
			ix.log.Warn("retrying: topic missing", zap.String("what", what), zap.Error(err))
		} else {
			ix.log.Warn("retrying", zap.String("what", what), zap.Duration("backoff", backoff), zap.Error(err))
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(backoff):
		}
		backoff = min(backoff*2, MaxRetryBackoff)
	}
}
