// Command meshctl is the meshbone command line: register and manage data
// products, search the marketplace, follow violations, check policies,
// subscribe to product topics, and run the whole mesh locally (meshctl dev).
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

func main() { os.Exit(run()) }

func run() int {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	root := newRoot(os.Stdout, os.Stderr)
	if err := root.ExecuteContext(ctx); err != nil {
		var ee exitError
		if errors.As(err, &ee) {
			return int(ee)
		}
		fmt.Fprintln(os.Stderr, "meshctl:", err)
		return 1
	}
	return 0
}

// exitError ends meshctl with a status after the command printed its own
// explanation.
type exitError int

func (e exitError) Error() string { return fmt.Sprintf("exit status %d", int(e)) }
