package main

// meshctl violations: the governor's policy violations, read from Kafka
// (read_committed), to the end of the topic or followed.

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/meshbone/meshbone/internal/kafka/topicread"
	"github.com/meshbone/meshbone/pkg/events"
)

var violationHeader = []string{"TIME", "PRODUCT", "POLICY", "SEVERITY", "STATUS", "MESSAGE"}

func violationRow(v *events.PolicyViolation) []string {
	return []string{v.DetectedAt.UTC().Format(time.RFC3339), v.ProductID, v.PolicyID, string(v.Severity), string(v.Status), strings.Join(strings.Fields(v.Message), " ")}
}

// streamWidths are the column widths of violations printed as they arrive,
// when a table cannot be aligned on its longest cell in advance.
var streamWidths = []int{20, 28, 20, 8, 8}

// streamRow pads each column but the last to its stream width (wider cells
// push the rest right rather than being cut).
func streamRow(cols []string) string {
	var b strings.Builder
	for i, c := range cols {
		b.WriteString(c)
		if i < len(streamWidths) && i < len(cols)-1 {
			b.WriteString(strings.Repeat(" ", max(streamWidths[i]-len(c), 0)+2))
		}
	}
	return b.String()
}

func violationsCmd(g *globals) *cobra.Command {
	var (
		domain string
		follow bool
	)
	cmd := &cobra.Command{
		Use:   "violations",
		Short: "print policy violations (read_committed, from the start of the topic)",
		Long: `Print the governor's policy violations, OPEN and RESOLVED, read from
mesh.governance.violations.v1 with read_committed isolation from the start.
Without --follow it stops at the end of the topic; with --follow it prints
new violations as they arrive until interrupted.`,
		Example: `  meshctl violations --domain sales
  meshctl violations --follow -o json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			kopts, codec, err := g.kafkaCodec()
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			topic := codec.Topics().Violations
			decode := func(r *kgo.Record) *events.PolicyViolation {
				ev, err := codec.Decode(ctx, r)
				if err != nil {
					fmt.Fprintf(g.err, "meshctl: skipping %s/%d@%d: %v\n", r.Topic, r.Partition, r.Offset, err)
					return nil
				}
				v, ok := ev.(*events.PolicyViolation)
				if !ok || (domain != "" && v.Domain != domain) {
					return nil
				}
				return v
			}
			if !follow {
				rctx, cancel := context.WithTimeout(ctx, govReadTimeout)
				defer cancel()
				var vs []*events.PolicyViolation
				var rows [][]string
				if err := topicread.ReadCommitted(rctx, kopts, topic, func(r *kgo.Record) {
					if v := decode(r); v != nil {
						vs = append(vs, v)
						rows = append(rows, violationRow(v))
					}
				}); err != nil {
					return err
				}
				if vs == nil {
					vs = []*events.PolicyViolation{}
				}
				return g.print(vs, violationHeader, rows)
			}
			cl, err := kgo.NewClient(append([]kgo.Opt{
				kgo.ConsumeTopics(topic),
				kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
				kgo.FetchIsolationLevel(kgo.ReadCommitted()),
			}, kopts...)...)
			if err != nil {
				return err
			}
			defer cl.Close()
			if g.Output != "json" {
				fmt.Fprintln(g.out, streamRow(violationHeader))
			}
			enc := json.NewEncoder(g.out)
			for {
				fetches := cl.PollFetches(ctx)
				if ctx.Err() != nil || fetches.IsClientClosed() {
					return nil
				}
				fetches.EachError(func(t string, p int32, err error) {
					fmt.Fprintf(g.err, "meshctl: fetch %s/%d: %v\n", t, p, err)
				})
				var werr error
				fetches.EachRecord(func(r *kgo.Record) {
					v := decode(r)
					if v == nil || werr != nil {
						return
					}
					if g.Output == "json" {
						werr = enc.Encode(v)
					} else {
						_, werr = fmt.Fprintln(g.out, streamRow(violationRow(v)))
					}
				})
				if werr != nil {
					return werr
				}
			}
		},
	}
	cmd.Flags().StringVar(&domain, "domain", "", "only violations of this domain's products")
	cmd.Flags().BoolVarP(&follow, "follow", "f", false, "keep printing new violations until interrupted")
	return cmd
}
