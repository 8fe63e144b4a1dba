package monitor

import (
	"context"
	"sync"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"go.uber.org/zap"

	"github.com/meshbone/meshbone/internal/kafka/txn"
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
	return txn.Follow(ctx, s.kopts, kadm.NewClient(s.admin), s.topics.Lifecycle, s.log, "lifecycle view", caughtUp, func(recs []*kgo.Record) {
		for _, r := range recs {
			if r.Attrs.IsControl() {
				continue
			}
			ev, err := s.codec.Decode(ctx, r)
			if err != nil {
				s.log.Warn("lifecycle view: record skipped", zap.Int32("partition", r.Partition), zap.Int64("offset", r.Offset), zap.Error(err))
				continue
			}
			lc, ok := ev.(*events.ProductLifecycleEvent)
			if !ok {
				continue
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
		}
	})
}

// ruleEnv returns the rule environment of the records of schema id.
func (s *Service) ruleEnv(ctx context.Context, id int) (*events.RuleEnv, error) {
	sch, err := s.dec.Schema(ctx, id)
	if err != nil {
		return nil, err
	}
	return events.NewRuleEnv(sch)
}
