package policy

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"

	"cel.dev/cel-go/cel"
	"cel.dev/cel-go/common"
	celast "cel.dev/cel-go/common/ast"

	"github.com/meshbone/meshbone/pkg/events"
)

// Policy is one compiled policy. It is immutable once loaded.
type Policy struct {
	ID          string
	Scope       events.PolicyScope // GLOBAL or DOMAIN
	Domain      string             // the owning domain of a DOMAIN policy
	Severity    events.Severity
	Description string
	On          []Trigger
	When        string // CEL source, "" for always
	Require     string // CEL source
	Message     string // template with ${...} CEL placeholders
	File        string // where it was loaded from
	Version     string // short SHA-256 of the canonical content
	// ReadsUpstream says a lifecycle policy reads the product's inputs
	// (the variable upstream, event.upstream_id or event.upstream_change;
	// event.kind alone does not count, as policies use it to tell lifecycle
	// from quality events): it judges re-judgements (TriggerUpstream) too, and
	// the violations it raises on a product with inputs are named by the
	// product's event and the state of those inputs (see the governor).
	ReadsUpstream bool
	// ReadsRun says a policy reads the judged quality run (the variable
	// quality or observations): the governor keeps its verdicts on each run
	// stream (Vars.Stream: the domain's reported runs, the monitor's
	// observed runs of each port) apart.
	ReadsRun bool

	when, require cel.Program
	message       []segment
	messageSize   int // a guess of the rendered message's length, to size it once
}

// segment is a literal part of a message or a compiled placeholder.
type segment struct {
	text string
	prg  cel.Program
}

// Applies reports whether the policy judges events of trigger t.
func (p *Policy) Applies(t Trigger) bool {
	for _, o := range p.On {
		if o == t {
			return true
		}
	}
	return false
}

// compile builds a Policy from a decoded document; errors name the field
// and the position in the expression.
func compile(file string, doc *document, env *cel.Env) (*Policy, []*Error) {
	p := &Policy{
		ID:          doc.ID,
		Scope:       events.ScopeGlobal,
		Domain:      doc.Domain,
		Severity:    events.Severity(strings.ToUpper(doc.Severity)),
		Description: doc.Description,
		When:        strings.TrimSpace(doc.When),
		Require:     strings.TrimSpace(doc.Require),
		Message:     strings.TrimSpace(doc.Message),
		File:        file,
		Version:     version(doc),
	}
	if strings.EqualFold(doc.Scope, "domain") || (doc.Scope == "" && doc.Domain != "") {
		p.Scope = events.ScopeDomain
	}
	for _, t := range doc.On {
		p.On = append(p.On, Trigger(t))
	}
	var errs []*Error
	fail := func(field, msg string) {
		errs = append(errs, &Error{File: file, Line: doc.lines[field], PolicyID: doc.ID, Field: field, Msg: msg})
	}
	prog := func(field, src string) cel.Program {
		prg, reads, msg := compileExpr(env, src, field != "spec.message")
		p.ReadsUpstream = p.ReadsUpstream || reads.upstream
		p.ReadsRun = p.ReadsRun || reads.run
		if msg != "" {
			fail(field, msg)
		}
		return prg
	}
	if p.When != "" {
		p.when = prog("spec.when", p.When)
	}
	p.require = prog("spec.require", p.Require)
	segs, err := splitMessage(p.Message)
	if err != nil {
		fail("spec.message", err.Error())
	}
	for _, s := range segs {
		if !s.expr {
			p.message = append(p.message, segment{text: s.text})
			continue
		}
		prg := prog("spec.message", s.text)
		p.message = append(p.message, segment{prg: prg})
	}
	for _, s := range p.message {
		p.messageSize += len(s.text)
		if s.prg != nil {
			p.messageSize += 32 // an id, a name, a list of a few
		}
	}
	return p, errs
}

// reads says what an expression reads that changes how the governor
// keeps its verdicts (Policy.ReadsUpstream, Policy.ReadsRun).
type reads struct{ upstream, run bool }

