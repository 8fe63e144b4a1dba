package main

import (
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/meshbone/meshbone/internal/registrar"
	"github.com/meshbone/meshbone/pkg/events"
)

// accessCmd groups the access workflow: request, list, get, approve,
// reject, revoke, export.
func accessCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "access",
		Short: "ask for, grant and take back access to data products (through the registrar)",
		Long: "A consumer asks for access to output ports of a product, naming its Kafka principal,\n" +
			"its consumer-group prefix and its purpose. Requests for PUBLIC and INTERNAL products\n" +
			"are approved by rule (the access policies); the others wait for the owning domain,\n" +
			"which approves or rejects them. The owning domain or governance revokes an agreement.",
	}
	cmd.AddCommand(accessRequestCmd(g), accessListCmd(g), accessGetCmd(g), accessExportCmd(g),
		accessDecisionCmd(g, "approve", "approve a pending request (the owning domain or governance)", false),
		accessDecisionCmd(g, "reject", "reject a pending request, saying why (the owning domain or governance)", true),
		accessDecisionCmd(g, "revoke", "revoke an approved agreement, saying why (the owning domain or governance)", true),
	)
	return cmd
}

func accessRequestCmd(g *globals) *cobra.Command {
	var (
		req      registrar.AccessRequest
		file     string
		consumer string
		channel  string
	)
	cmd := &cobra.Command{
		Use:   "request PRODUCT --port NAME --consumer TYPE:ID [--channel URI] --principal User:NAME --group-prefix PREFIX --purpose TEXT | request -f OAAS",
		Short: "ask for access to ports of a product",
		Long: "request asks for access to output ports of a product. The consumer is\n" +
			"team:<name>, application:<name> or data-product:<product id>. --valid-from and\n" +
			"--valid-until take a date (2027-01-31) or an RFC 3339 time. -f reads the request\n" +
			"from an Open Access Agreement Standard document (YAML or JSON) instead.",
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if file != "" {
				if len(args) > 0 || anyRequestFlag(cmd) {
					return fmt.Errorf("-f: give the request either as an OAAS document or as arguments and flags, not both")
				}
				data, err := os.ReadFile(file)
				if err != nil {
					return err
				}
				if req, err = registrar.ImportOAAS(data); err != nil {
					return fmt.Errorf("%s: %w", file, err)
				}
			} else {
				if len(args) != 1 {
					return fmt.Errorf("name the product: meshctl access request PRODUCT ...")
				}
				req.Product = args[0]
				if consumer != "" {
					typ, id, ok := strings.Cut(consumer, ":")
					if !ok {
						return fmt.Errorf("--consumer: %q is not TYPE:ID (team:<name>, application:<name> or data-product:<product id>)", consumer)
					}
					req.Consumer = registrar.ConsumerSpec{Type: typ, ID: id}
				}
				req.Consumer.Channel = channel
			}
			res, err := g.registrar().RequestAccess(cmd.Context(), req)
			if err != nil {
				return err
			}
			return g.print(res, nil, agreementRows(res.Agreement))
		},
	}
	f := cmd.Flags()
	f.StringVarP(&file, "file", "f", "", "an OAAS access agreement document (YAML or JSON)")
	f.StringSliceVar(&req.Ports, "port", nil, "output port to read (repeat, or comma-separated)")
	f.StringVar(&consumer, "consumer", "", "who reads: team:<name>, application:<name> or data-product:<product id>")
	f.StringVar(&channel, "channel", "", "where notices about the product reach the consumer: mailto:<address>, slack:#<channel> or an https URL")
	f.StringVar(&req.Principal, "principal", "", "the Kafka principal the consumer connects as, User:<name>")
	f.StringVar(&req.GroupPrefix, "group-prefix", "", "prefix of the consumer groups it will use")
	f.StringVar(&req.Purpose, "purpose", "", "what the data will be used for")
	f.StringVar(&req.ValidFrom, "valid-from", "", "start of the agreement (default now)")
	f.StringVar(&req.ValidUntil, "valid-until", "", "end of the agreement (default: until revoked)")
	return cmd
}

// anyRequestFlag reports whether a flag that describes the request itself
// was given.
func anyRequestFlag(cmd *cobra.Command) bool {
	for _, name := range []string{"port", "consumer", "channel", "principal", "group-prefix", "purpose", "valid-from", "valid-until"} {
		if cmd.Flags().Changed(name) {
			return true
		}
	}
	return false
}

