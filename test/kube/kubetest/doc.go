// Package kubetest starts the whole broker (config file, embedded etcd, a
// local registry holding the test bundle) with the Kubernetes runtime on the
// one-node test cluster, for test/kube and bench/runtime.
package kubetest
