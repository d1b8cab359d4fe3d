#!/bin/bash
# release-1.0's entrypoint, reduced to what the broker sees: the action's
# playbook from /opt/apb/actions (missing: exit 8), then bind-init when the
# playbook left credentials.
ACTION=$1
shift
playbook=/opt/apb/actions/$ACTION.yml
if [ ! -f "$playbook" ]; then
  echo "'$ACTION' NOT IMPLEMENTED"
  exit 8
fi
ansible-playbook "$playbook" "$@"
rc=$?
if [ "$rc" = 0 ] && [ -f /var/tmp/bind-creds ]; then
  bind-init
fi
exit $rc
