package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sr"
	"go.uber.org/zap"

	"github.com/meshbone/meshbone/internal/kafka"
	"github.com/meshbone/meshbone/internal/registrar"
	"github.com/meshbone/meshbone/pkg/events"
	"github.com/meshbone/meshbone/pkg/product"
)

func init() { register("registrar", benchRegistrar) }

// registrarClients is the concurrency of the concurrent runs.
const registrarClients = 8

// benchRegistrar measures product registrations per second through the
// registrar's HTTP API (parse, validate, authorise, compatibility checks,
// topic creation, schema registration, lifecycle event, audit event) against
// the raw Kafka cost of the same registrations done directly with kadm and
// kgo: the same topic creations (same partitions and configs: each port's
// topic and its dead-letter topic) plus one
// acks=all produce of the same encoded lifecycle record, on the same broker in
// the same run. Each product has two ports (3 and 1 partitions). It runs
// sequentially (one request at a time, as meshctl does) and with 8 concurrent
// clients; rounds alternate registrar and raw, and each side's median counts.
// Each round also runs the 8 clients spread over two registrar instances of
// the same mesh (one writer, the other forwarding to it), to show what a
// second instance costs or gains.
//
// The headline is the sequential ratio: it is what one team applying a
// descriptor experiences, and it exposes the registrar's per-request overhead
// (registry round trips, HTTP, audit) that the concurrent run partly hides
// behind the broker controller, which serialises topic creations for both
// sides alike.
func benchRegistrar(ctx context.Context, env *Env, logf func(string, ...any)) ([]Figure, error) {
	n, rounds := 40, 3
	if env.Quick {
		n, rounds = 8, 1
	}
	b, err := newRegistrarBench(ctx, env)
	if err != nil {
		return nil, err
	}
	defer b.close()

	var regSeq, rawSeq, regConc, rawConc, regTwo []float64
	for round := range rounds {
		for _, conc := range []int{1, registrarClients} {
			reg, err := b.run(ctx, n, conc, b.viaRegistrar)
			if err != nil {
				return nil, fmt.Errorf("registrar, %d clients: %w", conc, err)
			}
			raw, err := b.run(ctx, n, conc, b.viaRaw)
			if err != nil {
				return nil, fmt.Errorf("raw, %d clients: %w", conc, err)
			}
			logf("round %d, %d client(s): registrar %.1f products/s, raw %.1f products/s, ratio %.3f", round+1, conc, reg, raw, reg/raw)
			if conc == 1 {
				regSeq, rawSeq = append(regSeq, reg), append(rawSeq, raw)
			} else {
				regConc, rawConc = append(regConc, reg), append(rawConc, raw)
			}
		}
		// The same 8 clients spread over two instances: half the requests
		// reach the one that is not the writer and are forwarded.
		two, err := b.run(ctx, n, registrarClients, b.viaEither)
		if err != nil {
			return nil, fmt.Errorf("two registrars, %d clients: %w", registrarClients, err)
		}
		logf("round %d, %d clients over 2 instances: registrar %.1f products/s", round+1, registrarClients, two)
		regTwo = append(regTwo, two)
	}
	return []Figure{
		{Name: "registrar.register.sequential.per_s", Value: median(regSeq), Unit: "products/s (2 topics + 2 schemas + lifecycle + audit each; median of rounds)"},
		{Name: "raw.register.sequential.per_s", Value: median(rawSeq), Unit: "products/s (2 kadm CreateTopics of a port and its dead-letter topic + 1 acks=all produce each)"},
		{Name: "registrar.register.concurrent8.per_s", Value: median(regConc), Unit: "products/s with 8 clients"},
		{Name: "raw.register.concurrent8.per_s", Value: median(rawConc), Unit: "products/s with 8 goroutines"},
		{Name: "registrar.register.ratio_concurrent8", Value: median(regConc) / median(rawConc), Unit: "(registrar / raw, 8 clients)"},
		{Name: "registrar.register.concurrent8_two_instances.per_s", Value: median(regTwo), Unit: "products/s with 8 clients spread over 2 instances (one writer, the other forwarding)"},
		{Name: "registrar.register.two_instances_vs_one", Value: median(regTwo) / median(regConc), Unit: "(2 instances / 1, 8 clients)"},
		{Name: "registrar.register.ratio", Value: median(regSeq) / median(rawSeq)},
	}, nil
}

type registrarBench struct {
	env       *Env
	dir       string
	svc       *registrar.Service
	svc2      *registrar.Service // a second instance of the same mesh
	stop      func()
	client    *registrar.Client
	client2   *registrar.Client
	next      atomic.Int64 // alternates viaEither between the instances
	prefix    string       // the registrar's topic prefix
	rawPrefix string
	kcl       *kgo.Client
	adm       *kadm.Client
	codec     *events.Codec
	seq       int // product counter: every registration is a new product
	mu        sync.Mutex
}

