// Command meshctl is the meshbone command line.
package main

import (
	"fmt"
	"os"
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == "dev" {
		fmt.Println("meshctl dev: the embedded mesh (registrar, governor, indexer) arrives with the service issues; nothing to run yet")
		return
	}
	fmt.Fprintln(os.Stderr, "usage: meshctl dev")
	os.Exit(2)
}
