package osbapi

import (
	"errors"
	"fmt"
	"net/http"
)

// OSB error codes with fixed meanings.
const (
	ErrCodeAsyncRequired           = "AsyncRequired"
	ErrCodeConcurrencyError        = "ConcurrencyError"
	ErrCodeRequiresApp             = "RequiresApp"
	ErrCodeMaintenanceInfoConflict = "MaintenanceInfoConflict"
)

// Error is an OSB error response: an HTTP status and the body
// {"error", "description", "instance_usable", "update_repeatable"}.
type Error struct {
	Status           int    `json:"-"`
	Code             string `json:"error,omitempty"`
	Description      string `json:"description"`
	InstanceUsable   *bool  `json:"instance_usable,omitempty"`
	UpdateRepeatable *bool  `json:"update_repeatable,omitempty"`
}

func (e *Error) Error() string {
	if e.Code != "" {
		return fmt.Sprintf("%d %s: %s", e.Status, e.Code, e.Description)
	}
	return fmt.Sprintf("%d: %s", e.Status, e.Description)
}

// AsError returns err as an *Error when it is (or wraps) one.
func AsError(err error) (*Error, bool) {
	var e *Error
	ok := errors.As(err, &e)
	return e, ok
}

func newErr(status int, code, format string, args ...any) *Error {
	return &Error{Status: status, Code: code, Description: fmt.Sprintf(format, args...)}
}

// BadRequest is 400: malformed or invalid request data.
func BadRequest(format string, args ...any) *Error {
	return newErr(http.StatusBadRequest, "", format, args...)
}

// NotFound is 404.
func NotFound(format string, args ...any) *Error {
	return newErr(http.StatusNotFound, "", format, args...)
}

// Conflict is 409: same id, different attributes.
func Conflict(format string, args ...any) *Error {
	return newErr(http.StatusConflict, "", format, args...)
}

// Gone is 410: the instance or binding does not exist.
func Gone(format string, args ...any) *Error {
	return newErr(http.StatusGone, "", format, args...)
}

// Unprocessable is 422 without a fixed code (e.g. an unsupported plan change).
func Unprocessable(format string, args ...any) *Error {
	return newErr(http.StatusUnprocessableEntity, "", format, args...)
}

// AsyncRequired is 422 AsyncRequired.
func AsyncRequired() *Error {
	return newErr(http.StatusUnprocessableEntity, ErrCodeAsyncRequired,
		"This service plan requires client support for asynchronous service operations.")
}

// ConcurrencyError is 422 ConcurrencyError.
func ConcurrencyError(format string, args ...any) *Error {
	return newErr(http.StatusUnprocessableEntity, ErrCodeConcurrencyError, format, args...)
}

// MaintenanceInfoConflict is 422 MaintenanceInfoConflict.
func MaintenanceInfoConflict(format string, args ...any) *Error {
	return newErr(http.StatusUnprocessableEntity, ErrCodeMaintenanceInfoConflict, format, args...)
}

// Unavailable is 503: a dependency (etcd) cannot be reached.
func Unavailable(format string, args ...any) *Error {
	return newErr(http.StatusServiceUnavailable, "", format, args...)
}
