package txn

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"go.uber.org/zap"
)

// Permanent marks a failure that another session would meet again (a bug):
// Supervise stops on it instead of starting a new session.
type Permanent struct{ Err error }

func (e Permanent) Error() string { return e.Err.Error() }

func (e Permanent) Unwrap() error { return e.Err }

// Supervisor says how Supervise runs a service's sessions.
type Supervisor struct {
	// Service names the service in errors ("governor").
	Service string
	// Work names a session in the log ("judging").
	Work string
	// TransactionalID is the sessions' transactional id.
	TransactionalID string
	// Log gets a line per failed session and for a fenced one.
	Log *zap.Logger
	// Restarted is called before each new session after a failure.
	Restarted func()
	// Crashed is a test hook's error, returned as it is.
	Crashed error
	// Stop, when it has an error, ends Supervise with it after the session
	// in progress (a background reader of the service that failed).
	Stop <-chan error
}

// Supervise runs session until ctx is done. A session that fails (a broker
// or the coordinator gone past what the client retries, a transaction that
// could not end) is closed by it and a new one started after a backoff of
// 1 s doubling up to 30 s: its transactional producer is initialised again
// and consumption resumes from the committed offsets. Only a fenced
// producer (a newer instance with the same transactional id: nil), a
// transactional id the principal may not use, a Permanent error and the
// Crashed one stop it; it returns nil when ctx is done.
func Supervise(ctx context.Context, sv Supervisor, session func(context.Context) error) error {
	failures := 0
	for {
		err := session(ctx)
		select {
		case e := <-sv.Stop:
			return e
		default:
		}
		var perm Permanent
		switch {
		case err == nil || ctx.Err() != nil:
			return nil
		case sv.Crashed != nil && errors.Is(err, sv.Crashed), errors.As(err, &perm):
			return err
		case errors.Is(err, kerr.TransactionalIDAuthorizationFailed):
			// Not a successor: the principal may not use the id, which
			// no new session changes.
			return fmt.Errorf("%s: transactional id %s: %w", sv.Service, sv.TransactionalID, err)
		case errors.Is(err, kerr.ProducerFenced), errors.Is(err, kerr.InvalidProducerEpoch):
			// A newer incarnation of this instance took the
			// transactional id over: it goes on from here.
			sv.Log.Info("fenced by a newer instance with the same transactional id; stopping", zap.String("transactional_id", sv.TransactionalID), zap.Error(err))
			return nil
		}
		failures++
		wait := min(time.Second<<min(failures-1, 5), 30*time.Second)
		if sv.Restarted != nil {
			sv.Restarted()
		}
		sv.Log.Warn(sv.Work+" session failed; starting a new one", zap.Error(err), zap.Int("failures_in_a_row", failures), zap.Duration("retry_in", wait))
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(wait):
		}
	}
}