// compileExpr compiles and type-checks src, and says what it reads (see
// Policy.ReadsUpstream and Policy.ReadsRun); a problem comes back as
// "<line>:<column>: <message>" per issue, joined by "; ".
func compileExpr(env *cel.Env, src string, wantBool bool) (cel.Program, reads, string) {
	ast, iss := env.Compile(src)
	if iss.Err() != nil {
		return nil, reads{}, issues(iss.Errors())
	}
	if wantBool && ast.OutputType() != cel.BoolType && ast.OutputType() != cel.DynType {
		return nil, reads{}, fmt.Sprintf("1:1: must be a bool expression, this one is %s", ast.OutputType())
	}
	// No run-time cost limit: cost tracking would double the price of
	// every evaluation, and what policies iterate over (a descriptor's
	// lists, a run's checks) is small.
	prg, err := env.Program(ast, cel.EvalOptions(cel.OptOptimize))
	if err != nil {
		return nil, reads{}, err.Error()
	}
	e := ast.NativeRep().Expr()
	return prg, reads{upstream: readsUpstream(e), run: readsRun(e)}, ""
}

// readsRun reports whether e reads the variable quality or observations.
func readsRun(e celast.Expr) bool {
	found := false
	celast.PostOrderVisit(e, celast.NewExprVisitor(func(e celast.Expr) {
		if e.Kind() == celast.IdentKind {
			found = found || e.AsIdent() == VarQuality || e.AsIdent() == VarObservations
		}
	}))
	return found
}

// upstreamFields are the fields of event that tell a re-judgement from the
// product's own event.
var upstreamFields = map[string]bool{"upstream_id": true, "upstream_change": true}

// readsUpstream reports whether e reads the variable upstream or one of
// event's upstreamFields.
func readsUpstream(e celast.Expr) bool {
	found := false
	celast.PostOrderVisit(e, celast.NewExprVisitor(func(e celast.Expr) {
		switch e.Kind() {
		case celast.IdentKind:
			found = found || e.AsIdent() == VarUpstream
		case celast.SelectKind:
			sel := e.AsSelect()
			op := sel.Operand()
			found = found || op.Kind() == celast.IdentKind && op.AsIdent() == VarEvent && upstreamFields[sel.FieldName()]
		}
	}))
	return found
}

func issues(errs []*common.Error) string {
	msgs := make([]string, 0, len(errs))
	for _, e := range errs {
		msgs = append(msgs, fmt.Sprintf("%d:%d: %s", e.Location.Line(), e.Location.Column()+1, e.Message))
	}
	return strings.Join(msgs, "; ")
}

type part struct {
	text string
	expr bool
}

// splitMessage splits a message template into literal text and ${...}
// placeholders. "$$" is a literal "$"; braces inside a placeholder must
// balance (so map literals and strings with braces work).
func splitMessage(s string) ([]part, error) {
	var out []part
	var lit strings.Builder
	for i := 0; i < len(s); i++ {
		switch {
		case s[i] == '$' && i+1 < len(s) && s[i+1] == '$':
			lit.WriteByte('$')
			i++
		case s[i] == '$' && i+1 < len(s) && s[i+1] == '{':
			end, err := closing(s, i+2)
			if err != nil {
				return nil, err
			}
			if lit.Len() > 0 {
				out = append(out, part{text: lit.String()})
				lit.Reset()
			}
			expr := strings.TrimSpace(s[i+2 : end])
			if expr == "" {
				return nil, fmt.Errorf("empty placeholder ${} at offset %d", i)
			}
			out = append(out, part{text: expr, expr: true})
			i = end
		default:
			lit.WriteByte(s[i])
		}
	}
	if lit.Len() > 0 {
		out = append(out, part{text: lit.String()})
	}
	return out, nil
}

// closing returns the index of the "}" that closes a placeholder whose
// content starts at from, skipping quoted strings.
func closing(s string, from int) (int, error) {
	depth := 0
	var quote byte
	for i := from; i < len(s); i++ {
		c := s[i]
		switch {
		case quote != 0:
			if c == '\\' {
				i++
			} else if c == quote {
				quote = 0
			}
		case c == '"' || c == '\'':
			quote = c
		case c == '{':
			depth++
		case c == '}':
			if depth == 0 {
				return i, nil
			}
			depth--
		}
	}
	return 0, fmt.Errorf("placeholder at offset %d has no closing }", from-2)
}

// version is a short SHA-256 of the document's canonical JSON form (enums
// normalised, expressions trimmed), so formatting and comments do not change
// it but any change of meaning does.
func version(doc *document) string {
	c := *doc
	c.Scope = strings.ToLower(c.Scope)
	c.Severity = strings.ToLower(c.Severity)
	c.When = strings.TrimSpace(c.When)
	c.Require = strings.TrimSpace(c.Require)
	c.Message = strings.TrimSpace(c.Message)
	b, _ := json.Marshal(c)
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:6])
}
