// Package store keeps the broker's state in etcd (embedded, or an external
// cluster): bundle specs, service instances, bindings, operations (jobs)
// and extracted credentials, changed in atomic compare-and-swap commits of
// Ops. It owns the keys: they follow the Automation Broker's etcd layout so
// its state can be imported, and are made nowhere else. Fields this broker
// adds are marked "ours" and are ignored by the original's decoder.
package store
