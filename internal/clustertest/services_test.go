//go:build cluster

package clustertest

import (
	"context"
	"fmt"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/meshbone/meshbone/internal/governor"
	"github.com/meshbone/meshbone/internal/indexer"
	"github.com/meshbone/meshbone/internal/policy"
	"github.com/meshbone/meshbone/internal/store"
	"github.com/meshbone/meshbone/internal/testkit"
	"github.com/meshbone/meshbone/pkg/events"
)

// The outage of TestServicesThroughBrokerOutage: events one every
// outageEvery, for outageBefore before the kill and outageAfter after the
// restart; the broker stays down outageDown, longer than
// the governor's transaction timeout (governor.DefaultTxnTimeout, 30 s).
const (
	outageEvery   = 20 * time.Millisecond
	outageBefore  = 10 * time.Second
	outageDown    = 70 * time.Second
	outageAfter   = 10 * time.Second
	policiesDir   = "../../policies"
	serviceBudget = 4 * time.Minute // how long a service may take to catch up after the restart
)

// running is a service run in the test's process.
type running struct {
	name   string
	logs   *observer.ObservedLogs
	cancel context.CancelFunc
	done   chan struct{}
	mu     sync.Mutex
	err    error
	exited time.Time
}

func (r *running) start(run func(context.Context) error) {
	ctx, cancel := context.WithCancel(context.Background())
	r.cancel, r.done = cancel, make(chan struct{})
	go func() {
		defer close(r.done)
		err := run(ctx)
		r.mu.Lock()
		r.err, r.exited = err, time.Now()
		r.mu.Unlock()
	}()
}

// exitedEarly reports whether the service returned before it was stopped,
// and with what.
func (r *running) exitedEarly() (bool, error, time.Time) {
	select {
	case <-r.done:
		r.mu.Lock()
		defer r.mu.Unlock()
		return true, r.err, r.exited
	default:
		return false, nil, time.Time{}
	}
}

// stop cancels the service and waits (a bounded time) for it to return.
func (r *running) stop(t *testing.T) {
	t.Helper()
	r.cancel()
	select {
	case <-r.done:
	case <-time.After(time.Minute):
		t.Errorf("%s did not stop within a minute of its context's end; its goroutines:\n%s", r.name, stacks("internal/"+r.name))
	}
}

// stacks returns the stacks of the goroutines that have a frame in a
// package path containing pkg.
func stacks(pkg string) string {
	buf := make([]byte, 8<<20)
	buf = buf[:runtime.Stack(buf, true)]
	var out []string
	for _, g := range strings.Split(string(buf), "\n\n") {
		if strings.Contains(g, pkg) {
			out = append(out, g)
		}
	}
	return strings.Join(out, "\n\n")
}

// warnings counts the entries at warn or above logged in [from, to), and
// returns the most frequent message.
func (r *running) warnings(from, to time.Time) (int, string, int) {
	n := 0
	byMsg := map[string]int{}
	for _, e := range r.logs.All() {
		if e.Level >= zapcore.WarnLevel && !e.Time.Before(from) && e.Time.Before(to) {
			n++
			byMsg[e.Message]++
		}
	}
	top, topN := "", 0
	for m, k := range byMsg {
		if k > topN {
			top, topN = m, k
		}
	}
	return n, top, topN
}

// dumpLogs logs the service's last entries (when the test failed).
func (r *running) dumpLogs(t *testing.T, n int) {
	all := r.logs.All()
	for _, e := range all[max(0, len(all)-n):] {
		fields := ""
		for k, v := range e.ContextMap() {
			fields += fmt.Sprintf(" %s=%v", k, v)
		}
		t.Logf("%s log: %s %s %s%s", r.name, e.Time.Format("15:04:05.000"), e.Level, e.Message, fields)
	}
}

// indexerOptions are the options of an indexer on env with a view of its
// own.
func indexerOptions(t *testing.T, env *testkit.Env) indexer.Options {
	o := indexer.DefaultOptions()
	o.Kafka = kafkaConfig(env)
	o.DB = filepath.Join(t.TempDir(), "view.db")
	o.Listen = "127.0.0.1:0"
	return o
}

