package indexer

import (
	"errors"
	"fmt"
	"time"

	"github.com/meshbone/meshbone/internal/kafka"
	"github.com/meshbone/meshbone/internal/store"
)

// Defaults of Options; the flags of cmd/indexer carry the same names.
const (
	DefaultHTTPAddr         = ":8080"
	DefaultDB               = "meshbone-indexer.db"
	DefaultMaxBatch         = 5000
	DefaultDiscoverInterval = 30 * time.Second
	DefaultMaxWait          = 30 * time.Second
	DefaultWait             = 5 * time.Second
	DefaultRetryBackoff     = 200 * time.Millisecond
	MaxRetryBackoff         = 5 * time.Second
	// DeadLetterGroup names the indexer in the dlq_group header of the
	// records it dead-letters (it has no consumer group).
	DeadLetterGroup = "meshbone-indexer"
)

// Options configure an Indexer.
type Options struct {
	// Kafka is how to reach the brokers and the schema registry, and the
	// mesh's topic prefix.
	Kafka kafka.Config
	// DB is the SQLite file of the view; default "meshbone-indexer.db".
	DB string
	// Rebuild deletes the view first and replays the topics from the start.
	Rebuild bool
	// HTTPAddr is where the API and the web page listen; default ":8080".
	HTTPAddr string
	// MaxBatch is the most records folded in one transaction; default 5000.
	MaxBatch int
	// DiscoverInterval is how often the indexer looks for partitions added
	// to the mesh topics; default 30s.
	DiscoverInterval time.Duration
	// MaxWait bounds the timeout a status request may wait; default 30s.
	MaxWait time.Duration
	// Store configures the view.
	Store store.Options
}

func (o *Options) defaults() error {
	if o.DB == "" {
		o.DB = DefaultDB
	}
	if o.HTTPAddr == "" {
		o.HTTPAddr = DefaultHTTPAddr
	}
	if o.MaxBatch == 0 {
		o.MaxBatch = DefaultMaxBatch
	}
	if o.DiscoverInterval == 0 {
		o.DiscoverInterval = DefaultDiscoverInterval
	}
	if o.MaxWait == 0 {
		o.MaxWait = DefaultMaxWait
	}
	if err := o.Kafka.Validate(); err != nil {
		return fmt.Errorf("indexer: %w", err)
	}
	switch {
	case o.MaxBatch < 1:
		return fmt.Errorf("indexer: max-batch %d: must be at least 1", o.MaxBatch)
	case o.DiscoverInterval < time.Second:
		return fmt.Errorf("indexer: discover-interval %s: must be at least 1s", o.DiscoverInterval)
	case o.MaxWait < time.Second:
		return fmt.Errorf("indexer: max-wait %s: must be at least 1s", o.MaxWait)
	}
	return nil
}

// ErrStopped is returned by Run when it was already run.
var ErrStopped = errors.New("indexer: already run")
