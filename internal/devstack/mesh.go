package devstack

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/meshbone/meshbone/examples"
	"github.com/meshbone/meshbone/internal/governor"
	"github.com/meshbone/meshbone/internal/indexer"
	"github.com/meshbone/meshbone/internal/kafka"
	"github.com/meshbone/meshbone/internal/monitor"
	"github.com/meshbone/meshbone/internal/policy"
	"github.com/meshbone/meshbone/internal/registrar"
)

// Defaults of the dev stack, the ports each service has on its own.
const (
	DefaultDataDir       = ".meshbone"
	DefaultKafkaPort     = 9092
	DefaultRegistryPort  = 8081
	DefaultRegistrarAddr = "127.0.0.1:8090"
	DefaultGovernorAddr  = "127.0.0.1:8091"
	DefaultIndexerAddr   = "127.0.0.1:8080"
	DefaultMonitorAddr   = "127.0.0.1:8092"
	DefaultPolicies      = "policies"
	// ShutdownTimeout bounds a clean stop.
	ShutdownTimeout = 20 * time.Second
)

// Options configure the dev stack.
type Options struct {
	DataDir       string // everything the stack keeps: broker data, the view, tokens
	Fresh         bool   // wipe DataDir first
	Examples      bool   // load the example mesh on first start
	Services      bool   // run the registrar, governor, indexer and monitor in-process (else only Kafka and the registry)
	KafkaPort     int
	RegistryPort  int
	RegistrarAddr string
	GovernorAddr  string
	IndexerAddr   string
	MonitorAddr   string
	Policies      string // policy root (<dir>/global, <dir>/domains)
}

// DefaultOptions returns the standard dev stack.
func DefaultOptions() Options {
	return Options{
		DataDir: DefaultDataDir, Examples: true, Services: true,
		KafkaPort: DefaultKafkaPort, RegistryPort: DefaultRegistryPort,
		RegistrarAddr: DefaultRegistrarAddr, GovernorAddr: DefaultGovernorAddr, IndexerAddr: DefaultIndexerAddr,
		MonitorAddr: DefaultMonitorAddr,
		Policies:    DefaultPolicies,
	}
}

// Endpoints is what a running stack prints and tests connect to.
type Endpoints struct {
	Kafka      string
	Registry   string
	Registrar  string
	Governor   string
	Indexer    string
	Monitor    string
	TokensFile string // plain dev tokens, as shell variables
	DataDir    string
}

// Paths inside the data directory.
const (
	kafkaDir        = "kafka"
	indexerDB       = "indexer.db"
	hashedTokens    = "tokens.yaml"
	TokensEnvFile   = "tokens.env"
	examplesMarker  = "examples-loaded"
	governanceToken = "governance"
)

// Run starts the stack, calls ready once every part answers (and the
// examples are loaded), and runs until ctx is done; then it stops everything
// within ShutdownTimeout. Progress goes to progress.
func Run(ctx context.Context, o Options, log *zap.Logger, progress io.Writer, ready func(Endpoints)) error {
	say := func(format string, args ...any) { fmt.Fprintf(progress, format+"\n", args...) }
	if o.Fresh {
		if err := os.RemoveAll(o.DataDir); err != nil {
			return fmt.Errorf("--fresh: %w", err)
		}
	}
	if err := os.MkdirAll(o.DataDir, 0o755); err != nil {
		return err
	}
	ep := Endpoints{DataDir: o.DataDir, TokensFile: filepath.Join(o.DataDir, TokensEnvFile)}

	broker, err := StartBroker(filepath.Join(o.DataDir, kafkaDir), o.KafkaPort)
	if err != nil {
		return err
	}
	defer broker.Close()
	ep.Kafka = strings.Join(broker.Addrs(), ",")
	reg, err := StartRegistry(ctx, broker.Addrs(), net.JoinHostPort("127.0.0.1", strconv.Itoa(o.RegistryPort)))
	if err != nil {
		return err
	}
	defer reg.Close()
	ep.Registry = reg.URL()
	say("kafka %s and schema registry %s up (%d schema changes replayed)", ep.Kafka, ep.Registry, reg.Replayed)

	tokens, err := devTokens(o.DataDir)
	if err != nil {
		return err
	}
	if !o.Services {
		ready(ep)
		<-ctx.Done()
		return nil
	}

	kcfg := kafka.DefaultConfig()
	kcfg.Brokers, kcfg.RegistryURL = broker.Addrs(), reg.URL()

	ropts := registrar.DefaultOptions()
	ropts.Kafka, ropts.Listen, ropts.TokenFile = kcfg, o.RegistrarAddr, filepath.Join(o.DataDir, hashedTokens)
	reggy, err := registrar.New(ropts, log.Named("registrar"))
	if err != nil {
		return err
	}
	gopts := governor.DefaultOptions()
	gopts.Kafka, gopts.Listen, gopts.Policies = kcfg, o.GovernorAddr, policy.RootDirs(o.Policies)
	gov, err := governor.New(gopts, log.Named("governor"))
	if err != nil {
		return err
	}
	ix, err := indexer.New(indexer.Options{Kafka: kcfg, DB: filepath.Join(o.DataDir, indexerDB), Listen: o.IndexerAddr, Registrar: reggy.URL()}, log.Named("indexer"))
	if err != nil {
		return err
	}
	mopts := monitor.DefaultOptions()
	mopts.Kafka, mopts.Listen = kcfg, o.MonitorAddr
	mon, err := monitor.New(mopts, log.Named("monitor"))
	if err != nil {
		return err
	}
	ep.Registrar, ep.Governor, ep.Indexer, ep.Monitor = reggy.URL(), gov.URL(), ix.URL(), mon.URL()

	runCtx, stop := context.WithCancel(context.WithoutCancel(ctx))
	defer stop()
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for name, run := range map[string]func(context.Context) error{"registrar": reggy.Run, "governor": gov.Run, "indexer": ix.Run, "monitor": mon.Run} {
		wg.Go(func() {
			if err := run(runCtx); err != nil && runCtx.Err() == nil {
				errs <- fmt.Errorf("%s: %w", name, err)
			}
		})
	}
	shutdown := func() {
		stop()
		done := make(chan struct{})
		go func() { wg.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(ShutdownTimeout):
			say("services did not stop within %s", ShutdownTimeout)
		}
	}
	defer shutdown()

	if err := waitReady(ctx, errs, ep.Registrar, ep.Governor, ep.Indexer, ep.Monitor); err != nil {
		return err
	}
	say("registrar %s, governor %s, indexer %s, monitor %s ready", ep.Registrar, ep.Governor, ep.Indexer, ep.Monitor)
	if o.Examples {
		if err := loadExamplesOnce(ctx, o.DataDir, ep, tokens, say); err != nil {
			return fmt.Errorf("load the example mesh: %w", err)
		}
	}
	ready(ep)
	select {
	case <-ctx.Done():
		say("stopping")
		return nil
	case err := <-errs:
		return err
	}
}

