// Package dockertest starts the whole broker (config file with
// broker.runtime: docker, embedded etcd, a local registry holding the test
// bundle under a tag of its own) on Debian's Docker engine, for test/docker
// and bench/docker.
package dockertest
