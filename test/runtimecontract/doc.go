// Package runtimecontract is the contract every bundle runtime keeps, as
// one table of cases (Cases) run against each runtime through a Harness:
// test/docker runs it against Debian's Docker engine, test/kube against
// the one-node Kubernetes cluster. A case sees a runtime only through
// runtime.Runtime and runtime.Janitor, and the world around it only
// through Env: what a sandbox looks like (exists, runs, kept, the
// POD_NAME the bundle saw), killing a bundle from outside. The bundle is
// test/bundles/testbundle, which reports what it saw in its credentials.
package runtimecontract
