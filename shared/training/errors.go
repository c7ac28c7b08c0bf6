package training

import (
	"errors"
	"fmt"
	"strings"
)

// Error codes. Every error a store or the service returns to a caller is an *Error with one of
// these codes, or an unexpected (internal) error. The HTTP layer maps codes to statuses in one table.
const (
	EINVALID     = "invalid"      // validation failed; Fields names each bad field
	ENOTFOUND    = "not_found"    // the thing does not exist (or is not visible to the caller)
	ECONFLICT    = "conflict"     // same idempotency key with other content, or a concurrent change
	EUNAUTHED    = "unauthorized" // no or bad credentials / signature
	EFORBIDDEN   = "forbidden"    // credentials valid but role too low
	ETOOLARGE    = "too_large"    // body or batch over the limit
	EUNSUPPORTED = "unsupported"  // wrong Content-Type
	EINTERNAL    = "internal"
)

// FieldError names one bad input field.
type FieldError struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

// Error is the application error: a code, a message safe to show a client, and for EINVALID
// the list of bad fields.
type Error struct {
	Code    string
	Message string
	Fields  []FieldError
}

func (e *Error) Error() string {
	if len(e.Fields) == 0 {
		return fmt.Sprintf("%s: %s", e.Code, e.Message)
	}
	parts := make([]string, len(e.Fields))
	for i, f := range e.Fields {
		parts[i] = f.Field + ": " + f.Message
	}
	return fmt.Sprintf("%s: %s (%s)", e.Code, e.Message, strings.Join(parts, "; "))
}

// Errorf returns an *Error with the given code.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the code of err if it is (or wraps) an *Error, else EINTERNAL.
func ErrorCode(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	if err == nil {
		return ""
	}
	return EINTERNAL
}

// ErrorMessage returns the client-safe message of err, hiding internal errors.
func ErrorMessage(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Message
	}
	return "internal error"
}

// Fields collects field errors during validation.
type Fields []FieldError

// Add records a bad field.
func (f *Fields) Add(field, format string, args ...any) {
	*f = append(*f, FieldError{Field: field, Message: fmt.Sprintf(format, args...)})
}

// Has reports whether field already has an error.
func (f Fields) Has(field string) bool {
	for _, e := range f {
		if e.Field == field {
			return true
		}
	}
	return false
}

// Err returns an EINVALID *Error listing the fields, or nil when there are none.
func (f Fields) Err() error {
	if len(f) == 0 {
		return nil
	}
	return &Error{Code: EINVALID, Message: "the request has invalid fields", Fields: f}
}
