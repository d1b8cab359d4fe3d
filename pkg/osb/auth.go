package osb

import (
	"errors"
	"net/http"
)

// Authenticator decides who is calling. The server answers 401 for
// ErrUnauthorized, 403 for ErrForbidden, the status of an *osbapi.Error
// (say, Unavailable for 503), and 500 for any other error (the authority
// could not be asked), whose text goes to the log, not to the caller.
type Authenticator interface {
	Authenticate(r *http.Request) (principal string, err error)
}

var (
	// ErrUnauthorized: no credentials, or credentials that are not valid.
	ErrUnauthorized = errors.New("unauthorized")
	// ErrForbidden: valid credentials that may not make this request.
	ErrForbidden = errors.New("forbidden")
)