func newRegistrarBench(ctx context.Context, env *Env) (*registrarBench, error) {
	b := &registrarBench{env: env, prefix: env.Prefix("registrar"), rawPrefix: env.Prefix("raw")}
	var err error
	if b.dir, err = os.MkdirTemp("", "bench-registrar-"); err != nil {
		return nil, err
	}
	token, err := registrar.NewToken()
	if err != nil {
		return nil, err
	}
	tokenFile := filepath.Join(b.dir, "tokens.yaml")
	if err := registrar.WriteTokenFile(tokenFile, []registrar.Token{{SHA256: registrar.HashToken(token), Principal: "bench", Role: registrar.RoleGovernance}}); err != nil {
		return nil, err
	}
	opts := registrar.DefaultOptions()
	opts.Kafka = kafka.Config{Brokers: env.Brokers, TopicPrefix: b.prefix, RegistryURL: env.Registry}
	opts.Listen, opts.TokenFile = "127.0.0.1:0", tokenFile
	if b.svc, err = registrar.New(opts, zap.NewNop()); err != nil {
		return nil, err
	}
	rctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- b.svc.Run(rctx) }()
	b.stop = func() { cancel(); <-done }
	b.client = &registrar.Client{URL: b.svc.URL(), Token: token, HTTP: &http.Client{
		Timeout:   time.Minute,
		Transport: &http.Transport{MaxIdleConnsPerHost: registrarClients},
	}}
	if err := waitReady(ctx, b.svc.URL()); err != nil {
		b.close()
		return nil, err
	}
	// The first instance is the writer (it is ready, so elected) before
	// the second joins: the second forwards.
	if b.svc2, err = registrar.New(opts, zap.NewNop()); err != nil {
		b.close()
		return nil, err
	}
	done2 := make(chan error, 1)
	go func() { done2 <- b.svc2.Run(rctx) }()
	b.stop = func() { cancel(); <-done; <-done2 }
	b.client2 = &registrar.Client{URL: b.svc2.URL(), Token: token, HTTP: b.client.HTTP}
	if err := waitReady(ctx, b.svc2.URL()); err != nil {
		b.close()
		return nil, err
	}

	// The raw side: its own mesh topics, a client with the registrar's
	// producer settings, the same codec.
	if err := createMeshTopics(ctx, env, b.rawPrefix); err != nil {
		b.close()
		return nil, err
	}
	if b.kcl, err = kgo.NewClient(kgo.SeedBrokers(env.Brokers...), kgo.RequiredAcks(kgo.AllISRAcks()), kgo.ProducerLinger(0)); err != nil {
		b.close()
		return nil, err
	}
	b.adm = kadm.NewClient(b.kcl)
	reg, err := sr.NewClient(sr.URLs(env.Registry))
	if err != nil {
		b.close()
		return nil, err
	}
	b.codec = events.NewCodec(reg, events.MeshTopics(b.rawPrefix))
	if err := b.codec.Register(ctx); err != nil {
		b.close()
		return nil, err
	}
	return b, nil
}

