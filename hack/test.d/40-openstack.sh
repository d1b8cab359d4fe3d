# Sourced by hack/test.sh after 30-kube.sh: the bundle images of
# registries/ for test/openstack, built by hack/bundles.sh FROM
# openstack-apb (each skipped when its inputs are unchanged) and imported
# into the one-node cluster under the name the broker's local registry
# gives each bundle (local/<bundle>:latest). The suite checks the
# emulator with the clients 20-emulator.sh installs. OSB_SKIP=openstack
# skips it; without the cluster (OSB_SKIP=kube) the suite skips itself.
if skipped kube; then
  log "openstack: no one-node cluster (OSB_SKIP names kube): the bundle suite will skip"
else
  _bundles_t0=$(date +%s)
  mapfile -t _bundle_images < <(hack/bundles.sh)
  [ ${#_bundle_images[@]} -gt 0 ] || die "hack/bundles.sh built no bundle image"
  hack/kube-cluster.sh import "${_bundle_images[@]}"
  for _img in "${_bundle_images[@]}"; do
    _name=${_img##*/}
    hack/kube-cluster.sh tag "$_img" "local/${_name%:latest}:latest"
  done
  log "openstack: ${#_bundle_images[@]} bundle images ready in $(( $(date +%s) - _bundles_t0 ))s"
fi
