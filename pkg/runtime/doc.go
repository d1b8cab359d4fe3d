// Package runtime defines how the broker runs one action of one bundle:
// the Runtime interface, the runtime-neutral Action (what the bundle gets:
// image, extra vars, mounted files, environment) and the Result read back.
// Implementations live in sub-packages and decide how: kubernetes (a pod
// in a sandbox namespace), none (fails every action with the reason) and
// inproc (Go functions, for tests). The broker only sees Runtime.
package runtime
