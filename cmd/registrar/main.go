// Command registrar is the self-serve provisioning service of the mesh: it
// registers data products from their descriptors, creates their topics and
// schema subjects, and announces them on the lifecycle topic. Every flag can
// also be set from the environment as MESHBONE_<FLAG> (e.g.
// MESHBONE_KAFKA_BROKERS, MESHBONE_TOKEN_FILE).
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

	"github.com/meshbone/meshbone/internal/ops"
	"github.com/meshbone/meshbone/internal/policy"
	"github.com/meshbone/meshbone/internal/registrar"
)

func main() { os.Exit(run(os.Args[1:])) }

// run parses the flags into registrar.Options and runs the registrar until
// SIGINT or SIGTERM: 0 when it stopped cleanly, 1 when it could not start or
// failed, 2 for bad flags.
func run(args []string) int {
	opts := registrar.DefaultOptions()
	fs := flag.NewFlagSet("registrar", flag.ContinueOnError)
	opts.Kafka.RegisterFlags(fs)
	fs.StringVar(&opts.Listen, "listen", opts.Listen, "HTTP listen address of the API, /healthz, /readyz and /metrics")
	fs.StringVar(&opts.TokenFile, "token-file", opts.TokenFile, "YAML file of hashed bearer tokens (required)")
	opts.Topics.RegisterFlags(fs, "mesh and product topics")
	fs.Int64Var(&opts.MaxBodyBytes, "max-body-bytes", opts.MaxBodyBytes, "largest request body accepted")
	fs.DurationVar(&opts.WriteTimeout, "write-timeout", opts.WriteTimeout, "bound on the Kafka and registry work of one write request")
	fs.StringVar(&opts.AdvertiseURL, "advertise-url", opts.AdvertiseURL, "base URL the other registrars forward writes to while this one is the writer (default: the listen address)")
	fs.DurationVar(&opts.LeaseTimeout, "lease-timeout", opts.LeaseTimeout, "how long a writer that died without leaving keeps the writer's lease (at least the brokers' group.min.session.timeout.ms)")
	policies := fs.String("policies", "", "policy root (<dir>/global, <dir>/domains/<domain>) whose access policies approve access requests by rule (default: the built-in access-approval policy)")
	logLevel := fs.String("log-level", "info", "log level: debug, info, warn, error")
	logJSON := fs.Bool("log-json", false, "log JSON lines")
	if err := ops.ParseFlags(fs, args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		fmt.Fprintln(os.Stderr, "registrar:", err)
		return 2
	}
	if *policies != "" {
		opts.AccessPolicies = policy.RootDirs(*policies)
	}

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
		log.Error("registrar stopped", zap.Error(err))
		return 1
	}
	return 0
}
