#!/usr/bin/env bash
# make bench: the Go benchmarks and the catalog load script. They measure;
# they never fail a build on a figure. bench/runtime needs the one-node
# cluster: prepared as for `make test` (hack/test.d/30-kube.sh) unless
# OSB_SKIP names kube; bench/docker needs Docker and the test bundle
# (hack/test.d/25-docker.sh) unless OSB_SKIP names docker.
set -euo pipefail
cd "$(dirname "$0")/.."
. hack/lib.sh
need_go
need_apt docker-registry
if ! skipped docker; then
  . hack/test.d/25-docker.sh
fi
if ! skipped kube; then
  . hack/test.d/30-kube.sh
fi
go test -run '^$' -bench . -benchtime 3s -timeout 60m ./bench/...
bench/catalog-load.sh
