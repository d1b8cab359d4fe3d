// Package inproc runs bundle actions as Go functions in the broker's
// process. Tests use it to drive the broker through every operation path
// without containers; it is not a user-facing runtime.
package inproc
