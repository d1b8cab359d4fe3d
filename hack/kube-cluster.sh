#!/usr/bin/env bash
# kube-cluster.sh: a one-node Kubernetes on 127.0.0.1 where pods really run:
# etcd, kube-apiserver, kube-controller-manager, kube-scheduler and kubelet
# (built by hack/kube-build.sh) with Debian's containerd, runc and CNI
# plugins. Pods use hostNetwork (there is no pod network); see DESIGN.md
# "One-node cluster facts".
#
# Usage: hack/kube-cluster.sh start|stop|status|kubeconfig|import IMAGE...|tag SRC DST|untag NAME
#   start       starts what is not running; prints the kubeconfig path
#   stop        stops the processes this script started (by pid) and unmounts
#   import IMG  copies local Docker images into the node's containerd
#   tag SRC DST another name for an imported image (no copy)
#   untag NAME  removes such a name (the image stays under its others)
# State lives in $OSB_KUBE_DIR (default /tmp/osb-kube); binaries in the cache.
set -euo pipefail
cd "$(dirname "$0")/.."
. hack/lib.sh

DIR=${OSB_KUBE_DIR:-/tmp/osb-kube}
ETCD_PORT=${OSB_KUBE_ETCD_PORT:-23791}
API_PORT=${OSB_KUBE_API_PORT:-16443}
KUBELET_PORT=${OSB_KUBE_KUBELET_PORT:-10250}
PAUSE_IMAGE=osb.local/pause:1
SOCK=$DIR/containerd/containerd.sock
KUBECONFIG_FILE=$DIR/admin.kubeconfig

pidfile() { echo "$DIR/pids/$1.pid"; }
running() { local p; p=$(cat "$(pidfile "$1")" 2>/dev/null) && kill -0 "$p" 2>/dev/null; }

# spawn NAME CMD...: runs CMD in its own session, logging to $DIR/logs.
spawn() {
  local name=$1; shift
  if running "$name"; then return 0; fi
  setsid "$@" >"$DIR/logs/$name.log" 2>&1 </dev/null &
  echo $! >"$(pidfile "$name")"
}

# wait_for WHAT SECONDS CMD...: polls CMD (bounded) until it succeeds.
wait_for() {
  local what=$1 secs=$2 i; shift 2
  for ((i = 0; i < secs * 4; i++)); do
    "$@" >/dev/null 2>&1 && return 0
    sleep 0.25
  done
  die "$what did not come up within ${secs}s (logs: $DIR/logs)"
}

certs() {
  [ -f "$DIR/pki/apiserver.crt" ] && return 0
  mkdir -p "$DIR/pki"
  (
    cd "$DIR/pki"
    openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.crt -days 30 -subj /CN=osb-test-ca 2>/dev/null
    openssl req -newkey rsa:2048 -nodes -keyout apiserver.key -out apiserver.csr -subj /CN=kube-apiserver 2>/dev/null
    printf 'subjectAltName=IP:127.0.0.1,IP:10.0.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc\n' >san.ext
    openssl x509 -req -in apiserver.csr -CA ca.crt -CAkey ca.key -CAcreateserial -out apiserver.crt -days 30 -extfile san.ext 2>/dev/null
    openssl genrsa -out sa.key 2048 2>/dev/null
    openssl rsa -in sa.key -pubout -out sa.pub 2>/dev/null
  )
  # A test-only admin token: the cluster binds to 127.0.0.1 and dies with the test.
  echo "osb-test-admin-$(openssl rand -hex 16),osb-admin,osb-admin,system:masters" >"$DIR/pki/tokens.csv"
  chmod 600 "$DIR/pki/tokens.csv" "$DIR/pki/"*.key
}

kubeconfig() {
  local token
  token=$(cut -d, -f1 "$DIR/pki/tokens.csv")
  # Not umask: containerd inherits it and would make every rootfs 0700.
  : >"$KUBECONFIG_FILE"
  chmod 600 "$KUBECONFIG_FILE"
  cat >"$KUBECONFIG_FILE" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: osb-test
  cluster:
    server: https://127.0.0.1:$API_PORT
    certificate-authority: $DIR/pki/ca.crt
users:
- name: osb-admin
  user:
    token: $token
contexts:
- name: osb-test
  context: {cluster: osb-test, user: osb-admin}
current-context: osb-test
EOF
}

