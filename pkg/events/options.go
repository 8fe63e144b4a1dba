package events

import (
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sr"
)

// Defaults of the options below.
const (
	DefaultSeedBroker   = "localhost:9092"
	DefaultRegistryURL  = "http://localhost:8081"
	DefaultMaxRetries   = 3
	DefaultRetryBackoff = 200 * time.Millisecond
)

// Opt configures a Publisher, Subscriber or PortReader. Options that do not
// apply to what is being built are ignored.
type Opt interface{ apply(*cfg) }

type opt func(*cfg)

func (o opt) apply(c *cfg) { o(c) }

type cfg struct {
	seeds      []string
	kafkaOpts  []kgo.Opt
	client     *kgo.Client
	regURLs    []string
	regOpts    []sr.ClientOpt
	reg        *sr.Client
	prefix     string
	source     string
	logger     Logger
	group      string
	topics     []string
	maxRetries int
	backoff    time.Duration
	dlqTopic   string
	handlerDLQ bool
	fromEnd    bool
}

func newCfg(opts []Opt) cfg {
	c := cfg{
		seeds:      []string{DefaultSeedBroker},
		regURLs:    []string{DefaultRegistryURL},
		logger:     nopLogger{},
		maxRetries: DefaultMaxRetries,
		backoff:    DefaultRetryBackoff,
		handlerDLQ: true,
	}
	for _, o := range opts {
		o.apply(&c)
	}
	return c
}

// SeedBrokers sets the Kafka bootstrap addresses; default "localhost:9092".
func SeedBrokers(addrs ...string) Opt { return opt(func(c *cfg) { c.seeds = addrs }) }

// KafkaOpts adds franz-go options (TLS, SASL, linger, ...) to the client the
// SDK builds; default none.
func KafkaOpts(opts ...kgo.Opt) Opt {
	return opt(func(c *cfg) { c.kafkaOpts = append(c.kafkaOpts, opts...) })
}

// KafkaClient makes a Publisher produce through an existing client, which it
// then does not close; default: the Publisher builds and owns its own.
func KafkaClient(cl *kgo.Client) Opt { return opt(func(c *cfg) { c.client = cl }) }

// RegistryURLs sets the schema registry addresses; default
// "http://localhost:8081".
func RegistryURLs(urls ...string) Opt { return opt(func(c *cfg) { c.regURLs = urls }) }

// RegistryOpts adds options (auth, TLS) to the registry client the SDK
// builds; default none.
func RegistryOpts(opts ...sr.ClientOpt) Opt {
	return opt(func(c *cfg) { c.regOpts = append(c.regOpts, opts...) })
}

// Registry uses an existing schema registry client; default: one built from
// RegistryURLs and RegistryOpts.
func Registry(cl *sr.Client) Opt { return opt(func(c *cfg) { c.reg = cl }) }

// TopicPrefix prefixes every mesh topic name (and so every subject); default
// "" (the standard names).
func TopicPrefix(p string) Opt { return opt(func(c *cfg) { c.prefix = p }) }

// Domain sets the CloudEvents source of published events to
// "/domains/<domain>"; default: the domain of each event's product id.
func Domain(domain string) Opt { return opt(func(c *cfg) { c.source = DomainSource(domain) }) }

// Source sets the CloudEvents source of published events verbatim (e.g.
// "/services/governor"); default: as Domain.
func Source(uri string) Opt { return opt(func(c *cfg) { c.source = uri }) }

// WithLogger sets the logger; default: discard.
func WithLogger(l Logger) Opt { return opt(func(c *cfg) { c.logger = l }) }

// ConsumerGroup sets the Subscriber's consumer group; required for a
// Subscriber.
func ConsumerGroup(group string) Opt { return opt(func(c *cfg) { c.group = group }) }

// ConsumeTopics sets the topics a Subscriber consumes (full names, see
// Topics); default: the lifecycle and quality topics.
func ConsumeTopics(topics ...string) Opt { return opt(func(c *cfg) { c.topics = topics }) }

// MaxRetries sets how many times a Subscriber retries a failing handler or an
// unreachable registry before giving up on a record; default 3.
func MaxRetries(n int) Opt { return opt(func(c *cfg) { c.maxRetries = n }) }

// RetryBackoff sets the first wait between retries, doubled each time;
// default 200ms.
func RetryBackoff(d time.Duration) Opt { return opt(func(c *cfg) { c.backoff = d }) }

// DeadLetterTopic sets where undecodable records go; default the mesh DLQ
// (TopicDLQ with the TopicPrefix).
func DeadLetterTopic(topic string) Opt { return opt(func(c *cfg) { c.dlqTopic = topic }) }

// HandlerErrorsToDLQ says whether a record whose handler still fails after
// MaxRetries goes to the DLQ (true, the default) or stops the Subscriber with
// the error, leaving the record uncommitted (false).
func HandlerErrorsToDLQ(b bool) Opt { return opt(func(c *cfg) { c.handlerDLQ = b }) }

// FromEnd makes a new consumer group (or a PortReader) start at the end of
// its topics instead of the beginning; default: the beginning.
func FromEnd() Opt { return opt(func(c *cfg) { c.fromEnd = true }) }

// registry returns the configured registry client, building one if needed.
func (c *cfg) registry() (*sr.Client, error) {
	if c.reg != nil {
		return c.reg, nil
	}
	return sr.NewClient(append([]sr.ClientOpt{sr.URLs(c.regURLs...)}, c.regOpts...)...)
}

// kgoLogger forwards franz-go's log lines to the SDK logger.
type kgoLogger struct{ l Logger }

func (k kgoLogger) Level() kgo.LogLevel { return kgo.LogLevelInfo }

func (k kgoLogger) Log(level kgo.LogLevel, msg string, keyvals ...any) {
	lv := LogLevelInfo
	switch level {
	case kgo.LogLevelError:
		lv = LogLevelError
	case kgo.LogLevelWarn:
		lv = LogLevelWarn
	case kgo.LogLevelDebug:
		lv = LogLevelDebug
	}
	k.l.Log(lv, msg, keyvals...)
}
