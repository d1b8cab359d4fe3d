package osb

import (
	"errors"
	"net/http"
)

// Authenticator decides who is calling. The server answers 401 for
// ErrUnauthorized, 403 for ErrForbidden, 503 with Retry-After for
// ErrUnavailable (the authority cannot answer now), the status of an
// *osbapi.Error, and 500 for any other error (a fault retrying does not
// mend); the error's text goes to the log, not to the caller.
type Authenticator interface {
	Authenticate(r *http.Request) (principal string, err error)
}

var (
	// ErrUnauthorized: no credentials, or credentials that are not valid.
	ErrUnauthorized = errors.New("unauthorized")
	// ErrForbidden: valid credentials that may not make this request.
	ErrForbidden = errors.New("forbidden")
	// ErrUnavailable: the authority that checks credentials cannot be
	// asked now (unreachable, overloaded); retrying later may succeed.
	ErrUnavailable = errors.New("authentication unavailable")
)
