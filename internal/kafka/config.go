package kafka

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sasl/plain"
	"github.com/twmb/franz-go/pkg/sasl/scram"
	"github.com/twmb/franz-go/pkg/sr"

	"github.com/meshbone/meshbone/pkg/events"
)

// Defaults of the connection flags.
const (
	DefaultBrokers     = "localhost:9092"
	DefaultRegistryURL = "http://localhost:8081"
)

// SASL mechanisms Config accepts.
const (
	SASLPlain       = "PLAIN"
	SASLScramSHA256 = "SCRAM-SHA-256"
	SASLScramSHA512 = "SCRAM-SHA-512"
)

// Config is how a service reaches Kafka and the schema registry.
type Config struct {
	Brokers     []string
	TopicPrefix string

	TLS           bool
	TLSCAFile     string
	TLSCertFile   string
	TLSKeyFile    string
	TLSSkipVerify bool

	SASLMechanism string // "", PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512
	SASLUser      string
	SASLPassword  string

	RegistryURL      string
	RegistryUser     string
	RegistryPassword string
}

// RegisterFlags adds the connection flags to fs, with c's current values as
// defaults (DefaultConfig gives the standard ones).
func (c *Config) RegisterFlags(fs *flag.FlagSet) {
	fs.Func("kafka-brokers", "Kafka bootstrap addresses, comma-separated (default "+strings.Join(c.Brokers, ",")+")", func(s string) error {
		c.Brokers = splitList(s)
		return nil
	})
	fs.StringVar(&c.TopicPrefix, "topic-prefix", c.TopicPrefix, "prefix of every mesh topic name, to share a cluster between meshes")
	fs.BoolVar(&c.TLS, "kafka-tls", c.TLS, "connect to Kafka over TLS")
	fs.StringVar(&c.TLSCAFile, "kafka-tls-ca", c.TLSCAFile, "PEM file of the CA that signed the brokers' certificates (default: system roots)")
	fs.StringVar(&c.TLSCertFile, "kafka-tls-cert", c.TLSCertFile, "PEM client certificate for mutual TLS")
	fs.StringVar(&c.TLSKeyFile, "kafka-tls-key", c.TLSKeyFile, "PEM client key for mutual TLS")
	fs.BoolVar(&c.TLSSkipVerify, "kafka-tls-insecure", c.TLSSkipVerify, "do not verify the brokers' certificates (testing only)")
	fs.StringVar(&c.SASLMechanism, "kafka-sasl-mechanism", c.SASLMechanism, "SASL mechanism: PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512 (default none)")
	fs.StringVar(&c.SASLUser, "kafka-sasl-user", c.SASLUser, "SASL user name")
	fs.StringVar(&c.SASLPassword, "kafka-sasl-password", c.SASLPassword, "SASL password")
	fs.StringVar(&c.RegistryURL, "registry-url", c.RegistryURL, "schema registry URL")
	fs.StringVar(&c.RegistryUser, "registry-user", c.RegistryUser, "schema registry basic-auth user")
	fs.StringVar(&c.RegistryPassword, "registry-password", c.RegistryPassword, "schema registry basic-auth password")
}

