package main

import (
	"encoding/json"
	"fmt"
	"strings"
	"text/tabwriter"
)

// printJSON writes v as indented JSON.
func (g *globals) printJSON(v any) error {
	enc := json.NewEncoder(g.out)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// print writes v as JSON with --output json, else as an aligned table of
// header and rows.
func (g *globals) print(v any, header []string, rows [][]string) error {
	if g.Output == "json" {
		return g.printJSON(v)
	}
	return g.table(header, rows)
}

// table writes an aligned table.
func (g *globals) table(header []string, rows [][]string) error {
	tw := tabwriter.NewWriter(g.out, 0, 4, 2, ' ', 0)
	if len(header) > 0 {
		fmt.Fprintln(tw, strings.Join(header, "\t"))
	}
	for _, r := range rows {
		fmt.Fprintln(tw, strings.Join(r, "\t"))
	}
	return tw.Flush()
}
