package main

import (
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/meshbone/meshbone/internal/kafka"
	"github.com/meshbone/meshbone/internal/ops"
)

// Defaults of the global flags.
const (
	DefaultRegistrar = "http://localhost:8090"
	DefaultIndexer   = "http://localhost:8080"
	DefaultOutput    = "table"
)

// globals are the settings every subcommand shares.
type globals struct {
	Registrar string // registrar base URL
	Indexer   string // indexer base URL
	Token     string // bearer token for writes
	Output    string // table or json
	Kafka     kafka.Config
	out, err  io.Writer
}

func newRoot(out, errOut io.Writer) *cobra.Command {
	g := &globals{Kafka: kafka.DefaultConfig(), out: out, err: errOut}
	root := &cobra.Command{
		Use:           "meshctl",
		Short:         "meshbone command line: data products, governance and discovery on Kafka",
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error {
			if err := envDefaults(cmd.Flags()); err != nil {
				return err
			}
			if g.Output != "table" && g.Output != "json" {
				return fmt.Errorf("--output: %q is not table or json", g.Output)
			}
			return nil
		},
	}
	root.SetOut(out)
	root.SetErr(errOut)
	pf := root.PersistentFlags()
	pf.StringVar(&g.Registrar, "registrar", DefaultRegistrar, "registrar URL (env MESHBONE_REGISTRAR)")
	pf.StringVar(&g.Indexer, "indexer", DefaultIndexer, "indexer URL (env MESHBONE_INDEXER)")
	pf.StringVar(&g.Token, "token", "", "bearer token for writes (env MESHBONE_TOKEN)")
	pf.StringVarP(&g.Output, "output", "o", DefaultOutput, "output format: table or json (env MESHBONE_OUTPUT)")
	kfs := flag.NewFlagSet("kafka", flag.ContinueOnError)
	g.Kafka.RegisterFlags(kfs)
	pf.AddGoFlagSet(kfs)

	root.AddCommand(
		productCmd(g), accessCmd(g), aclCmd(g),
		violationsCmd(g), noticesCmd(g), complianceCmd(g), policyCmd(g),
		searchCmd(g), showCmd(g), qualityCmd(g), lineageCmd(g), consumersCmd(g), subscribeCmd(g),
		devCmd(g), probeCmd(g),
	)
	return root
}

// envDefaults sets every flag not given on the command line from its
// MESHBONE_* environment variable (see ops.EnvName), if set.
func envDefaults(fs *pflag.FlagSet) error {
	var err error
	fs.VisitAll(func(f *pflag.Flag) {
		if f.Changed || err != nil {
			return
		}
		if v, ok := os.LookupEnv(ops.EnvName(f.Name)); ok {
			if e := fs.Set(f.Name, v); e != nil {
				err = fmt.Errorf("%s=%q: %w", ops.EnvName(f.Name), v, e)
			}
		}
	})
	return err
}
