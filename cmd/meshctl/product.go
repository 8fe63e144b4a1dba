package main

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/meshbone/meshbone/internal/registrar"
	"github.com/meshbone/meshbone/pkg/product"
)

// productCmd groups the registrar's commands: apply, get, list, deprecate,
// retire.
func productCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "product",
		Short: "register and manage data products (through the registrar)",
	}
	cmd.AddCommand(productApplyCmd(g), productGetCmd(g), productListCmd(g), productDeprecateCmd(g), productRetireCmd(g))
	return cmd
}

func productApplyCmd(g *globals) *cobra.Command {
	var file string
	cmd := &cobra.Command{
		Use:   "apply -f DESCRIPTOR",
		Short: "register a product, or publish a new version of it, from its descriptor file",
		Long: "apply reads the descriptor (YAML or JSON; schema paths are relative to the file),\n" +
			"checks it, and posts it to the registrar, which creates the port topics, registers\n" +
			"the schemas and announces the product. An identical descriptor changes nothing.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if file == "" {
				return fmt.Errorf("-f: the descriptor file is required")
			}
			d, err := product.ParseFile(file)
			if err != nil {
				return err
			}
			if err := d.Validate(); err != nil {
				return err
			}
			res, err := g.registrar().Apply(cmd.Context(), d)
			if err != nil {
				return err
			}
			outcome := string(res.Type)
			if res.Unchanged {
				outcome = "UNCHANGED"
			}
			rows := [][]string{{"product", res.ID}, {"version", res.Version}, {"result", outcome}}
			if res.EventID != "" {
				rows = append(rows, []string{"event", res.EventID})
			}
			for _, p := range res.Ports {
				rows = append(rows, []string{"port " + p.Name, p.Topic + " (schema id " + strconv.Itoa(int(p.SchemaID)) + ")"})
			}
			return g.print(res, nil, rows)
		},
	}
	cmd.Flags().StringVarP(&file, "file", "f", "", "descriptor file (YAML or JSON)")
	return cmd
}

func productGetCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "get ID",
		Short: "show the registrar's view of a product",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			p, err := g.registrar().Get(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			return g.print(p, nil, productRows(p))
		},
	}
}

func productRows(p registrar.Product) [][]string {
	dp := p.Product
	rows := [][]string{
		{"id", dp.ID},
		{"version", dp.Version},
		{"status", string(p.Status)},
		{"owner", dp.OwnerTeam},
		{"sensitivity", string(dp.Sensitivity)},
		{"retention", strconv.Itoa(int(dp.RetentionDays)) + " days"},
	}
	if dp.Description != nil {
		rows = append(rows, []string{"description", *dp.Description})
	}
	if len(dp.Tags) > 0 {
		rows = append(rows, []string{"tags", strings.Join(dp.Tags, ", ")})
	}
	for _, port := range dp.OutputPorts {
		id := "-"
		if port.SchemaID != nil {
			id = strconv.Itoa(int(*port.SchemaID))
		}
		rows = append(rows, []string{"port " + port.Name, fmt.Sprintf("%s, %d partitions, schema id %s", port.Topic, port.Partitions, id)})
	}
	if len(dp.Inputs) > 0 {
		rows = append(rows, []string{"inputs", strings.Join(dp.Inputs, ", ")})
	}
	if d := p.Deprecation; d != nil {
		rows = append(rows, []string{"deprecated", d.Reason})
		if d.Successor != "" {
			rows = append(rows, []string{"successor", d.Successor})
		}
		if d.SunsetAt != nil {
			rows = append(rows, []string{"sunset", d.SunsetAt.Format("2006-01-02")})
		}
	}
	rows = append(rows, []string{"updated", p.UpdatedAt.Format("2006-01-02 15:04:05Z07:00")})
	return rows
}

func productListCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "list",
		Short: "list the products the registrar knows",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			products, err := g.registrar().List(cmd.Context())
			if err != nil {
				return err
			}
			l := registrar.ProductList{Products: products}
			rows := make([][]string, 0, len(l.Products))
			for _, p := range l.Products {
				rows = append(rows, []string{p.Product.ID, p.Product.Version, string(p.Status), p.Product.OwnerTeam})
			}
			return g.print(l, []string{"ID", "VERSION", "STATUS", "OWNER"}, rows)
		},
	}
}

func productDeprecateCmd(g *globals) *cobra.Command {
	var req registrar.DeprecateRequest
	cmd := &cobra.Command{
		Use:   "deprecate ID --reason TEXT [--successor ID] [--sunset 2027-01-31]",
		Short: "deprecate a product, naming why and what replaces it",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			res, err := g.registrar().Deprecate(cmd.Context(), args[0], req)
			if err != nil {
				return err
			}
			return g.printAction(res)
		},
	}
	cmd.Flags().StringVar(&req.Reason, "reason", "", "why the product is deprecated (required)")
	cmd.Flags().StringVar(&req.Successor, "successor", "", "id of the product that replaces it")
	cmd.Flags().StringVar(&req.Sunset, "sunset", "", "when it will be retired: a date (2027-01-31) or an RFC 3339 time")
	return cmd
}

func productRetireCmd(g *globals) *cobra.Command {
	var req registrar.RetireRequest
	cmd := &cobra.Command{
		Use:   "retire ID [--force]",
		Short: "retire a deprecated product",
		Long: "retire announces that a deprecated product is gone. It is refused while active\n" +
			"products list it in their inputs, unless --force is given with a governance token.",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			res, err := g.registrar().Retire(cmd.Context(), args[0], req)
			if err != nil {
				return err
			}
			return g.printAction(res)
		},
	}
	cmd.Flags().StringVar(&req.Reason, "reason", "", "why (default: the deprecation's reason)")
	cmd.Flags().BoolVar(&req.Force, "force", false, "retire although active products still read it (governance role)")
	return cmd
}

// printAction prints the answer to a deprecation or retirement.
func (g *globals) printAction(res registrar.ActionResult) error {
	rows := [][]string{{"product", res.ID}, {"version", res.Version}, {"result", string(res.Type)}, {"event", res.EventID}}
	if len(res.OrphanedReaders) > 0 {
		rows = append(rows, []string{"orphaned readers", strings.Join(res.OrphanedReaders, ", ")})
	}
	return g.print(res, nil, rows)
}
