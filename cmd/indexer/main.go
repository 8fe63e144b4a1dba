// Command indexer folds the mesh topics into a searchable discovery view
// (SQLite) and serves it: the JSON API under /api/v1 and the marketplace
// web page at /. See internal/indexer. Every flag can also be set from the
// environment as MESHBONE_<FLAG> (e.g. MESHBONE_KAFKA_BROKERS, MESHBONE_DB).
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
	"github.com/meshbone/meshbone/internal/ops"
)

func main() { os.Exit(run(os.Args[1:])) }

// run parses the flags into indexer.Options and runs the indexer until
// SIGINT or SIGTERM: 0 when it stopped cleanly, 1 when it could not start or
// failed, 2 for bad flags.
func run(args []string) int {
	opts := indexer.DefaultOptions()
	fs := flag.NewFlagSet("indexer", flag.ContinueOnError)
	opts.Kafka.RegisterFlags(fs)
	fs.StringVar(&opts.Listen, "listen", opts.Listen, "HTTP listen address of the API, the marketplace, /healthz, /readyz and /metrics")
	fs.StringVar(&opts.DB, "db", opts.DB, "SQLite file of the discovery view")
	fs.BoolVar(&opts.Rebuild, "rebuild", opts.Rebuild, "delete the view and replay the mesh topics from the start")
	fs.IntVar(&opts.MaxBatch, "max-batch", opts.MaxBatch, "most records folded in one transaction")
	fs.DurationVar(&opts.DiscoverInterval, "discover-interval", opts.DiscoverInterval, "how often to look for new partitions of the mesh topics")
	fs.StringVar(&opts.Registrar, "registrar", opts.Registrar, "registrar URL the marketplace's access request form files requests with (empty: no form)")
	fs.DurationVar(&opts.MaxWait, "max-wait", opts.MaxWait, "longest timeout a status request may wait for")
	logLevel := fs.String("log-level", "info", "log level: debug, info, warn, error")
	logJSON := fs.Bool("log-json", false, "log JSON lines")
	if err := ops.ParseFlags(fs, args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		fmt.Fprintln(os.Stderr, "indexer:", err)
		return 2
	}

	log, err := ops.NewLogger(*logLevel, *logJSON)
	if err != nil {
		fmt.Fprintln(os.Stderr, "indexer:", err)
		return 2
	}
	defer func() { _ = log.Sync() }()
	ix, err := indexer.New(opts, log)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	if err := ix.Run(ctx); err != nil {
		log.Error("indexer stopped", zap.Error(err))
		return 1
	}
	return 0
}
