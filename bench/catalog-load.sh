#!/usr/bin/env bash
# Load test of GET /v2/catalog with 1,000 bundles: wrk against the broker
# and against a baseline serving the same bytes with bare net/http, in the
# same run. Prints p50/p99 latency and requests/s for both, and the ratios.
# Usage: bench/catalog-load.sh [duration=15s] [connections=16]
set -euo pipefail
cd "$(dirname "$0")/.."
. hack/lib.sh
need_go
need_apt wrk
dur=${1:-15s}
conns=${2:-16}
go build -o bin/loadserver ./bench/loadserver
out=$(mktemp)
bin/loadserver -bundles 1000 > "$out" &
pid=$!
on_exit "kill $pid 2>/dev/null; wait $pid 2>/dev/null; rm -f $out"
for _ in $(seq 1 600); do grep -q '^bytes' "$out" && break; sleep 0.2; done
grep -q '^bytes' "$out" || die "loadserver did not start"
broker=$(awk '/^broker/{print $2}' "$out")
baseline=$(awk '/^baseline/{print $2}' "$out")
log "catalog body: $(awk '/^bytes/{print $2}' "$out") bytes, $(awk '/^gzip_bytes/{print $2}' "$out") gzipped (wrk asks for gzip, as Go and Python clients do)"
auth="Authorization: Basic $(printf admin:admin | base64)"
measure() { # name url -> "p50_ms p99_ms rps"
  wrk -t2 -c"$conns" -d"$dur" --latency -H "$auth" -H 'Accept-Encoding: gzip' -H 'X-Broker-API-Version: 2.17' "$2" > "/tmp/wrk-$1.txt"
  awk -v name="$1" '
    function ms(v) { if (v ~ /us$/) return v/1000; if (v ~ /ms$/) return v+0; if (v ~ /s$/) return v*1000; return v }
    /^ +50%/ {p50=ms($2)} /^ +99%/ {p99=ms($2)} /^Requests\/sec/ {rps=$2}
    END {printf "%s %.3f %.3f %.0f\n", name, p50, p99, rps}' "/tmp/wrk-$1.txt"
}
b=$(measure baseline "$baseline")
r=$(measure broker "$broker")
printf '%-9s %9s %9s %10s\n' what p50_ms p99_ms req/s
printf '%-9s %9s %9s %10s\n' $b
printf '%-9s %9s %9s %10s\n' $r
echo "$b $r" | awk '{printf "ratio broker/baseline: p50 x%.2f, p99 x%.2f, throughput x%.2f\n", $6/$2, $7/$3, $8/$4}'
