#!/bin/bash
# entrypoint.sh <action> --extra-vars '<json>'
#
# The Ansible Playbook Bundle contract, as ansibleplaybookbundle/apb-base
# (runtime 2) defined it:
#   exit 1  fewer than three arguments, or extra vars that are not JSON
#   exit 8  no playbook for the action ('<action>' NOT IMPLEMENTED)
#   else    the exit code of ansible-playbook
# Playbooks: /opt/apb/project/<action>.yaml, then .yml; then the legacy
# /opt/apb/actions, with a deprecation warning.
# User: started as root (an image that ends without USER), it re-executes
# itself as apb (USER_UID, 1001, group 0) unless BUNDLE_RUN_AS_ROOT=true.
# Mounted broker secrets (/etc/apb-secrets/<volume>/<key>) reach the playbook
# as extra vars, as the pre-runner base did (ansible-runner's env/passwords,
# which the last upstream base used, never made them variables).

[ "${BUNDLE_DEBUG:-}" = "true" ] && set -x

# OpenShift's s2i builder runs assemble scripts through the entrypoint.
for arg in "$@"; do
  case "$arg" in *s2i/assemble*) exec "$@" ;; esac
done

# Bundles do not run as root. The original base ended as root for child
# builds and its bundles said `USER apb`; one that did not ran as root.
# Dropping here (not in the pod spec) works under every runtime: a pod
# spec's runAsUser would override an image's own USER and be refused by
# OpenShift's restricted SCC, which assigns its own UID in group 0 (that
# UID is not root, so nothing changes for it here).
if [ "$(id -u)" = 0 ] && [ "${BUNDLE_RUN_AS_ROOT:-}" != "true" ]; then
  self=$0
  case "$self" in */*) ;; *) self=$(command -v -- "$self") ;; esac
  exec setpriv --reuid="${USER_UID:-1001}" --regid=0 --clear-groups -- "$self" "$@"
fi

BASE_DIR=${BASE_DIR:-/opt/apb}
PLAYBOOKS=$BASE_DIR/project
LEGACY_PLAYBOOKS=$BASE_DIR/actions
ENV_DIR=$BASE_DIR/env
EXTRAVARS=$ENV_DIR/extravars
SECRETS_DIR=${APB_SECRETS_DIR:-/etc/apb-secrets}
TEST_RESULT=/var/tmp/test-result
SA_DIR=/var/run/secrets/kubernetes.io/serviceaccount

usage() {
  cat >&2 <<USAGE
Usage: entrypoint.sh ACTION --extra-vars JSONSTRING
  ACTION      one of provision, deprovision, bind, unbind, update, test
  --extra-vars the flag is kept for compatibility and must be given
  JSONSTRING  one JSON object: the extra variables for the playbook
USAGE
}

# An arbitrary UID (OpenShift) has no passwd entry; ssh, ansible and python's
# getpass need one. /etc/passwd is group-writable for group 0 for this.
if ! whoami >/dev/null 2>&1 && [ -w /etc/passwd ]; then
  echo "${USER_NAME:-apb}:x:$(id -u):0:${USER_NAME:-apb} user:${HOME}:/sbin/nologin" >>/etc/passwd
fi

if [ $# -lt 3 ]; then
  usage
  exit 1
fi
ACTION=$1
FLAG=$2
JSONSTRING=$3
[ "$FLAG" = "--extra-vars" ] || echo "warning: second argument '$FLAG' is not --extra-vars; treated as it" >&2

# The extra vars must be one JSON object (the runner-based contract). The
# same Python prints the Galaxy adapter's keys (role_name, role_namespace,
# galaxy_url), one a line: one interpreter start-up rather than four (-S:
# json needs nothing of site-packages).
if ! galaxy=$(python3 -S -c '
import json, sys
v = json.loads(sys.argv[1])
if not isinstance(v, dict):
    sys.exit(1)
for k in ("role_name", "role_namespace", "galaxy_url"):
    print(str(v.get(k, "")).replace("\n", " "))
' "$JSONSTRING" 2>/dev/null); then
  echo "error: the extra vars are not a JSON object" >&2
  exit 1
fi
{ IFS= read -r ROLE_NAME; IFS= read -r ROLE_NAMESPACE; IFS= read -r GALAXY_URL; } <<<"$galaxy"

mkdir -p "$ENV_DIR" 2>/dev/null
if ! ( umask 077 && printf '%s\n' "$JSONSTRING" >"$EXTRAVARS" ) 2>/dev/null; then
  EXTRAVARS=$(mktemp /tmp/extravars.XXXXXX)
  printf '%s\n' "$JSONSTRING" >"$EXTRAVARS"
fi

# An in-cluster kubeconfig pointing at the address the kubelet gives the pod,
# so kubernetes.core's k8s tasks and the asb modules reach the API server
# even without cluster DNS. The static one in the image (kubernetes.default)
# stays when the pod has no such environment or $HOME is read-only.
if [ -n "${KUBERNETES_SERVICE_HOST:-}" ] && [ -r "$SA_DIR/token" ]; then
  host=$KUBERNETES_SERVICE_HOST
  case "$host" in *:*) host="[$host]" ;; esac
  mkdir -p "$HOME/.kube" 2>/dev/null
  cat >"$HOME/.kube/config" 2>/dev/null <<KUBECONFIG || echo "warning: cannot write $HOME/.kube/config; keeping the image's" >&2
apiVersion: v1
kind: Config
clusters:
- name: cluster
  cluster:
    server: https://${host}:${KUBERNETES_SERVICE_PORT:-443}
    certificate-authority: $SA_DIR/ca.crt
users:
- name: apb-user
  user:
    tokenFile: $SA_DIR/token
contexts:
- name: apb
  context:
    cluster: cluster
    user: apb-user
    namespace: ${POD_NAMESPACE:-default}
current-context: apb
KUBECONFIG
fi

EXTRA_ARGS=()
# Broker-mapped secrets: each mounted Secret is a directory of key files
# (Kubernetes puts them in ..data/ behind symlinks). They become extra vars,
# never printed; no_log=true is passed as the original base did.
if [ -d "$SECRETS_DIR" ] && [ -n "$(ls -A "$SECRETS_DIR" 2>/dev/null)" ]; then
  SECRETS_FILE=$(mktemp /tmp/secrets.XXXXXX)
  chmod 600 "$SECRETS_FILE"
  python3 - "$SECRETS_DIR" "$SECRETS_FILE" <<'PY' || { echo "error: cannot read the mounted secrets in $SECRETS_DIR" >&2; exit 1; }
import json, os, sys
root, out = sys.argv[1], sys.argv[2]
values = {}
for volume in sorted(os.listdir(root)):
    d = os.path.join(root, volume)
    if not os.path.isdir(d):
        continue
    data = os.path.join(d, "..data")
    src = data if os.path.isdir(data) else d
    for key in sorted(os.listdir(src)):
        p = os.path.join(src, key)
        if key.startswith(".") or not os.path.isfile(p):
            continue
        # Only keys that can be variable names become variables (a key like
        # clouds.yaml stays a file for the tools that read it).
        if not key.isidentifier():
            print("note: secret key %r in %s is not a variable name; left as a file only" % (key, volume),
                  file=sys.stderr)
            continue
        with open(p, "rb") as f:
            values[key] = f.read().decode("utf-8", "replace")
with open(out, "w") as f:
    json.dump(values, f)
PY
  EXTRA_ARGS+=(--extra-vars no_log=true --extra-vars "@$SECRETS_FILE")
fi

# Hooks of derived base images (e.g. openstack-apb pointing openstacksdk at
# the mounted clouds.yaml). Sourced, so they can export variables.
for hook in /usr/share/apb/entrypoint.d/*.sh; do
  [ -r "$hook" ] && . "$hook"
done

# Galaxy adapter: the bundle is an Ansible role fetched at run time.
if [ -n "$ROLE_NAME" ] && [ -n "$ROLE_NAMESPACE" ]; then
  galaxy_args=()
  [ -n "$GALAXY_URL" ] && galaxy_args=(-s "$GALAXY_URL")
  ansible-galaxy install "${galaxy_args[@]}" "$ROLE_NAMESPACE.$ROLE_NAME" -p /opt/ansible/roles || {
    echo "error: ansible-galaxy install $ROLE_NAMESPACE.$ROLE_NAME failed" >&2; exit 1; }
  role_dir=/opt/ansible/roles/$ROLE_NAMESPACE.$ROLE_NAME
  alt_dir=/opt/ansible/roles/${ROLE_NAMESPACE}.${ROLE_NAME//_/-}
  [ -d "$role_dir" ] || role_dir=$alt_dir
  [ "$role_dir" = "$alt_dir" ] || mv "$role_dir" "$alt_dir"
  rm -rf "$PLAYBOOKS" && mv "$alt_dir/playbooks" "$PLAYBOOKS"
fi

# The base makes both directories, so a bundle's playbooks are wherever it
# put them: project first, then the legacy actions (read in place).
PLAYBOOK=
for dir in "$PLAYBOOKS" "$LEGACY_PLAYBOOKS"; do
  for ext in yaml yml; do
    if [ -z "$PLAYBOOK" ] && [ -f "$dir/$ACTION.$ext" ]; then
      PLAYBOOK=$dir/$ACTION.$ext
    fi
  done
done
if [ -z "$PLAYBOOK" ]; then
  echo "'$ACTION' NOT IMPLEMENTED" >&2
  exit 8
fi
case "$PLAYBOOK" in
  "$LEGACY_PLAYBOOKS"/*) echo "DEPRECATED: APB playbooks should be stored at $PLAYBOOKS" >&2 ;;
esac

ansible-playbook "$PLAYBOOK" --extra-vars "@$EXTRAVARS" "${EXTRA_ARGS[@]}"
EXIT_CODE=$?
[ -n "${SECRETS_FILE:-}" ] && rm -f "$SECRETS_FILE"

# The test action hands its result over through the pod: keep it alive until
# someone execs test-retrieval (bounded; the exit code of the wait is ignored).
if [ -f "$TEST_RESULT" ]; then
  test-retrieval-init || true
fi

exit $EXIT_CODE
