// Package storetest is the test suite every store.Backend passes: the etcd
// store (pkg/store, embedded etcd) and the CRD store (pkg/store/crd, on the
// test cluster's kube-apiserver, test/kube) run the same cases, so that
// the broker and the jobs engine see the same semantics from both.
package storetest