// waitReady polls /readyz for up to a minute.
func waitReady(ctx context.Context, url string) error {
	deadline := time.Now().Add(time.Minute)
	for time.Now().Before(deadline) {
		resp, err := http.Get(url + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
	return errors.New("the registrar was not ready within a minute")
}

// close stops the registrar and deletes every topic the benchmark created.
func (b *registrarBench) close() {
	if b.stop != nil {
		b.stop()
	}
	if b.kcl == nil {
		var err error
		if b.kcl, err = kgo.NewClient(kgo.SeedBrokers(b.env.Brokers...)); err != nil {
			return
		}
		b.adm = kadm.NewClient(b.kcl)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if topics, err := b.adm.ListTopics(ctx); err == nil {
		var mine []string
		for _, t := range topics.Names() {
			if strings.HasPrefix(t, b.prefix) || strings.HasPrefix(t, b.rawPrefix) {
				mine = append(mine, t)
			}
		}
		for i := 0; i < len(mine); i += 100 {
			_, _ = b.adm.DeleteTopics(ctx, mine[i:min(i+100, len(mine))]...)
		}
	}
	b.kcl.Close()
	_ = os.RemoveAll(b.dir)
}

// run registers n new products with conc workers and returns products/s.
// The descriptors are built before the clock starts.
func (b *registrarBench) run(ctx context.Context, n, conc int, register func(context.Context, *product.Descriptor, []byte) error) (float64, error) {
	ds := make([]*product.Descriptor, n)
	bodies := make([][]byte, n)
	for i := range ds {
		b.seq++
		d, err := product.Parse([]byte(benchDescriptor(b.seq)))
		if err != nil {
			return 0, err
		}
		if err := d.Validate(); err != nil {
			return 0, err
		}
		if bodies[i], err = json.Marshal(d); err != nil {
			return 0, err
		}
		ds[i] = d
	}
	work := make(chan int, n)
	for i := range n {
		work <- i
	}
	close(work)
	var (
		wg       sync.WaitGroup
		firstErr error
		errMu    sync.Mutex
	)
	start := time.Now()
	for range conc {
		wg.Go(func() {
			for i := range work {
				if err := register(ctx, ds[i], bodies[i]); err != nil {
					errMu.Lock()
					if firstErr == nil {
						firstErr = err
					}
					errMu.Unlock()
					return
				}
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	if firstErr != nil {
		return 0, firstErr
	}
	return float64(n) / elapsed.Seconds(), nil
}

func (b *registrarBench) viaRegistrar(ctx context.Context, d *product.Descriptor, body []byte) error {
	res, err := b.client.ApplyRaw(ctx, body, "application/json")
	if err != nil {
		return fmt.Errorf("%s: %w", d.ID(), err)
	}
	if res.Type != events.LifecycleRegistered {
		return fmt.Errorf("%s: answer %+v", d.ID(), res)
	}
	return nil
}

// viaEither registers through the two instances in turn.
func (b *registrarBench) viaEither(ctx context.Context, d *product.Descriptor, body []byte) error {
	c := b.client
	if b.next.Add(1)%2 == 0 {
		c = b.client2
	}
	res, err := c.ApplyRaw(ctx, body, "application/json")
	if err != nil {
		return fmt.Errorf("%s via %s: %w", d.ID(), c.URL, err)
	}
	if res.Type != events.LifecycleRegistered {
		return fmt.Errorf("%s: answer %+v", d.ID(), res)
	}
	return nil
}

// viaRaw does the Kafka work of a registration directly: the port topics
// and their dead-letter topics (one CreateTopics request a port, as the
// registrar sends), with the registrar's partitions and configs, and one acks=all produce of
// the product's lifecycle record (encoded before the clock would be fairer
// still, but encoding is microseconds next to a topic creation).
func (b *registrarBench) viaRaw(ctx context.Context, d *product.Descriptor, _ []byte) error {
	dp := d.ToEvent()
	retention := strconv.Itoa(d.Spec.RetentionDays * 24 * 3600 * 1000)
	for i, port := range dp.OutputPorts {
		topic := b.rawPrefix + port.Topic
		dp.OutputPorts[i].Topic, dp.OutputPorts[i].SchemaSubject = topic, events.Subject(topic)
		cfg := map[string]*string{"retention.ms": kadm.StringPtr(retention), "min.insync.replicas": kadm.StringPtr("1")}
		resps, err := b.adm.CreateTopics(ctx, port.Partitions, 1, cfg, topic, events.PortDeadLetterTopic(topic))
		if err == nil {
			err = resps.Error()
		}
		if err != nil {
			return fmt.Errorf("create %s and its dead-letter topic: %w", topic, err)
		}
	}
	at := time.Now().UTC().Truncate(time.Millisecond)
	rec, err := b.codec.Encode(ctx, &events.ProductLifecycleEvent{EventID: "raw-" + dp.ID, Type: events.LifecycleRegistered, OccurredAt: at, Actor: "bench", Product: dp}, events.DomainSource(dp.Domain))
	if err != nil {
		return err
	}
	return b.kcl.ProduceSync(ctx, rec).FirstErr()
}

// benchDescriptor is a product of two ports with realistic schemas.
func benchDescriptor(i int) string {
	return fmt.Sprintf(`apiVersion: meshbone/v1
kind: DataProduct
metadata:
  domain: bench
  name: product-%d
  owner: bench-team
  description: Benchmark product %d.
  tags: [bench, orders]
spec:
  version: 1.0.0
  sensitivity: internal
  retentionDays: 30
  sla: {freshness: 15m, availability: 99.9}
  quality: [{dimension: completeness, operator: ">=", threshold: 0.98}]
  outputPorts:
    - name: orders
      partitions: 3
      schema: '{"type": "record", "name": "Order", "namespace": "com.example.bench", "doc": "An order.", "fields": [{"name": "order_id", "type": "string"}, {"name": "customer_id", "type": "string"}, {"name": "amount", "type": {"type": "bytes", "logicalType": "decimal", "precision": 12, "scale": 2}}, {"name": "currency", "type": "string", "default": "EUR"}, {"name": "placed_at", "type": {"type": "long", "logicalType": "timestamp-millis"}}, {"name": "coupon", "type": ["null", "string"], "default": null}]}'
    - name: daily
      partitions: 1
      schema: '{"type": "record", "name": "Daily", "namespace": "com.example.bench", "fields": [{"name": "day", "type": {"type": "int", "logicalType": "date"}}, {"name": "orders", "type": "long"}]}'
  security: {encryptionAtRest: true, piiMasked: false, auditLogging: true}
`, i, i)
}
