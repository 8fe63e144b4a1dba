package main

import (
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/meshbone/meshbone/internal/store"
	"github.com/meshbone/meshbone/pkg/events"
)

// consumersCmd lists who reads a product, port by port (through the
// indexer's view of mesh.access.v1).
func consumersCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "consumers PRODUCT",
		Short: "list who reads a product's ports and who asks to (access agreements in force and pending requests)",
		Long: "consumers lists, for each output port of a product, the consumers whose access\n" +
			"agreement is in force (APPROVED or GRANTED) and the requests that wait for the owning\n" +
			"domain (PENDING). A port no one reads is listed with '-'. See meshctl access for the workflow.",
		Example: "  meshctl consumers sales.customer-orders\n  meshctl consumers sales.customer-orders -o json",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			acc, err := g.indexer().Consumers(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			return g.print(acc, []string{"PORT", "STATUS", "CONSUMER", "PRINCIPAL", "GROUP PREFIX", "SINCE", "UNTIL", "AGREEMENT"}, consumerRows(acc))
		},
	}
}

// consumerRows is one row per port and agreement: consumers first, then
// pending requests; a port without either gets one row of dashes.
func consumerRows(acc *store.Access) [][]string {
	var rows [][]string
	for _, p := range acc.Ports {
		if len(p.Consumers) == 0 && len(p.Pending) == 0 {
			rows = append(rows, []string{p.Port, "-", "-", "-", "-", "-", "-", "-"})
			continue
		}
		for _, a := range append(append([]store.Agreement{}, p.Consumers...), p.Pending...) {
			rows = append(rows, []string{p.Port, string(a.Status), consumerLabel(a.Consumer), a.Principal, a.GroupPrefix,
				a.UpdatedAt.UTC().Format(time.DateOnly), untilDay(a.ValidUntil), a.AgreementID})
		}
	}
	return rows
}

// consumerLabel is a consumer as --consumer takes it: data-product:sales.orders.
func consumerLabel(c events.AccessConsumer) string {
	return strings.ReplaceAll(strings.ToLower(string(c.Type)), "_", "-") + ":" + c.ID
}

// untilDay is the day an agreement ends, "-" for until revoked.
func untilDay(t *time.Time) string {
	if t == nil {
		return "-"
	}
	return t.UTC().Format(time.DateOnly)
}
