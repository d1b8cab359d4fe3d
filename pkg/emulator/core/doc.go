// Package core is the emulator's framework, shared by every service
// package: the Router (token validation, application-credential access
// rules, project scope and roles, microversions, request ids, faults,
// recovery from panics), the error families of the real services, JSON
// decoding and pagination helpers, per-service State persisted by the
// Cloud, timed Lifecycles driven by -delay, quotas, and Env.Do for calls
// from one service to another with the caller's token. Services import
// core and never each other.
package core
