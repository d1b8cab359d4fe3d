// Package store keeps the broker's state in etcd (embedded, or an external
// cluster): bundle specs, service instances, bindings, operations (jobs)
// and extracted credentials, changed in atomic compare-and-swap commits of
// Ops. It owns the keys: they follow the Automation Broker's etcd layout so
// its state can be imported, and are made nowhere else, each id escaped
// into its key (keys.go) so that no id reaches another's records. Fields
// this broker adds are marked "ours" and are ignored by the original's
// decoder. The embedded etcd serves the broker alone (embed.go); Maintain
// compacts, defragments and lifts the NOSPACE alarm (maintain.go).
package store
