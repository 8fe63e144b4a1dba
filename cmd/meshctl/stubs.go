package main

// Placeholders for the command groups that land with their services; each
// moves into its own file (product.go, governance.go, discovery.go, dev.go)
// when it is built.

import (
	"errors"

	"github.com/spf13/cobra"
)

func notYet(use, issue string) *cobra.Command {
	return &cobra.Command{Use: use, Hidden: true, RunE: func(*cobra.Command, []string) error {
		return errors.New(use + ": not built yet (" + issue + ")")
	}}
}

