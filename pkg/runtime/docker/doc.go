// Package docker runs bundle actions as containers on a Docker engine
// (github.com/moby/moby/client, API version negotiated), with the
// Kubernetes runtime's contract: the container runs `<action> --extra-vars
// '<json>'` with POD_NAME and POD_NAMESPACE set, each mount's source (a
// host directory) copied into a private per-action directory and
// bind-mounted read-only where the mount says, and a writable results
// directory named by APB_RESULTS_DIR, where apb-base's asb modules write
// what they would put on the pod on Kubernetes (credentials, last
// operation, dashboard URL, test result). The runtime polls it for
// progress while the action runs and reads it when the action ends.
// Runtime 1 bundles hand credentials over by `docker exec
// broker-bind-creds`.
//
// It owns the containers' labels (broker id, operation, instance, binding,
// action), by which a restarted broker re-attaches to a running container
// (Attach); Release removes a finished action's container and directory
// once its outcome is stored, or keeps them (renamed <name>-kept) as
// keep_container(_on_error) say; Reap removes what this broker left
// behind. Actions are bounded by a timeout and resource limits; the
// bundle's output goes to the broker's log at debug level, and to
// Config.Output when set, with secrets redacted.
package docker
