#!/usr/bin/env bash
# make images: builds the images with the local Docker engine (started when
# not running), on a debian:bookworm-slim made locally when missing:
#   apb-base       openstack-service-broker/apb-base:latest, also tagged
#                  with every tag the original published (APB_BASE_TAGS),
#                  under our name and ansibleplaybookbundle/apb-base, so
#                  existing bundle sources (FROM ansibleplaybookbundle/
#                  apb-base:canary, ...) build on it unchanged
#   openstack-apb  openstack-service-broker/openstack-apb:latest
#   broker         openstack-service-broker/broker:latest (top-level Dockerfile)
# Usage: hack/images.sh [apb-base|openstack-apb|broker]...   (default: all)
# An image whose inputs (files + parent image id) hash the same as the label
# on the existing image is not rebuilt; OSB_FORCE_BUILD=1 rebuilds anyway
# (Docker's layer cache still applies). apt inside builds uses the host
# network: the same Debian mirror the host uses, reachable even when the
# engine runs without a bridge.
set -euo pipefail
cd "$(dirname "$0")/.."
. hack/lib.sh
. hack/docker.sh
. hack/base-image.sh

PREFIX=${OSB_IMAGE_PREFIX:-openstack-service-broker}
APB_BASE_IMAGE=$PREFIX/apb-base:latest
OPENSTACK_APB_IMAGE=$PREFIX/openstack-apb:latest
BROKER_IMAGE=$PREFIX/broker:latest
UPSTREAM_APB_BASE=ansibleplaybookbundle/apb-base
# The original's tags: latest, canary, nightly (its Dockerfile-* flavours),
# one per release branch (release-1.0 for OpenShift 3.7 ... release-1.3 for
# 3.11) and the v3.9/v3.10/v3.11 flavours. All are aliases of this base: it
# implements the runtime 2 contract every one of them ran.
APB_BASE_TAGS="latest canary nightly release-1.0 release-1.1 release-1.2 release-1.3 v3.9 v3.10 v3.11"
INPUTS_LABEL=org.openstack-service-broker.inputs
# A prefixed build (a checkout's own images) keeps its upstream aliases under
# the prefix too (P/ansibleplaybookbundle/apb-base), so it never re-tags the
# machine's shared ones.
[ -z "${OSB_IMAGE_PREFIX:-}" ] || UPSTREAM_APB_BASE=$OSB_IMAGE_PREFIX/$UPSTREAM_APB_BASE

image_id() { "$DOCKER" image inspect -f '{{.Id}}' "$1" 2>/dev/null || true; }