func accessListCmd(g *globals) *cobra.Command {
	var f registrar.AccessFilter
	var status string
	cmd := &cobra.Command{
		Use:   "list [--product ID] [--principal User:NAME] [--status STATUS]",
		Short: "list access agreements and requests",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			f.Status = events.AgreementStatus(strings.ToUpper(status))
			list, err := g.registrar().ListAccess(cmd.Context(), f)
			if err != nil {
				return err
			}
			rows := make([][]string, 0, len(list))
			for _, a := range list {
				rows = append(rows, []string{a.AgreementID, a.ProductID, strings.Join(a.Ports, ","), a.Principal,
					consumerName(a), string(a.Status), until(a)})
			}
			return g.print(registrar.AccessList{Agreements: list}, []string{"ID", "PRODUCT", "PORTS", "PRINCIPAL", "CONSUMER", "STATUS", "UNTIL"}, rows)
		},
	}
	cmd.Flags().StringVar(&f.Product, "product", "", "only the agreements of this product")
	cmd.Flags().StringVar(&f.Principal, "principal", "", "only the agreements of this Kafka principal")
	cmd.Flags().StringVar(&status, "status", "", "only agreements in this status: pending, approved, rejected, granted, revoked, expired")
	return cmd
}

// consumerName is the consumer as --consumer takes it: data-product:sales.orders.
func consumerName(a registrar.Agreement) string { return consumerLabel(a.Consumer) }

func until(a registrar.Agreement) string { return untilDay(a.ValidUntil) }

func accessGetCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "get ID",
		Short: "show an access agreement and its history",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			a, err := g.registrar().GetAccess(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			return g.print(a, nil, agreementRows(a))
		},
	}
}

func accessExportCmd(g *globals) *cobra.Command {
	var format string
	cmd := &cobra.Command{
		Use:   "export ID [--format yaml|json]",
		Short: "print an access agreement as an Open Access Agreement Standard document",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if format != "yaml" && format != "json" {
				return fmt.Errorf("--format: %q is not yaml or json", format)
			}
			doc, err := g.registrar().ExportAccess(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			data, err := registrar.MarshalOAAS(doc, format)
			if err != nil {
				return err
			}
			_, err = fmt.Fprintln(g.out, strings.TrimRight(string(data), "\n"))
			return err
		},
	}
	cmd.Flags().StringVar(&format, "format", "yaml", "yaml or json")
	return cmd
}

func accessDecisionCmd(g *globals, verb, short string, needsReason bool) *cobra.Command {
	var reason string
	use := verb + " ID"
	if needsReason {
		use += " --reason TEXT"
	} else {
		use += " [--reason TEXT]"
	}
	cmd := &cobra.Command{
		Use:   use,
		Short: short,
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c := g.registrar()
			var (
				res registrar.AccessResult
				err error
			)
			switch verb {
			case "approve":
				res, err = c.ApproveAccess(cmd.Context(), args[0], reason)
			case "reject":
				res, err = c.RejectAccess(cmd.Context(), args[0], reason)
			default:
				res, err = c.RevokeAccess(cmd.Context(), args[0], reason)
			}
			if err != nil {
				return err
			}
			return g.print(res, nil, agreementRows(res.Agreement))
		},
	}
	cmd.Flags().StringVar(&reason, "reason", "", "why")
	return cmd
}

// agreementRows is the table of one agreement.
func agreementRows(a registrar.Agreement) [][]string {
	rows := [][]string{
		{"agreement", a.AgreementID},
		{"product", a.ProductID},
		{"ports", strings.Join(a.Ports, ", ")},
		{"consumer", consumerName(a)},
	}
	if a.Consumer.Channel != nil {
		rows = append(rows, []string{"channel", *a.Consumer.Channel})
	}
	rows = append(rows, [][]string{
		{"principal", a.Principal},
		{"group prefix", a.GroupPrefix},
		{"purpose", a.Purpose},
		{"status", string(a.Status)},
	}...)
	if a.Reason != "" {
		rows = append(rows, []string{"reason", a.Reason})
	}
	rows = append(rows, []string{"requested", a.RequestedBy + " at " + a.RequestedAt.UTC().Format(time.RFC3339)})
	if a.DecidedBy != nil {
		decided := *a.DecidedBy
		if a.DecidedAt != nil {
			decided += " at " + a.DecidedAt.UTC().Format(time.RFC3339)
		}
		rows = append(rows, []string{"decided", decided})
	}
	rows = append(rows, []string{"valid", a.ValidFrom.UTC().Format(time.RFC3339) + " until " + until(a)})
	for _, b := range a.Bindings {
		rows = append(rows, []string{"acl", fmt.Sprintf("%s %s %s %s:%s", b.Principal, b.Operation, strings.ToLower(b.PatternType), strings.ToLower(b.ResourceType), b.ResourceName)})
	}
	for _, h := range a.History {
		rows = append(rows, []string{"event", fmt.Sprintf("%s %s by %s", h.OccurredAt.UTC().Format(time.RFC3339), h.Type, h.Actor)})
	}
	return rows
}
