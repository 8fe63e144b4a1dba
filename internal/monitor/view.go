package monitor

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"go.uber.org/zap"

	"github.com/meshbone/meshbone/pkg/events"
)

// portView is every port the monitor measures, from the lifecycle topic: the
// newest descriptor of each product. A retired product's ports are no longer
// measured (their open windows are dropped when the topic's state is next
// read); a new version's new port topic is picked up as it is announced.
type portView struct {
	mu      sync.Mutex
	byTopic map[string]*portConf
	version uint64        // bumped at every change of byTopic
	notify  chan struct{} // has an element when version changed
}

func newPortView() *portView {
	return &portView{byTopic: map[string]*portConf{}, notify: make(chan struct{}, 1)}
}

// conf returns the configuration of topic, or nil.
func (v *portView) conf(topic string) *portConf {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.byTopic[topic]
}

// topics returns the topics measured and the view's version.
func (v *portView) topics() ([]string, uint64) {
	v.mu.Lock()
	defer v.mu.Unlock()
	out := make([]string, 0, len(v.byTopic))
	for t := range v.byTopic {
		out = append(out, t)
	}
	return out, v.version
}

// apply sets the ports of product id (none: retired).
func (v *portView) apply(id string, confs []*portConf) {
	v.mu.Lock()
	defer v.mu.Unlock()
	for t, c := range v.byTopic {
		if c.Product == id {
			delete(v.byTopic, t)
		}
	}
	for _, c := range confs {
		v.byTopic[c.Topic] = c
	}
	v.version++
	select {
	case v.notify <- struct{}{}:
	default:
	}
}

// follow reads the lifecycle topic read_committed from its start into the
// view until ctx is done; caughtUp is closed once every partition is read to
// its last stable offset as of the start.
func (s *Service) follow(ctx context.Context, caughtUp chan<- struct{}) error {
	topic := s.topics.Lifecycle
	adm := kadm.NewClient(s.admin)
	starts, err := adm.ListStartOffsets(ctx, topic)
	if err == nil {
		err = starts.Error()
	}
	var ends kadm.ListedOffsets
	if err == nil {
		if ends, err = adm.ListCommittedOffsets(ctx, topic); err == nil {
			err = ends.Error()
		}
	}
	if err != nil {
		return fmt.Errorf("list the offsets of %s: %w", topic, err)
	}
	left := map[int32]int64{}
	ends.Each(func(o kadm.ListedOffset) {
		if st, _ := starts.Lookup(topic, o.Partition); o.Offset > st.Offset {
			left[o.Partition] = o.Offset
		}
	})
	if len(left) == 0 {
		close(caughtUp)
		caughtUp = nil
	}
	cl, err := kgo.NewClient(append([]kgo.Opt{
		kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()),
		kgo.KeepControlRecords(),
		kgo.FetchMaxWait(500 * time.Millisecond),
	}, s.kopts...)...)
	if err != nil {
		return fmt.Errorf("kafka client: %w", err)
	}
	defer cl.Close()
	for {
		fetches := cl.PollFetches(ctx)
		if ctx.Err() != nil || fetches.IsClientClosed() {
			return nil
		}
		fetches.EachError(func(t string, p int32, err error) {
			s.log.Warn("lifecycle view: fetch error", zap.String("topic", t), zap.Int32("partition", p), zap.Error(err))
		})
		fetches.EachRecord(func(r *kgo.Record) {
			if end, ok := left[r.Partition]; ok && r.Offset+1 >= end {
				delete(left, r.Partition)
			}
			if r.Attrs.IsControl() {
				return
			}
			ev, err := s.codec.Decode(ctx, r)
			if err != nil {
				s.log.Warn("lifecycle view: record skipped", zap.Int32("partition", r.Partition), zap.Int64("offset", r.Offset), zap.Error(err))
				return
			}
			lc, ok := ev.(*events.ProductLifecycleEvent)
			if !ok {
				return
			}
			var confs []*portConf
			if lc.Type != events.LifecycleRetired {
				var probs []error
				confs, probs = portConfs(ctx, &lc.Product, s.ruleEnv)
				for _, p := range probs {
					s.log.Warn("objective not measured", zap.Error(p))
				}
			}
			s.view.apply(lc.Product.ID, confs)
		})
		if caughtUp != nil && len(left) == 0 {
			close(caughtUp)
			caughtUp = nil
		}
	}
}

// ruleEnv returns the rule environment of the records of schema id.
func (s *Service) ruleEnv(ctx context.Context, id int) (*events.RuleEnv, error) {
	sch, err := s.dec.Schema(ctx, id)
	if err != nil {
		return nil, err
	}
	return events.NewRuleEnv(sch)
}
