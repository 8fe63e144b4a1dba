package main

import (
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/meshbone/meshbone/pkg/events"
)

// govReadTimeout bounds reading a topic to its end.
const govReadTimeout = 2 * time.Minute

// kafkaCodec returns the franz-go options and the codec of the configured
// mesh.
func (g *globals) kafkaCodec() ([]kgo.Opt, *events.Codec, error) {
	kopts, err := g.Kafka.KgoOpts()
	if err != nil {
		return nil, nil, err
	}
	reg, err := g.Kafka.Registry()
	if err != nil {
		return nil, nil, err
	}
	return kopts, events.NewCodec(reg, g.Kafka.Topics()), nil
}
