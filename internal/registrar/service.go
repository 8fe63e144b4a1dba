package registrar

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"net"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
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
	access  *accessView // access agreements and policies (access.go)
	notices noticeLog   // ids of the notices sent (notice.go)

	locks     [lockStripes]sync.Mutex
	lineageMu sync.RWMutex // writers R-lock; retire W-locks to see a stable lineage
	schemas   schemaCache

	bootstrapped atomic.Bool
	caughtUp     atomic.Bool
	ran          atomic.Bool

	// The single writer (lease.go, forward.go, reconcile.go).
	instance   string       // this instance's id, random per process
	kopts      []kgo.Opt    // connection options of every Kafka client
	leaseTopic string       // <prefix>_meshbone.registrar.lease.v1
	leaseGroup string       // the election's consumer group
	txnID      string       // the writer's transactional id, shared
	advertise  string       // the URL this instance announces as the writer
	lease      leaseState   // what the lease topic says
	pos        positions    // how far the follower has read
	leaseMu    sync.RWMutex // writes R-lock; a deposition W-locks
	cur        *term        // the writer's term, nil when not the writer
	writer     atomic.Bool  // cur != nil, for lock-free reads
	holdMu     sync.Mutex
	hold       *holding
	forwarder  *http.Client
	runCtx     context.Context
	hooks      hooks
}

// hooks are seams for the tests (export_test.go); zero in production.
type hooks struct {
	// dial, when set, makes every Kafka and schema registry connection.
	dial func(ctx context.Context, network, addr string) (net.Conn, error)
	// step, when set, is called after each provisioning step of a
	// product: "topics" (created), "schemas" (registered).
	step func(id, step string)
}

// New checks opts, loads the token file, builds the Kafka and registry
// clients and binds the HTTP listener. Nothing is sent to Kafka before Run.
func New(opts Options, log *zap.Logger) (*Service, error) {
	return newService(opts, log, hooks{})
}

func newService(opts Options, log *zap.Logger, h hooks) (*Service, error) {
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
	if h.dial != nil {
		kopts = append(kopts, kgo.Dialer(h.dial))
	}
	reg, err := registryClient(opts.Kafka, h.dial)
	if err != nil {
		return nil, fmt.Errorf("registrar: registry client: %w", err)
	}
	cl, err := kgo.NewClient(append(slices.Clone(kopts),
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

		instance:   newID(),
		kopts:      kopts,
		leaseTopic: opts.Kafka.TopicPrefix + LeaseTopic,
		leaseGroup: opts.Kafka.TopicPrefix + leaseGroupName,
		txnID:      opts.Kafka.TopicPrefix + writerTxnName,
		lease:      leaseState{open: map[string]*intent{}},
		forwarder:  &http.Client{Transport: http.DefaultTransport.(*http.Transport).Clone()},
		runCtx:     context.Background(),
		hooks:      h,
	}
	s.srv, err = ops.NewServer(opts.Listen, s.ready)
	if err != nil {
		cl.Close()
		return nil, fmt.Errorf("registrar: %w", err)
	}
	s.advertise = opts.AdvertiseURL
	if s.advertise == "" {
		s.advertise = s.srv.URL()
	}
	s.metrics = newMetrics(s.srv.Registry, s.view)
	s.routes()
	return s, nil
}

// registryClient is the configured registry client with more idle
// connections kept than the default two, so that concurrent requests do not
// dial a connection per registry call.
func registryClient(c kafka.Config, dial func(context.Context, string, string) (net.Conn, error)) (*sr.Client, error) {
	base, err := c.Registry()
	if err != nil {
		return nil, err
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = registryIdleConns
	if dial != nil {
		tr.DialContext = dial
	}
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
	case !s.isWriter() && s.writerURL() == "":
		return errors.New("waiting for a writer to be elected")
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
	s.runCtx = ctx

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
	// The follower and the election run side by side: a new writer waits
	// for the follower to catch up before it serves.
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	errs := make(chan error, 2)
	go func() { errs <- s.follow(ctx) }()
	go func() { errs <- s.elect(ctx) }()
	err := <-errs
	cancel()
	return errors.Join(err, <-errs)
}

// bootstrap creates the mesh topics that are missing, registers the mesh
// contracts and makes their subjects at least BACKWARD compatible. It is
// idempotent.
func (s *Service) bootstrap(ctx context.Context) error {
	created, err := kafka.EnsureMeshTopics(ctx, s.adm, s.topics, s.opts.Topics)
	if err != nil {
		return fmt.Errorf("mesh topics: %w", err)
	}
	if len(created) > 0 {
		s.log.Info("created mesh topics", zap.Strings("topics", created))
	}
	if err := s.ensureLeaseTopic(ctx); err != nil {
		return err
	}
	if err := s.codec.Register(ctx); err != nil {
		return fmt.Errorf("mesh schemas: %w", err)
	}
	var subjects []string
	for _, t := range append(s.topics.Events(), s.topics.Access, s.topics.Notices) {
		subjects = append(subjects, events.Subject(t))
	}
	return s.ensureBackward(ctx, subjects...)
}

// ensureLeaseTopic creates the private lease topic if it is missing: one
// partition (the lease), compacted (the latest record per key counts).
func (s *Service) ensureLeaseTopic(ctx context.Context) error {
	cfg := s.opts.Topics.Configs("cleanup.policy", "compact")
	resp, err := s.adm.CreateTopic(ctx, 1, s.opts.Topics.ReplicationFactor, cfg, s.leaseTopic)
	if err == nil {
		err = resp.Err
	}
	if err != nil && !errors.Is(err, kerr.TopicAlreadyExists) {
		return fmt.Errorf("lease topic %s: %w", s.leaseTopic, err)
	}
	return nil
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