// DefaultConfig returns the standard connection settings.
func DefaultConfig() Config {
	return Config{Brokers: []string{DefaultBrokers}, RegistryURL: DefaultRegistryURL}
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// Validate reports the first setting that cannot work.
func (c Config) Validate() error {
	switch {
	case len(c.Brokers) == 0:
		return errors.New("kafka-brokers: at least one address is required")
	case c.RegistryURL == "":
		return errors.New("registry-url: is required")
	case (c.TLSCertFile == "") != (c.TLSKeyFile == ""):
		return errors.New("kafka-tls-cert and kafka-tls-key: give both or neither")
	}
	switch strings.ToUpper(c.SASLMechanism) {
	case "":
	case SASLPlain, SASLScramSHA256, SASLScramSHA512:
		if c.SASLUser == "" {
			return fmt.Errorf("kafka-sasl-user: is required with SASL mechanism %s", c.SASLMechanism)
		}
	default:
		return fmt.Errorf("kafka-sasl-mechanism: %q is not one of PLAIN, SCRAM-SHA-256, SCRAM-SHA-512", c.SASLMechanism)
	}
	return nil
}

// Topics returns the mesh topic names under the configured prefix.
func (c Config) Topics() events.Topics { return events.MeshTopics(c.TopicPrefix) }

// KgoOpts returns the franz-go options for the brokers, TLS and SASL.
func (c Config) KgoOpts() ([]kgo.Opt, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	opts := []kgo.Opt{kgo.SeedBrokers(c.Brokers...)}
	if c.TLS || c.TLSCAFile != "" || c.TLSCertFile != "" {
		tc, err := c.tlsConfig()
		if err != nil {
			return nil, err
		}
		opts = append(opts, kgo.DialTLSConfig(tc))
	}
	switch strings.ToUpper(c.SASLMechanism) {
	case SASLPlain:
		opts = append(opts, kgo.SASL(plain.Auth{User: c.SASLUser, Pass: c.SASLPassword}.AsMechanism()))
	case SASLScramSHA256:
		opts = append(opts, kgo.SASL(scram.Auth{User: c.SASLUser, Pass: c.SASLPassword}.AsSha256Mechanism()))
	case SASLScramSHA512:
		opts = append(opts, kgo.SASL(scram.Auth{User: c.SASLUser, Pass: c.SASLPassword}.AsSha512Mechanism()))
	}
	return opts, nil
}

func (c Config) tlsConfig() (*tls.Config, error) {
	tc := &tls.Config{MinVersion: tls.VersionTLS12, InsecureSkipVerify: c.TLSSkipVerify} //nolint:gosec // opt-in flag for tests
	if c.TLSCAFile != "" {
		pem, err := os.ReadFile(c.TLSCAFile)
		if err != nil {
			return nil, fmt.Errorf("kafka-tls-ca: %w", err)
		}
		tc.RootCAs = x509.NewCertPool()
		if !tc.RootCAs.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("kafka-tls-ca: %s holds no PEM certificate", c.TLSCAFile)
		}
	}
	if c.TLSCertFile != "" {
		cert, err := tls.LoadX509KeyPair(c.TLSCertFile, c.TLSKeyFile)
		if err != nil {
			return nil, fmt.Errorf("kafka-tls-cert/key: %w", err)
		}
		tc.Certificates = []tls.Certificate{cert}
	}
	return tc, nil
}

// registryHTTP is the HTTP client of every registry client: Go's default
// keeps 2 idle connections per host, which makes concurrent requests dial.
var registryHTTP = &http.Client{
	Timeout:   30 * time.Second,
	Transport: &http.Transport{Proxy: http.ProxyFromEnvironment, MaxIdleConns: 64, MaxIdleConnsPerHost: 32, IdleConnTimeout: 90 * time.Second},
}

// Registry returns a schema registry client.
func (c Config) Registry() (*sr.Client, error) {
	opts := []sr.ClientOpt{sr.URLs(c.RegistryURL), sr.HTTPClient(registryHTTP)}
	if c.RegistryUser != "" {
		opts = append(opts, sr.BasicAuth(c.RegistryUser, c.RegistryPassword))
	}
	return sr.NewClient(opts...)
}

// EventOpts returns the pkg/events options for this configuration, as the
// SubscriberOpts that NewSubscriber and NewPortReader take (each is an Opt).
func (c Config) EventOpts() ([]events.SubscriberOpt, error) {
	kopts, err := c.KgoOpts()
	if err != nil {
		return nil, err
	}
	reg, err := c.Registry()
	if err != nil {
		return nil, err
	}
	return []events.SubscriberOpt{events.SeedBrokers(c.Brokers...), events.KafkaOpts(kopts...), events.Registry(reg), events.TopicPrefix(c.TopicPrefix)}, nil
}
