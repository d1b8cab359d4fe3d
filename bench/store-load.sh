#!/usr/bin/env bash
# Store and memory under churn: N provision/deprovision cycles (in-process
# runtime, 1,000 bundles) against the current tree and, in the same run,
# against a baseline tree built from the same bench source. Prints start-up
# times, the store's size on disk and RSS (idle, after the load, after a
# restart) for both, with ratios, and leaves heap profiles for
# `go tool pprof -top`.
# Usage: bench/store-load.sh [cycles=20000] [connections=16]
# OSB_BASELINE names the baseline commit (default: the tree before the
# store hardening, 22060ae).
set -euo pipefail
cd "$(dirname "$0")/.."
. hack/lib.sh
need_go
cycles=${1:-20000}
conns=${2:-16}
base=${OSB_BASELINE:-22060ae}
work=$(mktemp -d /tmp/osb-storeload.XXXXXX)
log "work directory $work (heap profiles stay there)"
go build -o "$work/bin-current" ./bench/storeload
mkdir -p "$work/base-src"
git archive "$base" | tar -x -C "$work/base-src"
rm -rf "$work/base-src/bench/storeload"
cp -r bench/storeload "$work/base-src/bench/storeload"
(cd "$work/base-src" && go build -o "$work/bin-baseline" ./bench/storeload)
"$work/bin-current" drive -current "$work/bin-current" -baseline "$work/bin-baseline" -work "$work" -cycles "$cycles" -conc "$conns"
rm -rf "$work/base-src" "$work"/baseline/registry "$work"/current/registry
