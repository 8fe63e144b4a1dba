// Command registrar is the self-serve provisioning service of the mesh: it
// registers data products from their descriptors, creates their topics and
// schema subjects, and announces them on the lifecycle topic. Every flag can
// also be set from the environment as MESHBONE_<FLAG> (e.g.
// MESHBONE_KAFKA_BROKERS, MESHBONE_TOKEN_FILE).
package main

import (
	"context"
	"flag"
	"fmt"
	"math"
	"os"
	"os/signal"
	"syscall"

	"github.com/meshbone/meshbone/internal/ops"
	"github.com/meshbone/meshbone/internal/registrar"
)

func main() { os.Exit(run(os.Args[1:])) }

func run(args []string) int {
	opts := registrar.DefaultOptions()
	fs := flag.NewFlagSet("registrar", flag.ContinueOnError)
	opts.Kafka.RegisterFlags(fs)
	fs.StringVar(&opts.Listen, "listen", opts.Listen, "HTTP listen address of the API, /healthz, /readyz and /metrics")
	fs.StringVar(&opts.TokenFile, "token-file", opts.TokenFile, "YAML file of hashed bearer tokens (required)")
	partitions := fs.Int("partitions", int(opts.Partitions), "partitions of the mesh topics created at start")
	replication := fs.Int("replication-factor", int(opts.ReplicationFactor), "replication factor of the mesh and product topics")
	fs.IntVar(&opts.MinInsyncReplicas, "min-insync-replicas", opts.MinInsyncReplicas, "min.insync.replicas of the mesh and product topics")
	fs.Int64Var(&opts.MaxBodyBytes, "max-body-bytes", opts.MaxBodyBytes, "largest request body accepted")
	fs.DurationVar(&opts.WriteTimeout, "write-timeout", opts.WriteTimeout, "bound on the Kafka and registry work of one write request")
	logLevel := fs.String("log-level", "info", "log level: debug, info, warn, error")
	logJSON := fs.Bool("log-json", false, "log JSON lines")
	if err := ops.ParseFlags(fs, args); err != nil {
		if err == flag.ErrHelp {
			return 0
		}
		fmt.Fprintln(os.Stderr, "registrar:", err)
		return 2
	}
	if *partitions > math.MaxInt32 || *replication > math.MaxInt16 {
		fmt.Fprintln(os.Stderr, "registrar: -partitions or -replication-factor is out of range")
		return 2
	}
	opts.Partitions, opts.ReplicationFactor = int32(*partitions), int16(*replication)

	log, err := ops.NewLogger(*logLevel, *logJSON)
	if err != nil {
		fmt.Fprintln(os.Stderr, "registrar:", err)
		return 2
	}
	defer func() { _ = log.Sync() }()
	svc, err := registrar.New(opts, log)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	if err := svc.Run(ctx); err != nil {
		log.Sugar().Errorw("registrar stopped", "err", err)
		return 1
	}
	return 0
}