// startIndexer runs an indexer with options o; the caller stops it.
func startIndexer(t *testing.T, o indexer.Options) (*indexer.Indexer, *running) {
	t.Helper()
	log, logs := newLogger()
	ix, err := indexer.New(o, log)
	if err != nil {
		t.Fatal(err)
	}
	x := &running{name: "indexer", logs: logs}
	x.start(ix.Run)
	return ix, x
}

func newLogger() (*zap.Logger, *observer.ObservedLogs) {
	core, logs := observer.New(zapcore.InfoLevel)
	return zap.New(core), logs
}

// outageProduct is the product of lifecycle event i: a new product each,
// every other one without encryption at rest (a violation).
func outageEvent(i int) *events.ProductLifecycleEvent {
	name := fmt.Sprintf("o%05d", i)
	return &events.ProductLifecycleEvent{
		EventID: "l-" + name, Type: events.LifecycleRegistered, OccurredAt: time.Now().UTC().Truncate(time.Millisecond), Actor: "clustertest",
		Product: events.DataProduct{
			ID: "sales." + name, Name: name, Domain: "sales", OwnerTeam: "sales-team",
			Tags: []string{}, Version: "1.0.0", Sensitivity: events.SensitivityConfidential, RetentionDays: 365,
			QualitySLOs: []events.QualitySLO{{Dimension: events.DimensionCompleteness, Operator: ">=", Threshold: 0.98}},
			OutputPorts: []events.OutputPort{}, Inputs: []string{},
			Security: &events.Security{EncryptionAtRest: i%2 == 0, PIIFields: []string{}, PIIMasked: true, AuditLogging: true},
			Labels:   map[string]string{},
		},
	}
}

// expectedViolations judges evs offline with the same policies and returns
// the violation records a governor must publish: "<id>/<status>" -> 1.
func expectedViolations(t *testing.T, evs []*events.ProductLifecycleEvent) map[string]int {
	t.Helper()
	set, err := policy.Load(policy.RootDirs(policiesDir))
	if err != nil {
		t.Fatal(err)
	}
	e := governor.NewEngine(set)
	want := map[string]int{}
	for _, ev := range evs {
		b := e.Begin(time.Now())
		b.Lifecycle(ev, events.CloudEvent{ID: ev.ID(), Source: events.DomainSource("sales"), Subject: ev.Key()}, governor.Source{})
		for _, v := range b.Violations {
			want[v.ViolationID+"/"+string(v.Status)]++
		}
		b.Commit()
	}
	return want
}

