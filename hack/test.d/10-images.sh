# Sourced by hack/test.sh before `go test`: Docker running and the images
# built (hack/images.sh skips an image whose inputs are unchanged), plus the
# Debian packages the Python unit tests of the modules run with.
# test/images uses them; OSB_SKIP=images skips this and those tests.
need_apt docker.io python3-pytest ansible-core python3-kubernetes python3-openstacksdk
hack/docker.sh
_images_t0=$(date +%s)
hack/images.sh apb-base openstack-apb broker
log "images ready in $(( $(date +%s) - _images_t0 ))s"
export OSB_TEST_IMAGES=1
