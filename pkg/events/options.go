package events

import (
	"errors"
	"fmt"
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

// The options come in sets, as franz-go's kgo splits its own: options every
// constructor takes (Opt), options of the Publisher only (PublisherOpt), of
// the Subscriber only (SubscriberOpt) and of the PortWriter only
// (PortWriterOpt, in port_options.go). An Opt is each of the others, so a
// shared option goes to any constructor, while an option of one of them
// given to another does not compile. (kgo's NewClient takes the shared
// interface, so there the producer and consumer options embed it; here each
// constructor takes its own set, so the shared one is the interface that
// embeds them all.)

// Opt is an option of every constructor: NewPublisher, NewSubscriber,
// NewPortReader and NewPortWriter.
type Opt interface {
	PublisherOpt
	SubscriberOpt
	PortWriterOpt
}

// PublisherOpt is an option of NewPublisher: an Opt, KafkaClient, Domain or
// Source.
type PublisherOpt interface {
	apply(*cfg)
	isPublisherOpt()
}

// SubscriberOpt is an option of NewSubscriber: an Opt, FromEnd, or one of
// the options of its consumer group (ConsumerGroup, ConsumeTopics,
// MaxRetries, RetryBackoff, DeadLetterTopic, HandlerErrorsToDLQ).
// NewPortReader takes SubscriberOpts too, and refuses the consumer group's.
type SubscriberOpt interface {
	apply(*cfg)
	isSubscriberOpt()
}

// The option types: each is what the option sets.
type (
	shared   func(*cfg) // an Opt
	pubOpt   func(*cfg) // a PublisherOpt only
	subOpt   func(*cfg) // a SubscriberOpt only, that a PortReader takes too
	groupOpt func(*cfg) // a SubscriberOpt only, about the consumer group
)

func (o shared) apply(c *cfg)   { o(c) }
func (o pubOpt) apply(c *cfg)   { o(c) }
func (o subOpt) apply(c *cfg)   { o(c) }
func (o groupOpt) apply(c *cfg) { o(c) }

func (shared) isPublisherOpt()    {}
func (shared) isSubscriberOpt()   {}
func (pubOpt) isPublisherOpt()    {}
func (subOpt) isSubscriberOpt()   {}
func (groupOpt) isSubscriberOpt() {}

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
	dlq        string
	handlerDLQ bool
	fromEnd    bool
}

// newCfg applies opts over the defaults. It refuses the options that a
// client given ready-made (KafkaClient, Registry) would leave unused.
func newCfg[O interface{ apply(*cfg) }](opts []O) (cfg, error) {
	c := cfg{
		logger:     nopLogger{},
		maxRetries: DefaultMaxRetries,
		backoff:    DefaultRetryBackoff,
		handlerDLQ: true,
	}
	for _, o := range opts {
		o.apply(&c)
	}
	if c.client != nil && (c.seeds != nil || c.kafkaOpts != nil) {
		return c, errors.New("events: KafkaClient is used as it was built: SeedBrokers and KafkaOpts cannot go with it")
	}
	if c.reg != nil && (c.regURLs != nil || c.regOpts != nil) {
		return c, errors.New("events: Registry is used as it was built: RegistryURLs and RegistryOpts cannot go with it")
	}
	if c.seeds == nil {
		c.seeds = []string{DefaultSeedBroker}
	}
	if c.regURLs == nil {
		c.regURLs = []string{DefaultRegistryURL}
	}
	return c, nil
}

// add appends the options of KafkaOpts or RegistryOpts to those given before.
func add[T any](list *[]T, opts []T) { *list = append(*list, opts...) }

// Shared options.

// SeedBrokers sets the Kafka bootstrap addresses; default "localhost:9092".
func SeedBrokers(addrs ...string) Opt { return shared(func(c *cfg) { c.seeds = addrs }) }

// KafkaOpts adds franz-go options (TLS, SASL, linger, ...) to the client the
// SDK builds; default none.
func KafkaOpts(opts ...kgo.Opt) Opt { return shared(func(c *cfg) { add(&c.kafkaOpts, opts) }) }

// RegistryURLs sets the schema registry addresses; default
// "http://localhost:8081".
func RegistryURLs(urls ...string) Opt { return shared(func(c *cfg) { c.regURLs = urls }) }

// RegistryOpts adds options (auth, TLS) to the registry client the SDK
// builds; default none.
func RegistryOpts(opts ...sr.ClientOpt) Opt { return shared(func(c *cfg) { add(&c.regOpts, opts) }) }

