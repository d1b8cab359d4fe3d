#!/usr/bin/env bash
# build.sh NAME [TAG]: builds the test bundle image test/bundles/NAME FROM
# apb-base (made by hack/images.sh when missing), its apb.yml in the spec
# label. Default tag openstack-service-broker/NAME-apb:latest. Prints the tag.
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
"$DOCKER" image inspect openstack-service-broker/apb-base:latest >/dev/null 2>&1 || "$root/hack/images.sh" apb-base >&2
"$DOCKER" build -q --network host --build-arg APB_SPEC="$(base64 -w0 "$dir/apb.yml")" -t "$tag" "$dir" >/dev/null
echo "$tag"