# inputs_hash IMAGE_ID PATH... [-- EXCLUDE...]: one hash over the parent
# image id and the content and names of every file under the paths.
inputs_hash() {
  local parent=$1; shift
  local paths=() excludes=()
  while [ $# -gt 0 ] && [ "$1" != -- ]; do paths+=("$1"); shift; done
  [ "${1:-}" = -- ] && shift && excludes=("$@")
  local args=() e
  for e in "${excludes[@]}"; do args+=(! -path "$e"); done
  {
    echo "$parent"
    find "${paths[@]}" -type f "${args[@]}" -print0 | LC_ALL=C sort -z | xargs -0 sha256sum
    find "${paths[@]}" -type f "${args[@]}" -perm -u+x -print | LC_ALL=C sort
  } | sha256sum | cut -c1-16
}

# up_to_date IMAGE HASH: the image exists and was built from these inputs.
up_to_date() {
  [ "${OSB_FORCE_BUILD:-}" = 1 ] && return 1
  local have
  have=$("$DOCKER" image inspect -f "{{ index .Config.Labels \"$INPUTS_LABEL\" }}" "$1" 2>/dev/null) || return 1
  [ "$have" = "$2" ]
}

# build NAME HASH DOCKER-BUILD-ARGS...: builds unless up to date; logs the time.
build() {
  local name=$1 hash=$2; shift 2
  local tag=$1
  if up_to_date "$tag" "$hash"; then
    log "$name: up to date ($tag, inputs $hash)"
    return 0
  fi
  log "$name: building $tag"
  local t0=$SECONDS out
  # OSB_BUILD_LOG_DIR keeps the build's output as <dir>/<name>.log, where
  # a watcher (hack/run.sh) shows the step it is at.
  if [ -n "${OSB_BUILD_LOG_DIR:-}" ]; then
    out=$OSB_BUILD_LOG_DIR/$name.log
  else
    out=$(mktemp)
  fi
  if ! "$DOCKER" build --network host --label "$INPUTS_LABEL=$hash" "${@:2}" -t "$tag" >"$out" 2>&1; then
    tail -n 40 "$out" >&2
    [ -n "${OSB_BUILD_LOG_DIR:-}" ] || rm -f "$out"
    die "$name: docker build failed"
  fi
  [ -n "${OSB_BUILD_LOG_DIR:-}" ] || rm -f "$out"
  log "$name: built in $((SECONDS - t0))s, $(image_size "$tag")"
}

image_size() { "$DOCKER" image inspect -f '{{.Size}}' "$1" | awk '{ printf "%.0f MB", $1/1000/1000 }'; }

build_apb_base() {
  local h
  h=$(inputs_hash "$(image_id "$OSB_BASE_IMAGE")" apb-base -- 'apb-base/openstack-apb/*' 'apb-base/tests/*' '*/__pycache__/*' 'apb-base/README.md')
  build apb-base "$h" "$APB_BASE_IMAGE" apb-base
  # The aliases follow even when the build was skipped.
  local t
  for t in $APB_BASE_TAGS; do
    "$DOCKER" tag "$APB_BASE_IMAGE" "$PREFIX/apb-base:$t"
    "$DOCKER" tag "$APB_BASE_IMAGE" "$UPSTREAM_APB_BASE:$t"
  done
}

build_openstack_apb() {
  local h
  h=$(inputs_hash "$(image_id "$APB_BASE_IMAGE")" apb-base/openstack-apb -- 'apb-base/openstack-apb/tests/*' '*/__pycache__/*' 'apb-base/openstack-apb/README.md')
  build openstack-apb "$h" "$OPENSTACK_APB_IMAGE" --build-arg "APB_BASE=$APB_BASE_IMAGE" apb-base/openstack-apb
}

# go_toolchain_image: the host's Go toolchain as a local image (no golang
# image can be pulled), tagged with its version so it is imported once.
go_toolchain_image() {
  need_go
  local goroot ver tag
  goroot=$(go env GOROOT)
  ver=$(go env GOVERSION)
  tag=$PREFIX/go-toolchain:$ver
  if [ -z "$(image_id "$tag")" ]; then
    log "importing the Go toolchain ($goroot, $ver) as $tag"
    local b
    b=$(basename "$goroot")
    tar -C "$(dirname "$goroot")" --exclude="$b/pkg/obj" --exclude="$b/test" --transform "s,^$b,go," -c "$b" \
      | "$DOCKER" import --message "Go toolchain $ver from $goroot" - "$tag" >/dev/null \
      || die "docker import of the Go toolchain failed"
  fi
  echo "$tag"
}

# host_goproxy: serves this host's Go module cache on 127.0.0.1 as a
# GOPROXY (the cache's download/ tree is the proxy protocol's layout) and
# prints its URL. The build stage reaches it through --network host: the
# build needs no Internet access and no CA the host trusts but the image
# should not. Sets GOPROXY_URL (not run in a subshell: the server lives
# until this script exits). The port is fixed (OSB_GOPROXY_PORT) so Docker's layer cache
# of `go mod download` survives between builds.
host_goproxy() {
  local port=${OSB_GOPROXY_PORT:-38081} dir
  log "go mod download (host module cache)"
  go mod download >&2 || die "go mod download failed"
  dir=$(go env GOMODCACHE)/cache/download
  local logf
  logf=$(mktemp)
  python3 -m http.server "$port" --bind 127.0.0.1 --directory "$dir" >"$logf" 2>&1 &
  local pid=$!
  on_exit "kill $pid 2>/dev/null; rm -f '$logf'"
  local i
  for ((i = 0; i < 50; i++)); do
    curl -fsS -o /dev/null "http://127.0.0.1:$port/" 2>/dev/null && { GOPROXY_URL="http://127.0.0.1:$port"; return 0; }
    kill -0 "$pid" 2>/dev/null || die "module proxy on 127.0.0.1:$port did not start: $(cat "$logf")"
    sleep 0.2
  done
  die "module proxy on 127.0.0.1:$port did not answer"
}

build_broker() {
  local go_img pkg=./cmd/broker h
  go_img=$(go_toolchain_image)
  # The broker binary is cmd/broker; until it exists the image plumbing is
  # exercised with every command under cmd/.
  [ -d cmd/broker ] || pkg=./cmd/...
  h=$(inputs_hash "$(image_id "$OSB_BASE_IMAGE") $(image_id "$go_img") $pkg" Dockerfile .dockerignore go.mod go.sum cmd pkg \
      -- '*_test.go' '*/testdata/*')
  if up_to_date "$BROKER_IMAGE" "$h"; then log "broker: up to date ($BROKER_IMAGE, inputs $h)"; return 0; fi
  host_goproxy
  build broker "$h" "$BROKER_IMAGE" --build-arg "GO_IMAGE=$go_img" --build-arg "BROKER_PKG=$pkg" \
    --build-arg "GOPROXY=$GOPROXY_URL" --build-arg "VERSION=$(git describe --always --dirty 2>/dev/null || echo dev)" .
}

main() {
  local targets=("$@")
  [ ${#targets[@]} -gt 0 ] || targets=(apb-base openstack-apb broker)
  ensure_base_image
  local t
  for t in "${targets[@]}"; do
    case "$t" in
      apb-base) build_apb_base ;;
      openstack-apb) build_openstack_apb ;;
      broker) build_broker ;;
      *) die "unknown image $t (apb-base, openstack-apb, broker)" ;;
    esac
  done
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  main "$@"
fi
