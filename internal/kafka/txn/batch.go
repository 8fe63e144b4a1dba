package txn

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"go.uber.org/zap"
)

// Poll polls up to max records for at most wait, returning early when wake
// has an element (which it takes). It returns once the goroutine watching
// wake is done, so that whatever woke it is visible to the caller.
func Poll(ctx context.Context, sess *kgo.GroupTransactSession, max int, wait time.Duration, wake <-chan struct{}) kgo.Fetches {
	pollCtx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	woke := make(chan struct{})
	go func() {
		defer close(woke)
		select {
		case <-wake:
			cancel()
		case <-pollCtx.Done():
		}
	}()
	fetches := sess.PollRecords(pollCtx, max)
	cancel()
	<-woke
	return fetches
}

// LogFetchErrors logs the errors of fetches but the end of the poll's
// context.
func LogFetchErrors(log *zap.Logger, fetches kgo.Fetches) {
	fetches.EachError(func(t string, p int32, err error) {
		if !errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, context.Canceled) {
			log.Warn("fetch error", zap.String("topic", t), zap.Int32("partition", p), zap.Error(err))
		}
	})
}

// Txn is one transaction of a session, from Begin to End. Produce is safe
// for concurrent use.
type Txn struct {
	sess    *kgo.GroupTransactSession
	ctx     context.Context
	cancel  context.CancelFunc
	log     *zap.Logger
	promise func(*kgo.Record, error)

	mu  sync.Mutex
	err error // the first failed produce
}

// Begin begins a transaction on sess. It is not cut short when ctx is
// done but bounded by timeout instead, so that a stop commits the batch in
// flight. The caller ends it with End or Abandon, and Releases it (defer).
func Begin(ctx context.Context, sess *kgo.GroupTransactSession, timeout time.Duration, log *zap.Logger) (*Txn, error) {
	t := &Txn{sess: sess, log: log}
	t.ctx, t.cancel = context.WithTimeout(context.WithoutCancel(ctx), timeout)
	if err := sess.Begin(); err != nil {
		t.cancel()
		return nil, fmt.Errorf("begin transaction: %w", err)
	}
	t.promise = t.produced
	return t, nil
}

func (t *Txn) produced(r *kgo.Record, err error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if err != nil && t.err == nil {
		t.err = fmt.Errorf("produce to %s: %w", r.Topic, err)
	}
}

// Produce writes r in the transaction; a failure is reported by Flush.
func (t *Txn) Produce(r *kgo.Record) { t.sess.Produce(t.ctx, r, t.promise) }

// Flush waits for every record produced and returns the first that failed,
// or why waiting failed.
func (t *Txn) Flush() error {
	flushErr := t.sess.Client().Flush(t.ctx)
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.err == nil {
		t.err = flushErr
	}
	return t.err
}

// End commits the transaction, or aborts it when failed is not nil (a
// produce that failed: logged), and reports whether it committed; an error
// means the session cannot go on.
func (t *Txn) End(failed error) (bool, error) {
	end := kgo.TryCommit
	if failed != nil {
		t.log.Warn("aborting the transaction", zap.Error(failed))
		end = kgo.TryAbort
	}
	committed, err := t.sess.End(t.ctx, end)
	if err != nil {
		return false, fmt.Errorf("end transaction: %w", err)
	}
	return committed, nil
}

// Abandon aborts the transaction after a failure of the caller's own (an
// encoding error), logging a failure to abort.
func (t *Txn) Abandon() {
	if _, err := t.sess.End(t.ctx, kgo.TryAbort); err != nil {
		t.log.Warn("abort after an encoding error", zap.Error(err))
	}
}

// Release frees the transaction's timer.
func (t *Txn) Release() { t.cancel() }

// Abort ends an empty transaction as aborted, which rewinds consumption to
// the committed offsets.
func Abort(ctx context.Context, sess *kgo.GroupTransactSession, timeout time.Duration) error {
	tctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), timeout)
	defer cancel()
	if err := sess.Begin(); err != nil {
		return fmt.Errorf("begin transaction: %w", err)
	}
	if _, err := sess.End(tctx, kgo.TryAbort); err != nil {
		return fmt.Errorf("abort transaction: %w", err)
	}
	return nil
}
