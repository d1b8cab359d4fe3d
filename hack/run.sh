#!/usr/bin/env bash
# make run: the broker doing its job on this machine, no cluster needed:
# embedded etcd, the Docker runtime (Debian's docker.io, started when it is
# not running), the OpenStack emulator as the cloud (its clouds.yaml in
# .cache/run/clouds.yaml, mounted into the OpenStack bundles) and the
# bundles of registries/ built into images.
#
# The images build from when the Docker engine answers, while Go compiles
# (each skipped when its inputs are unchanged); the broker answers as soon
# as it is compiled, and each bundle joins the catalog when its image is
# ready. Progress is shown all along; the
# times to the first answer and to the full catalog are printed and kept
# in .cache/log/run-times.
#
# Settings (environment): OSB_USER/OSB_PASSWORD (admin/admin),
# OSB_LISTEN (127.0.0.1:1338), OSB_EMULATOR_LISTEN (127.0.0.1:5000),
# OSB_RUN_CACHE (.cache: state, logs, the generated config),
# OSB_IMAGE_PREFIX (images' names, as hack/images.sh), OSB_RUN_TAG (latest:
# the tag of the local/<bundle> images the broker runs), OSB_RUN_DETACH=1
# (return once everything is ready, leaving the broker and the emulator
# running; stop them with `kill $(cat .cache/run.pids)`).
set -euo pipefail
cd "$(dirname "$0")/.."
. hack/lib.sh
. hack/docker.sh
need_go

