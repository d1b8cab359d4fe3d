package auth

import (
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"

	"github.com/openstack-service-broker/openstack-service-broker/pkg/osb"
)

// Basic checks HTTP basic credentials against one username and password.
type Basic struct {
	user, pass [sha256.Size]byte
	empty      bool
}

var _ osb.Authenticator = (*Basic)(nil)

// NewBasic accepts exactly user and pass. An empty user accepts nobody.
func NewBasic(user, pass string) *Basic {
	// Comparing digests keeps the comparison constant-time in the length too.
	return &Basic{user: sha256.Sum256([]byte(user)), pass: sha256.Sum256([]byte(pass)), empty: user == ""}
}

// NewBasicFromFiles reads <dir>/username and <dir>/password once, as asbd
// read /var/run/asb-auth (the mounted Secret asb-auth-secret). One trailing
// newline is dropped: asbd kept it, so files written with `echo` never
// matched; a password that really ends in a newline cannot be expressed.
func NewBasicFromFiles(dir string) (*Basic, error) {
	user, err := readCredential(filepath.Join(dir, "username"))
	if err != nil {
		return nil, err
	}
	pass, err := readCredential(filepath.Join(dir, "password"))
	if err != nil {
		return nil, err
	}
	return NewBasic(user, pass), nil
}

func readCredential(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("basic auth credentials: %w", err)
	}
	s := string(b)
	if t, ok := strings.CutSuffix(s, "\r\n"); ok {
		s = t
	} else {
		s = strings.TrimSuffix(s, "\n")
	}
	if s == "" {
		return "", fmt.Errorf("basic auth credentials: %s is empty", path)
	}
	return s, nil
}

// errNoBasic is distinguished so the server can say "corrupt header" as asbd did.
var errNoBasic = errors.New("no basic credentials in the Authorization header")

// Authenticate returns the username, or an error wrapping osb.ErrUnauthorized.
func (b *Basic) Authenticate(r *http.Request) (string, error) {
	user, pass, ok := r.BasicAuth()
	if !ok {
		return "", fmt.Errorf("%w: %w", osb.ErrUnauthorized, errNoBasic)
	}
	u, p := sha256.Sum256([]byte(user)), sha256.Sum256([]byte(pass))
	// Both compared every time, so timing does not tell which one was wrong.
	match := subtle.ConstantTimeCompare(u[:], b.user[:]) & subtle.ConstantTimeCompare(p[:], b.pass[:])
	if match != 1 || b.empty {
		return "", fmt.Errorf("%w: invalid credentials", osb.ErrUnauthorized)
	}
	return user, nil
}