// TestServicesThroughBrokerOutage runs the governor and the indexer while
// lifecycle events arrive at a steady rate, kills the broker that leads the
// most mesh partitions and keeps it down for 70 s, then restarts it. Neither
// service may exit; both catch up; every violation is published exactly
// once; the indexer's view equals a fresh rebuild; warnings during the
// outage stay below one a second.
func TestServicesThroughBrokerOutage(t *testing.T) {
	c := newCluster(t)
	fig := newFigures(t)
	env := c.env

	govLog, govLogs := newLogger()
	gopts := governor.DefaultOptions()
	gopts.Kafka = kafkaConfig(env)
	gopts.Policies = policy.RootDirs(policiesDir)
	gopts.Listen = "127.0.0.1:0"
	gopts.Group = env.Group("governor")
	gopts.PolicyPollInterval = -1
	gopts.Topics = env.Spec
	gov, err := governor.New(gopts, govLog)
	if err != nil {
		t.Fatal(err)
	}
	g := &running{name: "governor", logs: govLogs}
	g.start(gov.Run)

	iopts := indexerOptions(t, env)
	ix, x := startIndexer(t, iopts)
	defer func() {
		if t.Failed() {
			g.dumpLogs(t, 40)
			x.dumpLogs(t, 40)
		}
	}()
	defer g.stop(t)
	defer x.stop(t)

	after := &firstAfter{offsets: map[int32]int64{}}
	opts := []events.PublisherOpt{events.Domain("sales"), events.KafkaOpts(kgo.WithHooks(after))}
	for _, o := range env.EventOpts() {
		opts = append(opts, o)
	}
	pub, err := events.NewPublisher(opts...)
	if err != nil {
		t.Fatal(err)
	}
	defer pub.Close()
	ctx := context.Background()

	// The events go out one every outageEvery from before the kill until
	// after the restart, asynchronously.
	var sent []*events.ProductLifecycleEvent
	var pubMu sync.Mutex
	var pubErr error
	fail := func(err error) {
		if err != nil {
			pubMu.Lock()
			pubErr = err
			pubMu.Unlock()
		}
	}
	stopPub, pubDone := make(chan struct{}), make(chan struct{})
	env.Eventually(gov.Ready, "governor ready")
	go func() {
		defer close(pubDone)
		tick := time.NewTicker(outageEvery)
		defer tick.Stop()
		for {
			select {
			case <-stopPub:
				return
			case <-tick.C:
			}
			pubMu.Lock()
			ev := outageEvent(len(sent))
			sent = append(sent, ev)
			pubMu.Unlock()
			fail(pub.PublishAsync(ctx, ev, fail))
		}
	}()

	time.Sleep(outageBefore)
	lifecycle := env.Topics.Lifecycle
	parts := len(c.endOffsets(lifecycle))
	victim, led := c.leaderOfMost(env.Topics.Events()...)
	pubMu.Lock()
	t.Logf("killing node %d, leader of %d mesh partitions, after %d events", victim, led, len(sent))
	pubMu.Unlock()
	killed := time.Now()
	after.set(killed)
	c.kill(victim)

	// Recovery: from the kill until each service has processed, on every
	// partition of the lifecycle topic, the first event published after the
	// kill (the governor: committed it; the indexer: folded it).
	var wg sync.WaitGroup
	var govRecovered, ixRecovered time.Duration = -1, -1
	wg.Add(2)
	go func() {
		defer wg.Done()
		targets, ok := after.wait(parts, outageDown+serviceBudget)
		if !ok {
			return
		}
		next := map[int32]int64{}
		for p, o := range targets {
			next[p] = o + 1
		}
		if c.waitCommitted(gopts.Group, lifecycle, next, outageDown+serviceBudget) {
			govRecovered = time.Since(killed)
		}
	}()
	go func() {
		defer wg.Done()
		targets, ok := after.wait(parts, outageDown+serviceBudget)
		if !ok {
			return
		}
		wctx, cancel := context.WithTimeout(ctx, outageDown+serviceBudget)
		defer cancel()
		if ix.WaitFor(wctx, map[string]map[int32]int64{lifecycle: targets}) {
			ixRecovered = time.Since(killed)
		}
	}()

	time.Sleep(outageDown)
	restarting := time.Now()
	t.Logf("restarting node %d after %s", victim, restarting.Sub(killed).Round(time.Second))
	c.restart(victim)
	time.Sleep(outageAfter)
	close(stopPub)
	<-pubDone
	fctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	if err := pub.Flush(fctx); err != nil {
		t.Fatalf("flush: %v", err)
	}
	pubMu.Lock()
	if pubErr != nil {
		t.Errorf("publishing: %v", pubErr)
	}
	total := len(sent)
	pubMu.Unlock()
	wg.Wait()

	fig.set("cluster.governor.recovery_ms", govRecovered.Milliseconds())
	fig.set("cluster.indexer.recovery_ms", ixRecovered.Milliseconds())
	for _, r := range []*running{g, x} {
		n, top, topN := r.warnings(killed, restarting)
		fig.set("cluster."+r.name+".outage_warnings", n)
		t.Logf("%s: %d warnings during the %s outage; most often (%d): %q", r.name, n, restarting.Sub(killed).Round(time.Second), topN, top)
		if limit := int(restarting.Sub(killed).Seconds()); n > limit {
			t.Errorf("%s logged %d warnings during a %d s outage: not rate-limited (most often, %d times: %q)", r.name, n, limit, topN, top)
		}
		if early, err, at := r.exitedEarly(); early {
			t.Errorf("%s exited %s after the kill: %v", r.name, at.Sub(killed).Round(time.Millisecond), err)
		}
	}
	if govRecovered < 0 {
		t.Errorf("the governor did not commit what was published before the kill within %s", outageDown+serviceBudget)
	}
	if ixRecovered < 0 {
		t.Errorf("the indexer did not fold what was published before the kill within %s", outageDown+serviceBudget)
	}
	if t.Failed() {
		return
	}

	// Exactly once: the governor catches up with everything and has
	// published each expected violation once.
	if !c.waitCommitted(gopts.Group, lifecycle, c.endOffsets(lifecycle), serviceBudget) {
		t.Fatalf("the governor did not catch up with the %d events within %s", total, serviceBudget)
	}
	g.stop(t)
	want := expectedViolations(t, sent)
	got := map[string]int{}
	for _, r := range c.readAll(env.Topics.Violations) {
		ev, err := pub.Codec().Decode(ctx, r)
		if err != nil {
			t.Fatalf("violation at %d/%d: %v", r.Partition, r.Offset, err)
		}
		v := ev.(*events.PolicyViolation)
		got[v.ViolationID+"/"+string(v.Status)]++
	}
	missing, extra := 0, 0
	for k, n := range want {
		if got[k] != n {
			missing++
			if missing <= 5 {
				t.Errorf("violation %s published %d times, want %d", k, got[k], n)
			}
		}
	}
	for k, n := range got {
		if want[k] == 0 {
			extra++
			if extra <= 5 {
				t.Errorf("violation %s published %d times, want none", k, n)
			}
		}
	}
	t.Logf("%d events, %d violation records expected, %d distinct read back (%d wrong, %d unexpected)", total, len(want), len(got), missing, extra)

	// The indexer's view equals a fresh rebuild over the same records.
	targets := map[string]map[int32]int64{}
	for _, topic := range env.Topics.Events() {
		for tp, ps := range lastOffsets(c.readAll(topic)) {
			targets[tp] = ps
		}
	}
	wctx, cancel2 := context.WithTimeout(ctx, serviceBudget)
	defer cancel2()
	if !ix.WaitFor(wctx, targets) {
		t.Fatalf("the indexer did not fold every mesh record within %s: %+v", serviceBudget, ix.Status())
	}
	x.stop(t)
	ropts := indexerOptions(t, env)
	ropts.Rebuild = true
	rix, err := indexer.New(ropts, zap.NewNop())
	if err != nil {
		t.Fatal(err)
	}
	r := &running{name: "rebuild", logs: nil}
	r.start(rix.Run)
	if !rix.WaitFor(wctx, targets) {
		r.stop(t)
		t.Fatalf("the rebuild did not fold every mesh record within %s", serviceBudget)
	}
	r.stop(t)
	a, _ := digest(t, iopts.DB)
	b, _ := digest(t, ropts.DB)
	if a != b {
		t.Errorf("the indexer's view after the outage differs from a rebuild: digest %s, rebuilt %s", a, b)
	}
}

