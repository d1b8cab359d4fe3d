// Package redact keeps secrets out of logs, operation descriptions and
// error bodies: which names hold secrets (Key), secret values masked in
// free text (Text), and decoded JSON with secret values masked (Value).
package redact
