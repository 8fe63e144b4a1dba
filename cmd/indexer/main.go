// Command indexer folds the mesh topics into a searchable discovery view
// (SQLite) and serves it: the JSON API under /api/v1 and the marketplace
// web page at /. See internal/indexer.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"go.uber.org/zap"

	"github.com/meshbone/meshbone/internal/indexer"
	"github.com/meshbone/meshbone/internal/kafka"
	"github.com/meshbone/meshbone/internal/ops"
)

func main() { os.Exit(run(os.Args[1:])) }

func run(args []string) int {
	fs := flag.NewFlagSet("indexer", flag.ContinueOnError)
	opts := indexer.Options{Kafka: kafka.DefaultConfig()}
	opts.Kafka.RegisterFlags(fs)
	fs.StringVar(&opts.DB, "db", indexer.DefaultDB, "SQLite file of the discovery view")
	fs.BoolVar(&opts.Rebuild, "rebuild", false, "delete the view and replay the mesh topics from the start")
	fs.StringVar(&opts.HTTPAddr, "listen", indexer.DefaultHTTPAddr, "HTTP listen address of the API, the marketplace, /healthz, /readyz and /metrics")
	fs.IntVar(&opts.MaxBatch, "max-batch", indexer.DefaultMaxBatch, "most records folded in one transaction")
	fs.DurationVar(&opts.DiscoverInterval, "discover-interval", indexer.DefaultDiscoverInterval, "how often to look for new partitions of the mesh topics")
	fs.DurationVar(&opts.MaxWait, "max-wait", indexer.DefaultMaxWait, "longest timeout a status request may wait for")
	level := fs.String("log-level", "info", "log level: debug, info, warn, error")
	jsonLogs := fs.Bool("log-json", false, "log JSON lines")
	if err := ops.ParseFlags(fs, args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		fmt.Fprintln(os.Stderr, "indexer:", err)
		return 2
	}
	log, err := ops.NewLogger(*level, *jsonLogs)
	if err != nil {
		fmt.Fprintln(os.Stderr, "indexer:", err)
		return 2
	}
	defer func() { _ = log.Sync() }()

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	ix, err := indexer.New(opts, log)
	if err != nil {
		log.Error("cannot start", zap.Error(err))
		return 1
	}
	if err := ix.Run(ctx); err != nil {
		log.Error("stopped", zap.Error(err))
		return 1
	}
	return 0
}
