// Command governor is the mesh's federated computational governance: it
// judges every lifecycle and quality event with the global and domain
// policies (CEL in YAML) and publishes violations and each product's
// compliance exactly once. SIGHUP reloads the policies (so does a change of
// their files). Every flag can also be set from the environment as
// MESHBONE_<FLAG> (e.g. MESHBONE_KAFKA_BROKERS, MESHBONE_POLICIES).
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

	"github.com/meshbone/meshbone/internal/governor"
	"github.com/meshbone/meshbone/internal/ops"
	"github.com/meshbone/meshbone/internal/policy"
)

func main() { os.Exit(run(os.Args[1:])) }

// run parses the flags into governor.Options and runs the governor until
// SIGINT or SIGTERM, reloading the policies on SIGHUP: 0 when it stopped
// cleanly, 1 when it could not start or failed, 2 for bad flags.
func run(args []string) int {
	opts := governor.DefaultOptions()
	fs := flag.NewFlagSet("governor", flag.ContinueOnError)
	opts.Kafka.RegisterFlags(fs)
	root := fs.String("policies", governor.DefaultPolicies, "policy root: <dir>/global and <dir>/domains/<domain>")
	global := fs.String("global-policies", "", "directory of the global policies (default <policies>/global)")
	domains := fs.String("domain-policies", "", "directory of the per-domain policy directories (default <policies>/domains)")
	fs.StringVar(&opts.Listen, "listen", opts.Listen, "HTTP listen address of /healthz, /readyz and /metrics")
	fs.StringVar(&opts.Group, "group", opts.Group, "consumer group")
	fs.StringVar(&opts.TransactionalID, "transactional-id", opts.TransactionalID, "transactional id, unique per instance and kept across restarts (default <group>-<instance-id>, else <group>-<host>-<listen port>)")
	fs.StringVar(&opts.InstanceID, "instance-id", opts.InstanceID, "static group member id, for restarts without a rebalance wait (default dynamic membership)")
	fs.DurationVar(&opts.SessionTimeout, "session-timeout", opts.SessionTimeout, "group session timeout (default franz-go's, 45s)")
	fs.DurationVar(&opts.FreshnessInterval, "freshness-interval", opts.FreshnessInterval, "how often freshness is checked")
	fs.DurationVar(&opts.PolicyPollInterval, "policy-poll-interval", opts.PolicyPollInterval, "how often policy files are checked for changes (negative: never)")
	fs.IntVar(&opts.MaxBatch, "max-batch", opts.MaxBatch, "most records judged in one transaction")
	fs.DurationVar(&opts.RetryBackoff, "retry-backoff", opts.RetryBackoff, "longest wait before retrying after aborted transactions in a row")
	fs.DurationVar(&opts.TxnTimeout, "txn-timeout", opts.TxnTimeout, "bound on producing and committing one transaction")
	opts.Topics.RegisterFlags(fs, "mesh topics and the governor's state topic")
	logLevel := fs.String("log-level", "info", "log level: debug, info, warn, error")
	logJSON := fs.Bool("log-json", false, "log JSON lines")
	if err := ops.ParseFlags(fs, args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		fmt.Fprintln(os.Stderr, "governor:", err)
		return 2
	}
	opts.Policies = policy.RootDirs(*root)
	if *global != "" || *domains != "" {
		opts.Policies = policy.Dirs{Global: *global, Domains: *domains}
	}

	log, err := ops.NewLogger(*logLevel, *logJSON)
	if err != nil {
		fmt.Fprintln(os.Stderr, "governor:", err)
		return 2
	}
	defer func() { _ = log.Sync() }()
	ops.TuneGC(governor.GCPercent)
	svc, err := governor.New(opts, log)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	go func() {
		for {
			select {
			case <-ctx.Done():
				return
			case <-hup:
				_ = svc.Reload() // logged; a failed reload keeps the policies in force
			}
		}
	}()
	if err := svc.Run(ctx); err != nil {
		log.Error("governor stopped", zap.Error(err))
		return 1
	}
	return 0
}
