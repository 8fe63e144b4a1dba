// Command monitor is the mesh's quality monitor: it measures every data
// product's declared port objectives (completeness, validity, uniqueness,
// volume) on the port topics, per event-time window, and publishes one
// observed QualityEvent per product, port and window, exactly once. Every
// flag can also be set from the environment as MESHBONE_<FLAG> (e.g.
// MESHBONE_KAFKA_BROKERS).
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

	"github.com/meshbone/meshbone/internal/monitor"
	"github.com/meshbone/meshbone/internal/ops"
)

func main() { os.Exit(run(os.Args[1:])) }

// run parses the flags into monitor.Options and runs the monitor until
// SIGINT or SIGTERM: 0 when it stopped cleanly, 1 when it could not start
// or failed, 2 for bad flags.
func run(args []string) int {
	opts := monitor.DefaultOptions()
	fs := flag.NewFlagSet("monitor", flag.ContinueOnError)
	opts.Kafka.RegisterFlags(fs)
	fs.StringVar(&opts.Listen, "listen", opts.Listen, "HTTP listen address of /healthz, /readyz and /metrics")
	fs.StringVar(&opts.Group, "group", opts.Group, "consumer group of the port topics")
	fs.StringVar(&opts.TransactionalID, "transactional-id", opts.TransactionalID, "transactional id, unique per instance and kept across restarts (default <group>-<instance-id>, else <group>-<host>-<listen port>)")
	fs.StringVar(&opts.InstanceID, "instance-id", opts.InstanceID, "static group member id, for restarts without a rebalance wait (default dynamic membership)")
	fs.DurationVar(&opts.SessionTimeout, "session-timeout", opts.SessionTimeout, "group session timeout (default franz-go's, 45s)")
	fs.DurationVar(&opts.AllowedLateness, "allowed-lateness", opts.AllowedLateness, "how long in event time a window stays open after its end")
	fs.DurationVar(&opts.IdleProbe, "idle-probe", opts.IdleProbe, "how often, at most, a port topic's end offsets are listed to find partitions read to their end")
	fs.IntVar(&opts.MaxBatch, "max-batch", opts.MaxBatch, "most records measured in one transaction")
	fs.DurationVar(&opts.TxnTimeout, "txn-timeout", opts.TxnTimeout, "bound on producing and committing one transaction")
	opts.Topics.RegisterFlags(fs, "mesh topics and the monitor's state topic")
	logLevel := fs.String("log-level", "info", "log level: debug, info, warn, error")
	logJSON := fs.Bool("log-json", false, "log JSON lines")
	if err := ops.ParseFlags(fs, args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		fmt.Fprintln(os.Stderr, "monitor:", err)
		return 2
	}
	log, err := ops.NewLogger(*logLevel, *logJSON)
	if err != nil {
		fmt.Fprintln(os.Stderr, "monitor:", err)
		return 2
	}
	defer func() { _ = log.Sync() }()
	ops.TuneGC(monitor.GCPercent)
	svc, err := monitor.New(opts, log)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	if err := svc.Run(ctx); err != nil {
		log.Error("monitor stopped", zap.Error(err))
		return 1
	}
	return 0
}
