package main

// Governance commands: follow violations and read compliance (from Kafka,
// read_committed), check policy files and try policies offline against
// recorded events.

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/meshbone/meshbone/internal/governor"
	"github.com/meshbone/meshbone/internal/kafka"
	"github.com/meshbone/meshbone/internal/policy"
	"github.com/meshbone/meshbone/pkg/events"
)

// govReadTimeout bounds reading a topic to its end.
const govReadTimeout = 2 * time.Minute

// kafkaClients returns the franz-go options and the codec of the configured
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

var violationHeader = []string{"TIME", "PRODUCT", "POLICY", "SEVERITY", "STATUS", "MESSAGE"}

func violationRow(v *events.PolicyViolation) []string {
	return []string{v.DetectedAt.UTC().Format(time.RFC3339), v.ProductID, v.PolicyID, string(v.Severity), string(v.Status), strings.Join(strings.Fields(v.Message), " ")}
}

// streamWidths are the column widths of violations printed as they arrive,
// when a table cannot be aligned on its longest cell in advance.
var streamWidths = []int{20, 28, 20, 8, 8}

// streamRow pads each column but the last to its stream width (wider cells
// push the rest right rather than being cut).
func streamRow(cols []string) string {
	var b strings.Builder
	for i, c := range cols {
		b.WriteString(c)
		if i < len(streamWidths) && i < len(cols)-1 {
			b.WriteString(strings.Repeat(" ", max(streamWidths[i]-len(c), 0)+2))
		}
	}
	return b.String()
}

