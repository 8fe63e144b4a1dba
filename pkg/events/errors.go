package events

import (
	"errors"
	"fmt"
)

// ErrInvalidEvent is matched (errors.Is) by every *ValidationError.
var ErrInvalidEvent = errors.New("invalid event")

// ErrClosed is returned by a Publisher or a Subscriber used after its Close.
var ErrClosed = errors.New("events: closed")

// ValidationError says what is wrong with an event that was not sent.
type ValidationError struct {
	Event  string // contract name, e.g. "QualityEvent"
	Field  string // Avro field path, e.g. "checks[0].dimension"
	Reason string // what was expected
}

func (e *ValidationError) Error() string {
	return fmt.Sprintf("invalid %s: %s: %s", e.Event, e.Field, e.Reason)
}

// Is makes errors.Is(err, ErrInvalidEvent) true.
func (e *ValidationError) Is(target error) bool { return target == ErrInvalidEvent }

// ErrorClass is a bounded category of why a record could not be handled; it
// is what metrics label and what the DLQ's dlq_error_class header holds.
type ErrorClass string

// Error classes.
const (
	ClassBadMagic      ErrorClass = "bad_magic"      // not in the Confluent wire format
	ClassUnknownSchema ErrorClass = "unknown_schema" // schema id the registry does not know
	ClassCorruptBody   ErrorClass = "corrupt_body"   // Avro body does not decode with its schema
	ClassInvalidEvent  ErrorClass = "invalid_event"  // decoded, but fails Validate
	ClassUnknownTopic  ErrorClass = "unknown_topic"  // not a mesh topic
	ClassRegistry      ErrorClass = "registry"       // the registry did not answer (transient)
	ClassHandler       ErrorClass = "handler"        // the handler kept failing
)

// DecodeError says why a record could not be decoded into an event.
type DecodeError struct {
	Class ErrorClass
	Err   error
}

func (e *DecodeError) Error() string { return fmt.Sprintf("%s: %v", e.Class, e.Err) }

// Unwrap returns the underlying error.
func (e *DecodeError) Unwrap() error { return e.Err }

// Permanent reports whether retrying cannot help (everything but a registry
// outage).
func (e *DecodeError) Permanent() bool { return e.Class != ClassRegistry }

// ClassOf returns the ErrorClass of err: its DecodeError's class, or
// ClassHandler.
func ClassOf(err error) ErrorClass {
	var de *DecodeError
	if errors.As(err, &de) {
		return de.Class
	}
	return ClassHandler
}
