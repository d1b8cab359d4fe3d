package osb

import (
	"errors"
	"net/http"
)

// Authenticator decides who is calling. The server answers 401 for
// ErrUnauthorized, 403 for ErrForbidden and 500/503 for any other error
// (the authority could not be asked).
type Authenticator interface {
	Authenticate(r *http.Request) (principal string, err error)
}

var (
	// ErrUnauthorized: no credentials, or credentials that are not valid.
	ErrUnauthorized = errors.New("unauthorized")
	// ErrForbidden: valid credentials that may not make this request.
	ErrForbidden = errors.New("forbidden")
)
