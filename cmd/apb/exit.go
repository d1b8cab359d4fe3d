package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"

	"github.com/openstack-service-broker/openstack-service-broker/pkg/osb/osbapi"
)

// Exit codes, for scripts (README.rst lists them too).
const (
	exitOK = 0
	// exitFailed: what was asked ran and failed: the broker's operation
	// ended "failed", the bundle action failed, lint found errors, a test
	// failed.
	exitFailed = 1
	// exitUsage: the command line, a parameter value or the config file is
	// wrong; nothing was sent.
	exitUsage = 2
	// exitUnreachable: the broker, the Docker engine or a registry did not
	// answer (connection refused, DNS, TLS handshake).
	exitUnreachable = 3
	// exitNotFound: the broker does not know the instance, binding,
	// service or plan (404, 410).
	exitNotFound = 4
	// exitRefused: the broker refused the request (400, 409, 412, 422): bad
	// parameters, a conflicting request, an operation already running.
	exitRefused = 5
	// exitUnauthorized: 401 or 403.
	exitUnauthorized = 6
	// exitBrokerError: the broker failed (5xx) or answered something that
	// is not the OSB API.
	exitBrokerError = 7
	// exitTimeout: gave up waiting for an operation (--timeout); it may
	// still be running at the broker.
	exitTimeout = 8
	// exitInterrupted: Ctrl-C or SIGTERM; a broker operation goes on.
	exitInterrupted = 130
)

// codedError carries the exit code an error ends the command with.
type codedError struct {
	code int
	err  error
}

func (e *codedError) Error() string { return e.err.Error() }
func (e *codedError) Unwrap() error { return e.err }

func withCode(code int, err error) error {
	if err == nil {
		return nil
	}
	return &codedError{code: code, err: err}
}

func usageErrorf(format string, a ...any) error {
	return withCode(exitUsage, fmt.Errorf(format, a...))
}

func failedErrorf(format string, a ...any) error {
	return withCode(exitFailed, fmt.Errorf(format, a...))
}

// silentFailure ends the command with exitFailed after it has said why.
var silentFailure = withCode(exitFailed, errors.New(""))

// exitCode classifies an error: its own code, else what it is.
func exitCode(ctx context.Context, err error) int {
	if err == nil {
		return exitOK
	}
	var ce *codedError
	if errors.As(err, &ce) {
		return ce.code
	}
	if e, ok := osbapi.AsError(err); ok {
		switch {
		case e.Status == 401 || e.Status == 403:
			return exitUnauthorized
		case e.Status == 404 || e.Status == 410:
			return exitNotFound
		case e.Status >= 400 && e.Status < 500:
			return exitRefused
		default:
			return exitBrokerError
		}
	}
	if ctx.Err() != nil && errors.Is(err, context.Canceled) {
		return exitInterrupted
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return exitTimeout
	}
	if unreachable(err) {
		return exitUnreachable
	}
	// cobra's own complaints about the command line.
	msg := err.Error()
	for _, p := range []string{"unknown command", "unknown flag", "unknown shorthand flag", "flag needs an argument",
		"invalid argument", "accepts ", "requires at least", "requires at most", "required flag"} {
		if strings.HasPrefix(msg, p) || strings.Contains(msg, ": "+p) {
			return exitUsage
		}
	}
	return exitFailed
}

// unreachable reports whether err is a failure to reach a server: a
// refused or reset connection, a name that does not resolve, a TLS
// handshake that fails.
func unreachable(err error) bool {
	var ue *url.Error
	if errors.As(err, &ue) {
		return true // the request never got an HTTP answer
	}
	var oe *net.OpError
	var de *net.DNSError
	return errors.As(err, &oe) || errors.As(err, &de)
}
