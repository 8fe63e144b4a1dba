package registrar

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sr"
	"go.uber.org/zap"

	"github.com/meshbone/meshbone/internal/kafka"
	"github.com/meshbone/meshbone/internal/ops"
	"github.com/meshbone/meshbone/pkg/events"
)

// lockStripes is how many mutexes serialise writes: one product id always
// maps to the same stripe, so two writes of one product never overlap, while
// writes of different products mostly run in parallel.
const lockStripes = 64

// Registry client settings: idle connections kept per registry host, and the
// bound of one registry request (sr's default).
const (
	registryIdleConns = 32
	registryTimeout   = 5 * time.Second
)

// flushTimeout bounds how long shutdown waits for audit events in flight.
const flushTimeout = 5 * time.Second

// Service is the registrar: its HTTP API, its Kafka and registry clients and
// its view of the products.
type Service struct {
	opts   Options
	log    *zap.Logger
	topics events.Topics
	tokens *tokenSet

	cl    *kgo.Client // produces lifecycle and audit events, admin requests
	adm   *kadm.Client
	reg   *sr.Client
	codec *events.Codec

	srv     *ops.Server
	metrics *metrics
	view    *view

	locks     [lockStripes]sync.Mutex
	lineageMu sync.RWMutex // writers R-lock; retire W-locks to see a stable lineage
	schemas   schemaCache

	bootstrapped atomic.Bool
	caughtUp     atomic.Bool
	ran          atomic.Bool
}

// New checks opts, loads the token file, builds the Kafka and registry
// clients and binds the HTTP listener. Nothing is sent to Kafka before Run.
func New(opts Options, log *zap.Logger) (*Service, error) {
	opts = opts.withDefaults()
	if err := opts.Validate(); err != nil {
		return nil, fmt.Errorf("registrar: %w", err)
	}
	if log == nil {
		log = zap.NewNop()
	}
	tokens, err := LoadTokens(opts.TokenFile)
	if err != nil {
		return nil, fmt.Errorf("registrar: %w", err)
	}
	kopts, err := opts.Kafka.KgoOpts()
	if err != nil {
		return nil, fmt.Errorf("registrar: %w", err)
	}
	reg, err := registryClient(opts.Kafka)
	if err != nil {
		return nil, fmt.Errorf("registrar: registry client: %w", err)
	}
	cl, err := kgo.NewClient(append(kopts,
		kgo.RequiredAcks(kgo.AllISRAcks()),
		kgo.ProducerLinger(0), // a request waits for its event: do not linger
	)...)
	if err != nil {
		return nil, fmt.Errorf("registrar: kafka client: %w", err)
	}
	s := &Service{
		opts:    opts,
		log:     log,
		topics:  opts.Kafka.Topics(),
		tokens:  newTokenSet(tokens),
		cl:      cl,
		adm:     kadm.NewClient(cl),
		reg:     reg,
		codec:   events.NewCodec(reg, opts.Kafka.Topics()),
		view:    newView(),
		schemas: schemaCache{byID: map[int]string{}},
	}
	s.srv, err = ops.NewServer(opts.Listen, s.ready)
	if err != nil {
		cl.Close()
		return nil, fmt.Errorf("registrar: %w", err)
	}
	s.metrics = newMetrics(s.srv.Registry, s.view)
	s.routes()
	return s, nil
}

