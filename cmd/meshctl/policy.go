package main

// meshctl policy: check policy files, and try them offline on recorded
// events (governor.Replay).

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/meshbone/meshbone/internal/governor"
	"github.com/meshbone/meshbone/internal/policy"
)

func policyCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "policy",
		Short: "check policy files and try them on recorded events",
	}
	cmd.AddCommand(policyCheckCmd(g), policyTestCmd(g))
	return cmd
}

func policyCheckCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "check DIR",
		Short: "load and compile the policies under DIR; report every problem",
		Long: `Load the policies under DIR as the governor would: DIR/global/*.yaml and
DIR/domains/<domain>/*.yaml (or, when DIR has neither, DIR/*.yaml as global
policies). Every problem is reported with its file, line, policy id and, for
expressions, the position in the expression; the exit status is 1 if there
is any.`,
		Example: `  meshctl policy check policies/`,
		Args:    cobra.ExactArgs(1),
		RunE: func(_ *cobra.Command, args []string) error {
			set, err := policy.Load(policy.RootDirs(args[0]))
			if err != nil {
				fmt.Fprintln(g.err, err)
				return exitError(1)
			}
			rows := make([][]string, 0, set.Len())
			type row struct {
				ID, Scope, Domain, Severity, On, Version, File string
			}
			var list []row
			for _, p := range set.Policies() {
				on := make([]string, len(p.On))
				for i, t := range p.On {
					on[i] = string(t)
				}
				r := row{p.ID, string(p.Scope), p.Domain, string(p.Severity), strings.Join(on, ","), p.Version, p.File}
				list = append(list, r)
				rows = append(rows, []string{r.ID, r.Scope, govDash(r.Domain), r.Severity, r.On, r.Version})
			}
			if g.Output == "json" {
				return g.printJSON(list)
			}
			if err := g.table([]string{"POLICY", "SCOPE", "DOMAIN", "SEVERITY", "ON", "VERSION"}, rows); err != nil {
				return err
			}
			fmt.Fprintf(g.out, "\n%d policies OK (digest %s)\n", set.Len(), set.Digest())
			return nil
		},
	}
}

func govDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func policyTestCmd(g *globals) *cobra.Command {
	var file string
	cmd := &cobra.Command{
		Use:   "test DIR --events FILE",
		Short: "judge recorded events with the policies under DIR, offline",
		Long: `Judge recorded events with the policies under DIR (laid out as for
"policy check") exactly as the governor would, without Kafka, and print the
violations that would be raised and resolved: what would this new policy
have flagged?

FILE holds one JSON object per line ("-" reads standard input; blank lines
and lines starting with # are skipped):

  {"kind": "lifecycle", "event": {<ProductLifecycleEvent>}, "source": "/domains/sales"}
  {"kind": "quality",   "event": {<QualityEvent>}}
  {"kind": "tick",      "at": "2026-03-01T13:00:00Z"}

Events use the Avro field names (event_id, type, occurred_at, product {id,
domain, ...}; product_id, data_watermark, checks [...], and for a run the
monitor observed origin "OBSERVED", port, window_start, window_end).
"source" defaults to /services/monitor for an observed run and to
/domains/<the product's domain> for the others; "at", the time of judging,
defaults to the event's own time. A tick runs the freshness policies over every product.`,
		Example: `  meshctl policy test policies/ --events recorded.jsonl`,
		Args:    cobra.ExactArgs(1),
		RunE: func(_ *cobra.Command, args []string) error {
			if file == "" {
				return errors.New("--events: a file of recorded events is required")
			}
			set, err := policy.Load(policy.RootDirs(args[0]))
			if err != nil {
				fmt.Fprintln(g.err, err)
				return exitError(1)
			}
			var in io.Reader = os.Stdin
			if file != "-" {
				f, err := os.Open(file)
				if err != nil {
					return err
				}
				defer f.Close()
				in = f
			}
			vs, err := governor.Replay(set, in, file)
			if err != nil {
				return err
			}
			if g.Output == "json" {
				return g.printJSON(vs)
			}
			rows := make([][]string, 0, len(vs))
			for _, v := range vs {
				rows = append(rows, append([]string{fmt.Sprint(v.Line)}, violationRow(&v.Violation)[1:]...))
			}
			if err := g.table([]string{"LINE", "PRODUCT", "POLICY", "SEVERITY", "STATUS", "MESSAGE"}, rows); err != nil {
				return err
			}
			fmt.Fprintf(g.out, "\n%d violation records from %d policies\n", len(vs), set.Len())
			return nil
		},
	}
	cmd.Flags().StringVar(&file, "events", "", "JSON lines of recorded events (- for standard input)")
	return cmd
}
