package events

import "time"

// Defaults of the PortWriter's options.
const (
	// DefaultPortLookupTimeout bounds how long NewPortWriter looks for the
	// product, its port's schema and dead-letter topic.
	DefaultPortLookupTimeout = 30 * time.Second
)

// PortWriterOpt is an option of NewPortWriter: an Opt, or Run.
type PortWriterOpt interface {
	apply(*cfg)
	isPortWriterOpt()
}

func (shared) isPortWriterOpt() {}

// portOpt is an option of the PortWriter only; it sets the writer's own
// settings, not the shared cfg.
type portOpt func(*portCfg)

func (portOpt) apply(*cfg)             {}
func (portOpt) isPortWriterOpt()       {}
func (o portOpt) applyPort(c *portCfg) { o(c) }

type portCfg struct {
	run     string
	timeout time.Duration
}

// Run names the producing run (a pipeline run, a job id) in the ce_runid
// header of every record the PortWriter writes; default: an id made when the
// writer is built, "<UTC time>-<8 hex digits>".
func Run(id string) PortWriterOpt { return portOpt(func(c *portCfg) { c.run = id }) }

// PortLookupTimeout bounds how long NewPortWriter looks for the product (on
// the lifecycle topic), its port's schema (in the registry) and its
// dead-letter topic; default DefaultPortLookupTimeout.
func PortLookupTimeout(d time.Duration) PortWriterOpt {
	return portOpt(func(c *portCfg) { c.timeout = d })
}
