#!/usr/bin/env bash
# bundles.sh [NAME...]: builds the OpenStack bundle images of registries/
# (default: every directory there with a Dockerfile), each FROM
# openstack-apb (made by hack/images.sh when missing or out of date) with
# its apb.yml in the com.redhat.apb.spec label, and prints one tag a line.
#   tag      $PREFIX/NAME:latest (PREFIX: OSB_IMAGE_PREFIX, default
#            openstack-service-broker), also <OSB_BUNDLE_ALIAS>/NAME:latest
#            when that is set (e.g. "local", the name the broker's local
#            registry "local" gives the bundle, for a Docker runtime)
#   cache    an image whose inputs (the bundle directory and the parent
#            image id) hash the same as its label is not rebuilt, as in
#            hack/images.sh; OSB_FORCE_BUILD=1 rebuilds
# hack/test.d/40-openstack.sh imports the images into the one-node cluster;
# `make run` can reuse this script for its catalog.
set -euo pipefail
cd "$(dirname "$0")/.."
. hack/images.sh

bundle_dirs() {
  local d
  for d in registries/*/; do
    [ -f "$d/Dockerfile" ] && [ -f "$d/apb.yml" ] && basename "$d"
  done
}

build_bundle() {
  local name=$1 dir=registries/$1 parent h tag
  [ -f "$dir/Dockerfile" ] && [ -f "$dir/apb.yml" ] || die "no bundle $dir (needs apb.yml and Dockerfile)"
  parent=$(image_id "$OPENSTACK_APB_IMAGE")
  h=$(inputs_hash "$parent" "$dir" -- '*/__pycache__/*' "$dir/README.md")
  tag=$PREFIX/$name:latest
  build "$name" "$h" "$tag" --build-arg "OPENSTACK_APB=$OPENSTACK_APB_IMAGE" \
    --build-arg "APB_SPEC=$(base64 -w0 "$dir/apb.yml")" "$dir" >&2
  if [ -n "${OSB_BUNDLE_ALIAS:-}" ]; then
    "$DOCKER" tag "$tag" "$OSB_BUNDLE_ALIAS/$name:latest"
  fi
  echo "$tag"
}

bundles_main() {
  local names=("$@") n
  [ ${#names[@]} -gt 0 ] || mapfile -t names < <(bundle_dirs)
  ensure_base_image
  # The parent first: a bundle built on a stale openstack-apb would test
  # yesterday's modules.
  build_apb_base >&2
  build_openstack_apb >&2
  for n in "${names[@]}"; do
    build_bundle "$n"
  done
}

bundles_main "$@"
