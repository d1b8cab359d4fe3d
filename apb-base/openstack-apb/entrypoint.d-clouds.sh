# Sourced by apb-base's entrypoint. The broker mounts the Secret holding the
# OpenStack credentials at /etc/apb-secrets/<volume>/; when it has a
# clouds.yaml (and secure.yaml), point openstacksdk, the openstack CLI and the
# openstack.cloud modules at it. A value the bundle's image sets wins.
if [ -z "${OS_CLIENT_CONFIG_FILE:-}" ]; then
  for f in "${APB_SECRETS_DIR:-/etc/apb-secrets}"/*/clouds.yaml; do
    [ -r "$f" ] || continue
    export OS_CLIENT_CONFIG_FILE=$f
    [ -z "${OS_CLIENT_SECURE_FILE:-}" ] && [ -r "${f%/*}/secure.yaml" ] && export OS_CLIENT_SECURE_FILE=${f%/*}/secure.yaml
    break
  done
fi
