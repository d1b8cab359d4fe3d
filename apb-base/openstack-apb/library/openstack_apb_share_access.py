#!/usr/bin/python3
# -*- coding: utf-8 -*-
from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: openstack_apb_share_access
short_description: Grants or revokes access to a Manila share
description:
  - Neither openstack.cloud nor openstacksdk 0.101 can manage Manila access
    rules; this module sends the share actions (allow_access, access_list,
    deny_access, API microversion 2.7) through the SDK's shared-file-system
    proxy, so authentication and the endpoint come from the SDK.
options:
  share: {description: share name or id, required: true, type: str}
  access_type: {description: ip, cert, user or cephx, type: str, default: ip}
  access_to: {description: whom to grant (address/CIDR, user, cert CN, cephx id), required: true, type: str}
  access_level: {description: rw or ro, type: str, default: rw}
  state: {description: present or absent, type: str, default: present}
  wait: {description: wait until the rule is active (or gone), type: bool, default: true}
  timeout: {description: seconds to wait, type: int, default: 600}
  cloud: {description: cloud name in clouds.yaml, type: str}
  auth: {description: auth dict as openstack.cloud's, type: dict}
"""

RETURN = r"""
access: {description: the rule (id, access_type, access_to, access_level, state, access_key for cephx), returned: present, type: dict}
share_id: {description: id of the share, returned: always, type: str}
"""

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.openstack_apb import argument_spec, check, connect, fail, wait_for

MICROVERSION = "2.7"
HEADERS = {"X-OpenStack-Manila-API-Version": MICROVERSION}


def find_share(sfs, ref):
    for s in sfs.shares(details=False):
        if s.id == ref or s.name == ref:
            return s
    return None


def action(sfs, share_id, body):
    return check(sfs.post("/shares/%s/action" % share_id, json=body, headers=HEADERS))


def rules(sfs, share_id):
    return action(sfs, share_id, {"access_list": None}).json().get("access_list") or []


def matching(rules_, p):
    for r in rules_:
        if r.get("access_type") == p["access_type"] and r.get("access_to") == p["access_to"]:
            return r
    return None


def main():
    module = AnsibleModule(argument_spec=argument_spec(
        share=dict(type="str", required=True),
        access_type=dict(type="str", default="ip", choices=["ip", "cert", "user", "cephx"]),
        access_to=dict(type="str", required=True),
        access_level=dict(type="str", default="rw", choices=["rw", "ro"]),
    ))
    p = module.params
    sfs = connect(module).shared_file_system
    try:
        share = find_share(sfs, p["share"])
    except Exception as e:
        fail(module, "looking up share %s" % p["share"], e)
    if share is None:
        if p["state"] == "absent":
            module.exit_json(changed=False, share_id=None)
        module.fail_json(msg="openstack_apb_share_access: share %s not found" % p["share"])
    try:
        rule = matching(rules(sfs, share.id), p)
    except Exception as e:
        fail(module, "listing access rules of share %s" % share.id, e)

    if p["state"] == "absent":
        if rule is None:
            module.exit_json(changed=False, share_id=share.id)
        try:
            action(sfs, share.id, {"deny_access": {"access_id": rule["id"]}})
        except Exception as e:
            fail(module, "revoking access rule %s" % rule["id"], e)
        if p["wait"]:
            wait_for(module, "removal of access rule %s" % rule["id"],
                     lambda: matching(rules(sfs, share.id), p), lambda v: v is None)
        module.exit_json(changed=True, share_id=share.id)

    changed = False
    if rule is not None and rule.get("access_level") != p["access_level"]:
        module.fail_json(msg="openstack_apb_share_access: share %s already grants %s to %s; revoke it first"
                             % (share.id, rule.get("access_level"), p["access_to"]), share_id=share.id)
    if rule is None:
        body = {"allow_access": {"access_type": p["access_type"], "access_to": p["access_to"],
                                 "access_level": p["access_level"]}}
        try:
            rule = action(sfs, share.id, body).json()["access"]
        except Exception as e:
            fail(module, "granting %s access to share %s" % (p["access_type"], share.id), e)
        changed = True
    if p["wait"]:
        rule = wait_for(module, "access rule %s active" % rule["id"],
                        lambda: matching(rules(sfs, share.id), p) or {},
                        lambda v: v.get("state") == "active", lambda v: v.get("state") == "error")
    module.exit_json(changed=changed, share_id=share.id, access=rule)


if __name__ == "__main__":
    main()
