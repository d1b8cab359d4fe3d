# Sourced by hack/test.sh: test/ha, three broker processes on one real etcd
# server (the one hack/kube-build.sh builds into the cache, as the one-node
# cluster's) with the Docker runtime; the leader is killed mid-action. It
# needs the Docker engine and the test bundle image (25-docker.sh built it,
# unless OSB_SKIP names docker). OSB_SKIP=ha skips it.
hack/docker.sh
OSB_ETCD=$(hack/kube-build.sh)/etcd
[ -n "${OSB_TEST_BUNDLE_IMAGE:-}" ] || OSB_TEST_BUNDLE_IMAGE=$(test/bundles/build.sh testbundle)
export OSB_ETCD OSB_TEST_BUNDLE_IMAGE
