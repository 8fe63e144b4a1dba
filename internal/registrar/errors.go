package registrar

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/meshbone/meshbone/pkg/product"
)

// Sentinels every error of a request matches (errors.Is); errorStatus maps
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

// errorBody is the JSON of every error answer.
type errorBody struct {
	Error errorDetail `json:"error"`
}

type errorDetail struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	Field   string `json:"field,omitempty"`
}

// Error codes of the answers.
const (
	CodeUnauthorized      = "unauthorized"
	CodeForbidden         = "forbidden"
	CodeNotFound          = "not_found"
	CodeConflict          = "conflict"
	CodeIncompatible      = "incompatible_schema"
	CodeInvalidDescriptor = "invalid_descriptor"
	CodeBadRequest        = "bad_request"
	CodeTooLarge          = "too_large"
	CodeUnavailable       = "unavailable"
	CodeInternal          = "internal"
)

// errorStatus maps an error to its HTTP status and body: the one place where
// errors become answers.
func errorStatus(err error) (int, errorBody) {
	body := func(code, field string) errorBody {
		return errorBody{errorDetail{Code: code, Message: err.Error(), Field: field}}
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
		return http.StatusRequestEntityTooLarge, errorBody{errorDetail{Code: CodeTooLarge,
			Message: fmt.Sprintf("request body is larger than the limit of %d bytes", mbe.Limit)}}
	case errors.As(err, &ve):
		return http.StatusBadRequest, body(CodeInvalidDescriptor, ve.Path())
	case errors.Is(err, product.ErrInvalid):
		return http.StatusBadRequest, body(CodeInvalidDescriptor, field)
	case errors.Is(err, ErrUnauthenticated):
		return http.StatusUnauthorized, body(CodeUnauthorized, field)
	case errors.Is(err, ErrForbidden):
		return http.StatusForbidden, body(CodeForbidden, field)
	case errors.Is(err, ErrNotFound):
		return http.StatusNotFound, body(CodeNotFound, field)
	case errors.Is(err, ErrIncompatible):
		return http.StatusConflict, body(CodeIncompatible, field)
	case errors.Is(err, ErrConflict):
		return http.StatusConflict, body(CodeConflict, field)
	case errors.Is(err, ErrBadRequest):
		return http.StatusBadRequest, body(CodeBadRequest, field)
	case errors.Is(err, ErrUnavailable), errors.Is(err, context.DeadlineExceeded):
		return http.StatusServiceUnavailable, body(CodeUnavailable, field)
	}
	return http.StatusInternalServerError, errorBody{errorDetail{Code: CodeInternal, Message: "internal error; see the registrar's log"}}
}