containerd_config() {
  mkdir -p "$DIR/containerd" "$DIR/cni"
  cat >"$DIR/containerd/config.toml" <<EOF
version = 2
root = "$DIR/containerd/root"
state = "$DIR/containerd/state"
[grpc]
  address = "$SOCK"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "$PAUSE_IMAGE"
  # This VM lacks CAP_SYS_RESOURCE: without it every sandbox fails.
  restrict_oom_score_adj = true
  [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
    runtime_type = "io.containerd.runc.v2"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
      SystemdCgroup = false
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "$DIR/cni"
EOF
  cat >"$DIR/cni/10-loopback.conflist" <<'EOF'
{"cniVersion": "0.4.0", "name": "osb-loopback", "plugins": [{"type": "loopback"}]}
EOF
}

kubelet_config() {
  mkdir -p "$DIR/kubelet" "$DIR/pod-logs"
  cat >"$DIR/kubelet.yaml" <<EOF
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
address: 127.0.0.1
port: $KUBELET_PORT
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
healthzPort: 0
authentication:
  anonymous: {enabled: true}
  webhook: {enabled: false}
authorization: {mode: AlwaysAllow}
cgroupDriver: cgroupfs
failCgroupV1: false
failSwapOn: false
cgroupsPerQOS: false
enforceNodeAllocatable: []
containerRuntimeEndpoint: unix://$SOCK
podLogsDir: $DIR/pod-logs
resolvConf: /etc/resolv.conf
serializeImagePulls: false
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
evictionHard: {memory.available: "1Mi", nodefs.available: "0%", imagefs.available: "0%", nodefs.inodesFree: "0%"}
maxPods: 50
EOF
}

# pause_image: the sandbox image, a static C program that waits for SIGTERM.
pause_image() {
  ctr -a "$SOCK" -n k8s.io images ls -q | grep -qx "$PAUSE_IMAGE" && return 0
  . hack/docker.sh
  ensure_docker
  local b
  b=$(mktemp -d)
  cat >"$b/pause.c" <<'EOF'
#include <signal.h>
#include <unistd.h>
static void done(int s) { (void)s; _exit(0); }
int main(void) {
  signal(SIGTERM, done);
  signal(SIGINT, done);
  for (;;) pause();
}
EOF
  gcc -static -O2 -o "$b/pause" "$b/pause.c" || die "gcc -static failed (apt-get install gcc libc6-dev)"
  printf 'FROM scratch\nCOPY pause /pause\nENTRYPOINT ["/pause"]\n' >"$b/Dockerfile"
  "$DOCKER" build -q -t "$PAUSE_IMAGE" "$b" >/dev/null
  rm -rf "$b"
  import_images "$PAUSE_IMAGE"
}

# import_images IMAGE...: docker save | ctr import, skipped when the node
# already has that image id under that name.
import_images() {
  local img id stamp todo=() ids=()
  mkdir -p "$DIR/imported"
  for img in "$@"; do
    id=$("${DOCKER:-docker}" image inspect -f '{{.Id}}' "$img") || die "no local image $img"
    stamp=$DIR/imported/$(printf '%s' "$img" | tr '/:' '__')
    if [ "$(cat "$stamp" 2>/dev/null)" = "$id" ]; then continue; fi
    todo+=("$img")
    ids+=("$id")
  done
  [ ${#todo[@]} -gt 0 ] || return 0
  log "importing ${todo[*]} into the node"
  # One archive for all: images FROM one base (the bundles, FROM
  # openstack-apb) carry its layers once, not once per image.
  "${DOCKER:-docker}" save "${todo[@]}" | ctr -a "$SOCK" -n k8s.io images import - >/dev/null \
    || die "cannot import ${todo[*]} into containerd"
  local i
  for i in "${!todo[@]}"; do
    echo "${ids[$i]}" >"$DIR/imported/$(printf '%s' "${todo[$i]}" | tr '/:' '__')"
  done
}

# ref NAME: the name containerd gives a Docker short name.
ref() {
  case "$1" in
    */*.*/* | *.*/* | localhost/*) echo "$1" ;;
    */*) echo "docker.io/$1" ;;
    *) echo "docker.io/library/$1" ;;
  esac
}

start() {
  umask 022
  need_apt containerd runc containernetworking-plugins openssl gcc libc6-dev
  local bin
  bin=$(hack/kube-build.sh)
  mkdir -p "$DIR/pids" "$DIR/logs"
  certs
  kubeconfig
  containerd_config
  kubelet_config

  spawn containerd containerd --config "$DIR/containerd/config.toml"
  spawn etcd "$bin/etcd" --name osb-kube --data-dir "$DIR/etcd" \
    --listen-client-urls "http://127.0.0.1:$ETCD_PORT" --advertise-client-urls "http://127.0.0.1:$ETCD_PORT" \
    --listen-peer-urls "http://127.0.0.1:$((ETCD_PORT + 1))" --initial-advertise-peer-urls "http://127.0.0.1:$((ETCD_PORT + 1))" \
    --initial-cluster "osb-kube=http://127.0.0.1:$((ETCD_PORT + 1))" --listen-metrics-urls "" \
    --quota-backend-bytes 1073741824
  wait_for containerd 30 ctr -a "$SOCK" version
  wait_for etcd 30 curl -fsS "http://127.0.0.1:$ETCD_PORT/health"
  pause_image &
  local pause_pid=$!

  spawn kube-apiserver "$bin/kube-apiserver" --etcd-servers "http://127.0.0.1:$ETCD_PORT" \
    --bind-address 127.0.0.1 --advertise-address 127.0.0.1 --secure-port "$API_PORT" \
    --tls-cert-file "$DIR/pki/apiserver.crt" --tls-private-key-file "$DIR/pki/apiserver.key" \
    --client-ca-file "$DIR/pki/ca.crt" --token-auth-file "$DIR/pki/tokens.csv" \
    --service-account-key-file "$DIR/pki/sa.pub" --service-account-signing-key-file "$DIR/pki/sa.key" \
    --service-account-issuer https://kubernetes.default.svc --service-cluster-ip-range 10.0.0.0/24 \
    --authorization-mode Node,RBAC --allow-privileged \
    --kubelet-preferred-address-types Hostname --endpoint-reconciler-type none
  wait_for kube-apiserver 90 curl -fsS --cacert "$DIR/pki/ca.crt" "https://127.0.0.1:$API_PORT/readyz"

  spawn kube-controller-manager "$bin/kube-controller-manager" --kubeconfig "$KUBECONFIG_FILE" \
    --controllers '*,-nodeipam' --service-account-private-key-file "$DIR/pki/sa.key" \
    --root-ca-file "$DIR/pki/ca.crt" --use-service-account-credentials \
    --bind-address 127.0.0.1 --secure-port 0 --leader-elect=false
  spawn kube-scheduler "$bin/kube-scheduler" --kubeconfig "$KUBECONFIG_FILE" \
    --bind-address 127.0.0.1 --secure-port 0 --leader-elect=false
  wait "$pause_pid" || die "cannot make the pause image"
  spawn kubelet "$bin/kubelet" --kubeconfig "$KUBECONFIG_FILE" --config "$DIR/kubelet.yaml" \
    --hostname-override localhost --root-dir "$DIR/kubelet" --cert-dir "$DIR/kubelet/pki"

  wait_for "node localhost Ready" 120 node_ready
  wait_for "default service account" 60 kubectl --kubeconfig "$KUBECONFIG_FILE" get sa default -n default
  echo "$KUBECONFIG_FILE"
}

node_ready() {
  kubectl --kubeconfig "$KUBECONFIG_FILE" get node localhost \
    -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}{" "}{.spec.taints}' 2>/dev/null | grep -qx 'True '
}

