package store

import "errors"

// ErrNotFound is returned for a product the view does not hold.
var ErrNotFound = errors.New("not found")

// ParamError says which query parameter is wrong and why; the API answers
// it with 400.
type ParamError struct {
	Field   string
	Message string
}

func (e *ParamError) Error() string { return e.Field + ": " + e.Message }