CACHE=${OSB_RUN_CACHE:-$PWD/.cache}
case "$CACHE" in /*) ;; *) CACHE=$PWD/$CACHE ;; esac
LISTEN=${OSB_LISTEN:-127.0.0.1:1338}
EMU_LISTEN=${OSB_EMULATOR_LISTEN:-127.0.0.1:5000}
TAG=${OSB_RUN_TAG:-latest}
user=${OSB_USER:-admin}
pass=${OSB_PASSWORD:-admin}
URL=http://$LISTEN
LOGS=$CACHE/log
TTY=""
[ -t 2 ] && TTY=1

# .cache/run holds clouds.yaml alone: the broker mounts that directory
# into OpenStack bundles. .cache/bundles holds the bundles whose image is
# built: the broker's local registry reads it.
mkdir -p "$CACHE/auth" "$CACHE/run" "$CACHE/bundles" "$CACHE/emulator" "$LOGS" "$CACHE/images" bin
rm -rf "${CACHE:?}/bundles/"* "$CACHE/images/"*
: >"$CACHE/run.pids"
(umask 077 && printf '%s' "$user" >"$CACHE/auth/username" && printf '%s' "$pass" >"$CACHE/auth/password")

say() { printf '==> [%3ds] %s\n' "$SECONDS" "$*" >&2; }

# status LINE: a line redrawn in place on a terminal (nothing elsewhere).
status() { [ -z "$TTY" ] || printf '\r\033[K==> [%3ds] %s' "$SECONDS" "$*" >&2; }
status_done() { [ -z "$TTY" ] || printf '\r\033[K' >&2; }

# stop PID NAME: SIGTERM, then SIGKILL after 20 s.
stop() {
  local pid=$1 i
  kill -0 "$pid" 2>/dev/null || return 0
  kill "$pid" 2>/dev/null || true
  for ((i = 0; i < 200; i++)); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.1; done
  kill -9 "$pid" 2>/dev/null || true
}

# in_use HOST:PORT: something already listens there.
in_use() { (exec 3<>"/dev/tcp/${1%:*}/${1##*:}") 2>/dev/null; }

# go_build NAME PKG: bin/NAME, with the number of packages compiled so far
# (a fresh machine compiles about a thousand for the broker).
go_build() {
  local name=$1 pkg=$2 total rc
  total=$(go list -deps -f '{{if .Stale}}x{{end}}' "$pkg" 2>"$LOGS/go-list.log" | grep -c x || true)
  if [ "${total:-0}" -le 1 ]; then
    go build -o "bin/$name" "$pkg"
    return 0
  fi
  say "compiling $name: $total packages"
  set +e
  go build -v -o "bin/$name" "$pkg" 2>&1 | tee "$LOGS/build-$name.log" | {
    local n=0 shown=0 step=$(( (total + 9) / 10 ))
    while IFS= read -r _; do
      n=$((n + 1))
      if [ -n "$TTY" ]; then
        status "compiling $name: $n/$total packages"
      elif [ $((n - shown)) -ge "$step" ]; then
        say "compiling $name: $n/$total packages"
        shown=$n
      fi
    done
  }
  rc=${PIPESTATUS[0]}
  set -e
  status_done
  if [ "$rc" != 0 ]; then
    grep -v '^[a-zA-Z0-9._/-]*$' "$LOGS/build-$name.log" | tail -n 30 >&2 || true
    die "compiling $name failed (log: $LOGS/build-$name.log)"
  fi
  say "compiled $name"
}

# wait_for DESCRIPTION SECONDS CMD...: polls CMD every 0.2 s.
wait_for() {
  local what=$1 limit=$2 i
  shift 2
  for ((i = 0; i < limit * 5; i++)); do
    "$@" && return 0
    sleep 0.2
  done
  die "$what did not happen within ${limit}s"
}

broker_up() { curl -fsS -o /dev/null "$URL/healthz" 2>/dev/null; }
catalog_has() { [ "$(catalog_count)" -ge "$1" ]; }
catalog_count() {
  curl -fsS -u "$user:$pass" -H 'X-Broker-API-Version: 2.17' "$URL/v2/catalog" 2>/dev/null |
    python3 -c 'import json,sys; print(len(json.load(sys.stdin)["services"]))' 2>/dev/null || echo -1
}

pids=()
cleanup() {
  local i
  [ "${OSB_RUN_DETACH:-}" = 1 ] && [ "${detached:-}" = 1 ] && return 0
  for ((i = ${#pids[@]} - 1; i >= 0; i--)); do stop "${pids[$i]}"; done
}
on_exit cleanup

need_apt curl python3
in_use "$LISTEN" && die "$LISTEN is in use (another make run?): stop it, or set OSB_LISTEN"
in_use "$EMU_LISTEN" && die "$EMU_LISTEN is in use: stop what listens there, or set OSB_EMULATOR_LISTEN"

# The Docker engine, then the bundle images (hack/bundles.sh: apb-base and
# openstack-apb first, then each bundle; one tag a line in $TAGS as each is
# ready), while Go compiles: on a fresh machine the images' package
# downloads overlap the compilation. The build's messages go to
# $BUILD_ERR, shown once the broker answers.
export OSB_BUILD_LOG_DIR=$CACHE/images
TAGS=$CACHE/images/ready
BUILD_ERR=$CACHE/images/bundles.out
: >"$TAGS"
: >"$BUILD_ERR"
(
  (. hack/docker.sh && ensure_docker) >"$LOGS/docker.log" 2>&1 || exit 3
  : >"$CACHE/images/docker.ok"
  exec hack/bundles.sh >>"$TAGS" 2>>"$BUILD_ERR"
) &
builder_pid=$!
pids+=("$builder_pid")
# The openstack CLI of the README's walk-through, when it can be installed.
(need_apt python3-openstackclient) >"$LOGS/apt.log" 2>&1 &
apt_pid=$!

say "go: downloading modules"
go mod download 2>"$LOGS/go-mod.log" || { cat "$LOGS/go-mod.log" >&2; die "go mod download failed"; }
go_build broker ./cmd/broker

sed -e "s|@CACHE@|$CACHE|g" -e "s|@LISTEN@|$LISTEN|g" -e "s|@TAG@|$TAG|g" hack/local-config.yaml >"$CACHE/broker.yaml"
bin/broker -c "$CACHE/broker.yaml" >>"$LOGS/broker.log" 2>&1 &
broker_pid=$!
pids+=("$broker_pid")
echo "$!" >>"$CACHE/run.pids"
wait_for "the broker answering on $URL (log: $LOGS/broker.log)" 60 broker_up
first_answer=$SECONDS
shown=$pass
[ -n "${OSB_PASSWORD:-}" ] && shown='<$OSB_PASSWORD>'
say "broker answering on $URL (basic auth $user/$shown); the catalog fills as bundle images are built"

go_build openstack-emulator ./cmd/openstack-emulator
go_build apb ./cmd/apb
rm -f "$CACHE/run/clouds.yaml"
bin/openstack-emulator -listen "$EMU_LISTEN" -clouds-yaml "$CACHE/run/clouds.yaml" \
  -state "$CACHE/emulator/state.json" >>"$LOGS/emulator.log" 2>&1 &
pids+=($!)
echo "$!" >>"$CACHE/run.pids"
wait_for "the OpenStack emulator on $EMU_LISTEN (log: $LOGS/emulator.log)" 30 test -s "$CACHE/run/clouds.yaml"
say "OpenStack emulator on http://$EMU_LISTEN (clouds.yaml: $CACHE/run/clouds.yaml, cloud emulator)"

# lines_of FILE: its complete lines (the last may still be being written).
lines_of() { wc -l <"$1"; }

# The bundles as their images are ready: tagged with the name the local
# registry gives them, copied where that registry reads, then a bootstrap;
# the build's messages relayed as they come.
# Meanwhile a watcher shows the step each build is at.
(
  while sleep 5 </dev/null >/dev/null 2>&1; do
    f=$(ls -t "$OSB_BUILD_LOG_DIR"/*.log 2>/dev/null | head -n1) || true
    [ -n "$f" ] || continue
    step=$(grep -E '^Step [0-9]+/[0-9]+ :' "$f" | tail -n1 | cut -c1-90)
    [ -n "$step" ] || continue
    if [ -n "$TTY" ]; then status "building $(basename "$f" .log): $step"; else say "building $(basename "$f" .log): $step"; sleep 25 </dev/null >/dev/null 2>&1; fi
  done
) &
watcher=$!
pids+=("$watcher")
bundles=0 relayed=0 builder_rc=""
docker_said=""
while :; do
  [ -n "$builder_rc" ] || kill -0 "$builder_pid" 2>/dev/null || { builder_rc=0; wait "$builder_pid" || builder_rc=$?; }
  if [ -z "$docker_said" ] && [ -e "$CACHE/images/docker.ok" ]; then
    say "Docker engine ready"
    docker_said=1
  fi
  n=$(lines_of "$BUILD_ERR")
  if [ "$n" -gt "$relayed" ]; then
    status_done
    sed -n "$((relayed + 1)),${n}p" "$BUILD_ERR" | sed 's/^/    /' >&2
    relayed=$n
  fi
  n=$(lines_of "$TAGS")
  while [ "$bundles" -lt "$n" ]; do
    image=$(sed -n "$((bundles + 1))p" "$TAGS")
    name=${image##*/}
    name=${name%:*}
    "$DOCKER" tag "$image" "local/$name:$TAG"
    mkdir -p "$CACHE/bundles/$name"
    cp "registries/$name/apb.yml" "registries/$name/Dockerfile" "$CACHE/bundles/$name/"
    curl -fsS -o /dev/null -X POST -u "$user:$pass" -H 'X-Broker-API-Version: 2.17' "$URL/v2/bootstrap" ||
      die "POST /v2/bootstrap failed (log: $LOGS/broker.log)"
    bundles=$((bundles + 1))
    status_done
    say "bundle local-$name ready (image local/$name:$TAG): in the catalog"
  done
  [ -z "$builder_rc" ] || break
  sleep 1
