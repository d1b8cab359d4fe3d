#!/usr/bin/env bash
# build.sh [TAG]: builds the test bundle image FROM apb-base (made by
# hack/images.sh when missing). Prints the tag.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../../.." && pwd)
. "$root/hack/lib.sh"
. "$root/hack/docker.sh"
ensure_docker
tag=${1:-openstack-service-broker/testbundle-apb:latest}
"$DOCKER" image inspect openstack-service-broker/apb-base:latest >/dev/null 2>&1 || "$root/hack/images.sh" apb-base >&2
"$DOCKER" build -q --network host --build-arg APB_SPEC="$(base64 -w0 "$here/apb.yml")" -t "$tag" "$here" >/dev/null
echo "$tag"
