#!/usr/bin/env bash
# build.sh NAME [TAG]: builds the test bundle image test/bundles/NAME FROM
# apb-base (made by hack/images.sh when missing), its apb.yml in the spec
# label. Default tag openstack-service-broker/NAME-apb:latest. Prints the tag.
# APB_BASE=IMAGE builds FROM another apb-base (one with changes not yet
# tagged latest), which must exist.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
. "$root/hack/lib.sh"
. "$root/hack/docker.sh"
name=${1:?usage: build.sh NAME [TAG]}
dir=$here/$name
[ -f "$dir/Dockerfile" ] || die "no test bundle $dir"
ensure_docker
tag=${2:-openstack-service-broker/$name-apb:latest}
base=${APB_BASE:-openstack-service-broker/apb-base:latest}
if ! "$DOCKER" image inspect "$base" >/dev/null 2>&1; then
  [ -z "${APB_BASE:-}" ] || die "APB_BASE image $base does not exist"
  "$root/hack/images.sh" apb-base >&2
fi
"$DOCKER" build -q --network host --build-arg APB_BASE="$base" --build-arg APB_SPEC="$(base64 -w0 "$dir/apb.yml")" -t "$tag" "$dir" >/dev/null
echo "$tag"
