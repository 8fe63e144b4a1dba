package main

// Discovery commands: search the marketplace, show a product, walk its
// lineage (all through the indexer's API), and subscribe to a product's
// output port (the indexer names the topic; records are read from Kafka and
// decoded through the schema registry).

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/spf13/cobra"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/meshbone/meshbone/internal/store"
	"github.com/meshbone/meshbone/pkg/events"
)

func searchCmd(g *globals) *cobra.Command {
	var (
		f          filterFlags
		page, size int
	)
	cmd := &cobra.Command{
		Use:   "search [QUERY]",
		Short: "search the data product marketplace",
		Long: `Search the marketplace: full text over names, descriptions, tags, owners,
domains, port names and schema fields, ranked by relevance, with filters.
Without a query it lists every product (filtered) by name.`,
		Example: `  meshctl search orders
  meshctl search "customer email" --domain sales --compliance non_compliant
  meshctl search --state deprecated -o json`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			p := f.params()
			if len(args) == 1 {
				p.Query = args[0]
			}
			// Zero or less leaves the page and its size to the indexer.
			p.Page, p.Size = max(page, 0), max(size, 0)
			res, err := g.indexer().Search(cmd.Context(), p)
			if err != nil {
				return err
			}
			if g.Output == "json" {
				return g.printJSON(res)
			}
			rows := make([][]string, 0, len(res.Results))
			for _, r := range res.Results {
				rows = append(rows, []string{r.ID, r.Version, lower(r.State), lower(r.Compliance), lower(r.Sensitivity), score(r.QualityScore), clip(r.Description, 60)})
			}
			if err := g.table([]string{"ID", "VERSION", "STATE", "COMPLIANCE", "SENSITIVITY", "QUALITY", "DESCRIPTION"}, rows); err != nil {
				return err
			}
			from := (res.Page-1)*res.Size + 1
			if len(res.Results) == 0 {
				fmt.Fprintf(g.out, "\nno products match (%d in total)\n", res.Total)
				return nil
			}
			fmt.Fprintf(g.out, "\n%d-%d of %d", from, from+len(res.Results)-1, res.Total)
			for _, name := range []string{store.FacetDomain, store.FacetState, store.FacetCompliance} {
				var parts []string
				for _, c := range res.Facets[name] {
					parts = append(parts, fmt.Sprintf("%s %d", lower(c.Value), c.Count))
				}
				if len(parts) > 0 {
					fmt.Fprintf(g.out, " · %s: %s", name, strings.Join(parts, ", "))
				}
			}
			fmt.Fprintln(g.out)
			return nil
		},
	}
	f.register(cmd)
	cmd.Flags().IntVar(&page, "page", 0, "page of results, from 1")
	cmd.Flags().IntVar(&size, "size", 0, "results per page (at most 100; default 20)")
	return cmd
}

// filterFlags are the search filters; each may be given more than once
// (values of one filter are ORed).
type filterFlags struct {
	domain, tag, sensitivity, compliance, state []string
}

func (f *filterFlags) register(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.StringSliceVar(&f.domain, "domain", nil, "only products of these domains")
	fl.StringSliceVar(&f.tag, "tag", nil, "only products with one of these tags")
	fl.StringSliceVar(&f.sensitivity, "sensitivity", nil, "only these sensitivities: public, internal, confidential, restricted")
	fl.StringSliceVar(&f.compliance, "compliance", nil, "only these compliance states: compliant, non_compliant, unknown")
	fl.StringSliceVar(&f.state, "state", nil, "only these lifecycle states: active, deprecated, retired")
}

func (f *filterFlags) params() store.SearchParams {
	return store.SearchParams{Domain: f.domain, Tag: f.tag, Sensitivity: f.sensitivity, Compliance: f.compliance, State: f.state}
}

func lower(s string) string { return strings.ToLower(strings.ReplaceAll(s, "_", "-")) }

func score(f *float64) string {
	if f == nil {
		return "-"
	}
	return strconv.Itoa(int(*f*100+0.5)) + "%"
}

func clip(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}

func showCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:     "show ID",
		Short:   "show a data product: owners, SLA, ports and schemas, quality, compliance, lineage, history",
		Example: "  meshctl show sales.customer-orders",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			p, err := g.indexer().Product(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			if g.Output == "json" {
				return g.printJSON(p)
			}
			g.showProduct(p)
			return nil
		},
	}
}

func (g *globals) showProduct(p *store.Product) {
	w := g.out
	fmt.Fprintf(w, "%s  v%s  %s  %s  %s\n", p.ID, p.Version, lower(p.State), lower(p.Compliance), lower(p.Sensitivity))
	if p.Description != "" {
		fmt.Fprintf(w, "%s\n", p.Description)
	}
	kv := [][]string{{"owner team", p.OwnerTeam}, {"tags", strings.Join(p.Tags, ", ")}, {"quality", score(p.QualityScore)}}
	if o := p.Descriptor.Ownership; o != nil {
		for _, e := range []struct {
			k string
			v *string
		}{{"technical owner", o.TechnicalOwner}, {"business owner", o.BusinessOwner}, {"steward", o.Steward}, {"on call", o.OnCall},
			{"developer", o.Developer}, {"channel", o.Channel}} {
			if e.v != nil {
				kv = append(kv, []string{e.k, *e.v})
			}
		}
		if len(o.EscalationPath) > 0 {
			kv = append(kv, []string{"escalation", strings.Join(o.EscalationPath, " > ")})
		}
	}
	if s := p.Descriptor.SLA; s != nil {
		if s.Freshness != nil {
			kv = append(kv, []string{"freshness SLA", *s.Freshness})
		}
		if s.Availability != nil {
			kv = append(kv, []string{"availability SLA", strconv.FormatFloat(*s.Availability, 'f', -1, 64) + "%"})
		}
	}
	if p.Successor != nil {
		kv = append(kv, []string{"successor", *p.Successor})
	}
	if p.Reason != nil {
		kv = append(kv, []string{"reason", *p.Reason})
	}
	fmt.Fprintln(w)
	_ = g.table(nil, kv)

	fmt.Fprintf(w, "\nOPEN VIOLATIONS (%d)\n", len(p.OpenViolations))
	var rows [][]string
	for _, v := range p.OpenViolations {
		rows = append(rows, []string{lower(v.Severity), v.PolicyID, v.Message, v.DetectedAt.Format("2006-01-02 15:04")})
	}
	_ = g.table(nil, rows)

	fmt.Fprintf(w, "\nPORTS\n")
	for _, pt := range p.Ports {
		id := "-"
		if pt.SchemaID != nil {
			id = strconv.Itoa(int(*pt.SchemaID))
		}
		fmt.Fprintf(w, "%s  topic %s  subject %s  schema id %s\n", pt.Name, pt.Topic, pt.SchemaSubject, id)
		rows = rows[:0]
		for _, f := range pt.Fields {
			rows = append(rows, []string{"  " + f.Name, f.Type, f.Doc})
		}
		_ = g.table(nil, rows)
	}

	fmt.Fprintf(w, "\nQUALITY (latest of the last %d runs)\n", len(p.Quality.Runs))
	rows = rows[:0]
	for _, c := range p.Quality.Checks {
		last := c.Points[len(c.Points)-1]
		passed := "passed"
		if !last.Passed {
			passed = "FAILED"
		}
		rows = append(rows, []string{c.Name, lower(c.Dimension), fmt.Sprintf("%g %s %g", last.Observed, last.Operator, last.Threshold), passed})
	}
	_ = g.table(nil, rows)

	if p.Lineage != nil {
		var up, down []string
		for _, n := range p.Lineage.Nodes {
			switch {
			case n.Level < 0:
				up = append(up, n.ID)
			case n.Level > 0:
				down = append(down, n.ID)
			}
		}
		fmt.Fprintf(w, "\nLINEAGE\n  upstream:   %s\n  downstream: %s\n", orNone(up), orNone(down))
	}

	fmt.Fprintf(w, "\nHISTORY\n")
	rows = rows[:0]
	for _, v := range p.Versions {
		rows = append(rows, []string{v.Version, lower(v.Type), v.Actor, v.OccurredAt.Format("2006-01-02 15:04")})
	}
	_ = g.table(nil, rows)
}

