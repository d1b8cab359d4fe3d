// Package tlsutil provides the broker's serving certificate: loaded from
// files, or self-signed when none is configured (as asbd did).
package tlsutil
