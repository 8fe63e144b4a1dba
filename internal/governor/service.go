package governor

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sr"
	"go.uber.org/zap"

	"github.com/meshbone/meshbone/internal/kafka/txn"
	"github.com/meshbone/meshbone/internal/ops"
	"github.com/meshbone/meshbone/internal/policy"
	"github.com/meshbone/meshbone/pkg/events"
)

// Service is the governor: it judges every lifecycle and quality event with
// the policies in force and publishes violations and compliance exactly once
// (see Run).
type Service struct {
	opts   Options
	log    *zap.Logger
	topics events.Topics
	state  string // the state topic
	kopts  []kgo.Opt
	reg    *sr.Client
	codec  *events.Codec
	admin  *kgo.Client
	srv    *ops.Server
	m      *metrics
	engine *Engine
	view   *globalView // every product, whichever partitions are ours
	own    ownership   // the lifecycle partitions that are ours
	kgoLog *kgoLogger

	reloadMu sync.Mutex
	filesSig string // signature of the policy files last loaded

	ran         atomic.Bool
	ready       atomic.Bool
	needRebuild atomic.Bool
	judged      atomic.Int64 // records judged in committed transactions
	aborts      atomic.Int64
	checks      atomic.Int64         // freshness checks committed
	rejudged    atomic.Int64         // products judged again in committed transactions
	phases      [phases]atomic.Int64 // nanoseconds spent per Phase

	// crashHook, set by tests, is called after a batch is produced and
	// before its transaction ends; returning true makes Run stop there as
	// if the process died.
	crashHook func() bool
}

// New checks opts, loads the policies (a bad policy fails New with every
// problem found) and binds the HTTP listener. Nothing touches Kafka before
// Run.
func New(opts Options, log *zap.Logger) (*Service, error) {
	opts = opts.withDefaults()
	if err := opts.Validate(); err != nil {
		return nil, fmt.Errorf("governor: %w", err)
	}
	if log == nil {
		log = zap.NewNop()
	}
	set, err := policy.Load(opts.Policies)
	if err != nil {
		return nil, fmt.Errorf("governor: load policies:\n%w", err)
	}
	cl, err := txn.NewClients(opts.Kafka)
	if err != nil {
		return nil, fmt.Errorf("governor: %w", err)
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
		admin:  admin,
		engine: NewEngine(set),
		view:   newGlobalView(),
		kgoLog: newKgoLogger(log),
	}
	s.engine.SetInputs(s.view)
	s.engine.SetOwner(s.own.owns)
	s.filesSig = policyFilesSig(opts.Policies)
	if opts.Listen != "" {
		s.srv, err = ops.NewServer(opts.Listen, s.readyCheck)
		if err != nil {
			admin.Close()
			return nil, fmt.Errorf("governor: %w", err)
		}
		s.m = newMetrics(s.srv.Registry)
	} else {
		s.m = newMetrics(prometheusNop())
	}
	s.m.setPolicies(set)
	log.Info("policies loaded", zap.Int("policies", set.Len()), zap.String("digest", set.Digest()))
	return s, nil
}

// URL is the base URL of the HTTP server ("" without one).
func (s *Service) URL() string {
	if s.srv == nil {
		return ""
	}
	return s.srv.URL()
}

// Policies returns the policies in force.
func (s *Service) Policies() *policy.Set { return s.engine.Policies() }

// Judged returns how many records were judged in committed transactions.
func (s *Service) Judged() int64 { return s.judged.Load() }

// PhaseTime returns the time the judging loop has spent in phase p, over
// every batch so far.
func (s *Service) PhaseTime(p Phase) time.Duration { return time.Duration(s.phases[p].Load()) }

// Aborted returns how many transactions were aborted.
func (s *Service) Aborted() int64 { return s.aborts.Load() }

// FreshnessChecks returns how many freshness checks were committed.
func (s *Service) FreshnessChecks() int64 { return s.checks.Load() }

// Rejudged returns how many products were judged again, in committed
// transactions, because one of their inputs changed.
func (s *Service) Rejudged() int64 { return s.rejudged.Load() }

// TransactionalID returns the transactional id the instance produces with.
func (s *Service) TransactionalID() string { return s.opts.TransactionalID }

// Ready reports whether the governor has rebuilt its state and is judging.
func (s *Service) Ready() bool { return s.ready.Load() }

func (s *Service) readyCheck(ctx context.Context) error {
	if !s.ready.Load() {
		return errors.New("governor: state not rebuilt yet")
	}
	return ops.KafkaReady(s.admin, s.reg)(ctx)
}

// Reload loads the policies again. On success the new set judges every batch
// begun afterwards; on failure the old set stays in force and the error
// (every problem found) is returned and logged.
func (s *Service) Reload() error {
	s.reloadMu.Lock()
	defer s.reloadMu.Unlock()
	return s.reloadLocked()
}

func (s *Service) reloadLocked() error {
	s.filesSig = policyFilesSig(s.opts.Policies)
	set, err := policy.Load(s.opts.Policies)
	if err != nil {
		s.m.reloads.WithLabelValues("failed").Inc()
		s.log.Error("policy reload failed; the policies in force stay", zap.Error(err))
		return err
	}
	old := s.engine.Policies()
	s.engine.SetPolicies(set)
	s.m.reloads.WithLabelValues("ok").Inc()
	s.m.setPolicies(set)
	s.log.Info("policies reloaded", zap.Int("policies", set.Len()), zap.String("digest", set.Digest()), zap.String("previous_digest", old.Digest()))
	return nil
}

// Run ensures the topics, rebuilds the state from the state topic and
// judges until ctx is done; then it finishes the transaction in flight,
// leaves the group and stops the HTTP server, within bounded time.
//
// Each poll of at most MaxBatch records is one Kafka transaction: the
// violations, the compliance status and the state of every product judged,
// the dead letters of undecodable records and the consumer offsets commit
// together or not at all. An aborted transaction drops the batch's state
// changes, and the records are judged again from the committed offsets, so
// a read_committed consumer sees each violation exactly once.
func (s *Service) Run(ctx context.Context) error {
	if !s.ran.CompareAndSwap(false, true) {
		return errors.New("governor: Run called twice")
	}
	defer s.admin.Close()
	var also []func(context.Context)
	if s.opts.PolicyPollInterval > 0 {
		also = append(also, s.watchPolicies)
	}
	err, srvErr := txn.Serve(ctx, s.srv, s.consume, also...)
	if srvErr != nil {
		err = errors.Join(err, fmt.Errorf("governor: http server: %w", srvErr))
	}
	return err
}

// ensureTopics creates the mesh topics and the state topic if missing. It
// reports whether it created the state topic (which is then empty).
func (s *Service) ensureTopics(ctx context.Context) (created bool, err error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	return txn.EnsureTopics(ctx, kadm.NewClient(s.admin), s.topics, s.opts.Topics, s.state)
}