// firstAfter records, per partition, the offset of the first record
// produced after a moment (the records' client-side timestamps), through the
// client's unbuffered hook.
type firstAfter struct {
	mu      sync.Mutex
	since   time.Time
	offsets map[int32]int64
}

var _ kgo.HookProduceRecordUnbuffered = (*firstAfter)(nil)

func (f *firstAfter) set(since time.Time) {
	f.mu.Lock()
	f.since = since
	f.mu.Unlock()
}

func (f *firstAfter) OnProduceRecordUnbuffered(r *kgo.Record, err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err != nil || f.since.IsZero() || r.Timestamp.Before(f.since) {
		return
	}
	if o, ok := f.offsets[r.Partition]; !ok || r.Offset < o {
		f.offsets[r.Partition] = r.Offset
	}
}

// wait waits (at most d) until n partitions have a record acknowledged,
// and returns their offsets.
func (f *firstAfter) wait(n int, d time.Duration) (map[int32]int64, bool) {
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		f.mu.Lock()
		if len(f.offsets) >= n {
			out := make(map[int32]int64, len(f.offsets))
			for p, o := range f.offsets {
				out[p] = o
			}
			f.mu.Unlock()
			return out, true
		}
		f.mu.Unlock()
		time.Sleep(50 * time.Millisecond)
	}
	return nil, false
}

// waitCommitted waits (at most d) until group has committed at least the
// given offset on every partition of topic.
func (c *cluster) waitCommitted(group, topic string, want map[int32]int64, d time.Duration) bool {
	adm := kadm.NewClient(c.env.Client())
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		offs, err := adm.FetchOffsets(ctx, group)
		cancel()
		if err == nil {
			ok := true
			for p, o := range want {
				if o == 0 {
					continue
				}
				cur, found := offs.Lookup(topic, p)
				if !found || cur.Err != nil || cur.At < o {
					ok = false
					break
				}
			}
			if ok {
				return true
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	return false
}

func digest(t *testing.T, path string) (string, map[string]string) {
	t.Helper()
	s, err := store.Open(context.Background(), path, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	d, per, err := s.Digest(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return d, per
}
