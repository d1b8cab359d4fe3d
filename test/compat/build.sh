#!/usr/bin/env bash
# build.sh [NAME...]: builds the compatibility corpus (default: every
# bundle directory here) exactly as their authors built them, a plain
# `docker build DIR` of the unchanged Dockerfile, FROM the
# ansibleplaybookbundle/apb-base tags hack/images.sh puts on this
# project's apb-base (made when missing). Tags osb-compat/NAME:latest and
# prints one tag a line.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
. "$root/hack/lib.sh"
. "$root/hack/docker.sh"
ensure_docker
names=("$@")
if [ ${#names[@]} -eq 0 ]; then
  for d in "$here"/*/; do [ -f "$d/Dockerfile" ] && names+=("$(basename "$d")"); done
fi
"$DOCKER" image inspect ansibleplaybookbundle/apb-base:canary >/dev/null 2>&1 || "$root/hack/images.sh" apb-base >&2
for name in "${names[@]}"; do
  dir=$here/$name
  [ -f "$dir/Dockerfile" ] || die "no compatibility bundle $dir"
  tag=osb-compat/$name:latest
  out=$(mktemp)
  if ! "$DOCKER" build --network host -t "$tag" "$dir" >"$out" 2>&1; then
    tail -n 30 "$out" >&2
    rm -f "$out"
    die "docker build $dir failed"
  fi
  rm -f "$out"
  echo "$tag"
done
