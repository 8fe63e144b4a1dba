package indexer

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sr"
	"go.uber.org/zap"

	"github.com/meshbone/meshbone/internal/ops"
	"github.com/meshbone/meshbone/internal/store"
	"github.com/meshbone/meshbone/pkg/events"
)

// Indexer folds the mesh topics into the discovery view and serves it.
type Indexer struct {
	opts   Options
	log    *zap.Logger
	topics events.Topics
	kopts  []kgo.Opt
	reg    *sr.Client
	codec  *events.Codec
	store  *store.Store
	srv    *ops.Server
	m      *metrics
	prog   *progress
	web    *web

	mu     sync.Mutex
	client *kgo.Client // set once the consumer runs, for readiness
	ran    atomic.Bool
}

// New fills opts' zero values with the defaults, validates them, opens (or
// with Rebuild, recreates) the view and listens on Listen. Run consumes and
// serves.
func New(opts Options, log *zap.Logger) (*Indexer, error) {
	opts = opts.withDefaults()
	if err := opts.Validate(); err != nil {
		return nil, fmt.Errorf("indexer: %w", err)
	}
	if log == nil {
		log = zap.NewNop()
	}
	kopts, err := opts.Kafka.KgoOpts()
	if err != nil {
		return nil, fmt.Errorf("indexer: %w", err)
	}
	reg, err := opts.Kafka.Registry()
	if err != nil {
		return nil, fmt.Errorf("indexer: registry: %w", err)
	}
	if opts.Rebuild {
		if err := store.Remove(opts.DB); err != nil {
			return nil, fmt.Errorf("indexer: rebuild: %w", err)
		}
		log.Info("rebuilding the view from the start of the topics", zap.String("db", opts.DB))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	st, err := store.Open(ctx, opts.DB, opts.Store)
	if err != nil {
		return nil, fmt.Errorf("indexer: %w", err)
	}
	ix := &Indexer{
		opts:   opts,
		log:    log,
		topics: opts.Kafka.Topics(),
		kopts:  kopts,
		reg:    reg,
		codec:  events.NewCodec(reg, opts.Kafka.Topics()),
		store:  st,
		prog:   newProgress(),
	}
	ix.srv, err = ops.NewServer(opts.Listen, ix.ready)
	if err != nil {
		st.Close()
		return nil, fmt.Errorf("indexer: %w", err)
	}
	ix.m = newMetrics(ix.srv.Registry)
	if ix.web, err = newWeb(ix); err != nil {
		st.Close()
		return nil, err
	}
	ix.routes()
	return ix, nil
}

// URL is the base URL of the API and the web page.
func (ix *Indexer) URL() string { return ix.srv.URL() }

// Addr is the address the HTTP server listens on.
func (ix *Indexer) Addr() string { return ix.srv.Addr() }

// Store is the view (for tests and benchmarks that read it directly).
func (ix *Indexer) Store() *store.Store { return ix.store }

// Status is the view's progress.
func (ix *Indexer) Status() Status { return ix.prog.status() }

// WaitFor blocks until the view includes every given record offset, or
// ctx ends; it reports whether it does.
func (ix *Indexer) WaitFor(ctx context.Context, targets map[string]map[int32]int64) bool {
	t := map[tp]int64{}
	for topic, ps := range targets {
		for p, o := range ps {
			t[tp{topic, p}] = o
		}
	}
	return ix.prog.wait(ctx, func(p *progress) bool { return p.reached(t) })
}

func (ix *Indexer) ready(ctx context.Context) error {
	ix.mu.Lock()
	cl := ix.client
	ix.mu.Unlock()
	if cl == nil {
		return errors.New("waiting for the mesh topics")
	}
	if err := ix.store.Ping(ctx); err != nil {
		return fmt.Errorf("view: %w", err)
	}
	return ops.KafkaReady(cl, ix.reg)(ctx)
}

// Run consumes the mesh topics into the view and serves HTTP until ctx is
// done, then stops both (within ops.ShutdownTimeout) and closes the view.
// It returns the first error that stopped either.
func (ix *Indexer) Run(ctx context.Context) error {
	if ix.ran.Swap(true) {
		return ErrStopped
	}
	defer ix.store.Close()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	errc := make(chan error, 2)
	go func() { errc <- ix.srv.Run(ctx) }()
	go func() { errc <- ix.consume(ctx) }()
	go ix.logCatchUp(ctx, CatchUpLogInterval)
	ix.log.Info("indexer serving", zap.String("url", ix.URL()), zap.String("db", ix.opts.DB), zap.String("topic_prefix", ix.topics.Prefix))
	first := <-errc
	cancel()
	second := <-errc
	if first != nil {
		return first
	}
	return second
}
