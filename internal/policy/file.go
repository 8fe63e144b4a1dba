package policy

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"
)

// APIVersion and Kind are the header every policy file carries.
const (
	APIVersion = "meshbone/v1"
	Kind       = "Policy"
)

// Trigger names the events a policy judges.
type Trigger string

// Triggers.
const (
	// TriggerLifecycle judges each event of mesh.product.lifecycle.v1.
	TriggerLifecycle Trigger = "lifecycle"
	// TriggerQuality judges each event of mesh.product.quality.v1.
	TriggerQuality Trigger = "quality"
	// TriggerFreshness judges every known product on the governor's timer.
	TriggerFreshness Trigger = "freshness"
	// TriggerAccess judges each access request the registrar receives: a
	// request is approved by rule when a global access policy passes and
	// none fails (so a domain's own access policies can only hold more
	// requests for their owner, never approve one).
	TriggerAccess Trigger = "access"
	// TriggerUpstream judges a product again when one of its inputs
	// changes (registered, updated, deprecated, retired), with the
	// lifecycle policies that read its inputs (ReadsUpstream). It is not
	// written in a policy's "on": a lifecycle policy that reads upstream,
	// event.upstream_id or event.upstream_change judges re-judgements too.
	TriggerUpstream Trigger = "upstream"
)

// Triggers lists every trigger.
var Triggers = []Trigger{TriggerLifecycle, TriggerQuality, TriggerFreshness, TriggerAccess}

// maxFileSize bounds a policy file.
const maxFileSize = 1 << 20

