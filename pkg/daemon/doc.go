// Package daemon assembles a running broker from a config file. It is the
// one place where the file's keys meet the components: mapConfig turns the
// parsed file into each component's own configuration (store.Config,
// registry.Config, the Kubernetes runtime's Config, the broker's and the
// HTTP server's options) and words their complaints with the key and line.
// It then builds the components and hands their background work to a
// manager.Manager as runnables, stopped in reverse order, the store last:
// the HTTP server, the catalog loop (refresh and POST /v2/bootstrap),
// the janitor, recovery of operations, the operations themselves. The
// catalog loop, the janitor and recovery need leadership. cmd/broker is a
// thin command around it; end-to-end tests run it with a test runtime.
package daemon