status() {
  local n rc=0
  for n in containerd etcd kube-apiserver kube-controller-manager kube-scheduler kubelet; do
    if running "$n"; then echo "$n running"; else echo "$n stopped"; rc=1; fi
  done
  return $rc
}

stop() {
  local n p
  # Reverse order; the kubelet first so nothing restarts containers.
  for n in kubelet kube-scheduler kube-controller-manager kube-apiserver etcd; do
    p=$(cat "$(pidfile "$n")" 2>/dev/null) || continue
    kill "$p" 2>/dev/null || true
  done
  # Containers and their shims outlive containerd; end them by their pid files.
  local f
  for f in "$DIR"/containerd/state/io.containerd.runtime.v2.task/*/*/init.pid; do
    [ -f "$f" ] && kill -9 "$(cat "$f")" 2>/dev/null || true
  done
  for f in "$DIR"/containerd/state/io.containerd.runtime.v2.task/*/*/shim.pid; do
    [ -f "$f" ] && kill "$(cat "$f")" 2>/dev/null || true
  done
  p=$(cat "$(pidfile containerd)" 2>/dev/null) && kill "$p" 2>/dev/null || true
  for n in kubelet kube-scheduler kube-controller-manager kube-apiserver etcd containerd; do
    p=$(cat "$(pidfile "$n")" 2>/dev/null) || continue
    for _ in $(seq 40); do kill -0 "$p" 2>/dev/null || break; sleep 0.25; done
    kill -9 "$p" 2>/dev/null || true
    rm -f "$(pidfile "$n")"
  done
  # Secret volumes, overlay rootfs and shm mounts under $DIR, deepest first.
  awk -v d="$DIR/" 'index($2, d) == 1 {print $2}' /proc/mounts | sort -r | while read -r m; do
    umount -l "$m" 2>/dev/null || true
  done
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) status ;;
  kubeconfig) echo "$KUBECONFIG_FILE" ;;
  import) shift; . hack/docker.sh; ensure_docker; import_images "$@" ;;
  tag) ctr -a "$SOCK" -n k8s.io images tag --force "$(ref "$2")" "$(ref "$3")" >/dev/null ;;
  untag) ctr -a "$SOCK" -n k8s.io images rm "$(ref "$2")" >/dev/null ;;
  *) die "usage: $0 start|stop|status|kubeconfig|import IMAGE...|tag SRC DST|untag NAME" ;;
esac