// registryClient is the configured registry client with more idle
// connections kept than the default two, so that concurrent requests do not
// dial a connection per registry call.
func registryClient(c kafka.Config) (*sr.Client, error) {
	base, err := c.Registry()
	if err != nil {
		return nil, err
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = registryIdleConns
	return sr.NewClient(append(base.Opts(), sr.HTTPClient(&http.Client{Timeout: registryTimeout, Transport: tr}))...)
}

// URL is the base URL of the HTTP API.
func (s *Service) URL() string { return s.srv.URL() }

// Addr is the address the HTTP API listens on.
func (s *Service) Addr() string { return s.srv.Addr() }

// ready is /readyz: bootstrapped, caught up with the lifecycle topic, and
// Kafka and the registry answer.
func (s *Service) ready(ctx context.Context) error {
	switch {
	case !s.bootstrapped.Load():
		return errors.New("bootstrapping the mesh topics and schemas")
	case !s.caughtUp.Load():
		return errors.New("reading the lifecycle topic")
	}
	return ops.KafkaReady(s.cl, s.reg)(ctx)
}

// Run bootstraps the mesh (retrying until Kafka and the registry answer),
// rebuilds the view from the lifecycle topic, follows it, and serves HTTP
// until ctx is done. Writes are answered 503 until the view has caught up.
// Shutdown is bounded by ops.ShutdownTimeout plus a flush of the audit
// events in flight. Run may be called once.
func (s *Service) Run(ctx context.Context) error {
	if !s.ran.CompareAndSwap(false, true) {
		return errors.New("registrar: Run called twice")
	}
	defer s.cl.Close()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	var wg sync.WaitGroup
	errc := make(chan error, 2)
	wg.Add(2)
	go func() {
		defer wg.Done()
		if err := s.srv.Run(ctx); err != nil {
			errc <- fmt.Errorf("registrar: http: %w", err)
		}
	}()
	go func() {
		defer wg.Done()
		if err := s.bootstrapAndFollow(ctx); err != nil && ctx.Err() == nil {
			errc <- err
		}
	}()
	s.log.Info("registrar listening", zap.String("url", s.URL()), zap.String("lifecycle", s.topics.Lifecycle))

	var err error
	select {
	case <-ctx.Done():
	case err = <-errc:
	}
	cancel()
	wg.Wait()
	fctx, fcancel := context.WithTimeout(context.Background(), flushTimeout)
	defer fcancel()
	if ferr := s.cl.Flush(fctx); ferr != nil {
		s.log.Warn("audit events not flushed at shutdown", zap.Error(ferr))
	}
	return err
}

func (s *Service) bootstrapAndFollow(ctx context.Context) error {
	backoff := 250 * time.Millisecond
	for {
		err := s.bootstrap(ctx)
		if err == nil {
			break
		}
		if ctx.Err() != nil {
			return nil
		}
		s.log.Warn("bootstrap failed, retrying", zap.Error(err), zap.Duration("in", backoff))
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 5*time.Second)
	}
	s.bootstrapped.Store(true)
	return s.follow(ctx)
}

// bootstrap creates the mesh topics that are missing, registers the mesh
// contracts and makes their subjects at least BACKWARD compatible. It is
// idempotent.
func (s *Service) bootstrap(ctx context.Context) error {
	spec := kafka.TopicSpec{Partitions: s.opts.Partitions, ReplicationFactor: s.opts.ReplicationFactor, MinInsyncReplicas: s.opts.MinInsyncReplicas}
	created, err := kafka.EnsureMeshTopics(ctx, s.adm, s.topics, spec)
	if err != nil {
		return fmt.Errorf("mesh topics: %w", err)
	}
	if len(created) > 0 {
		s.log.Info("created mesh topics", zap.Strings("topics", created))
	}
	if err := s.codec.Register(ctx); err != nil {
		return fmt.Errorf("mesh schemas: %w", err)
	}
	var subjects []string
	for _, t := range s.topics.Events() {
		subjects = append(subjects, events.Subject(t))
	}
	return s.ensureBackward(ctx, subjects...)
}

// backwardOrStricter are the compatibility levels a mesh or product subject
// may keep; any other level is set to BACKWARD.
var backwardOrStricter = map[sr.CompatibilityLevel]bool{
	sr.CompatBackward: true, sr.CompatBackwardTransitive: true, sr.CompatFull: true, sr.CompatFullTransitive: true,
}

// ensureBackward sets BACKWARD on every subject whose own level is not
// BACKWARD or stricter.
func (s *Service) ensureBackward(ctx context.Context, subjects ...string) error {
	var set []string
	for _, r := range s.reg.Compatibility(ctx, subjects...) {
		if r.Err != nil || !backwardOrStricter[r.Level] {
			set = append(set, r.Subject)
		}
	}
	if len(set) == 0 {
		return nil
	}
	for _, r := range s.reg.SetCompatibility(ctx, sr.SetCompatibility{Level: sr.CompatBackward}, set...) {
		if r.Err != nil {
			return fmt.Errorf("set compatibility of %s to BACKWARD: %w", r.Subject, r.Err)
		}
	}
	return nil
}

// lock takes the write lock of a product id and returns its unlock.
func (s *Service) lock(id string) func() {
	h := fnv.New32a()
	_, _ = h.Write([]byte(id))
	m := &s.locks[h.Sum32()%lockStripes]
	m.Lock()
	return m.Unlock
}
