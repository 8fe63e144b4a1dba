package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

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
