#!/usr/bin/env bash
# kube-build.sh: builds kube-apiserver, kube-controller-manager,
# kube-scheduler, kubelet, kubectl (k8s.io/kubernetes $KUBE_VERSION; kubectl
# also renders the kustomizations of deploy/) and etcd
# (etcdmain $ETCD_VERSION) from the Go module proxy into
# $OSB_CACHE_DIR/kube/$KUBE_VERSION/bin, skipping what is already there.
# Cold: ~17 min on 2 cores; warm: seconds. Prints the bin dir on stdout.
set -euo pipefail
cd "$(dirname "$0")/.."
. hack/lib.sh
need_go

KUBE_VERSION=${KUBE_VERSION:-v1.37.2}
ETCD_VERSION=${ETCD_VERSION:-v3.7.3}
bin=$OSB_CACHE_DIR/kube/$KUBE_VERSION/bin
src=$OSB_CACHE_DIR/kube/$KUBE_VERSION/src
mkdir -p "$bin"

kube_cmds=(kube-apiserver kube-controller-manager kube-scheduler kubelet kubectl)
missing=()
for c in "${kube_cmds[@]}"; do [ -x "$bin/$c" ] || missing+=("$c"); done
etcd_ok=""
if [ -x "$bin/etcd" ]; then
  # Not a pipe into grep -q: under pipefail its early exit fails the test.
  have=$("$bin/etcd" --version 2>/dev/null || true)
  case "$have" in *"etcd Version: ${ETCD_VERSION#v}"$'\n'*) etcd_ok=1 ;; esac
fi
if [ ${#missing[@]} -eq 0 ] && [ -n "$etcd_ok" ]; then
  echo "$bin"; exit 0
fi

export GOFLAGS="-trimpath -buildvcs=false" CGO_ENABLED=0
ldflags="-s -w"

if [ ${#missing[@]} -gt 0 ]; then
  # k8s.io/kubernetes maps its staging modules to ./staging in its go.mod;
  # outside its repo each needs a replace to the published v0.x version.
  mkdir -p "$src/kube"
  cd "$src/kube"
  # A cache made before kubectl was in kube_cmds lacks its modules: its
  # tools.go is written anew and the module tidied again.
  if [ ! -f go.mod ] || ! grep -q '"k8s.io/kubernetes/cmd/kubectl"' tools.go 2>/dev/null; then
    rm -f go.mod go.sum tools.go
    go mod init kbuild >/dev/null 2>&1
    go mod edit -require="k8s.io/kubernetes@$KUBE_VERSION"
    modfile=$(GOFLAGS=-mod=mod go mod download -json "k8s.io/kubernetes@$KUBE_VERSION" | sed -n 's/.*"GoMod": "\(.*\)".*/\1/p')
    [ -n "$modfile" ] || die "cannot download k8s.io/kubernetes@$KUBE_VERSION go.mod"
    staging_version="v0.${KUBE_VERSION#v1.}"
    for m in $(sed -n 's#^\s*\(k8s.io/[a-z0-9-]*\) => ./staging/.*#\1#p' "$modfile"); do
      go mod edit -replace="$m=$m@$staging_version"
    done
    {
      echo '//go:build tools'; echo; echo 'package tools'; echo; echo 'import ('
      for c in "${kube_cmds[@]}"; do echo "	_ \"k8s.io/kubernetes/cmd/$c\""; done
      echo ')'
    } > tools.go
    log "resolving k8s.io/kubernetes $KUBE_VERSION modules"
    go mod tidy >tidy.log 2>&1 || { cat tidy.log >&2; die "go mod tidy failed in $src/kube"; }
  fi
  for c in "${missing[@]}"; do
    log "building $c $KUBE_VERSION (minutes when cold)"
    go build -ldflags="$ldflags" -o "$bin/$c.tmp" "k8s.io/kubernetes/cmd/$c"
    mv "$bin/$c.tmp" "$bin/$c"
  done
fi

if [ -z "$etcd_ok" ]; then
  mkdir -p "$src/etcd"
  cd "$src/etcd"
  if [ ! -f go.mod ]; then
    go mod init etcdbuild >/dev/null 2>&1
    cat > main.go <<'GO'
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() { etcdmain.Main(os.Args) }
GO
    go mod edit -require="go.etcd.io/etcd/server/v3@$ETCD_VERSION"
    go mod tidy >tidy.log 2>&1 || { cat tidy.log >&2; die "go mod tidy failed in $src/etcd"; }
  fi
  log "building etcd $ETCD_VERSION"
  go build -ldflags="$ldflags" -o "$bin/etcd.tmp" .
  mv "$bin/etcd.tmp" "$bin/etcd"
fi
echo "$bin"
