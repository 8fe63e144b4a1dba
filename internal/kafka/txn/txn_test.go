package txn

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"go.uber.org/zap"
)

func TestDefaultTransactionalID(t *testing.T) {
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "localhost"
	}
	for _, c := range []struct{ instance, listen, want string }{
		{"g-0", ":8091", "grp-g-0"},
		{"", ":8091", "grp-" + host + "-8091"},
		{"", "127.0.0.1:9000", "grp-" + host + "-9000"},
	} {
		if got := DefaultTransactionalID("grp", c.instance, c.listen); got != c.want {
			t.Errorf("DefaultTransactionalID(grp, %q, %q) = %q, want %q", c.instance, c.listen, got, c.want)
		}
	}
	// Without a fixed port: random, so two instances on one host differ.
	for _, listen := range []string{"127.0.0.1:0", ""} {
		a, b := DefaultTransactionalID("grp", "", listen), DefaultTransactionalID("grp", "", listen)
		if a == b || !strings.HasPrefix(a, "grp-"+host+"-") || len(a) != len("grp-"+host+"-")+8 {
			t.Errorf("listen %q: %q and %q, want two different grp-%s-<8 hex digits>", listen, a, b, host)
		}
	}
}

func TestSessionValidate(t *testing.T) {
	ok := Session{Group: "g", TransactionalID: "g-0", TxnTimeout: time.Second, MaxBatch: 1}
	if err := ok.Validate(); err != nil {
		t.Fatalf("valid session: %v", err)
	}
	for _, c := range []struct {
		name string
		edit func(*Session)
		want string
	}{
		{"no batch", func(s *Session) { s.MaxBatch = 0 }, "max-batch: 0 is below 1"},
		{"short txn timeout", func(s *Session) { s.TxnTimeout = 999 * time.Millisecond }, "txn-timeout: 999ms is below 1s"},
		{"negative session timeout", func(s *Session) { s.SessionTimeout = -time.Second }, "session-timeout: -1s is negative"},
	} {
		s := ok
		c.edit(&s)
		if err := s.Validate(); err == nil || err.Error() != c.want {
			t.Errorf("%s: %v, want %q", c.name, err, c.want)
		}
	}
}

// TestSupervise runs scripted sessions: each returns the next error of the
// script, and Supervise must stop or start a new session as the error says.
func TestSupervise(t *testing.T) {
	crashed := errors.New("crashed")
	transient := errors.New("coordinator unreachable")
	stopErr := errors.New("view failed")
	for _, c := range []struct {
		name     string
		script   []error
		stop     bool // the reader alongside fails during the first session
		want     string
		sessions int
	}{
		{"done", []error{nil}, false, "", 1},
		{"fenced", []error{kerr.ProducerFenced}, false, "", 1},
		{"old epoch", []error{fmt.Errorf("end: %w", kerr.InvalidProducerEpoch)}, false, "", 1},
		{"not authorized", []error{kerr.TransactionalIDAuthorizationFailed}, false, "svc: transactional id svc-0: " + kerr.TransactionalIDAuthorizationFailed.Error(), 1},
		{"permanent", []error{Permanent{Err: errors.New("svc: encode x: bad")}}, false, "svc: encode x: bad", 1},
		{"crashed", []error{fmt.Errorf("batch: %w", crashed)}, false, "batch: crashed", 1},
		{"transient then done", []error{transient, nil}, false, "", 2},
		{"reader failed", []error{transient, nil}, true, "view failed", 1},
	} {
		t.Run(c.name, func(t *testing.T) {
			stop := make(chan error, 1)
			restarts, n := 0, 0
			err := Supervise(context.Background(), Supervisor{
				Service: "svc", Work: "testing", TransactionalID: "svc-0", Log: zap.NewNop(),
				Restarted: func() { restarts++ }, Crashed: crashed, Stop: stop,
			}, func(context.Context) error {
				n++
				if c.stop {
					stop <- stopErr
				}
				return c.script[n-1]
			})
			if got := fmt.Sprint(err); err == nil && c.want != "" || err != nil && got != c.want {
				t.Errorf("Supervise: %v, want %q", err, c.want)
			}
			if n != c.sessions || restarts != c.sessions-1 {
				t.Errorf("%d sessions and %d restarts, want %d and %d", n, restarts, c.sessions, c.sessions-1)
			}
		})
	}
}

// TestSuperviseStopsOnDone: a failed session is not followed by another
// once ctx is done, however long the backoff.
func TestSuperviseStopsOnDone(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	n := 0
	err := Supervise(ctx, Supervisor{Service: "svc", Work: "testing", Log: zap.NewNop()}, func(context.Context) error {
		n++
		cancel()
		return errors.New("broker gone")
	})
	if err != nil || n != 1 {
		t.Errorf("Supervise = %v after %d sessions, want nil after 1", err, n)
	}
}
