#!/usr/bin/python3
# -*- coding: utf-8 -*-
from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: openstack_apb_trove_user
short_description: Creates, re-keys or drops a database user of a Trove instance
description:
  - openstack.cloud has no Trove module. The bundles give every binding its
    own database user; a repeated bind (the broker died before recording the
    first) cannot learn the old password, so an existing user gets the new
    one (Trove's PUT /instances/{id}/users) and the credentials handed out
    always work. Sent through openstacksdk 0.101's database proxy.
options:
  instance: {description: the Trove instance (name or id), required: true, type: str}
  name: {description: user name (at most 16 characters for MySQL), required: true, type: str}
  password: {description: the user's password (state present), type: str}
  databases: {description: databases the user may use, type: list, elements: str, default: []}
  host: {description: host the user may connect from, type: str, default: "%"}
  state: {description: present or absent, type: str, default: present}
  cloud: {description: cloud name in clouds.yaml, type: str}
  auth: {description: auth dict as openstack.cloud's, type: dict}
"""

RETURN = r"""
user: {description: name, host and databases of the user, returned: present, type: dict}
instance: {description: "id, name, status, hostname, ip, datastore of the instance", returned: present, type: dict}
"""

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.openstack_apb import argument_spec, check, connect, fail

try:
    from urllib.parse import quote
except ImportError:  # pragma: no cover - Python 2
    from urllib import quote


def user_path(inst_id, name, host):
    ref = name if host in ("", "%") else "%s@%s" % (name, host)
    return "/instances/%s/users/%s" % (inst_id, quote(ref, safe=""))


def main():
    module = AnsibleModule(argument_spec=argument_spec(
        instance=dict(type="str", required=True),
        name=dict(type="str", required=True),
        password=dict(type="str", no_log=True),
        databases=dict(type="list", elements="str", default=[]),
        host=dict(type="str", default="%"),
    ), required_if=[("state", "present", ["password"])])
    p = module.params
    db = connect(module).database
    try:
        inst = db.find_instance(p["instance"], ignore_missing=True)
    except Exception as e:
        fail(module, "looking up Trove instance %s" % p["instance"], e)
    if inst is None:
        if p["state"] == "absent":
            module.exit_json(changed=False)  # gone with its instance
        module.fail_json(msg="%s: Trove instance %s not found" % (module._name, p["instance"]))

    resp = db.get(user_path(inst.id, p["name"], p["host"]))
    exists = resp.status_code != 404
    if exists:
        try:
            check(resp)
        except Exception as e:
            fail(module, "reading user %s of instance %s" % (p["name"], inst.id), e)

    if p["state"] == "absent":
        if not exists:
            module.exit_json(changed=False)
        try:
            resp = db.delete(user_path(inst.id, p["name"], p["host"]))
            if resp.status_code != 404:
                check(resp)
        except Exception as e:
            fail(module, "dropping user %s of instance %s" % (p["name"], inst.id), e)
        module.exit_json(changed=True)

    u = {"name": p["name"], "password": p["password"], "host": p["host"]}
    try:
        if exists:
            check(db.put("/instances/%s/users" % inst.id, json={"users": [u]}))
            if p["databases"]:
                check(db.put(user_path(inst.id, p["name"], p["host"]) + "/databases",
                             json={"databases": [{"name": d} for d in p["databases"]]}))
        else:
            u["databases"] = [{"name": d} for d in p["databases"]]
            check(db.post("/instances/%s/users" % inst.id, json={"users": [u]}))
    except Exception as e:
        fail(module, "%s user %s on instance %s" % ("re-keying" if exists else "creating", p["name"], inst.id), e)
    # The SDK's Instance has no ip or hostname: read Trove's own answer.
    try:
        raw = check(db.get("/instances/%s" % inst.id)).json()["instance"]
    except Exception as e:
        fail(module, "reading Trove instance %s" % inst.id, e)
    summary = {k: raw.get(k) for k in ("id", "name", "status", "hostname", "ip", "datastore")}
    module.exit_json(changed=True, user={"name": p["name"], "host": p["host"], "databases": p["databases"]},
                     instance=summary)


if __name__ == "__main__":
    main()
