package registrar

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/meshbone/meshbone/internal/httpx"
	"github.com/meshbone/meshbone/pkg/product"
)

// Sentinels every error of a request matches (errors.Is); errorAnswer maps
// them to HTTP answers.
var (
	// ErrUnauthenticated: the request has no bearer token, or an unknown one.
	ErrUnauthenticated = errors.New("unauthenticated")
	// ErrForbidden: the token's principal may not act on that product.
	ErrForbidden = errors.New("forbidden")
	// ErrNotFound: no such product.
	ErrNotFound = errors.New("not found")
	// ErrConflict: the request contradicts the product's current state (a
	// lower version, a retired product, a retirement blocked by lineage).
	ErrConflict = errors.New("conflict")
	// ErrIncompatible: a port schema is not BACKWARD compatible with the
	// latest version of its subject.
	ErrIncompatible = errors.New("incompatible schema")
	// ErrBadRequest: the request body or a parameter is malformed.
	ErrBadRequest = errors.New("bad request")
	// ErrUnavailable: Kafka or the schema registry did not answer, or the
	// registrar has not caught up with the lifecycle topic yet. Nothing was
	// changed.
	ErrUnavailable = errors.New("unavailable")
)

// Error is a request error: its Kind is one of the sentinels, Field the
// request field at fault (may be empty) and Err the cause, if any.
type Error struct {
	Kind  error
	Field string
	Msg   string
	Err   error
}

func (e *Error) Error() string {
	if e.Err != nil && e.Msg == "" {
		return e.Err.Error()
	}
	if e.Err != nil {
		return e.Msg + ": " + e.Err.Error()
	}
	return e.Msg
}

// Is reports whether target is the error's Kind.
func (e *Error) Is(target error) bool { return target == e.Kind }

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

func newError(kind error, field, format string, args ...any) *Error {
	return &Error{Kind: kind, Field: field, Msg: fmt.Sprintf(format, args...)}
}

// unavailable wraps a Kafka or registry failure.
func unavailable(err error, format string, args ...any) *Error {
	return &Error{Kind: ErrUnavailable, Msg: fmt.Sprintf(format, args...), Err: err}
}

// Error codes of the answers.
const (
	CodeUnauthorized      = "unauthorized"
	CodeForbidden         = "forbidden"
	CodeNotFound          = httpx.CodeNotFound
	CodeConflict          = "conflict"
	CodeIncompatible      = "incompatible_schema"
	CodeInvalidDescriptor = "invalid_descriptor"
	CodeBadRequest        = "bad_request"
	CodeTooLarge          = "too_large"
	CodeUnavailable       = httpx.CodeUnavailable
	CodeInternal          = httpx.CodeInternal
)

// errorAnswer maps an error to its HTTP answer: the one place where errors
// become answers.
func errorAnswer(err error) *httpx.Error {
	answer := func(status int, code, field string) *httpx.Error {
		return &httpx.Error{Status: status, Code: code, Message: err.Error(), Field: field}
	}
	var (
		re  *Error
		ve  *product.ValidationError
		mbe *http.MaxBytesError
	)
	field := ""
	if errors.As(err, &re) {
		field = re.Field
	}
	switch {
	case errors.As(err, &mbe):
		return &httpx.Error{Status: http.StatusRequestEntityTooLarge, Code: CodeTooLarge,
			Message: fmt.Sprintf("request body is larger than the limit of %d bytes", mbe.Limit)}
	case errors.As(err, &ve):
		return answer(http.StatusBadRequest, CodeInvalidDescriptor, ve.Path())
	case errors.Is(err, product.ErrInvalid):
		return answer(http.StatusBadRequest, CodeInvalidDescriptor, field)
	case errors.Is(err, ErrUnauthenticated):
		return answer(http.StatusUnauthorized, CodeUnauthorized, field)
	case errors.Is(err, ErrForbidden):
		return answer(http.StatusForbidden, CodeForbidden, field)
	case errors.Is(err, ErrNotFound):
		return answer(http.StatusNotFound, CodeNotFound, field)
	case errors.Is(err, ErrIncompatible):
		return answer(http.StatusConflict, CodeIncompatible, field)
	case errors.Is(err, ErrConflict):
		return answer(http.StatusConflict, CodeConflict, field)
	case errors.Is(err, ErrBadRequest):
		return answer(http.StatusBadRequest, CodeBadRequest, field)
	case errors.Is(err, ErrUnavailable), errors.Is(err, context.DeadlineExceeded):
		return answer(http.StatusServiceUnavailable, CodeUnavailable, field)
	}
	return &httpx.Error{Status: http.StatusInternalServerError, Code: CodeInternal, Message: "internal error; see the registrar's log"}
}
