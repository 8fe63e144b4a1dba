package registrar

import (
	"context"
	"errors"
	"net"
	"sync"
	"sync/atomic"

	"go.uber.org/zap"
)

// Crashable is a Service that a test can kill as kill -9 would: every Kafka
// and registry connection it holds is cut and no new one can be made (so it
// leaves no group and ends no transaction), and its HTTP listener closes.
type Crashable struct {
	*Service
	// Crashed receives the product id when the service crashed at its
	// provisioning step.
	Crashed chan string

	dead    atomic.Bool
	mu      sync.Mutex
	cut     bool
	conns   []net.Conn
	release chan struct{}
	once    sync.Once
}

// errCrashed is what a crashed service's dials return: not a network error,
// so that franz-go gives up at once instead of retrying.
var errCrashed = errors.New("registrar crashed (test)")

// NewCrashable returns a Service that crashes when it reaches provisioning
// step ("topics" or "schemas"; "" for never) of any product. The write in
// flight then blocks until Release.
func NewCrashable(opts Options, log *zap.Logger, step string) (*Crashable, error) {
	c := &Crashable{Crashed: make(chan string, 1), release: make(chan struct{})}
	h := hooks{dial: c.dial}
	if step != "" {
		h.step = func(id, name string) {
			if name != step {
				return
			}
			c.Kill()
			c.Crashed <- id
			<-c.release
		}
	}
	svc, err := newService(opts, log, h)
	if err != nil {
		return nil, err
	}
	c.Service = svc
	return c, nil
}

func (c *Crashable) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	c.mu.Lock()
	cut := c.cut
	c.mu.Unlock()
	if cut {
		return nil, errCrashed
	}
	conn, err := (&net.Dialer{}).DialContext(ctx, network, addr)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.cut {
		conn.Close()
		return nil, errCrashed
	}
	c.conns = append(c.conns, conn)
	return conn, nil
}

// Kill crashes the service now.
func (c *Crashable) Kill() {
	c.dead.Store(true)
	c.mu.Lock()
	c.cut = true
	conns := c.conns
	c.conns = nil
	c.mu.Unlock()
	for _, conn := range conns {
		conn.Close()
	}
	_ = c.srv.Close()
}

// Dead reports whether the service was killed.
func (c *Crashable) Dead() bool { return c.dead.Load() }

// Release lets the write blocked at the crash go on (into a dead network),
// so that Run can return.
func (c *Crashable) Release() { c.once.Do(func() { close(c.release) }) }

// IsWriter reports whether the service is the writer now.
func (s *Service) IsWriter() bool { return s.isWriter() }
