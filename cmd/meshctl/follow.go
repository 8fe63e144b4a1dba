package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/meshbone/meshbone/internal/kafka/topicread"
	"github.com/meshbone/meshbone/pkg/events"
	"github.com/twmb/franz-go/pkg/kgo"
)

// padded pads each column but the last to its width, for tables printed a
// row at a time that cannot be aligned on their longest cell in advance
// (wider cells push the rest right rather than being cut).
func padded(widths []int, cols []string) string {
	var b strings.Builder
	for i, c := range cols {
		b.WriteString(c)
		if i < len(widths) && i < len(cols)-1 {
			b.WriteString(strings.Repeat(" ", max(widths[i]-len(c), 0)+2))
		}
	}
	return b.String()
}

// followTopic prints the records of topic from its start (read_committed)
// as they arrive, until ctx is done: decode turns a record into the value
// to print (nil: skip it), printed as one JSON object with -o json, else as
// the padded row of row(v) under the padded header.
func followTopic[T any](ctx context.Context, g *globals, kopts []kgo.Opt, topic string, header []string, widths []int,
	decode func(*kgo.Record) *T, row func(*T) []string) error {
	cl, err := kgo.NewClient(append([]kgo.Opt{
		kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()),
	}, kopts...)...)
	if err != nil {
		return err
	}
	defer cl.Close()
	if g.Output != "json" {
		fmt.Fprintln(g.out, padded(widths, header))
	}
	enc := json.NewEncoder(g.out)
	for {
		fetches := cl.PollFetches(ctx)
		if ctx.Err() != nil || fetches.IsClientClosed() {
			return nil
		}
		fetches.EachError(func(t string, p int32, err error) {
			fmt.Fprintf(g.err, "meshctl: fetch %s/%d: %v\n", t, p, err)
		})
		var werr error
		fetches.EachRecord(func(r *kgo.Record) {
			v := decode(r)
			if v == nil || werr != nil {
				return
			}
			if g.Output == "json" {
				werr = enc.Encode(v)
			} else {
				_, werr = fmt.Fprintln(g.out, padded(widths, row(v)))
			}
		})
		if werr != nil {
			return werr
		}
	}
}

// topicTable prints the events of kind T on topic that keep accepts: read
// once to the topic's end (read_committed) as one table, or a JSON array
// with -o json; with follow, as they arrive until ctx is done (followTopic).
// A record that does not decode is reported on stderr and skipped.
func topicTable[T any](ctx context.Context, g *globals, kopts []kgo.Opt, codec *events.Codec, topic string, follow bool,
	header []string, widths []int, keep func(*T) bool, row func(*T) []string) error {
	decode := func(r *kgo.Record) *T {
		ev, err := codec.Decode(ctx, r)
		if err != nil {
			fmt.Fprintf(g.err, "meshctl: skipping %s/%d@%d: %v\n", r.Topic, r.Partition, r.Offset, err)
			return nil
		}
		v, ok := any(ev).(*T)
		if !ok || !keep(v) {
			return nil
		}
		return v
	}
	if follow {
		return followTopic(ctx, g, kopts, topic, header, widths, decode, row)
	}
	rctx, cancel := context.WithTimeout(ctx, govReadTimeout)
	defer cancel()
	vs := []*T{}
	var rows [][]string
	if err := topicread.ReadCommitted(rctx, kopts, topic, func(r *kgo.Record) {
		if v := decode(r); v != nil {
			vs = append(vs, v)
			rows = append(rows, row(v))
		}
	}); err != nil {
		return err
	}
	return g.print(vs, header, rows)
}
