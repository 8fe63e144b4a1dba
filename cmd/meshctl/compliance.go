package main

// meshctl compliance: a product's compliance status as the governor last
// published it, read from Kafka (read_committed).

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/meshbone/meshbone/internal/kafka/topicread"
	"github.com/meshbone/meshbone/pkg/events"
)

func complianceCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "compliance PRODUCT-ID",
		Short: "print a product's compliance status and open violations",
		Long: `Print a product's latest compliance status, as the governor last
published it on the compacted mesh.governance.compliance.v1 (read_committed).`,
		Example: `  meshctl compliance sales.customer-orders`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			kopts, codec, err := g.kafkaCodec()
			if err != nil {
				return err
			}
			id := args[0]
			ctx, cancel := context.WithTimeout(cmd.Context(), govReadTimeout)
			defer cancel()
			var last *events.ComplianceStatus
			var decodeErr error
			if err := topicread.ReadCommitted(ctx, kopts, codec.Topics().Compliance, func(r *kgo.Record) {
				if string(r.Key) != id {
					return
				}
				ev, err := codec.Decode(ctx, r)
				if err != nil {
					decodeErr = err
					return
				}
				if c, ok := ev.(*events.ComplianceStatus); ok {
					last = c
				}
			}); err != nil {
				return err
			}
			if last == nil {
				if decodeErr != nil {
					return fmt.Errorf("no readable compliance status for %s: %w", id, decodeErr)
				}
				return fmt.Errorf("no compliance status for %s: the governor has not judged it (or the id is wrong)", id)
			}
			if g.Output == "json" {
				return g.printJSON(last)
			}
			fmt.Fprintf(g.out, "product:   %s\nversion:   %s\nstatus:    %s\nevaluated: %s\n", last.ProductID, last.ProductVersion, last.Status, last.EvaluatedAt.UTC().Format(time.RFC3339))
			if len(last.OpenViolations) == 0 {
				fmt.Fprintln(g.out, "\nno open violations")
				return nil
			}
			fmt.Fprintln(g.out)
			rows := make([][]string, 0, len(last.OpenViolations))
			for _, o := range last.OpenViolations {
				rows = append(rows, []string{o.PolicyID, string(o.Severity), o.ViolationID, strings.Join(strings.Fields(o.Message), " ")})
			}
			return g.table([]string{"POLICY", "SEVERITY", "VIOLATION", "MESSAGE"}, rows)
		},
	}
}