done
if [ "$builder_rc" = 3 ]; then
  # hack/docker.sh says in one line what is missing or what to start.
  why=$(grep -E '^error:' "$LOGS/docker.log" | tail -n 1 | sed 's/^error: //')
  die "no Docker engine, so no bundle can be built or run: ${why:-see $LOGS/docker.log}"
fi
kill "$watcher" 2>/dev/null || true
status_done
[ "$bundles" -gt 0 ] || die "no bundle built from registries/ (see the lines above; build logs in $OSB_BUILD_LOG_DIR)"
# The bundles built so far serve; the rest is said, not hidden.
[ "$builder_rc" = 0 ] || say "warning: building the bundle images stopped early (see the lines above; build logs in $OSB_BUILD_LOG_DIR): $bundles bundles in the catalog"
wait_for "the catalog listing the $bundles bundles" 30 catalog_has "$bundles"
full_catalog=$SECONDS
wait "$apt_pid" 2>/dev/null || true
printf 'first_answer_s=%s full_catalog_s=%s bundles=%s\n' "$first_answer" "$full_catalog" "$bundles" >"$LOGS/run-times"
say "ready: first answer after ${first_answer}s, the whole catalog ($bundles bundles) after ${full_catalog}s"
command -v openstack >/dev/null || say "note: the walk-through's openstack CLI is missing: sudo apt-get install python3-openstackclient"
cat >&2 <<MSG
    broker    $URL  (user $user; log $LOGS/broker.log)
    cloud     OS_CLIENT_CONFIG_FILE=$CACHE/run/clouds.yaml openstack --os-cloud emulator keypair list
    apb       export APB_BROKER_URL=$URL APB_USER=$user APB_PASSWORD=...; bin/apb catalog
    the README's walk-through provisions and binds a keypair. Ctrl-C stops the broker and the emulator.
MSG

if [ "${OSB_RUN_DETACH:-}" = 1 ]; then
  detached=1
  exit 0
fi
# The broker's log from now on, until Ctrl-C or the broker stops.
tail -n 0 -F "$LOGS/broker.log" &
pids+=($!)
wait "$broker_pid"
