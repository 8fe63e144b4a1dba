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
	var (
		file   string
		dryRun bool
	)
	cmd := &cobra.Command{
		Use:   "apply -f DESCRIPTOR [--dry-run]",
		Short: "register a product, or publish a new version of it, from its descriptor file",
		Long: "apply reads the descriptor (YAML or JSON; schema paths are relative to the file),\n" +
			"checks it, and posts it to the registrar, which creates the port topics, registers\n" +
			"the schemas and announces the product. An identical descriptor changes nothing.\n\n" +
			"--dry-run changes nothing either: it reports, port by port, whether the new schema\n" +
			"is compatible with the subject's latest version under the subject's compatibility\n" +
			"level, which fields change and which compatibility directions they break, and for\n" +
			"each affected port the open access agreements on it and the products downstream,\n" +
			"directly and through lineage. Its exit status gates a pipeline:\n" +
			"  0  nothing breaks (new, unchanged or compatible ports)\n" +
			"  2  INCOMPATIBLE: a port's schema breaks its subject's level; apply would be refused\n" +
			"  3  BREAKING: apply would succeed but consumers are affected (a field removed without\n" +
			"     a default, a type widened (int to long), a new major version, a port dropped)\n" +
			"  1  the dry run itself failed (a bad descriptor, another domain's product, ...)",
		Example: "  meshctl product apply -f docs/tour/customer-orders-2.2.yaml --dry-run\n" +
			"  meshctl product apply -f docs/tour/customer-orders-2.2.yaml --dry-run -o json",
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
			if dryRun {
				res, err := g.registrar().DryRun(cmd.Context(), d)
				if err != nil {
					return err
				}
				return g.printDryRun(res)
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
	cmd.Flags().BoolVar(&dryRun, "dry-run", false, "change nothing: report each port's compatibility, the fields that break and whom it affects (exit 2 incompatible, 3 breaking)")
	return cmd
}

// Exit statuses of apply --dry-run.
const (
	exitIncompatible = 2
	exitBreaking     = 3
)

// printDryRun prints a dry run's report (a summary, then the ports, the
// field changes and what each affected port affects, each table only when
// it has rows) and returns the exit status its verdict calls for.
func (g *globals) printDryRun(res registrar.DryRunResult) error {
	if g.Output == "json" {
		if err := g.printJSON(res); err != nil {
			return err
		}
	} else if err := g.dryRunTables(res); err != nil {
		return err
	}
	switch res.Verdict {
	case registrar.VerdictIncompatible:
		return exitError(exitIncompatible)
	case registrar.VerdictBreaking:
		return exitError(exitBreaking)
	}
	return nil
}

func (g *globals) dryRunTables(res registrar.DryRunResult) error {
	version := res.Version + " (new product)"
	if !res.New {
		version = res.Version + " (registered " + res.Registered + ")"
	}
	would := string(res.Type)
	if res.Unchanged {
		would = "nothing (the descriptor is the registered one)"
	}
	summary := [][]string{{"product", res.ID}, {"version", version}, {"apply would publish", would}, {"verdict", res.Verdict}}
	depth := map[string]registrar.Downstream{}
	for _, d := range res.Downstream {
		depth[d.ID] = d
	}
	var ports, changes, affects [][]string
	for _, p := range res.Ports {
		level, compatible, against := orDash(p.Level), "-", "-"
		if p.Compatible != nil {
			compatible = map[bool]string{true: "yes", false: "no"}[*p.Compatible]
		}
		if a := p.Against; a != nil {
			against = fmt.Sprintf("schema id %d", a.SchemaID)
			if a.Version > 0 {
				against = fmt.Sprintf("v%d (schema id %d)", a.Version, a.SchemaID)
			}
			if a.Subject != p.Subject {
				against = a.Subject + " " + against
			}
		}
		ports = append(ports, []string{p.Name, string(p.Status), level, compatible, p.Topic, against})
		for _, c := range p.Changes {
			breaks := "-"
			if len(c.Breaks) > 0 {
				breaks = strings.Join(c.Breaks, ",")
			}
			changes = append(changes, []string{p.Name, orDash(c.Field), c.Change, orDash(c.From), orDash(c.To), breaks, c.Reason})
		}
		for _, m := range p.RegistryMessages {
			changes = append(changes, []string{p.Name, "-", "REGISTRY", "-", "-", "-", m})
		}
		for _, a := range p.AffectedAgreements {
			affects = append(affects, []string{p.Name, "agreement", a.ID, consumerLabel(a.Consumer) + " " + a.Principal + " " + string(a.Status)})
		}
		for _, id := range p.AffectedProducts {
			how := "reads " + res.ID
			if d := depth[id]; d.Depth > 1 {
				how = fmt.Sprintf("reads %s (depth %d)", d.Via, d.Depth)
			}
			affects = append(affects, []string{p.Name, "product", id, how})
		}
	}
	if err := g.table(nil, summary); err != nil {
		return err
	}
	sections := []struct {
		header []string
		rows   [][]string
	}{
		{[]string{"PORT", "STATUS", "LEVEL", "COMPATIBLE", "TOPIC", "AGAINST"}, ports},
		{[]string{"PORT", "FIELD", "CHANGE", "FROM", "TO", "BREAKS", "WHY"}, changes},
		{[]string{"PORT", "AFFECTS", "ID", "HOW"}, affects},
	}
	for _, s := range sections {
		if len(s.rows) == 0 {
			continue
		}
		fmt.Fprintln(g.out)
		if err := g.table(s.header, s.rows); err != nil {
			return err
		}
	}
	return nil
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
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
			"products list it in their inputs or access agreements to it are in force, unless\n" +
			"--force is given with a governance token; the answer then lists those readers and\n" +
			"agreements (retiring revokes no agreement: revoke them with meshctl access revoke).",
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
	cmd.Flags().BoolVar(&req.Force, "force", false, "retire although active products still read it or agreements are in force (governance role)")
	return cmd
}

// printAction prints the answer to a deprecation or retirement.
func (g *globals) printAction(res registrar.ActionResult) error {
	rows := [][]string{{"product", res.ID}, {"version", res.Version}, {"result", string(res.Type)}, {"event", res.EventID}}
	if len(res.OrphanedReaders) > 0 {
		rows = append(rows, []string{"orphaned readers", strings.Join(res.OrphanedReaders, ", ")})
	}
	// One row each: an agreement reads "<id> (<consumer>, <principal>)".
	for i, a := range res.ActiveAgreements {
		label := ""
		if i == 0 {
			label = "active agreements"
		}
		rows = append(rows, []string{label, a})
	}
	return g.print(res, nil, rows)
}
