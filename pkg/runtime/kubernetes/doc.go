// Package kubernetes runs bundle actions as pods, the way the Automation
// Broker (bundle-lib) did: one transient sandbox namespace per action with a
// service account bound to the sandbox role (there and in the action's
// target namespace), each mount's source read as a Secret of the broker
// namespace, copied in and mounted read-only where the mount says, a pod
// running `<action> --extra-vars '<json>'`, watched to completion; bind
// credentials are read back from the Secret the bundle writes (or by exec
// for runtime 1 bundles), progress from its pod annotations. It owns the
// sandboxes' labels, release after the outcome is stored, and the janitor
// (Reap) for sandboxes left behind.
package kubernetes
