package httpx

import (
	"fmt"
	"net/http"
)

// Error codes both APIs answer with; each service adds its own.
const (
	CodeNotFound    = "not_found"
	CodeUnavailable = "unavailable"
	CodeInternal    = "internal"
)

// Error is an API's error answer: the servers write it with WriteError and
// clients get it back from the body's "error" member. Status is the HTTP
// status, which is not part of the body.
type Error struct {
	Status  int    `json:"-"`
	Code    string `json:"code"`
	Message string `json:"message"`
	Field   string `json:"field,omitempty"`
}

// Error reads "<code> (HTTP <status>): <message>", and " [field <field>]"
// when a request field is at fault.
func (e *Error) Error() string {
	s := fmt.Sprintf("%s (HTTP %d): %s", e.Code, e.Status, e.Message)
	if e.Field != "" {
		s += " [field " + e.Field + "]"
	}
	return s
}

// ErrorBody is the JSON of every error answer.
type ErrorBody struct {
	Error *Error `json:"error"`
}

// WriteError answers e: its Status, with the error body.
func WriteError(w http.ResponseWriter, e *Error) {
	WriteJSON(w, e.Status, ErrorBody{Error: e})
}
