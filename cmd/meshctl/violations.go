package main

// meshctl violations: the governor's policy violations, read from Kafka
// (read_committed), to the end of the topic or followed.

import (
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/meshbone/meshbone/pkg/events"
)

var violationHeader = []string{"TIME", "PRODUCT", "POLICY", "SEVERITY", "STATUS", "MESSAGE"}

func violationRow(v *events.PolicyViolation) []string {
	return []string{v.DetectedAt.UTC().Format(time.RFC3339), v.ProductID, v.PolicyID, string(v.Severity), string(v.Status), strings.Join(strings.Fields(v.Message), " ")}
}

// streamWidths are the column widths of violations printed as they arrive,
// when a table cannot be aligned on its longest cell in advance.
var streamWidths = []int{20, 28, 20, 8, 8}

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
			ofDomain := func(v *events.PolicyViolation) bool { return domain == "" || v.Domain == domain }
			return topicTable(cmd.Context(), g, kopts, codec, codec.Topics().Violations, follow,
				violationHeader, streamWidths, ofDomain, violationRow)
		},
	}
	cmd.Flags().StringVar(&domain, "domain", "", "only violations of this domain's products")
	cmd.Flags().BoolVarP(&follow, "follow", "f", false, "keep printing new violations until interrupted")
	return cmd
}