func orNone(s []string) string {
	if len(s) == 0 {
		return "(none)"
	}
	return strings.Join(s, ", ")
}

func lineageCmd(g *globals) *cobra.Command {
	var (
		direction string
		depth     int
	)
	cmd := &cobra.Command{
		Use:     "lineage ID",
		Short:   "show the products upstream and downstream of a product",
		Example: "  meshctl lineage finance.revenue --direction up --depth 5",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			gr, err := g.indexer().Lineage(cmd.Context(), args[0], direction, depth)
			if err != nil {
				return err
			}
			rows := make([][]string, 0, len(gr.Nodes))
			for _, n := range gr.Nodes {
				var ins []string
				for _, e := range gr.Edges {
					if e.To == n.ID {
						ins = append(ins, e.From)
					}
				}
				state, comp := lower(n.State), lower(n.Compliance)
				if !n.Known {
					state, comp = "not registered", "-"
				}
				rows = append(rows, []string{strconv.Itoa(n.Level), n.ID, state, comp, strings.Join(ins, ", ")})
			}
			if err := g.print(gr, []string{"LEVEL", "ID", "STATE", "COMPLIANCE", "READS FROM"}, rows); err != nil {
				return err
			}
			if gr.Truncated && g.Output != "json" {
				fmt.Fprintf(g.out, "(cut at %d products)\n", len(gr.Nodes))
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&direction, "direction", store.DirectionBoth, "up (what it reads), down (what reads it) or both")
	cmd.Flags().IntVar(&depth, "depth", store.DefaultLineageDepth, fmt.Sprintf("hops to follow, 1 to %d", store.MaxLineageDepth))
	return cmd
}

// errEnough stops a PortReader once --max records are printed.
var errEnough = errors.New("enough records")

func subscribeCmd(g *globals) *cobra.Command {
	var (
		fromEnd bool
		maxN    int
	)
	cmd := &cobra.Command{
		Use:   "subscribe ID PORT",
		Short: "print the records of a product's output port as JSON lines",
		Long: `Subscribe to a data product: the indexer names the port's topic, and its
records are read from Kafka (read_committed, no consumer group) and decoded
through the schema registry, one JSON object per line. Runs until
interrupted, or until --max records were printed.`,
		Example: "  meshctl subscribe sales.customer-orders orders --max 10",
		Args:    cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			if maxN < 0 {
				return fmt.Errorf("--max %d: must be 0 (no limit) or more", maxN)
			}
			p, err := g.indexer().Product(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			var topic string
			var names []string
			for _, pt := range p.Ports {
				names = append(names, pt.Name)
				if pt.Name == args[1] {
					topic = pt.Topic
				}
			}
			if topic == "" {
				return fmt.Errorf("product %s has no output port %q (ports: %s)", p.ID, args[1], strings.Join(names, ", "))
			}
			opts, err := g.Kafka.EventOpts()
			if err != nil {
				return err
			}
			if fromEnd {
				opts = append(opts, events.FromEnd())
			}
			rd, err := events.NewPortReader(topic, opts...)
			if err != nil {
				return err
			}
			fmt.Fprintf(g.err, "subscribed to %s (port %s of %s)\n", topic, args[1], p.ID)
			n := 0
			err = rd.Run(cmd.Context(), func(r events.PortRecord) error {
				line, err := r.JSON()
				if err != nil {
					return err
				}
				if _, err := fmt.Fprintf(g.out, "%s\n", line); err != nil {
					return err
				}
				n++
				if maxN > 0 && n >= maxN {
					return errEnough
				}
				return nil
			}, func(r *kgo.Record, err error) {
				fmt.Fprintf(g.err, "skipping %s/%d@%d: %v\n", r.Topic, r.Partition, r.Offset, err)
			})
			if errors.Is(err, errEnough) {
				return nil
			}
			return err
		},
	}
	cmd.Flags().BoolVar(&fromEnd, "from-end", false, "only records published from now on (default: from the start)")
	cmd.Flags().IntVar(&maxN, "max", 0, "stop after this many records (0: run until interrupted)")
	return cmd
}
