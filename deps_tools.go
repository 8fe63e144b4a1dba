//go:build tools

// Package meshbone pins dependencies the services are being built on while
// their code lands; removed once every one is imported for real.
package meshbone

import (
	_ "cel.dev/cel-go/cel"
	_ "github.com/chromedp/chromedp"
	_ "github.com/spf13/cobra"
	_ "modernc.org/sqlite"
)
