package monitor

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sr"
	"go.uber.org/zap"

	"github.com/meshbone/meshbone/internal/kafka/txn"
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
	cl, err := txn.NewClients(opts.Kafka)
	if err != nil {
		return nil, fmt.Errorf("monitor: %w", err)
	}
	admin := cl.Admin
	s := &Service{
		opts:   opts,
		log:    log,
		topics: cl.Topics,
		state:  cl.Topics.Prefix + StateTopic,
		kopts:  cl.Kopts,
		reg:    cl.Reg,
		codec:  events.NewCodec(cl.Reg, cl.Topics),
		dec:    events.NewPortDecoder(cl.Reg),
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
	err, srvErr := txn.Serve(ctx, s.srv, s.consume)
	if srvErr != nil && err == nil {
		err = fmt.Errorf("monitor: %w", srvErr)
	}
	return err
}
