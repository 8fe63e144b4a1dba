package indexer

import (
	"errors"
	"fmt"
	"net/url"
	"time"

	"github.com/meshbone/meshbone/internal/kafka"
	"github.com/meshbone/meshbone/internal/store"
)

// Defaults of Options; their names mirror the flags of cmd/indexer.
const (
	DefaultListen           = ":8080"
	DefaultDB               = "meshbone-indexer.db"
	DefaultMaxBatch         = 5000
	DefaultDiscoverInterval = 30 * time.Second
	DefaultMaxWait          = 30 * time.Second
	// DefaultWait is how long a status request waits when it gives no
	// timeout.
	DefaultWait = 5 * time.Second
	// DefaultRetryBackoff and MaxRetryBackoff bound the wait before
	// retrying a failed fold or fetch.
	DefaultRetryBackoff = 200 * time.Millisecond
	MaxRetryBackoff     = 5 * time.Second
	// DeadLetterGroup names the indexer in the dlq_group header of the
	// records it dead-letters (it has no consumer group).
	DeadLetterGroup = "meshbone-indexer"
)

// Options configure an Indexer.
type Options struct {
	// Kafka is how to reach the brokers and the schema registry, and the
	// mesh's topic prefix.
	Kafka kafka.Config
	// DB is the SQLite file of the view.
	DB string
	// Rebuild deletes the view first and replays the topics from the start.
	Rebuild bool
	// Listen is the HTTP address of the API, the web page, /healthz,
	// /readyz and /metrics; ":0" picks a free port.
	Listen string
	// MaxBatch is the most records folded in one transaction.
	MaxBatch int
	// DiscoverInterval is how often the indexer looks for partitions added
	// to the mesh topics.
	DiscoverInterval time.Duration
	// MaxWait bounds the timeout a status request may wait.
	MaxWait time.Duration
	// Store configures the view.
	Store store.Options
	// Registrar is the base URL of the registrar the marketplace files
	// access requests with (the product page's form posts to the indexer,
	// which forwards the request with the user's token); empty: the page
	// has no form and says how to ask with meshctl.
	Registrar string
}

// DefaultOptions returns Options with every default set, for a
// single-broker cluster on localhost.
func DefaultOptions() Options {
	return Options{
		Kafka:            kafka.DefaultConfig(),
		DB:               DefaultDB,
		Listen:           DefaultListen,
		MaxBatch:         DefaultMaxBatch,
		DiscoverInterval: DefaultDiscoverInterval,
		MaxWait:          DefaultMaxWait,
	}
}

// withDefaults fills zero values with the defaults.
func (o Options) withDefaults() Options {
	d := DefaultOptions()
	if o.DB == "" {
		o.DB = d.DB
	}
	if o.Listen == "" {
		o.Listen = d.Listen
	}
	if o.MaxBatch == 0 {
		o.MaxBatch = d.MaxBatch
	}
	if o.DiscoverInterval == 0 {
		o.DiscoverInterval = d.DiscoverInterval
	}
	if o.MaxWait == 0 {
		o.MaxWait = d.MaxWait
	}
	return o
}

// Validate reports the first option that cannot work, in the wording the
// three services share: "<flag>: <value> <what is wrong>", or
// "<flag>: is required" when it is missing.
func (o Options) Validate() error {
	if err := o.Kafka.Validate(); err != nil {
		return err
	}
	switch {
	case o.DB == "":
		return errors.New("db: is required")
	case o.MaxBatch < 1:
		return fmt.Errorf("max-batch: %d is below 1", o.MaxBatch)
	case o.DiscoverInterval < time.Second:
		return fmt.Errorf("discover-interval: %s is below 1s", o.DiscoverInterval)
	case o.MaxWait < time.Second:
		return fmt.Errorf("max-wait: %s is below 1s", o.MaxWait)
	}
	if o.Registrar != "" {
		u, err := url.Parse(o.Registrar)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return fmt.Errorf("registrar: %q is not an http or https URL", o.Registrar)
		}
	}
	return nil
}

// ErrStopped is returned by Run when it was already run.
var ErrStopped = errors.New("indexer: already run")
