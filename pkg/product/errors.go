package product

import (
	"errors"
	"fmt"
	"strings"
)

// ErrInvalid matches, with errors.Is, every error that says a descriptor is
// wrong: a *SyntaxError or a *ValidationError. An HTTP API maps it to 400
// (or 422); any other error from this package (a descriptor file that cannot
// be read, say) is not the caller's document's fault.
var ErrInvalid = errors.New("invalid data product descriptor")

// ErrEmpty is the cause of the *SyntaxError for a document that holds nothing
// (empty, only whitespace or comments, or null).
var ErrEmpty = errors.New("empty document")

// SyntaxError reports a document that is not well-formed YAML or JSON, holds
// more than one YAML document, or is not a mapping at the top level.
type SyntaxError struct {
	// File is the descriptor file's path as given to ParseFile or Load;
	// empty for Parse.
	File string
	// Err is the cause, for example the YAML parser's error or ErrEmpty.
	Err error
}

func (e *SyntaxError) Error() string { return withFile(e.File, e.Err.Error()) }

// Unwrap returns the cause.
func (e *SyntaxError) Unwrap() error { return e.Err }

// Is reports whether target is ErrInvalid.
func (e *SyntaxError) Is(target error) bool { return target == ErrInvalid }

// FieldError is one problem with one field of a descriptor.
type FieldError struct {
	// Path locates the field in the document: "spec.outputPorts[2].name",
	// "metadata.labels.tier", or "spec.sla.fresness" for an unknown field.
	Path string
	// Message says what is wrong or what was expected.
	Message string
}

// Error returns "<path>: <message>".
func (e FieldError) Error() string {
	if e.Path == "" {
		return e.Message
	}
	return e.Path + ": " + e.Message
}

// ValidationError lists every problem found in a descriptor's fields: the
// unknown fields and values of the wrong type found by Parse, the unreadable
// schema files found by ParseFile and Load, or the broken rules found by
// Validate. Problems come in the order of the descriptor's fields (apiVersion,
// kind, metadata, spec, each in the order of the Go struct), the unknown keys
// of a mapping first.
//
// Its message is the file (when known) followed by the problems joined with
// "; ", each as "<path>: <message>":
//
//	customer-orders.yaml: spec.retentionDays: must be between 1 and 36500, got 0; spec.quality[1].threshold: must be a number between 0 and 1, got 1.5
type ValidationError struct {
	// File is the descriptor file's path as given to ParseFile or Load;
	// empty for Parse.
	File string
	// Errors holds at least one problem.
	Errors []FieldError
}

func (e *ValidationError) Error() string {
	msgs := make([]string, len(e.Errors))
	for i, fe := range e.Errors {
		msgs[i] = fe.Error()
	}
	return withFile(e.File, strings.Join(msgs, "; "))
}

// Path returns the path of the first problem, the field an API response
// would point at.
func (e *ValidationError) Path() string {
	if len(e.Errors) == 0 {
		return ""
	}
	return e.Errors[0].Path
}

// Is reports whether target is ErrInvalid.
func (e *ValidationError) Is(target error) bool { return target == ErrInvalid }

func withFile(file, msg string) string {
	if file == "" {
		return msg
	}
	return file + ": " + msg
}

// problems collects field errors.
type problems []FieldError

func (p *problems) add(path, format string, args ...any) {
	*p = append(*p, FieldError{Path: path, Message: fmt.Sprintf(format, args...)})
}

// err returns the problems as a *ValidationError, or nil if there are none.
func (p problems) err(file string) error {
	if len(p) == 0 {
		return nil
	}
	return &ValidationError{File: file, Errors: p}
}
