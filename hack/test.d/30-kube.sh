# Sourced by hack/test.sh: the one-node Kubernetes for test/kube. Builds the
# binaries into the cache (~17 min the first time), starts the cluster when
# it is not running (and stops it at exit: only what this run started),
# builds the test bundle images (runtime 2 and runtime 1) and the
# compatibility corpus (test/compat, unchanged Dockerfiles FROM
# ansibleplaybookbundle/apb-base:<tag>) and the broker image
# (hack/images.sh broker, cached by its inputs' hash) and imports them into
# the node.
OSB_TEST_KUBECTL=$(hack/kube-build.sh)/kubectl
if hack/kube-cluster.sh status >/dev/null 2>&1; then
  log "kube: one-node cluster already running"
else
  log "kube: starting the one-node cluster"
  on_exit hack/kube-cluster.sh stop
  hack/kube-cluster.sh start >/dev/null
fi
OSB_TEST_BUNDLE_IMAGE=$(test/bundles/build.sh testbundle)
OSB_TEST_RUNTIME1_IMAGE=$(test/bundles/build.sh runtime1)
_compat_t0=$(date +%s)
OSB_TEST_COMPAT_IMAGES=$(test/compat/build.sh | tr '\n' ' ')
log "kube: compatibility corpus built in $(( $(date +%s) - _compat_t0 ))s: $OSB_TEST_COMPAT_IMAGES"
# The broker image for the in-cluster deployment (test/kube
# TestDeployInCluster), under a name of its content: another checkout's
# build imported meanwhile cannot stand in for it.
hack/images.sh broker
OSB_TEST_IN_CLUSTER_IMAGE=osb-test/broker:$(docker image inspect -f '{{.Id}}' openstack-service-broker/broker:latest | cut -d: -f2 | cut -c1-16)
docker tag openstack-service-broker/broker:latest "$OSB_TEST_IN_CLUSTER_IMAGE"
# shellcheck disable=SC2086 # one image a word
hack/kube-cluster.sh import "$OSB_TEST_IN_CLUSTER_IMAGE"
# shellcheck disable=SC2086 # one image a word
hack/kube-cluster.sh import "$OSB_TEST_BUNDLE_IMAGE" "$OSB_TEST_RUNTIME1_IMAGE" $OSB_TEST_COMPAT_IMAGES
OSB_TEST_KUBECONFIG=$(hack/kube-cluster.sh kubeconfig)
export OSB_TEST_KUBECONFIG OSB_TEST_BUNDLE_IMAGE OSB_TEST_RUNTIME1_IMAGE OSB_TEST_COMPAT_IMAGES OSB_TEST_IN_CLUSTER_IMAGE OSB_TEST_KUBECTL
# The broker's local registry "local" names the bundle's image this way.
hack/kube-cluster.sh tag "$OSB_TEST_BUNDLE_IMAGE" local/testbundle-apb:latest
hack/kube-cluster.sh tag "$OSB_TEST_RUNTIME1_IMAGE" local/runtime1-apb:latest
for _img in $OSB_TEST_COMPAT_IMAGES; do
  _name=${_img#osb-compat/}
  hack/kube-cluster.sh tag "$_img" "local/$_name"
done
