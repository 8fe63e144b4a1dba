package monitor

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sr"
	"go.uber.org/zap"

	"github.com/meshbone/meshbone/internal/kafka"
	"github.com/meshbone/meshbone/internal/ops"
	"github.com/meshbone/meshbone/pkg/events"
)

// Service is the monitor: it measures every product port's declared quality
// objectives on the port's own records and publishes one observed
// QualityEvent per product, port and window, exactly once (see Run).
type Service struct {
	opts   Options
	log    *zap.Logger
	topics events.Topics
	state  string // the state topic
	kopts  []kgo.Opt
	reg    *sr.Client
	codec  *events.Codec
	dec    *events.PortDecoder
	admin  *kgo.Client
	srv    *ops.Server
	m      *metrics
	view   *portView
	proj   projections

	ran       atomic.Bool
	ready     atomic.Bool
	measured  atomic.Int64 // records measured in committed transactions
	published atomic.Int64 // windows published in committed transactions

	// crashHook, set by tests, is called after a batch is produced and
	// before its transaction ends; returning true makes Run stop there as
	// if the process died.
	crashHook func() bool
}

// New checks opts and binds the HTTP listener. Nothing touches Kafka before
// Run.
func New(opts Options, log *zap.Logger) (*Service, error) {
	opts = opts.withDefaults()
	if err := opts.Validate(); err != nil {
		return nil, fmt.Errorf("monitor: %w", err)
	}
	if log == nil {
		log = zap.NewNop()
	}
	kopts, err := opts.Kafka.KgoOpts()
	if err != nil {
		return nil, fmt.Errorf("monitor: %w", err)
	}
	reg, err := opts.Kafka.Registry()
	if err != nil {
		return nil, fmt.Errorf("monitor: registry client: %w", err)
	}
	admin, err := kgo.NewClient(kopts...)
	if err != nil {
		return nil, fmt.Errorf("monitor: kafka client: %w", err)
	}
	topics := opts.Kafka.Topics()
	s := &Service{
		opts:   opts,
		log:    log,
		topics: topics,
		state:  topics.Prefix + StateTopic,
		kopts:  kopts,
		reg:    reg,
		codec:  events.NewCodec(reg, topics),
		dec:    events.NewPortDecoder(reg),
		admin:  admin,
		view:   newPortView(),
	}
	var promReg prometheus.Registerer = prometheus.NewRegistry()
	if opts.Listen != "" {
		if s.srv, err = ops.NewServer(opts.Listen, s.readyCheck); err != nil {
			admin.Close()
			return nil, fmt.Errorf("monitor: %w", err)
		}
		promReg = s.srv.Registry
	}
	s.m = newMetrics(promReg)
	return s, nil
}

// URL is the base URL of the HTTP server ("" without one).
func (s *Service) URL() string {
	if s.srv == nil {
		return ""
	}
	return s.srv.URL()
}

// Measured returns how many port records were measured in committed
// transactions.
func (s *Service) Measured() int64 { return s.measured.Load() }

// Published returns how many windows were published in committed
// transactions.
func (s *Service) Published() int64 { return s.published.Load() }

// TransactionalID returns the transactional id the instance produces with.
func (s *Service) TransactionalID() string { return s.opts.TransactionalID }

// Ready reports whether the monitor has read the lifecycle topic and is
// measuring.
func (s *Service) Ready() bool { return s.ready.Load() }

func (s *Service) readyCheck(ctx context.Context) error {
	if !s.ready.Load() {
		return errors.New("monitor: not measuring yet")
	}
	return ops.KafkaReady(s.admin, s.reg)(ctx)
}

// Run ensures the topics, reads the lifecycle topic and measures the port
// topics until ctx is done; then it finishes the transaction in flight,
// leaves the group and stops the HTTP server, within bounded time.
//
// Each poll of at most MaxBatch records is one Kafka transaction: the
// QualityEvents of the windows it closes, the state of every port topic it
// touched and the consumer offsets commit together or not at all.
func (s *Service) Run(ctx context.Context) error {
	if !s.ran.CompareAndSwap(false, true) {
		return errors.New("monitor: Run called twice")
	}
	defer s.admin.Close()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	srvErr := make(chan error, 1)
	if s.srv != nil {
		wg.Go(func() {
			if err := s.srv.Run(ctx); err != nil {
				srvErr <- err
				cancel()
			}
		})
	}
	err := s.consume(ctx)
	cancel()
	wg.Wait()
	select {
	case e := <-srvErr:
		if err == nil {
			err = fmt.Errorf("monitor: %w", e)
		}
	default:
	}
	return err
}

// ensureTopics creates the mesh topics and the state topic (compacted) if
// they do not exist.
func (s *Service) ensureTopics(ctx context.Context) error {
	adm := kadm.NewClient(s.admin)
	if _, err := kafka.EnsureMeshTopics(ctx, adm, s.topics, s.opts.Topics); err != nil {
		return err
	}
	spec := s.opts.Topics
	resp, err := adm.CreateTopic(ctx, spec.Partitions, spec.ReplicationFactor, spec.Configs("cleanup.policy", "compact"), s.state)
	if err == nil {
		err = resp.Err
	}
	if err != nil && !errors.Is(err, kerr.TopicAlreadyExists) {
		return fmt.Errorf("create topic %s: %w", s.state, err)
	}
	return nil
}
