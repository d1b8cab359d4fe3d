# Sourced by hack/test.sh: the Docker engine (hack/docker.sh) and the test
# bundle images for test/docker, which runs the runtime contract
# (test/runtimecontract) and the broker on Debian's engine; one of its
# tests starts a private dockerd of its own (socket, data root and exec
# root in a temporary directory), so that killing it leaves this engine
# alone. 30-kube.sh builds the same images (cached by then).
# OSB_SKIP=docker skips it.
need_apt docker.io
hack/docker.sh
OSB_TEST_BUNDLE_IMAGE=$(test/bundles/build.sh testbundle)
OSB_TEST_RUNTIME1_IMAGE=$(test/bundles/build.sh runtime1)
export OSB_TEST_BUNDLE_IMAGE OSB_TEST_RUNTIME1_IMAGE
