#!/usr/bin/env bash
# make run: the broker on embedded etcd with the bundles under registries/,
# plain HTTP on 127.0.0.1:1338, basic auth admin/admin unless OSB_USER and
# OSB_PASSWORD say otherwise. State persists in .cache/etcd.
set -euo pipefail
cd "$(dirname "$0")/.."
. hack/lib.sh
need_go

user=${OSB_USER:-admin}
pass=${OSB_PASSWORD:-admin}
mkdir -p .cache/auth bin
umask 077
printf '%s' "$user" > .cache/auth/username
printf '%s' "$pass" > .cache/auth/password

log "building the broker"
go build -o bin/broker ./cmd/broker

shown=$pass
[ -n "${OSB_PASSWORD:-}" ] && shown='<$OSB_PASSWORD>'
cat <<MSG
==> broker on http://127.0.0.1:1338 with basic auth $user/$shown (override with OSB_USER and OSB_PASSWORD)
    try: curl -s -u '$user:$shown' -H 'X-Broker-API-Version: 2.17' http://127.0.0.1:1338/v2/catalog
MSG
exec bin/broker -c hack/local-config.yaml