// Registry uses an existing schema registry client; default: one built from
// RegistryURLs and RegistryOpts.
func Registry(cl *sr.Client) Opt { return shared(func(c *cfg) { c.reg = cl }) }

// TopicPrefix prefixes every mesh topic name (and so every subject); default
// "" (the standard names).
func TopicPrefix(p string) Opt { return shared(func(c *cfg) { c.prefix = p }) }

// WithLogger sets the logger; default: discard.
func WithLogger(l Logger) Opt { return shared(func(c *cfg) { c.logger = l }) }

// Publisher options.

// KafkaClient makes a Publisher produce through an existing client, which it
// then does not close; default: the Publisher builds and owns its own.
func KafkaClient(cl *kgo.Client) PublisherOpt { return pubOpt(func(c *cfg) { c.client = cl }) }

// Domain sets the CloudEvents source of published events to
// "/domains/<domain>"; default: the domain of each event's product id.
func Domain(d string) PublisherOpt { return pubOpt(func(c *cfg) { c.source = DomainSource(d) }) }

// Source sets the CloudEvents source of published events verbatim (e.g.
// "/services/governor"); default: as Domain.
func Source(uri string) PublisherOpt { return pubOpt(func(c *cfg) { c.source = uri }) }

// Subscriber options.

// FromEnd makes a new consumer group (or a PortReader) start at the end of
// its topics instead of the beginning; default: the beginning.
func FromEnd() SubscriberOpt { return subOpt(func(c *cfg) { c.fromEnd = true }) }

// ConsumerGroup sets the Subscriber's consumer group; no default: a
// Subscriber requires one.
func ConsumerGroup(group string) SubscriberOpt { return groupOpt(func(c *cfg) { c.group = group }) }

// ConsumeTopics sets the topics a Subscriber consumes (full names, see
// Topics); default: the lifecycle and quality topics.
func ConsumeTopics(ts ...string) SubscriberOpt { return groupOpt(func(c *cfg) { c.topics = ts }) }

// MaxRetries sets how many times (0 or more) a Subscriber retries a failing
// handler or an unreachable registry before giving up on a record; default 3.
func MaxRetries(n int) SubscriberOpt { return groupOpt(func(c *cfg) { c.maxRetries = n }) }

// RetryBackoff sets the first wait between retries (0 or more), doubled each
// time; default 200ms.
func RetryBackoff(d time.Duration) SubscriberOpt { return groupOpt(func(c *cfg) { c.backoff = d }) }

// DeadLetterTopic sets where undecodable records go; default the mesh DLQ
// (TopicDLQ with the TopicPrefix).
func DeadLetterTopic(topic string) SubscriberOpt { return groupOpt(func(c *cfg) { c.dlq = topic }) }

// HandlerErrorsToDLQ says whether a record whose handler still fails after
// MaxRetries goes to the DLQ (true) or stops the Subscriber with the error,
// leaving the record uncommitted (false); default true.
func HandlerErrorsToDLQ(b bool) SubscriberOpt { return groupOpt(func(c *cfg) { c.handlerDLQ = b }) }

// checkSubscriber refuses what a Subscriber cannot run with.
func (c *cfg) checkSubscriber() error {
	switch {
	case c.group == "":
		return errors.New("events: a Subscriber needs a ConsumerGroup")
	case c.maxRetries < 0:
		return fmt.Errorf("events: MaxRetries %d: must be 0 or more", c.maxRetries)
	case c.backoff < 0:
		return fmt.Errorf("events: RetryBackoff %s: must be 0 or more", c.backoff)
	}
	return nil
}

// noGroupOpts refuses the options of a consumer group, which a PortReader
// does not have.
func noGroupOpts(opts []SubscriberOpt) error {
	for i, o := range opts {
		if _, ok := o.(groupOpt); ok {
			return fmt.Errorf("events: option %d is a consumer group's (ConsumerGroup, ConsumeTopics, MaxRetries, RetryBackoff, DeadLetterTopic or HandlerErrorsToDLQ): a PortReader has no consumer group", i+1)
		}
	}
	return nil
}

// registry returns the configured registry client, building one if needed.
func (c *cfg) registry() (*sr.Client, error) {
	if c.reg != nil {
		return c.reg, nil
	}
	return sr.NewClient(append([]sr.ClientOpt{sr.URLs(c.regURLs...)}, c.regOpts...)...)
}
