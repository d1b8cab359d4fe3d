#!/usr/bin/python3
# -*- coding: utf-8 -*-
from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: openstack_apb_zaqar_queue
short_description: Creates or deletes a Zaqar (Messaging) queue
description:
  - openstack.cloud has no Zaqar module; this one uses openstacksdk 0.101's
    message v2 proxy. Zaqar creates queues lazily and GET answers for any
    name, so existence is decided from the queue list.
options:
  name: {description: queue name, required: true, type: str}
  state: {description: present or absent, type: str, default: present}
  cloud: {description: cloud name in clouds.yaml, type: str}
  auth: {description: auth dict as openstack.cloud's, type: dict}
"""

RETURN = r"""
queue: {description: name and href of the queue, returned: present, type: dict}
"""

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.openstack_apb import argument_spec, connect, fail

MAX_QUEUES = 100000  # bound on the listing


def exists(msg, name):
    for i, q in enumerate(msg.queues()):
        if q.name == name:
            return True
        if i >= MAX_QUEUES:
            break
    return False


def main():
    module = AnsibleModule(argument_spec=argument_spec(name=dict(type="str", required=True)))
    p = module.params
    conn = connect(module)
    msg = conn.message
    try:
        present = exists(msg, p["name"])
    except Exception as e:
        fail(module, "listing Zaqar queues", e)
    if p["state"] == "absent":
        if not present:
            module.exit_json(changed=False)
        try:
            msg.delete_queue(p["name"], ignore_missing=True)
        except Exception as e:
            fail(module, "deleting Zaqar queue %s" % p["name"], e)
        module.exit_json(changed=True)
    changed = False
    if not present:
        try:
            msg.create_queue(name=p["name"])
        except Exception as e:
            fail(module, "creating Zaqar queue %s" % p["name"], e)
        changed = True
    href = None
    try:
        href = msg.get_endpoint().rstrip("/") + "/queues/" + p["name"]
    except Exception:
        pass  # the href is informative only
    module.exit_json(changed=changed, queue={"name": p["name"], "href": href})


if __name__ == "__main__":
    main()
