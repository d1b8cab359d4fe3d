// Package redact hides secret values in what a bundle prints before it
// reaches the broker's log or a user: values the runtime knows to be secret
// (the files mounted into the sandbox, credentials and password-like extra
// vars) and anything shaped like a password assignment. Every runtime uses
// it, so a bundle's log is redacted the same way wherever it ran.
package redact
