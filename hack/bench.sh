#!/usr/bin/env bash
# make bench: the Go benchmarks and the catalog load script. They measure;
# they never fail a build on a figure.
set -euo pipefail
cd "$(dirname "$0")/.."
. hack/lib.sh
need_go
go test -run '^$' -bench . -benchtime 3s ./bench/...
bench/catalog-load.sh
