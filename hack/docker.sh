#!/usr/bin/env bash
# hack/docker.sh: makes sure a Docker engine answers. Installs Debian's
# docker.io when missing and starts dockerd in the background when it is not
# running. Run it, or source it and call ensure_docker. Prints nothing on
# success when the engine already runs.
#
# Other scripts use "$DOCKER" (Debian's client, /usr/bin/docker, when present:
# it matches the engine's API and builds with the classic builder, which needs
# no buildx plugin).
set -euo pipefail
_docker_sh_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$_docker_sh_dir/lib.sh"

if [ -x /usr/bin/docker ]; then DOCKER=${DOCKER:-/usr/bin/docker}; else DOCKER=${DOCKER:-docker}; fi
export DOCKER
# The classic builder: Debian's engine 20.10 has no buildx, and a newer CLI
# elsewhere on PATH would otherwise insist on it.
export DOCKER_BUILDKIT=0

ensure_docker() {
  if "$DOCKER" info >/dev/null 2>&1; then return 0; fi
  command -v dockerd >/dev/null 2>&1 || need_apt docker.io
  [ -x /usr/bin/docker ] && DOCKER=/usr/bin/docker
  if "$DOCKER" info >/dev/null 2>&1; then return 0; fi
  [ "$(id -u)" = 0 ] || die "dockerd is not running and only root can start it: sudo dockerd &  (or: sudo systemctl start docker)"
  mkdir -p "$OSB_CACHE_DIR"
  local logf="$OSB_CACHE_DIR/dockerd.log"
  # systemd first when it runs this machine; otherwise a plain background dockerd.
  if [ -d /run/systemd/system ] && systemctl start docker >/dev/null 2>&1; then
    log "started docker.service"
  else
    log "starting dockerd in the background (log: $logf)"
    # setsid: the engine must outlive this script and its process group.
    setsid nohup dockerd >>"$logf" 2>&1 </dev/null &
  fi
  local i
  for ((i = 0; i < 60; i++)); do
    "$DOCKER" info >/dev/null 2>&1 && return 0
    sleep 1
  done
  die "dockerd did not answer within 60s; see $logf"
}

# Executed (not sourced): do the work now.
if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  ensure_docker
fi
