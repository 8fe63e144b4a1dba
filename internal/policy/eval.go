package policy

import (
	"fmt"
	"strings"

	"cel.dev/cel-go/cel"
	"cel.dev/cel-go/common/types"
	"cel.dev/cel-go/common/types/ref"
	"cel.dev/cel-go/common/types/traits"
)

// Outcome is what a policy made of an event.
type Outcome int

// Outcomes.
const (
	// Skipped: the policy's when was false; it does not apply.
	Skipped Outcome = iota
	// Pass: require held.
	Pass
	// Fail: require was false; Decision.Message says why.
	Fail
	// Errored: an expression failed at run time; Decision.Err says how.
	Errored
)

func (o Outcome) String() string {
	switch o {
	case Skipped:
		return "skipped"
	case Pass:
		return "pass"
	case Fail:
		return "fail"
	}
	return "error"
}

// Decision is one policy's judgement of one event.
type Decision struct {
	Policy  *Policy
	Outcome Outcome
	Message string // the rendered message, for Fail
	Err     error  // for Errored
}

// Evaluate judges the event in vars with every policy of its trigger that
// applies to the product's domain.
func (s *Set) Evaluate(vars *Vars) []Decision {
	ps := s.For(vars.Domain, vars.Trigger)
	out := make([]Decision, 0, len(ps))
	for _, p := range ps {
		out = append(out, p.Evaluate(vars))
	}
	return out
}

// AppendDecisions is Evaluate appending to dst, with the messages of Fail
// decisions left unrendered: a caller that publishes only some failures
// renders those (Policy.Render), not every one.
func (s *Set) AppendDecisions(dst []Decision, vars *Vars) []Decision {
	for _, p := range s.For(vars.Domain, vars.Trigger) {
		dst = append(dst, p.decide(vars))
	}
	return dst
}

// Evaluate judges the event in vars. It never panics on a bad expression:
// a run-time error is an Errored decision.
func (p *Policy) Evaluate(vars *Vars) Decision {
	d := p.decide(vars)
	if d.Outcome == Fail {
		d.Message = p.Render(vars)
	}
	return d
}

// decide is Evaluate without the message.
func (p *Policy) decide(vars *Vars) Decision {
	d := Decision{Policy: p}
	if p.when != nil {
		ok, err := evalBool(p.when, vars)
		if err != nil {
			d.Outcome, d.Err = Errored, fmt.Errorf("when: %w", err)
			return d
		}
		if !ok {
			d.Outcome = Skipped
			return d
		}
	}
	ok, err := evalBool(p.require, vars)
	switch {
	case err != nil:
		d.Outcome, d.Err = Errored, fmt.Errorf("require: %w", err)
	case ok:
		d.Outcome = Pass
	default:
		d.Outcome = Fail
	}
	return d
}

func evalBool(prg cel.Program, vars *Vars) (bool, error) {
	out, _, err := prg.Eval(&vars.act)
	if err != nil {
		return false, err
	}
	b, ok := out.(types.Bool)
	if !ok {
		return false, fmt.Errorf("result is %s, not bool", out.Type())
	}
	return bool(b), nil
}

// Render returns the policy's message for the event in vars (what a Fail
// decision of Evaluate says): its placeholders filled, one that fails
// showing its error in angle brackets.
func (p *Policy) Render(vars *Vars) string {
	var b strings.Builder
	b.Grow(p.messageSize)
	for _, s := range p.message {
		if s.prg == nil {
			b.WriteString(s.text)
			continue
		}
		out, _, err := s.prg.Eval(&vars.act)
		if err != nil {
			fmt.Fprintf(&b, "<%v>", err)
			continue
		}
		b.WriteString(format(out))
	}
	return b.String()
}

// format renders a CEL value for a message: strings as they are, lists
// joined with ", ", timestamps in RFC 3339, the rest as CEL prints them.
func format(v ref.Val) string {
	switch t := v.(type) {
	case types.String:
		return string(t)
	case types.Timestamp:
		return t.Time.UTC().Format("2006-01-02T15:04:05Z07:00")
	case types.Duration:
		return t.Duration.String()
	case traits.Lister:
		var parts []string
		it := t.Iterator()
		for it.HasNext() == types.True {
			parts = append(parts, format(it.Next()))
		}
		return strings.Join(parts, ", ")
	}
	if s, ok := v.ConvertToType(types.StringType).(types.String); ok {
		return string(s)
	}
	return fmt.Sprint(v.Value())
}