func violationsCmd(g *globals) *cobra.Command {
	var (
		domain string
		follow bool
	)
	cmd := &cobra.Command{
		Use:   "violations",
		Short: "print policy violations (read_committed, from the start of the topic)",
		Long: `Print the governor's policy violations, OPEN and RESOLVED, read from
mesh.governance.violations.v1 with read_committed isolation from the start.
Without --follow it stops at the end of the topic; with --follow it prints
new violations as they arrive until interrupted.`,
		Example: `  meshctl violations --domain sales
  meshctl violations --follow -o json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			kopts, codec, err := g.kafkaCodec()
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			topic := codec.Topics().Violations
			decode := func(r *kgo.Record) *events.PolicyViolation {
				ev, err := codec.Decode(ctx, r)
				if err != nil {
					fmt.Fprintf(g.err, "meshctl: skipping %s/%d@%d: %v\n", r.Topic, r.Partition, r.Offset, err)
					return nil
				}
				v, ok := ev.(*events.PolicyViolation)
				if !ok || (domain != "" && v.Domain != domain) {
					return nil
				}
				return v
			}
			if !follow {
				rctx, cancel := context.WithTimeout(ctx, govReadTimeout)
				defer cancel()
				var vs []*events.PolicyViolation
				var rows [][]string
				if err := kafka.ReadCommitted(rctx, kopts, topic, func(r *kgo.Record) {
					if v := decode(r); v != nil {
						vs = append(vs, v)
						rows = append(rows, violationRow(v))
					}
				}); err != nil {
					return err
				}
				if vs == nil {
					vs = []*events.PolicyViolation{}
				}
				return g.print(vs, violationHeader, rows)
			}
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
				fmt.Fprintln(g.out, streamRow(violationHeader))
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
						_, werr = fmt.Fprintln(g.out, streamRow(violationRow(v)))
					}
				})
				if werr != nil {
					return werr
				}
			}
		},
	}
	cmd.Flags().StringVar(&domain, "domain", "", "only violations of this domain's products")
	cmd.Flags().BoolVarP(&follow, "follow", "f", false, "keep printing new violations until interrupted")
	return cmd
}

func complianceCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "compliance PRODUCT-ID",
		Short: "print a product's compliance status and open violations",
		Long: `Print a product's latest compliance status, as the governor last
published it on the compacted mesh.governance.compliance.v1 (read_committed).`,
		Example: `  meshctl compliance sales.customer-orders`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			kopts, codec, err := g.kafkaCodec()
			if err != nil {
				return err
			}
			id := args[0]
			ctx, cancel := context.WithTimeout(cmd.Context(), govReadTimeout)
			defer cancel()
			var last *events.ComplianceStatus
			var decodeErr error
			if err := kafka.ReadCommitted(ctx, kopts, codec.Topics().Compliance, func(r *kgo.Record) {
				if string(r.Key) != id {
					return
				}
				ev, err := codec.Decode(ctx, r)
				if err != nil {
					decodeErr = err
					return
				}
				if c, ok := ev.(*events.ComplianceStatus); ok {
					last = c
				}
			}); err != nil {
				return err
			}
			if last == nil {
				if decodeErr != nil {
					return fmt.Errorf("no readable compliance status for %s: %w", id, decodeErr)
				}
				return fmt.Errorf("no compliance status for %s: the governor has not judged it (or the id is wrong)", id)
			}
			if g.Output == "json" {
				return g.printJSON(last)
			}
			fmt.Fprintf(g.out, "product:   %s\nversion:   %s\nstatus:    %s\nevaluated: %s\n", last.ProductID, last.ProductVersion, last.Status, last.EvaluatedAt.UTC().Format(time.RFC3339))
			if len(last.OpenViolations) == 0 {
				fmt.Fprintln(g.out, "\nno open violations")
				return nil
			}
			fmt.Fprintln(g.out)
			rows := make([][]string, 0, len(last.OpenViolations))
			for _, o := range last.OpenViolations {
				rows = append(rows, []string{o.PolicyID, string(o.Severity), o.ViolationID, strings.Join(strings.Fields(o.Message), " ")})
			}
			return g.table([]string{"POLICY", "SEVERITY", "VIOLATION", "MESSAGE"}, rows)
		},
	}
}

func policyCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "policy",
		Short: "check policy files and try them on recorded events",
	}
	cmd.AddCommand(policyCheckCmd(g), policyTestCmd(g))
	return cmd
}

func policyCheckCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "check DIR",
		Short: "load and compile the policies under DIR; report every problem",
		Long: `Load the policies under DIR as the governor would: DIR/global/*.yaml and
DIR/domains/<domain>/*.yaml (or, when DIR has neither, DIR/*.yaml as global
policies). Every problem is reported with its file, line, policy id and, for
expressions, the position in the expression; the exit status is 1 if there
is any.`,
		Example: `  meshctl policy check policies/`,
		Args:    cobra.ExactArgs(1),
		RunE: func(_ *cobra.Command, args []string) error {
			set, err := policy.Load(policy.RootDirs(args[0]))
			if err != nil {
				fmt.Fprintln(g.err, err)
				return exitError(1)
			}
			rows := make([][]string, 0, set.Len())
			type row struct {
				ID, Scope, Domain, Severity, On, Version, File string
			}
			var list []row
			for _, p := range set.Policies() {
				on := make([]string, len(p.On))
				for i, t := range p.On {
					on[i] = string(t)
				}
				r := row{p.ID, string(p.Scope), p.Domain, string(p.Severity), strings.Join(on, ","), p.Version, p.File}
				list = append(list, r)
				rows = append(rows, []string{r.ID, r.Scope, govDash(r.Domain), r.Severity, r.On, r.Version})
			}
			if g.Output == "json" {
				return g.printJSON(list)
			}
			if err := g.table([]string{"POLICY", "SCOPE", "DOMAIN", "SEVERITY", "ON", "VERSION"}, rows); err != nil {
				return err
			}
			fmt.Fprintf(g.out, "\n%d policies OK (digest %s)\n", set.Len(), set.Digest())
			return nil
		},
	}
}

func govDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// recordedEvent is one line of a policy test file.
type recordedEvent struct {
	// Kind is lifecycle, quality or tick (a freshness check).
	Kind string `json:"kind"`
	// Source is the CloudEvents source; default /domains/<the product's domain>.
	Source string `json:"source,omitempty"`
	// At is when the event is judged; default the event's own time
	// (occurred_at, observed_at). Required for a tick.
	At *time.Time `json:"at,omitempty"`
	// Event is the ProductLifecycleEvent or QualityEvent, as JSON with the
	// Avro field names.
	Event json.RawMessage `json:"event,omitempty"`
}

func policyTestCmd(g *globals) *cobra.Command {
	var file string
	cmd := &cobra.Command{
		Use:   "test DIR --events FILE",
		Short: "judge recorded events with the policies under DIR, offline",
		Long: `Judge recorded events with the policies under DIR (laid out as for
"policy check") exactly as the governor would, without Kafka, and print the
violations that would be raised and resolved: what would this new policy
have flagged?

FILE holds one JSON object per line ("-" reads standard input; blank lines
and lines starting with # are skipped):

  {"kind": "lifecycle", "event": {<ProductLifecycleEvent>}, "source": "/domains/sales"}
  {"kind": "quality",   "event": {<QualityEvent>}}
  {"kind": "tick",      "at": "2026-03-01T13:00:00Z"}

Events use the Avro field names (event_id, type, occurred_at, product {id,
domain, ...}; product_id, data_watermark, checks [...]). "source" defaults to
/domains/<the product's domain>; "at", the time of judging, defaults to the
event's own time. A tick runs the freshness policies over every product.`,
		Example: `  meshctl policy test policies/ --events recorded.jsonl`,
		Args:    cobra.ExactArgs(1),
		RunE: func(_ *cobra.Command, args []string) error {
			if file == "" {
				return errors.New("--events: a file of recorded events is required")
			}
			set, err := policy.Load(policy.RootDirs(args[0]))
			if err != nil {
				fmt.Fprintln(g.err, err)
				return exitError(1)
			}
			var in io.Reader = os.Stdin
			if file != "-" {
				f, err := os.Open(file)
				if err != nil {
					return err
				}
				defer f.Close()
				in = f
			}
			vs, err := judgeRecorded(set, in, file)
			if err != nil {
				return err
			}
			if g.Output == "json" {
				return g.printJSON(vs)
			}
			rows := make([][]string, 0, len(vs))
			for _, v := range vs {
				rows = append(rows, append([]string{fmt.Sprint(v.Line)}, violationRow(&v.Violation)[1:]...))
			}
			if err := g.table([]string{"LINE", "PRODUCT", "POLICY", "SEVERITY", "STATUS", "MESSAGE"}, rows); err != nil {
				return err
			}
			fmt.Fprintf(g.out, "\n%d violation records from %d policies\n", len(vs), set.Len())
			return nil
		},
	}
	cmd.Flags().StringVar(&file, "events", "", "JSON lines of recorded events (- for standard input)")
	return cmd
}

// judgedViolation is a violation record and the line of the event that
// raised or resolved it.
type judgedViolation struct {
	Line      int                    `json:"line"`
	Violation events.PolicyViolation `json:"violation"`
}

// judgeRecorded feeds recorded events through a governor engine.
func judgeRecorded(set *policy.Set, in io.Reader, name string) ([]judgedViolation, error) {
	e := governor.NewEngine(set)
	out := []judgedViolation{}
	sc := bufio.NewScanner(in)
	sc.Buffer(make([]byte, 0, 64*1024), 16<<20)
	line := 0
	for sc.Scan() {
		line++
		text := strings.TrimSpace(sc.Text())
		if text == "" || strings.HasPrefix(text, "#") {
			continue
		}
		at := fmt.Sprintf("%s:%d", name, line)
		var rec recordedEvent
		dec := json.NewDecoder(strings.NewReader(text))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&rec); err != nil {
			return nil, fmt.Errorf("%s: %w", at, err)
		}
		src := governor.Source{Topic: "(recorded)", Offset: int64(line)}
		var b *governor.Batch
		switch rec.Kind {
		case "lifecycle":
			var ev events.ProductLifecycleEvent
			if err := strictJSON(rec.Event, &ev); err != nil {
				return nil, fmt.Errorf("%s: event: %w", at, err)
			}
			if err := ev.Validate(); err != nil {
				return nil, fmt.Errorf("%s: %w", at, err)
			}
			b = e.Begin(orTime(rec.At, ev.OccurredAt))
			b.Lifecycle(&ev, recordedCE(&ev, rec.Source), src)
		case "quality":
			var ev events.QualityEvent
			if err := strictJSON(rec.Event, &ev); err != nil {
				return nil, fmt.Errorf("%s: event: %w", at, err)
			}
			if err := ev.Validate(); err != nil {
				return nil, fmt.Errorf("%s: %w", at, err)
			}
			b = e.Begin(orTime(rec.At, ev.ObservedAt))
			b.Quality(&ev, recordedCE(&ev, rec.Source), src)
		case "tick":
			if rec.At == nil {
				return nil, fmt.Errorf("%s: a tick needs \"at\"", at)
			}
			b = e.Begin(*rec.At)
			b.Freshness()
		default:
			return nil, fmt.Errorf("%s: kind %q is not lifecycle, quality or tick", at, rec.Kind)
		}
		for _, v := range b.Violations {
			out = append(out, judgedViolation{Line: line, Violation: *v})
		}
		b.Commit()
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return out, nil
}

func strictJSON(data json.RawMessage, v any) error {
	if len(data) == 0 {
		return errors.New("is missing")
	}
	dec := json.NewDecoder(strings.NewReader(string(data)))
	dec.DisallowUnknownFields()
	return dec.Decode(v)
}

func orTime(t *time.Time, def time.Time) time.Time {
	if t != nil {
		return *t
	}
	return def
}

func recordedCE(ev events.Event, source string) events.CloudEvent {
	if source == "" {
		source = events.DomainSource(policy.DomainOf(ev.Key()))
	}
	return events.CloudEvent{SpecVersion: events.SpecVersion, ID: ev.ID(), Source: source, Type: ev.CEType(), Time: ev.Time(), Subject: ev.Key()}
}
