#!/usr/bin/python3
# -*- coding: utf-8 -*-
from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: openstack_apb_tagged
short_description: Tags Neutron resources and Nova servers, finds and deletes them by tag
description:
  - openstack.cloud 1.10's modules set no tags. Bundles tag what they create
    with their instance id, so that a deprovision finds it again after a
    failed or half-done provision, even a resource without a name (a
    floating IP).
  - Neutron's tag extension (C(PUT /v2.0/{collection}/{id}/tags/{tag}),
    list filter C(tags)) and Nova's server tags (microversion 2.26), sent
    through openstacksdk 0.101's network and compute proxies.
options:
  resource: {description: "network, subnet, router, port, floatingip, security_group, subnetpool or server", required: true, type: str}
  id: {description: the resource to tag (state present), type: str}
  tags: {description: tags; query and absent match resources carrying all of them, required: true, type: list, elements: str}
  state:
    description: present (the resource carries the tags), query (list the resources carrying them) or absent (delete them)
    type: str
    default: present
  wait: {description: with absent, wait until deleted servers are gone, type: bool, default: true}
  timeout: {description: seconds to wait, type: int, default: 600}
  cloud: {description: cloud name in clouds.yaml, type: str}
  auth: {description: auth dict as openstack.cloud's, type: dict}
"""

RETURN = r"""
resources: {description: "id, name, status and tags of the resources carrying the tags (before deletion for absent)", returned: query, absent, type: list}
tags: {description: the resource's tags, returned: present, type: list}
"""

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.openstack_apb import argument_spec, check, connect, fail, wait_for

try:
    from urllib.parse import quote
except ImportError:  # pragma: no cover - Python 2
    from urllib import quote

NEUTRON = {
    "network": "networks", "subnet": "subnets", "router": "routers", "port": "ports",
    "floatingip": "floatingips", "security_group": "security-groups", "subnetpool": "subnetpools",
}
NOVA_TAGS = "2.26"
MAX_LISTED = 1000  # one page is plenty for one instance's resources


def collection_key(resource):
    return NEUTRON[resource].replace("-", "_")


def listing(conn, resource, tags):
    if resource == "server":
        items = check(conn.compute.get("/servers/detail", params={"tags": ",".join(tags), "limit": MAX_LISTED},
                                       microversion=NOVA_TAGS)).json().get("servers") or []
    else:
        items = check(conn.network.get("/%s" % NEUTRON[resource], params={"tags": ",".join(tags)})).json()
        items = items.get(collection_key(resource)) or []
    out = []
    for i in items:
        if not set(tags) <= set(i.get("tags") or []):
            continue  # a cloud ignoring the filter must not make us delete others' resources
        out.append({"id": i.get("id"), "name": i.get("name") or i.get("floating_ip_address") or "",
                    "status": i.get("status"), "tags": i.get("tags") or []})
    return out


def tag_path(resource, rid, tag):
    if resource == "server":
        return "/servers/%s/tags/%s" % (rid, quote(tag, safe=""))
    return "/%s/%s/tags/%s" % (NEUTRON[resource], rid, quote(tag, safe=""))


def add_tags(module, conn, resource, rid, tags):
    proxy = conn.compute if resource == "server" else conn.network
    kw = {"microversion": NOVA_TAGS} if resource == "server" else {}
    have = current_tags(conn, resource, rid)
    changed = False
    for t in tags:
        if t in have:
            continue
        try:
            check(proxy.put(tag_path(resource, rid, t), **kw))
        except Exception as e:
            fail(module, "tagging %s %s with %s" % (resource, rid, t), e)
        changed = True
    return changed


def current_tags(conn, resource, rid):
    if resource == "server":
        return check(conn.compute.get("/servers/%s/tags" % rid, microversion=NOVA_TAGS)).json().get("tags") or []
    # The single resource's key is its name here (network, floatingip, ...).
    return check(conn.network.get("/%s/%s" % (NEUTRON[resource], rid))).json().get(resource, {}).get("tags") or []


def delete(module, conn, resource, rid):
    if resource == "server":
        resp = conn.compute.delete("/servers/%s" % rid)
    else:
        resp = conn.network.delete("/%s/%s" % (NEUTRON[resource], rid))
    if resp.status_code != 404:  # gone meanwhile is fine
        check(resp)


def main():
    module = AnsibleModule(argument_spec=argument_spec(
        resource=dict(type="str", required=True, choices=sorted(list(NEUTRON) + ["server"])),
        id=dict(type="str"),
        tags=dict(type="list", elements="str", required=True),
        state=dict(type="str", default="present", choices=["present", "query", "absent"]),
    ), required_if=[("state", "present", ["id"])])
    p = module.params
    if not p["tags"]:
        module.fail_json(msg="%s: tags must not be empty" % module._name)
    conn = connect(module)
    res = p["resource"]

    if p["state"] == "present":
        try:
            changed = add_tags(module, conn, res, p["id"], p["tags"])
            tags = current_tags(conn, res, p["id"])
        except Exception as e:
            fail(module, "reading the tags of %s %s" % (res, p["id"]), e)
        module.exit_json(changed=changed, tags=tags)

    try:
        found = listing(conn, res, p["tags"])
    except Exception as e:
        fail(module, "listing %ss tagged %s" % (res, ",".join(p["tags"])), e)
    if p["state"] == "query":
        module.exit_json(changed=False, resources=found)

    for r in found:
        try:
            delete(module, conn, res, r["id"])
        except Exception as e:
            fail(module, "deleting %s %s" % (res, r["id"]), e)
    if found and p["wait"] and res == "server":
        wait_for(module, "deletion of the tagged servers", lambda: listing(conn, res, p["tags"]), lambda v: not v)
    module.exit_json(changed=bool(found), resources=found)


if __name__ == "__main__":
    main()
