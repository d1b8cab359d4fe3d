#!/usr/bin/env bash
# extract.sh [IMAGE]: refreshes hack/bundlegen/modules.json from the
# openstack.cloud collection inside openstack-apb (default: the image
# hack/images.sh builds for OSB_IMAGE_PREFIX), then regenerates the
# bundles: go run ./hack/bundlegen.
set -euo pipefail
cd "$(dirname "$0")/../.."
image=${1:-${OSB_OPENSTACK_APB_IMAGE:-${OSB_IMAGE_PREFIX:-openstack-service-broker}/openstack-apb:latest}}
out=$(mktemp)
trap 'rm -f "$out"' EXIT
docker run --rm -i --network none --entrypoint python3 "$image" - <hack/bundlegen/extract.py >"$out"
mv "$out" hack/bundlegen/modules.json
trap - EXIT
go run ./hack/bundlegen
