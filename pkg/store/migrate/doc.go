// Package migrate makes an Automation Broker's state this broker's: it
// reads the original's records through a store.Backend (the etcd store
// reads the original's etcd keys as they are, the CRD store its custom
// resources), fills in what this broker needs and the original did not
// keep (service and plan ids, the user's parameters, the instance status),
// drops what the original left behind (unbound binding entries), and writes
// the result in place or into the other store, record by record with
// compare-and-swap. A run plans first and writes only what differs, so a
// second run changes nothing; records it cannot carry over are refused
// with the reason, and then nothing is written unless asked to carry over
// the rest.
package migrate