// waitReady polls each /readyz until it answers 200, a service fails, or ctx
// is done.
func waitReady(ctx context.Context, errs <-chan error, urls ...string) error {
	for _, u := range urls {
		for {
			if err := probe(ctx, u+"/readyz"); err == nil {
				break
			}
			select {
			case err := <-errs:
				return err
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(100 * time.Millisecond):
			}
		}
	}
	return nil
}

// devTokens returns the dev tokens by principal (one per example domain and
// one for governance), creating them and both token files on first start.
func devTokens(dir string) (map[string]string, error) {
	envPath := filepath.Join(dir, TokensEnvFile)
	if b, err := os.ReadFile(envPath); err == nil {
		return parseTokensEnv(b)
	} else if !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	descs, err := examples.Descriptors()
	if err != nil {
		return nil, err
	}
	domains := []string{}
	for _, d := range descs {
		if !slices.Contains(domains, d.Metadata.Domain) {
			domains = append(domains, d.Metadata.Domain)
		}
	}
	slices.Sort(domains)
	tokens := map[string]string{}
	var hashed []registrar.Token
	var env strings.Builder
	env.WriteString("# meshctl dev tokens (plain; the registrar holds only their hashes in tokens.yaml).\n")
	env.WriteString("# Use one with: export MESHBONE_TOKEN=$MESHBONE_TOKEN_SALES\n")
	for _, who := range append(domains, governanceToken) {
		tok, err := registrar.NewToken()
		if err != nil {
			return nil, err
		}
		tokens[who] = tok
		t := registrar.Token{SHA256: registrar.HashToken(tok), Principal: who + "-dev", Domain: who, Role: registrar.RoleDomainOwner}
		if who == governanceToken {
			t.Domain, t.Role = "", registrar.RoleGovernance
		}
		hashed = append(hashed, t)
		fmt.Fprintf(&env, "MESHBONE_TOKEN_%s=%s\n", strings.ToUpper(strings.ReplaceAll(who, "-", "_")), tok)
	}
	if err := registrar.WriteTokenFile(filepath.Join(dir, hashedTokens), hashed); err != nil {
		return nil, err
	}
	if err := os.WriteFile(envPath, []byte(env.String()), 0o600); err != nil {
		return nil, err
	}
	return tokens, nil
}

func parseTokensEnv(b []byte) (map[string]string, error) {
	tokens := map[string]string{}
	for _, line := range strings.Split(string(b), "\n") {
		k, v, ok := strings.Cut(strings.TrimSpace(line), "=")
		name, isToken := strings.CutPrefix(k, "MESHBONE_TOKEN_")
		if !ok || !isToken || strings.HasPrefix(line, "#") {
			continue
		}
		tokens[strings.ToLower(strings.ReplaceAll(name, "_", "-"))] = v
	}
	if len(tokens) == 0 {
		return nil, fmt.Errorf("%s holds no MESHBONE_TOKEN_* lines; delete it to make new tokens", TokensEnvFile)
	}
	return tokens, nil
}
