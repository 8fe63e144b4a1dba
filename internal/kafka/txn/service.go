package txn

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sr"

	"github.com/meshbone/meshbone/internal/kafka"
	"github.com/meshbone/meshbone/internal/ops"
	"github.com/meshbone/meshbone/pkg/events"
)

// Clients are what a service's New makes of its kafka.Config before it
// touches Kafka.
type Clients struct {
	Kopts  []kgo.Opt // how to reach the brokers
	Reg    *sr.Client
	Admin  *kgo.Client // for admin requests; the caller closes it
	Topics events.Topics
}

// NewClients makes the clients of c. Errors name what failed ("registry
// client: ...", "kafka client: ...") for the caller to prefix.
func NewClients(c kafka.Config) (Clients, error) {
	kopts, err := c.KgoOpts()
	if err != nil {
		return Clients{}, err
	}
	reg, err := c.Registry()
	if err != nil {
		return Clients{}, fmt.Errorf("registry client: %w", err)
	}
	admin, err := kgo.NewClient(kopts...)
	if err != nil {
		return Clients{}, fmt.Errorf("kafka client: %w", err)
	}
	return Clients{Kopts: kopts, Reg: reg, Admin: admin, Topics: c.Topics()}, nil
}

// EnsureTopics creates the mesh topics and a service's compacted state
// topic if they do not exist. It reports whether it created the state
// topic (which is then empty).
func EnsureTopics(ctx context.Context, adm *kadm.Client, topics events.Topics, spec kafka.TopicSpec, state string) (created bool, err error) {
	if _, err := kafka.EnsureMeshTopics(ctx, adm, topics, spec); err != nil {
		return false, err
	}
	resp, err := adm.CreateTopic(ctx, spec.Partitions, spec.ReplicationFactor, spec.Configs("cleanup.policy", "compact"), state)
	if err == nil {
		err = resp.Err
	}
	if err != nil && !errors.Is(err, kerr.TopicAlreadyExists) {
		return false, fmt.Errorf("create topic %s: %w", state, err)
	}
	return err == nil, nil
}

// Serve runs srv (when not nil) and each of also alongside consume, until
// consume returns or srv fails (which cancels consume's ctx); it returns
// consume's error and srv's, once every one has returned.
func Serve(ctx context.Context, srv *ops.Server, consume func(context.Context) error, also ...func(context.Context)) (err, srvErr error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	if srv != nil {
		wg.Go(func() {
			if e := srv.Run(ctx); e != nil {
				srvErr = e
				cancel()
			}
		})
	}
	for _, f := range also {
		wg.Go(func() { f(ctx) })
	}
	err = consume(ctx)
	cancel()
	wg.Wait()
	return err, srvErr
}
