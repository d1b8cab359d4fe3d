#!/usr/bin/env bash
# make test: installs what the tests need, then runs them all.
# OSB_SKIP="images kube" skips those suites explicitly; nothing else skips.
set -euo pipefail
cd "$(dirname "$0")/.."
. hack/lib.sh
need_go
start=$(date +%s)

log "go vet"
go vet ./...

# Components the end-to-end tests start on 127.0.0.1.
need_apt docker-registry apache2-utils

for s in hack/test.d/*.sh; do
  [ -e "$s" ] || continue
  name=$(basename "$s" .sh); name=${name#*-}
  if skipped "$name"; then log "skipping $name (OSB_SKIP)"; continue; fi
  log "preparing $name"
  . "$s"
done

log "go test"
go test -count=1 -timeout 50m ./... 2>&1 | tee /tmp/osb-go-test.$$.log
rc=${PIPESTATUS[0]}
log "tests took $(( $(date +%s) - start ))s"
exit "$rc"
