package policy

import (
	"errors"
	"fmt"
	"strings"
)

// ErrInvalid is matched (errors.Is) by every error about a bad policy file.
var ErrInvalid = errors.New("invalid policy")

// Error is one problem with one policy file.
type Error struct {
	File     string // path of the file
	Line     int    // line in the file; 0 when not known
	PolicyID string // metadata.id, when it was read
	Field    string // e.g. "spec.require"
	Msg      string // what is wrong; for expressions "<line>:<column>: <cel message>"
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Line > 0 {
		fmt.Fprintf(&b, ":%d", e.Line)
	}
	b.WriteString(": ")
	if e.PolicyID != "" {
		fmt.Fprintf(&b, "policy %q: ", e.PolicyID)
	}
	if e.Field != "" {
		b.WriteString(e.Field + ": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// Is makes errors.Is(err, ErrInvalid) true.
func (e *Error) Is(target error) bool { return target == ErrInvalid }

// LoadError lists every problem found while loading a set of policies; a set
// with any problem is not loaded at all.
type LoadError struct {
	Errs []*Error
}

func (e *LoadError) Error() string {
	lines := make([]string, len(e.Errs))
	for i, err := range e.Errs {
		lines[i] = err.Error()
	}
	return strings.Join(lines, "\n")
}

// Unwrap returns the individual errors.
func (e *LoadError) Unwrap() []error {
	out := make([]error, len(e.Errs))
	for i, err := range e.Errs {
		out[i] = err
	}
	return out
}