var nameRE = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$`)

// document is a policy file as written, with the line of each field.
type document struct {
	APIVersion  string   `json:"apiVersion"`
	Kind        string   `json:"kind"`
	ID          string   `json:"id"`
	Scope       string   `json:"scope"`
	Domain      string   `json:"domain,omitempty"`
	Severity    string   `json:"severity"`
	Description string   `json:"description,omitempty"`
	On          []string `json:"on"`
	When        string   `json:"when,omitempty"`
	Require     string   `json:"require"`
	Message     string   `json:"message"`

	lines map[string]int // field path -> line
}

// fields of each mapping, in the order they are documented.
var (
	topFields  = []string{"apiVersion", "kind", "metadata", "spec"}
	metaFields = []string{"id", "scope", "domain", "severity", "description"}
	specFields = []string{"on", "when", "require", "message"}
)

// decoder collects the problems of one file.
type decoder struct {
	file string
	doc  *document
	errs []*Error
}

func (d *decoder) fail(line int, field, format string, args ...any) {
	d.errs = append(d.errs, &Error{File: d.file, Line: line, PolicyID: d.doc.ID, Field: field, Msg: fmt.Sprintf(format, args...)})
}

// decodeFile strictly decodes a policy file: one YAML document, a mapping
// with exactly the known fields, no aliases, no duplicate keys.
func decodeFile(file string, data []byte) (*document, []*Error) {
	d := &decoder{file: file, doc: &document{lines: map[string]int{}}}
	if len(data) > maxFileSize {
		d.fail(0, "", "file is larger than %d bytes", maxFileSize)
		return nil, d.errs
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var root yaml.Node
	if err := dec.Decode(&root); err != nil {
		if errors.Is(err, io.EOF) {
			d.fail(0, "", "file is empty")
		} else {
			d.fail(0, "", "%s", strings.TrimPrefix(err.Error(), "yaml: "))
		}
		return nil, d.errs
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		d.fail(extra.Line, "", "a policy file holds one YAML document, found a second one")
		return nil, d.errs
	}
	top := &root
	if top.Kind == yaml.DocumentNode && len(top.Content) == 1 {
		top = top.Content[0]
	}
	// metadata first, so later errors can name the policy id.
	var meta, spec *yaml.Node
	d.mapping(top, "", topFields, func(key string, v *yaml.Node) {
		switch key {
		case "apiVersion":
			d.doc.APIVersion = d.scalar(v, key)
		case "kind":
			d.doc.Kind = d.scalar(v, key)
		case "metadata":
			meta = v
		case "spec":
			spec = v
		}
	})
	if meta != nil {
		d.mapping(meta, "metadata", metaFields, func(key string, v *yaml.Node) {
			s := d.scalar(v, "metadata."+key)
			switch key {
			case "id":
				d.doc.ID = s
			case "scope":
				d.doc.Scope = s
			case "domain":
				d.doc.Domain = s
			case "severity":
				d.doc.Severity = s
			case "description":
				d.doc.Description = s
			}
		})
	}
	if spec != nil {
		d.mapping(spec, "spec", specFields, func(key string, v *yaml.Node) {
			switch key {
			case "on":
				d.doc.On = d.list(v, "spec.on")
			case "when":
				d.doc.When = d.scalar(v, "spec.when")
			case "require":
				d.doc.Require = d.scalar(v, "spec.require")
			case "message":
				d.doc.Message = d.scalar(v, "spec.message")
			}
		})
	}
	d.check(top, meta, spec)
	if len(d.errs) > 0 {
		return nil, d.errs
	}
	return d.doc, nil
}

// mapping walks the keys of a mapping node, refusing unknown and duplicate
// keys.
func (d *decoder) mapping(n *yaml.Node, path string, known []string, each func(key string, v *yaml.Node)) {
	if n.Kind == yaml.AliasNode {
		d.fail(n.Line, orTop(path), "YAML aliases are not allowed")
		return
	}
	if n.Kind != yaml.MappingNode {
		d.fail(n.Line, orTop(path), "must be a mapping, not %s", describe(n))
		return
	}
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		key := k.Value
		field := join(path, key)
		switch {
		case k.Kind != yaml.ScalarNode:
			d.fail(k.Line, orTop(path), "keys must be strings")
			continue
		case seen[key]:
			d.fail(k.Line, field, "duplicate key")
			continue
		case !slices.Contains(known, key):
			d.fail(k.Line, field, "unknown field%s (known: %s)", suggest(key, known), strings.Join(known, ", "))
			continue
		}
		seen[key] = true
		d.doc.lines[field] = v.Line
		each(key, v)
	}
}

// scalar returns a scalar node's text.
func (d *decoder) scalar(n *yaml.Node, field string) string {
	switch {
	case n.Kind == yaml.AliasNode:
		d.fail(n.Line, field, "YAML aliases are not allowed")
	case n.Kind != yaml.ScalarNode:
		d.fail(n.Line, field, "must be a string, not %s", describe(n))
	case n.Tag == "!!null":
		return ""
	default:
		return n.Value
	}
	return ""
}

// list returns a sequence of scalars.
func (d *decoder) list(n *yaml.Node, field string) []string {
	if n.Kind != yaml.SequenceNode {
		d.fail(n.Line, field, "must be a list, not %s", describe(n))
		return nil
	}
	out := make([]string, 0, len(n.Content))
	for i, item := range n.Content {
		out = append(out, d.scalar(item, fmt.Sprintf("%s[%d]", field, i)))
	}
	return out
}

// check validates the decoded values (what each field may hold).
func (d *decoder) check(top, meta, spec *yaml.Node) {
	doc, line := d.doc, func(f string) int { return d.doc.lines[f] }
	if doc.APIVersion != APIVersion {
		d.fail(lineOr(line("apiVersion"), top), "apiVersion", "is %q, want %q", doc.APIVersion, APIVersion)
	}
	if doc.Kind != Kind {
		d.fail(lineOr(line("kind"), top), "kind", "is %q, want %q", doc.Kind, Kind)
	}
	if meta == nil {
		d.fail(top.Line, "metadata", "is required")
	} else {
		switch {
		case doc.ID == "":
			d.fail(meta.Line, "metadata.id", "is required")
		case !nameRE.MatchString(doc.ID):
			d.fail(line("metadata.id"), "metadata.id", "%q is not lower-case letters, digits and dashes (at most 63)", doc.ID)
		}
		if doc.Severity == "" {
			d.fail(meta.Line, "metadata.severity", "is required (info, warning or critical)")
		} else if !slices.Contains([]string{"info", "warning", "critical"}, strings.ToLower(doc.Severity)) {
			d.fail(line("metadata.severity"), "metadata.severity", "%q is not info, warning or critical", doc.Severity)
		}
		if s := strings.ToLower(doc.Scope); s != "" && s != "global" && s != "domain" {
			d.fail(line("metadata.scope"), "metadata.scope", "%q is not global or domain", doc.Scope)
		}
		if doc.Domain != "" && !nameRE.MatchString(doc.Domain) {
			d.fail(line("metadata.domain"), "metadata.domain", "%q is not a domain name", doc.Domain)
		}
	}
	if spec == nil {
		d.fail(top.Line, "spec", "is required")
		return
	}
	if len(doc.On) == 0 {
		d.fail(lineOr(line("spec.on"), spec), "spec.on", "must name at least one of lifecycle, quality, freshness, access")
	}
	for i, t := range doc.On {
		if !slices.Contains(Triggers, Trigger(t)) {
			d.fail(line("spec.on"), fmt.Sprintf("spec.on[%d]", i), "%q is not one of lifecycle, quality, freshness, access", t)
		}
	}
	if strings.TrimSpace(doc.Require) == "" {
		d.fail(lineOr(line("spec.require"), spec), "spec.require", "is required (a CEL expression that must be true)")
	}
	if strings.TrimSpace(doc.Message) == "" {
		d.fail(lineOr(line("spec.message"), spec), "spec.message", "is required")
	}
}

func lineOr(l int, n *yaml.Node) int {
	if l > 0 {
		return l
	}
	return n.Line
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func orTop(path string) string {
	if path == "" {
		return "(top level)"
	}
	return path
}

func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		return fmt.Sprintf("the %s %q", strings.TrimPrefix(n.Tag, "!!"), n.Value)
	}
	return "an alias"
}

// suggest returns ` (did you mean "x"?)` for the known name closest to key.
func suggest(key string, known []string) string {
	best, bestD := "", 3
	for _, k := range known {
		if d := editDistance(strings.ToLower(key), strings.ToLower(k)); d < bestD {
			best, bestD = k, d
		}
	}
	if best == "" {
		return ""
	}
	return fmt.Sprintf(" (did you mean %q?)", best)
}

func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur := make([]int, len(b)+1)
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev = cur
	}
	return prev[len(b)]
}
