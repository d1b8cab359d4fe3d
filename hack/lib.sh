# Shared shell helpers for hack/ scripts. Source it; it defines functions only.

# CACHE_DIR holds built binaries (Kubernetes, etcd, base images) outside the
# clone so later runs on the same machine reuse them.
: "${OSB_CACHE_DIR:=${XDG_CACHE_HOME:-$HOME/.cache}/openstack-service-broker}"
export OSB_CACHE_DIR

log() { printf '==> %s\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# skipped NAME: true when the caller asked to skip NAME via OSB_SKIP="a b".
skipped() { case " ${OSB_SKIP:-} " in *" $1 "*) return 0 ;; *) return 1 ;; esac; }

_apt_updated=""
# need_apt PKG...: installs the Debian packages that are missing, or says in
# one line what is missing when it cannot (not root, no apt).
need_apt() {
  local missing=() p
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
    die "missing Debian packages: ${missing[*]} (install them: sudo apt-get install ${missing[*]})"
  fi
  if [ -z "$_apt_updated" ]; then
    log "apt-get update"
    apt-get update -qq >/dev/null || die "apt-get update failed"
    _apt_updated=1
  fi
  log "installing ${missing[*]}"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null \
    || die "apt-get install ${missing[*]} failed"
}

need_go() {
  command -v go >/dev/null || [ -x /usr/local/go/bin/go ] || die "Go is missing: install Go 1.26 (https://go.dev/dl) into /usr/local/go"
  command -v go >/dev/null || export PATH=$PATH:/usr/local/go/bin
}

# on_exit CMD: runs CMD when the script exits (several may be registered).
_on_exit_cmds=()
_run_on_exit() { local i; for ((i=${#_on_exit_cmds[@]}-1; i>=0; i--)); do eval "${_on_exit_cmds[$i]}" || true; done; }
on_exit() { _on_exit_cmds+=("$*"); trap _run_on_exit EXIT; }
