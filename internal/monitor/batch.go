package monitor

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"runtime"
	"sort"
	"sync"
	"time"

	"github.com/hamba/avro/v2"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"go.uber.org/zap"

	"github.com/meshbone/meshbone/internal/kafka/txn"
	"github.com/meshbone/meshbone/pkg/events"
)

// batcher holds the state of the port topics a session owns and turns each
// poll into one transaction.
type batcher struct {
	s      *Service
	states map[string]*topicState // by port topic
	parts  map[string][]int32     // the partitions owned, by port topic
	stale  bool                   // states must be read back (an abort)
}

// restore reads the state of the owned topics back from the state topic,
// until it matches the group's committed offsets.
//
// The previous owner of a topic wrote its state in the transaction that
// committed its offsets; the offsets this session resumes from are read
// stable (they wait for that transaction), but the state topic's markers
// may be written a moment after the offsets': a state read then would miss
// the last transaction. So each topic's partition positions in the state
// are compared with the committed offsets, and the state is read again
// until they match (for at most RebuildTimeout; then it goes on with what it
// read, and says so).
func (b *batcher) restore(ctx context.Context, parts map[string][]int32) error {
	start := time.Now()
	want := func(topic string) *portConf {
		if _, ok := parts[topic]; !ok {
			return nil
		}
		return b.s.view.conf(topic)
	}
	var st map[string]*topicState
	for {
		var err error
		if st, err = b.s.readState(ctx, want); err != nil {
			return fmt.Errorf("monitor: read state from %s: %w", b.s.state, err)
		}
		behind, err := b.s.stateBehind(ctx, st, parts)
		if err == nil && behind == "" {
			break
		}
		if time.Since(start) > RebuildTimeout || ctx.Err() != nil {
			b.s.log.Warn("state read does not match the committed offsets; going on with it", zap.String("behind", behind), zap.Error(err))
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	b.states, b.stale = st, false
	b.s.m.topics.Set(float64(len(parts)))
	b.s.log.Info("state read", zap.Int("port_topics_owned", len(parts)), zap.Int("with_state", len(st)), zap.Duration("took", time.Since(start)))
	return nil
}

// stateBehind compares the partition positions of st (a topic without
// state: at 0) with the group's committed offsets of the owned topics
// measured (read stable) and names the first partition whose state is
// behind them ("" when none is).
func (s *Service) stateBehind(ctx context.Context, st map[string]*topicState, parts map[string][]int32) (string, error) {
	var topics []string
	for t := range parts {
		if s.view.conf(t) != nil {
			topics = append(topics, t)
		}
	}
	if len(topics) == 0 {
		return "", nil
	}
	offs, err := kadm.NewClient(s.admin).FetchOffsetsForTopics(kadm.RequireStable(ctx), s.opts.Group, topics...)
	if err != nil {
		return "", err
	}
	if err := offs.Error(); err != nil {
		return "", err
	}
	behind := ""
	offs.Each(func(o kadm.OffsetResponse) {
		if behind != "" || o.At < 0 {
			return
		}
		next := int64(0)
		if t := st[o.Topic]; t != nil {
			if ps := t.Parts[o.Partition]; ps != nil {
				next = ps.Next
			}
		}
		if next < o.At {
			behind = fmt.Sprintf("%s partition %d: state at %d, committed %d", o.Topic, o.Partition, next, o.At)
		}
	})
	return behind, nil
}

// topic returns the state of topic, made if new; nil when the view has no
// configuration for it (a retired product).
func (b *batcher) topic(topic string) *topicState {
	if t := b.states[topic]; t != nil {
		if c := b.s.view.conf(topic); c != nil && c != t.conf {
			for _, ss := range t.Series {
				for _, w := range ss.Open {
					w.remap(t.conf, c)
				}
			}
			t.conf = c
		}
		return t
	}
	c := b.s.view.conf(topic)
	if c == nil {
		return nil
	}
	t := &topicState{Topic: topic, Parts: map[int32]*partState{}, Series: map[string]*seriesState{}, conf: c, idle: map[int32]bool{}}
	b.states[topic] = t
	return t
}

// maxChunk is the most hashes one state chunk holds (8 bytes each); a
// variable for the tests.
var maxChunk = 50_000

// job is one record of the transaction, or the event to encode into one.
type job struct {
	rec *kgo.Record
	ev  *events.QualityEvent
}

// transact measures recs, closes the windows the watermarks passed and
// writes the QualityEvents, the state and the offsets in one transaction. It
// reports whether the transaction committed; an error is one the session
// cannot recover from.
func (b *batcher) transact(ctx context.Context, sess *kgo.GroupTransactSession, recs []*kgo.Record) (bool, error) {
	s := b.s
	tss := make([]*topicState, len(recs))
	for i, r := range recs {
		if i > 0 && r.Topic == recs[i-1].Topic {
			tss[i] = tss[i-1]
		} else {
			tss[i] = b.topic(r.Topic)
		}
	}
	obsv := make([]obs, len(recs))
	parallel(len(recs), func(lo, hi int) {
		// The chunk's hashes share one slice.
		var hashes []uint64
		for i := lo; i < hi; i++ {
			if tss[i] != nil {
				if n := len(tss[i].conf.uniq); n > 0 {
					if len(hashes) < n {
						hashes = make([]uint64, max(n, (hi-i)*n))
					}
					obsv[i].hashes, hashes = hashes[:n:n], hashes[n:]
				}
				s.observe(ctx, recs[i], tss[i].conf, &obsv[i])
			}
		}
	})
	for i := range obsv {
		if obsv[i].retry {
			s.log.Warn("cannot decode for now; retrying the batch", zap.String("topic", recs[i].Topic), zap.Int64("offset", recs[i].Offset), zap.Error(obsv[i].err))
			if err := txn.Abort(ctx, sess, s.opts.TxnTimeout); err != nil {
				return false, fmt.Errorf("monitor: %w", err)
			}
			return false, nil
		}
	}
	var late, bad int64
	// Records come in runs of one topic and partition: what a run shares
	// (the partition's state, the series, each series' last window) is
	// looked up once per run.
	var (
		curT   *topicState
		curP   int32
		ps     *partState
		series []*seriesState
		lastW  []*window
		lastS  []int64
	)
	for i, r := range recs {
		t := tss[i]
		if t == nil {
			continue
		}
		o := &obsv[i]
		if t != curT || r.Partition != curP || ps == nil {
			if t != curT {
				series, lastW, lastS = series[:0], lastW[:0], lastS[:0]
				for _, sc := range t.conf.series {
					ss := t.Series[sc.key()]
					if ss == nil {
						ss = &seriesState{Open: map[int64]*window{}}
						t.Series[sc.key()] = ss
					}
					series, lastW, lastS = append(series, ss), append(lastW, nil), append(lastS, 0)
				}
			}
			curT, curP = t, r.Partition
			if ps = t.Parts[r.Partition]; ps == nil {
				ps = &partState{}
				t.Parts[r.Partition] = ps
			}
			t.dirty = true
			// A new record of the topic makes every idle mark stale: a
			// partition found at its end before this record was fetched
			// may since have received older records (a producer writing
			// in event-time order across partitions, read back in another
			// order). The next probe, listed after this fetch, decides
			// again; until then the partitions hold the watermark.
			clear(t.idle)
		}
		ps.Next = r.Offset + 1
		if o.control {
			continue
		}
		if !ps.Seen || o.ts > ps.Newest {
			ps.Newest, ps.Seen = o.ts, true
		}
		if o.bad {
			bad++
			if bad <= 10 {
				s.log.Warn("port record undecodable: measured as a failure", zap.String("topic", r.Topic), zap.Int32("partition", r.Partition), zap.Int64("offset", r.Offset), zap.Error(o.err))
			}
		}
		for j, sc := range t.conf.series {
			ss := series[j]
			start := windowStart(o.ts, sc.Window.Milliseconds())
			switch {
			case !ss.Started:
				ss.Next, ss.Started = start, true
			case start < ss.Next && ss.Closed:
				late++
				continue
			case start < ss.Next:
				ss.Next = start // before the stream's first record, and nothing closed yet
			}
			w := lastW[j]
			if w == nil || lastS[j] != start {
				if w = ss.Open[start]; w == nil {
					w = newWindow(t.conf)
					ss.Open[start] = w
				}
				lastW[j], lastS[j] = w, start
			}
			w.add(o)
		}
	}
	s.m.late.Add(float64(late))

	// Close the windows each topic's watermark passed, topics in name
	// order.
	var jobs []job
	names := make([]string, 0, len(b.states))
	for name := range b.states {
		names = append(names, name)
	}
	sort.Strings(names)
	now := s.opts.Now()
	closed := 0
	for _, name := range names {
		t := b.states[name]
		parts := b.parts[name]
		if len(parts) == 0 || s.view.conf(name) == nil {
			continue
		}
		if t.held(parts) && time.Since(t.probe) >= s.opts.IdleProbe {
			t.probe = time.Now()
			if err := s.probe(ctx, t, parts); err != nil {
				s.log.Warn("cannot list end offsets; windows wait", zap.Error(err))
			}
		}
		wm, ok := t.watermark(parts)
		if !ok {
			continue
		}
		for _, sc := range t.conf.series {
			ss := t.Series[sc.key()]
			if ss == nil || !ss.Started {
				continue
			}
			wlen := sc.Window.Milliseconds()
			for n := 0; n < MaxWindowsPerBatch && ss.Next+wlen+s.opts.AllowedLateness.Milliseconds() <= wm; n++ {
				w := ss.Open[ss.Next]
				jobs = append(jobs, job{ev: qualityEvent(t.conf, &sc, ss.Next, w, now)})
				if w != nil {
					for i, col := range t.conf.uniq {
						for c := range w.chunks[i] {
							jobs = append(jobs, job{rec: &kgo.Record{Topic: s.state, Key: []byte(chunkName(name, sc.key(), ss.Next, col, c))}})
						}
					}
					delete(ss.Open, ss.Next)
				}
				ss.Next += wlen
				ss.Closed = true
				t.dirty = true
				closed++
			}
		}
	}
	// The state of every topic the batch changed: new distinct values in
	// chunks, then the head.
	for _, name := range names {
		t := b.states[name]
		if !t.dirty {
			continue
		}
		for key, ss := range t.Series {
			for start, w := range ss.Open {
				for i, col := range t.conf.uniq {
					// Chunks of at most maxChunk hashes stay well below
					// the brokers' default message size (1 MB).
					for hs := w.fresh[i]; len(hs) > 0; {
						n := min(len(hs), maxChunk)
						jobs = append(jobs, job{rec: &kgo.Record{Topic: s.state, Key: []byte(chunkName(name, key, start, col, w.chunks[i])), Value: encodeHashes(hs[:n])}})
						w.chunks[i]++
						hs = hs[n:]
					}
					w.fresh[i] = w.fresh[i][:0]
				}
			}
		}
		head, err := encodeHead(t)
		if err != nil {
			return false, txn.Permanent{Err: fmt.Errorf("monitor: encode the state of %s: %w", name, err)}
		}
		jobs = append(jobs, job{rec: &kgo.Record{Topic: s.state, Key: []byte(headKey + name), Value: head}})
		t.dirty = false
	}
	if len(jobs) == 0 && len(recs) == 0 {
		return true, nil
	}

	tx, err := txn.Begin(ctx, sess, s.opts.TxnTimeout, s.log)
	if err != nil {
		return false, fmt.Errorf("monitor: %w", err)
	}
	defer tx.Release()
	for _, j := range jobs {
		r := j.rec
		if j.ev != nil {
			var err error
			if r, err = s.codec.Encode(ctx, j.ev, ServiceSource); err != nil {
				tx.Abandon()
				return false, txn.Permanent{Err: fmt.Errorf("monitor: encode %s: %w", j.ev.EventID, err)}
			}
		}
		tx.Produce(r)
	}
	produceErr := tx.Flush()
	if s.crashHook != nil && s.crashHook() {
		return false, errCrashed
	}
	committed, err := tx.End(produceErr)
	if err != nil {
		return false, fmt.Errorf("monitor: %w", err)
	}
	if !committed {
		s.log.Info("transaction aborted; the batch will be measured again", zap.Int("records", len(recs)))
		return false, nil
	}
	s.m.transactions.WithLabelValues("committed").Inc()
	s.m.records.Add(float64(len(recs)))
	s.m.undecodable.Add(float64(bad))
	s.m.windows.Add(float64(closed))
	s.measured.Add(int64(len(recs)))
	s.published.Add(int64(closed))
	return true, nil
}

// observe measures one record: its event time (the record's timestamp) and,
// decoded, its columns, rules and unique values.
func (s *Service) observe(ctx context.Context, r *kgo.Record, c *portConf, o *obs) {
	o.ts = r.Timestamp.UnixMilli()
	if r.Attrs.IsControl() {
		o.control = true
		return
	}
	m, err := s.decode(ctx, c, r.Value)
	if err != nil {
		var de *events.DecodeError
		if errors.As(err, &de) && !de.Permanent() {
			o.retry = true
		}
		o.bad, o.err = true, err
		return
	}
	for i, col := range c.cols {
		if m[col] != nil {
			o.nonNull |= 1 << i
		}
	}
	for i, rl := range c.rules {
		if ok, err := rl.Eval(m); ok && err == nil {
			o.pass |= 1 << i
		}
	}
	if len(c.uniq) > 0 {
		if len(o.hashes) < len(c.uniq) {
			o.hashes = make([]uint64, len(c.uniq))
		}
		for i, col := range c.uniq {
			if v := m[col]; v != nil {
				o.uniq |= 1 << i
				o.hashes[i] = hashValue(v)
			}
		}
	}
}

// decodeAPI decodes port records with the bound on array and map
// allocations of pkg/events' PortDecoder (a corrupt length is an error, not
// an out-of-memory).
var decodeAPI = avro.Config{MaxSliceAllocSize: 1 << 20}.Freeze()

// decode decodes a port record's value (Confluent wire format) into a
// map[string]any of the fields c needs (see project). It does what PortDecoder.Decode does, but decodes into the
// map directly rather than through an interface value, which is a third
// cheaper with hamba. Errors are *events.DecodeError.
func (s *Service) decode(ctx context.Context, c *portConf, value []byte) (map[string]any, error) {
	if len(value) < 5 || value[0] != 0 {
		return nil, &events.DecodeError{Class: events.ClassBadMagic, Err: errors.New("not in the Confluent wire format (magic byte 0 and a 4-byte schema id)")}
	}
	id := int(binary.BigEndian.Uint32(value[1:5]))
	sch, err := s.schema(ctx, c, id)
	if err != nil {
		return nil, err
	}
	var m map[string]any
	if err := decodeAPI.Unmarshal(sch, value[5:], &m); err != nil {
		return nil, &events.DecodeError{Class: events.ClassCorruptBody, Err: fmt.Errorf("schema id %d: %w", id, err)}
	}
	return m, nil
}

// parallelChunk is how many records a worker of parallel takes at a time.
const parallelChunk = 64

// parallel calls work on consecutive chunks [lo, hi) of n items from up to
// GOMAXPROCS goroutines and returns when all are done.
func parallel(n int, work func(lo, hi int)) {
	workers := min(runtime.GOMAXPROCS(0), (n+parallelChunk-1)/parallelChunk)
	if workers <= 1 {
		work(0, n)
		return
	}
	var next sync.Mutex
	lo := 0
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for {
				next.Lock()
				l := lo
				lo += parallelChunk
				next.Unlock()
				if l >= n {
					return
				}
				work(l, min(l+parallelChunk, n))
			}
		})
	}
	wg.Wait()
}
