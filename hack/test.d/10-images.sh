# Sourced by hack/test.sh before `go test`: Docker running and the images
# test/images runs (apb-base, openstack-apb) built; hack/images.sh skips an
# image whose inputs are unchanged. The broker image is built by
# 30-kube.sh, for the in-cluster deployment (a changed Go file means a full
# in-container compile, ~4-5 min on 2 cores); OSB_TEST_BROKER_IMAGE=1 builds
# it here too. Also the Debian packages the
# modules' Python unit tests run with. OSB_SKIP=images skips all of it.
need_apt docker.io python3-pytest ansible-core python3-kubernetes python3-openstacksdk
hack/docker.sh
_images_t0=$(date +%s)
if [ "${OSB_TEST_BROKER_IMAGE:-}" = 1 ]; then
  hack/images.sh apb-base openstack-apb broker
else
  hack/images.sh apb-base openstack-apb
fi
log "images ready in $(( $(date +%s) - _images_t0 ))s"
export OSB_TEST_IMAGES=1
