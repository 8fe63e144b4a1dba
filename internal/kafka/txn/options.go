package txn

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// MetadataMinAge bounds how long a transactional client waits between
// metadata refreshes (franz-go's default is 5 s). A produce that opens a
// transaction while the broker still writes the previous one's markers gets
// CONCURRENT_TRANSACTIONS, and franz-go retries it after the next metadata
// refresh: with the default, a 5-second stall in the middle of a batch.
const MetadataMinAge = 250 * time.Millisecond

// Session is what a service's Options say about its group transact
// session.
type Session struct {
	// Group is the consumer group.
	Group string
	// TransactionalID is the producer's transactional id (see
	// DefaultTransactionalID).
	TransactionalID string
	// InstanceID, when set, makes the instance a static group member
	// (KIP-345).
	InstanceID string
	// SessionTimeout is the group session timeout; 0 for franz-go's.
	SessionTimeout time.Duration
	// TxnTimeout bounds producing and committing one transaction; the
	// broker's transaction timeout is 10 s longer.
	TxnTimeout time.Duration
	// MaxBatch bounds the records of one transaction.
	MaxBatch int
}

// Validate reports the first of the session's settings that cannot work,
// in the wording the services share: "<flag>: <value> <what is wrong>".
func (s Session) Validate() error {
	switch {
	case s.MaxBatch < 1:
		return fmt.Errorf("max-batch: %d is below 1", s.MaxBatch)
	case s.TxnTimeout < time.Second:
		return fmt.Errorf("txn-timeout: %s is below 1s", s.TxnTimeout)
	case s.SessionTimeout < 0:
		return fmt.Errorf("session-timeout: %s is negative", s.SessionTimeout)
	}
	return nil
}

// Opts returns the kgo options of the session that do not depend on what
// it consumes: the group (reset to the start), read_committed, the
// transactional producer with acks from every in-sync replica, and static
// membership and the session timeout when set. Open adds the topics, the
// balancer, the assignment callbacks and the connection's options.
func (s Session) Opts() []kgo.Opt {
	opts := []kgo.Opt{
		kgo.ConsumerGroup(s.Group),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()),
		kgo.TransactionalID(s.TransactionalID),
		kgo.TransactionTimeout(s.TxnTimeout + 10*time.Second),
		kgo.RequiredAcks(kgo.AllISRAcks()),
		kgo.MetadataMinAge(MetadataMinAge),
	}
	if s.InstanceID != "" {
		opts = append(opts, kgo.InstanceID(s.InstanceID))
	}
	if s.SessionTimeout > 0 {
		opts = append(opts, kgo.SessionTimeout(s.SessionTimeout))
	}
	return opts
}

// Open opens a group transact session with s's options and opts (the
// topics, the balancer, the assignment callbacks, the connection's) and
// initialises its transactional producer. That fences a previous
// incarnation with the same transactional id at once: its unfinished
// transaction is aborted, which also releases the offsets it was committing
// (a stable offset fetch waits for them, so without this the group would
// wait out the transaction timeout). Errors begin with service; a client
// that cannot be made is Permanent.
func Open(ctx context.Context, service string, s Session, opts ...kgo.Opt) (*kgo.GroupTransactSession, error) {
	sess, err := kgo.NewGroupTransactSession(append(s.Opts(), opts...)...)
	if err != nil {
		return nil, Permanent{Err: fmt.Errorf("%s: kafka client: %w", service, err)}
	}
	if _, _, err := sess.Client().ProducerID(ctx); err != nil {
		sess.Close()
		return nil, fmt.Errorf("%s: init transactional producer %s: %w", service, s.TransactionalID, err)
	}
	return sess, nil
}

// DefaultTransactionalID is the transactional id of an instance that was
// given none: "<group>-<instance>"; without an instance id,
// "<group>-<host name>-<listen port>", or, when listen has no fixed port,
// "<group>-<host name>-<random>" (unique, not stable across restarts).
func DefaultTransactionalID(group, instance, listen string) string {
	if instance != "" {
		return group + "-" + instance
	}
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "localhost"
	}
	if _, port, err := net.SplitHostPort(listen); err == nil && port != "" && port != "0" {
		return group + "-" + host + "-" + port
	}
	var b [4]byte
	_, _ = rand.Read(b[:])
	return group + "-" + host + "-" + hex.EncodeToString(b[:])
}
