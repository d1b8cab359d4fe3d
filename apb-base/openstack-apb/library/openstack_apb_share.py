#!/usr/bin/python3
# -*- coding: utf-8 -*-
from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: openstack_apb_share
short_description: Creates, reads or deletes a Manila share found by its owner metadata
description:
  - openstack.cloud 1.10 has no Manila share module. This one drives
    openstacksdk 0.101's shared-file-system proxy. The share carries the
    metadata key osb-owner with the owner given (the bundle's instance id):
    a share of the same name without it belongs to someone else and is
    never taken over or deleted.
options:
  name: {description: share name, required: true, type: str}
  owner: {description: value of the share's osb-owner metadata, required: true, type: str}
  size: {description: size in GB (present; a larger size extends the share), type: int, default: 1}
  share_proto: {description: NFS, CIFS, CEPHFS, GLUSTERFS, HDFS or MAPRFS, type: str, default: NFS}
  share_type: {description: share type name or id (default, the cloud's default type), type: str}
  share_network: {description: share network id (for driver_handles_share_servers types), type: str}
  access_to: {description: "granted/revoked: the address or CIDR the rule grants (ip rules)", type: str}
  access_level: {description: granted, rw or ro, type: str, default: rw}
  binding: {description: "granted/revoked: the rule's osb-binding metadata (the binding id)", type: str}
  state:
    description: >-
      present, query or absent (the share); granted or revoked (an ip access
      rule of the share carrying the binding's metadata, Manila API 2.45).
      An address already granted by another binding's rule is refused, so
      that one binding's unbind never takes away another's access.
    type: str
    default: present
  timeout: {description: seconds to wait for available or deletion, type: int, default: 600}
  cloud: {description: cloud name in clouds.yaml, type: str}
  auth: {description: auth dict as openstack.cloud's, type: dict}
"""

RETURN = r"""
share: {description: "id, name, size, share_proto, status, export_locations", returned: present, query and granted, type: dict}
access: {description: "id, access_type, access_to, access_level, state", returned: granted, type: dict}
"""

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.openstack_apb import argument_spec, check, connect, fail, wait_for

OWNER = "osb-owner"
BINDING = "osb-binding"
HEADERS = {"X-OpenStack-Manila-API-Version": "2.9"}
RULES = {"X-OpenStack-Manila-API-Version": "2.45"}


def rules_of(sfs, share_id):
    return check(sfs.get("/share-access-rules", params={"share_id": share_id}, headers=RULES)).json().get("access_list") or []


def rule_summary(r):
    return {k: r.get(k) for k in ("id", "access_type", "access_to", "access_level", "state")}


def grant(module, sfs, share):
    p = module.params
    try:
        rules = rules_of(sfs, share.id)
    except Exception as e:
        fail(module, "listing the access rules of share %s" % share.id, e)
    same = [r for r in rules if r.get("access_type") == "ip" and r.get("access_to") == p["access_to"]]
    changed = False
    if same:
        r = same[0]
        owner = (r.get("metadata") or {}).get(BINDING)
        if owner != p["binding"]:
            module.fail_json(msg="%s: share %s already grants %s (rule %s, %s): give this binding another "
                                 "access_to" % (module._name, share.id, p["access_to"], r.get("id"),
                                                "binding %s" % owner if owner else "made outside the broker"))
        if r.get("access_level") != p["access_level"]:
            module.fail_json(msg="%s: binding %s already has %s access to share %s; unbind it first"
                                 % (module._name, p["binding"], r.get("access_level"), share.id))
    else:
        body = {"allow_access": {"access_type": "ip", "access_to": p["access_to"], "access_level": p["access_level"],
                                 "metadata": {BINDING: p["binding"]}}}
        try:
            r = check(sfs.post("/shares/%s/action" % share.id, json=body, headers=RULES)).json()["access"]
        except Exception as e:
            fail(module, "granting %s access to share %s" % (p["access_to"], share.id), e)
        changed = True
    rid = r["id"]
    r = wait_for(module, "access rule %s active" % rid,
                 lambda: ([x for x in rules_of(sfs, share.id) if x.get("id") == rid] or [{}])[0],
                 lambda v: v.get("state") == "active", lambda v: v.get("state") in ("error", None), interval=1.0)
    return changed, rule_summary(r)


def revoke(module, sfs, share):
    p = module.params
    try:
        mine = [r for r in rules_of(sfs, share.id) if (r.get("metadata") or {}).get(BINDING) == p["binding"]]
    except Exception as e:
        fail(module, "listing the access rules of share %s" % share.id, e)
    for r in mine:
        if r.get("state") in ("denying", "queued_to_deny"):
            continue
        try:
            resp = sfs.post("/shares/%s/action" % share.id, json={"deny_access": {"access_id": r["id"]}}, headers=RULES)
            if resp.status_code != 404:
                check(resp)
        except Exception as e:
            fail(module, "revoking access rule %s of share %s" % (r["id"], share.id), e)
    ids = set(r["id"] for r in mine)
    if ids:
        wait_for(module, "removal of access rules %s" % ", ".join(sorted(ids)),
                 lambda: [x for x in rules_of(sfs, share.id) if x.get("id") in ids], lambda v: not v, interval=1.0)
    return bool(ids)


def main():
    module = AnsibleModule(argument_spec=argument_spec(
        name=dict(type="str", required=True),
        owner=dict(type="str", required=True),
        size=dict(type="int", default=1),
        share_proto=dict(type="str", default="NFS", choices=["NFS", "CIFS", "CEPHFS", "GLUSTERFS", "HDFS", "MAPRFS"]),
        share_type=dict(type="str"),
        share_network=dict(type="str"),
        access_to=dict(type="str"),
        access_level=dict(type="str", default="rw", choices=["rw", "ro"]),
        binding=dict(type="str"),
        state=dict(type="str", default="present", choices=["present", "query", "absent", "granted", "revoked"]),
    ), required_if=[("state", "granted", ["access_to", "binding"]), ("state", "revoked", ["binding"])])
    p = module.params
    sfs = connect(module).shared_file_system

    def find():
        same = [s for s in sfs.shares(details=True) if s.name == p["name"]]
        mine = [s for s in same if (s.metadata or {}).get(OWNER) == p["owner"]]
        if same and not mine and p["state"] != "absent" and p["state"] != "revoked":
            module.fail_json(msg="%s: share %s already exists and was not made for %s (no %s metadata): choose "
                                 "another name" % (module._name, p["name"], p["owner"], OWNER))
        return mine[0] if mine else None

    def describe(s):
        if s is None:
            return None
        try:
            locs = check(sfs.get("/shares/%s/export_locations" % s.id, headers=HEADERS)).json().get("export_locations") or []
        except Exception as e:
            fail(module, "reading the export locations of share %s" % s.id, e)
        return {"id": s.id, "name": s.name, "size": s.size, "share_proto": s.share_protocol, "status": s.status,
                "export_locations": [l.get("path") for l in locs if l.get("path")]}

    try:
        share = find()
    except Exception as e:
        fail(module, "looking up share %s" % p["name"], e)

    if p["state"] == "query":
        module.exit_json(changed=False, share=describe(share))
    if p["state"] == "revoked":
        module.exit_json(changed=share is not None and revoke(module, sfs, share))
    if p["state"] == "granted":
        if share is None:
            module.fail_json(msg="%s: share %s of %s not found (deleted outside the broker?)"
                                 % (module._name, p["name"], p["owner"]))
        changed, rule = grant(module, sfs, share)
        module.exit_json(changed=changed, access=rule, share=describe(share))

    if p["state"] == "absent":
        if share is None:
            module.exit_json(changed=False)
        if share.status != "deleting":
            try:
                sfs.delete_share(share.id, ignore_missing=True)
            except Exception as e:
                fail(module, "deleting share %s" % share.id, e)
        wait_for(module, "deletion of share %s" % share.id, lambda: gone_or(sfs, share.id),
                 lambda v: v is None, lambda v: v is not None and v.status == "error_deleting", interval=1.0)
        module.exit_json(changed=True)

    changed = False
    if share is None:
        attrs = {"name": p["name"], "size": p["size"], "share_protocol": p["share_proto"], "metadata": {OWNER: p["owner"]},
                 "description": "made by openstack-service-broker for %s" % p["owner"]}
        if p["share_type"]:
            attrs["share_type"] = p["share_type"]
        if p["share_network"]:
            attrs["share_network_id"] = p["share_network"]
        try:
            share = sfs.create_share(**attrs)
        except Exception as e:
            fail(module, "creating share %s" % p["name"], e)
        changed = True
    share = wait_for(module, "share %s available" % share.id, lambda: sfs.get_share(share.id),
                     lambda v: v.status == "available", lambda v: v.status in ("error", "error_deleting"), interval=1.0)
    if p["size"] > share.size:
        try:
            check(sfs.post("/shares/%s/action" % share.id, json={"extend": {"new_size": p["size"]}}, headers=HEADERS))
        except Exception as e:
            fail(module, "extending share %s to %s GB" % (share.id, p["size"]), e)
        changed = True
        share = wait_for(module, "share %s extended" % share.id, lambda: sfs.get_share(share.id),
                         lambda v: v.status == "available" and v.size == p["size"],
                         lambda v: v.status in ("error", "extending_error"), interval=1.0)
    elif p["size"] < share.size:
        module.fail_json(msg="%s: share %s is %s GB; shrinking to %s GB is not supported by this bundle"
                             % (module._name, share.id, share.size, p["size"]))
    module.exit_json(changed=changed, share=describe(share))


def gone_or(sfs, share_id):
    from openstack import exceptions

    try:
        return sfs.get_share(share_id)
    except exceptions.ResourceNotFound:
        return None


if __name__ == "__main__":
    main()
