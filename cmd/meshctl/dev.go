package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/meshbone/meshbone/internal/devstack"
	"github.com/meshbone/meshbone/internal/ops"
)

// devCmd runs the whole mesh in one process: what `make dev` runs.
func devCmd(g *globals) *cobra.Command {
	o := devstack.DefaultOptions()
	var noExamples, noServices bool
	var logLevel string
	cmd := &cobra.Command{
		Use:   "dev",
		Short: "run the whole mesh locally: embedded Kafka and schema registry, registrar, governor, indexer and monitor",
		Long: `dev starts an embedded Kafka broker and schema registry whose data lives in --data,
and the registrar, governor, indexer and monitor in-process, talking to each other only through
Kafka and the registry. On first start it loads the example mesh and writes dev tokens.
With --no-services only Kafka and the registry run, for services started on their own.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			o.Examples, o.Services = !noExamples, !noServices
			log, err := ops.NewLogger(logLevel, false)
			if err != nil {
				return err
			}
			defer func() { _ = log.Sync() }()
			return devstack.Run(cmd.Context(), o, log, g.err, func(ep devstack.Endpoints) { printEndpoints(g, ep, o.Services) })
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.DataDir, "data", o.DataDir, "directory of everything the dev mesh keeps (broker data, view, tokens)")
	f.BoolVar(&o.Fresh, "fresh", false, "wipe --data first")
	f.BoolVar(&noExamples, "no-examples", false, "do not load the example mesh on first start")
	f.BoolVar(&noServices, "no-services", false, "run only Kafka and the schema registry")
	f.IntVar(&o.KafkaPort, "kafka-port", o.KafkaPort, "port of the embedded Kafka broker")
	f.IntVar(&o.RegistryPort, "registry-port", o.RegistryPort, "port of the embedded schema registry")
	f.StringVar(&o.RegistrarAddr, "registrar-addr", o.RegistrarAddr, "listen address of the registrar")
	f.StringVar(&o.GovernorAddr, "governor-addr", o.GovernorAddr, "listen address of the governor")
	f.StringVar(&o.IndexerAddr, "indexer-addr", o.IndexerAddr, "listen address of the indexer (API and marketplace)")
	f.StringVar(&o.MonitorAddr, "monitor-addr", o.MonitorAddr, "listen address of the monitor (/metrics)")
	f.StringVar(&o.Policies, "policies", o.Policies, "policy root: <dir>/global and <dir>/domains/<domain>")
	f.StringVar(&logLevel, "log-level", "warn", "log level of the services: debug, info, warn, error")
	return cmd
}

func printEndpoints(g *globals, ep devstack.Endpoints, services bool) {
	rows := [][]string{
		{"Kafka", ep.Kafka},
		{"Schema registry", ep.Registry},
	}
	if services {
		rows = append(rows,
			[]string{"Registrar", ep.Registrar},
			[]string{"Governor", ep.Governor + "/metrics"},
			[]string{"Monitor", ep.Monitor + "/metrics"},
			[]string{"Marketplace", ep.Indexer},
			[]string{"Tokens", ep.TokensFile + "  (source it, then export MESHBONE_TOKEN=$MESHBONE_TOKEN_SALES)"},
		)
	}
	rows = append(rows, []string{"Data", ep.DataDir + "  (kept across restarts; --fresh wipes it)"})
	fmt.Fprintln(g.out, "\nmeshbone dev mesh is up")
	_ = g.table(nil, indent(rows))
	fmt.Fprintln(g.out, "Stop with Ctrl-C.")
}

func indent(rows [][]string) [][]string {
	for i := range rows {
		rows[i][0] = "  " + rows[i][0]
	}
	return rows
}
