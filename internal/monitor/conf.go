package monitor

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/meshbone/meshbone/pkg/events"
	"github.com/meshbone/meshbone/pkg/product"
)

// maxMeasures bounds the columns, rules and unique columns measured on one
// port (each is a bit of a record's observation).
const maxMeasures = 64

// portConf is what the monitor measures on one port topic, built from the
// newest descriptor of its product that lists the port.
type portConf struct {
	Product string
	Version string
	Port    string
	Topic   string
	// cols are the columns whose nulls are counted (completeness), rules
	// the validity rules (by text, compiled once), uniq the columns whose
	// distinct values are counted (uniqueness); each in the order of the
	// descriptor, without repeats.
	cols     []string
	rules    []*events.Rule
	ruleText []string
	uniq     []string
	// series holds the objectives per window length, shortest first.
	series []seriesConf
}

// seriesConf is the objectives of a port measured over windows of one
// length.
type seriesConf struct {
	Window time.Duration
	name   string // Window.String(): the series' key in the state
	objs   []objective
}

// objective is one declared objective and where its measure is.
type objective struct {
	slo  events.QualitySLO
	name string
	idx  int // into cols, rules or uniq, by dimension
}

// key names the series in the state topic.
func (c seriesConf) key() string { return c.name }

// schemaSource gives the Avro schema of a schema id (PortDecoder.Schema).
type schemaSource func(ctx context.Context, id int) (*events.RuleEnv, error)

// portConfs builds the port configurations of a product: one per output port
// that at least one objective names. Problems (a rule that does not compile
// on the port's schema, a dimension the monitor cannot measure) leave the
// objective out and are returned, to be logged.
func portConfs(ctx context.Context, p *events.DataProduct, env schemaSource) ([]*portConf, []error) {
	var out []*portConf
	var probs []error
	for _, port := range p.OutputPorts {
		c := &portConf{Product: p.ID, Version: p.Version, Port: port.Name, Topic: port.Topic}
		var renv *events.RuleEnv
		for _, slo := range p.QualitySLOs {
			if slo.Port == nil || *slo.Port != port.Name {
				continue
			}
			w := product.DefaultWindow
			if slo.Window != nil {
				d, err := time.ParseDuration(*slo.Window)
				if err != nil || d <= 0 {
					probs = append(probs, fmt.Errorf("%s port %s: window %q is not a positive duration", p.ID, port.Name, *slo.Window))
					continue
				}
				w = d
			}
			o := objective{slo: slo}
			col := deref(slo.Column)
			switch slo.Dimension {
			case events.DimensionCompleteness:
				o.idx, o.name = c.measure(&c.cols, col), "completeness:"+col
			case events.DimensionUniqueness:
				o.idx, o.name = c.measure(&c.uniq, col), "uniqueness:"+col
			case events.DimensionVolume:
				o.name = "volume"
			case events.DimensionValidity:
				rule := deref(slo.Rule)
				o.name = "validity:" + rule
				if o.idx = slices.Index(c.ruleText, rule); o.idx < 0 {
					if renv == nil {
						if port.SchemaID == nil {
							probs = append(probs, fmt.Errorf("%s port %s: no schema id, rule %q not measured", p.ID, port.Name, rule))
							continue
						}
						var err error
						if renv, err = env(ctx, int(*port.SchemaID)); err != nil {
							probs = append(probs, fmt.Errorf("%s port %s: rule %q not measured: %w", p.ID, port.Name, rule, err))
							continue
						}
					}
					r, err := renv.Compile(rule)
					if err != nil {
						probs = append(probs, fmt.Errorf("%s port %s: rule %q does not compile: %w", p.ID, port.Name, rule, err))
						continue
					}
					c.rules, c.ruleText = append(c.rules, r), append(c.ruleText, rule)
					o.idx = len(c.rules) - 1
				}
			default:
				probs = append(probs, fmt.Errorf("%s port %s: the monitor does not measure %s objectives", p.ID, port.Name, slo.Dimension))
				continue
			}
			if o.idx >= maxMeasures {
				probs = append(probs, fmt.Errorf("%s port %s: more than %d measures, %s not measured", p.ID, port.Name, maxMeasures, o.name))
				continue
			}
			i := slices.IndexFunc(c.series, func(s seriesConf) bool { return s.Window == w })
			if i < 0 {
				c.series = append(c.series, seriesConf{Window: w, name: w.String()})
				i = len(c.series) - 1
			}
			c.series[i].objs = append(c.series[i].objs, o)
		}
		if len(c.series) > 0 {
			slices.SortFunc(c.series, func(a, b seriesConf) int { return int(a.Window - b.Window) })
			out = append(out, c)
		}
	}
	return out, probs
}

// measure returns the index of name in *list, appending it if new.
func (c *portConf) measure(list *[]string, name string) int {
	if i := slices.Index(*list, name); i >= 0 {
		return i
	}
	*list = append(*list, name)
	return len(*list) - 1
}

// seriesOf returns the series of window length w, or nil.
func (c *portConf) seriesOf(key string) *seriesConf {
	for i := range c.series {
		if c.series[i].key() == key {
			return &c.series[i]
		}
	}
	return nil
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
