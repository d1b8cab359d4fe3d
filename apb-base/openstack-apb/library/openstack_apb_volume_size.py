#!/usr/bin/python3
# -*- coding: utf-8 -*-
from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: openstack_apb_volume_size
short_description: Extends a Cinder volume to a size
description:
  - openstack.cloud 1.10's volume module leaves an existing volume as it
    is. This one extends it (Cinder's os-extend action, through
    openstacksdk 0.101's block-storage proxy) and waits until it is
    available again. Cinder cannot shrink a volume: a smaller size fails.
options:
  volume: {description: volume name or id, required: true, type: str}
  size: {description: size in GB, required: true, type: int}
  wait: {description: wait until the volume is available at the new size, type: bool, default: true}
  timeout: {description: seconds to wait, type: int, default: 600}
  cloud: {description: cloud name in clouds.yaml, type: str}
  auth: {description: auth dict as openstack.cloud's, type: dict}
"""

RETURN = r"""
volume: {description: id, name, size and status of the volume, returned: always, type: dict}
"""

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.openstack_apb import argument_spec, connect, fail, wait_for


def shown(v):
    return {"id": v.id, "name": v.name, "size": v.size, "status": v.status}


def main():
    module = AnsibleModule(argument_spec=argument_spec(
        volume=dict(type="str", required=True),
        size=dict(type="int", required=True),
    ))
    p = module.params
    conn = connect(module)
    bs = conn.block_storage
    try:
        vol = bs.find_volume(p["volume"], ignore_missing=True)
    except Exception as e:
        fail(module, "finding volume %s" % p["volume"], e)
    if vol is None:
        module.fail_json(msg="%s: volume %s does not exist" % (module._name, p["volume"]))
    if p["size"] == vol.size:
        module.exit_json(changed=False, volume=shown(vol))
    if p["size"] < vol.size:
        module.fail_json(msg="%s: volume %s is %s GB: Cinder cannot shrink it to %s GB"
                             % (module._name, vol.name or vol.id, vol.size, p["size"]), volume=shown(vol))
    try:
        bs.extend_volume(vol, p["size"])
    except Exception as e:
        fail(module, "extending volume %s to %s GB" % (vol.name or vol.id, p["size"]), e)
    if p["wait"]:
        vol = wait_for(module, "volume %s available at %s GB" % (vol.name or vol.id, p["size"]),
                       lambda: bs.get_volume(vol.id),
                       lambda v: v.status in ("available", "in-use") and v.size == p["size"],
                       lambda v: v.status.startswith("error"))
    module.exit_json(changed=True, volume=shown(vol))


if __name__ == "__main__":
    main()
