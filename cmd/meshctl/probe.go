package main

import (
	"fmt"
	"net/http"
	"time"

	"github.com/spf13/cobra"
)

// probeCmd checks an HTTP endpoint: the health check of the container images,
// which carry no curl.
func probeCmd(g *globals) *cobra.Command {
	var timeout time.Duration
	cmd := &cobra.Command{
		Use:    "probe URL",
		Short:  "exit 0 if URL answers 2xx (container health checks)",
		Hidden: true,
		Args:   cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			cl := &http.Client{Timeout: timeout}
			resp, err := cl.Get(args[0])
			if err != nil {
				return err
			}
			resp.Body.Close()
			if resp.StatusCode/100 != 2 {
				return fmt.Errorf("%s answered %s", args[0], resp.Status)
			}
			fmt.Fprintln(g.out, resp.Status)
			return nil
		},
	}
	cmd.Flags().DurationVar(&timeout, "timeout", 3*time.Second, "how long to wait for the answer")
	return cmd
}
