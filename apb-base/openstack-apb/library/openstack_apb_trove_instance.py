#!/usr/bin/python3
# -*- coding: utf-8 -*-
from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: openstack_apb_trove_instance
short_description: Creates or deletes a Trove (Database as a Service) instance
description:
  - openstack.cloud has no Trove module. This one drives the Trove v1 API
    through openstacksdk 0.101's database proxy; the create request is sent
    raw because the SDK's Instance resource lacks nics, users and databases.
options:
  name: {description: instance name, required: true, type: str}
  flavor: {description: flavor name or id (required for present), type: str}
  volume_size: {description: volume size in GB, type: int, default: 1}
  volume_type: {description: Cinder volume type, type: str}
  datastore: {description: datastore type, e.g. mysql, postgresql, type: str}
  datastore_version: {description: datastore version, type: str}
  networks: {description: Neutron network ids to attach, type: list, elements: str, default: []}
  databases: {description: database names to create, type: list, elements: str, default: []}
  users:
    description: users to create, each {name, password, databases}
    type: list
    elements: dict
    default: []
  state: {description: present or absent, type: str, default: present}
  wait: {description: wait for ACTIVE (or deletion), type: bool, default: true}
  timeout: {description: seconds to wait, type: int, default: 600}
  cloud: {description: cloud name in clouds.yaml, type: str}
  auth: {description: auth dict as openstack.cloud's, type: dict}
"""

RETURN = r"""
instance: {description: id, name, status, hostname, ip, datastore, returned: present, type: dict}
"""

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.openstack_apb import argument_spec, check, connect, fail, wait_for


def summary(inst):
    if inst is None:
        return None
    get = inst.get if isinstance(inst, dict) else lambda k, d=None: getattr(inst, k, d)
    return {k: get(k) for k in ("id", "name", "status", "hostname", "ip", "datastore", "volume", "flavor")}


def create_body(p):
    inst = {"name": p["name"], "flavorRef": p["flavor"], "volume": {"size": p["volume_size"]}}
    if p["volume_type"]:
        inst["volume"]["type"] = p["volume_type"]
    if p["datastore"]:
        inst["datastore"] = {"type": p["datastore"]}
        if p["datastore_version"]:
            inst["datastore"]["version"] = p["datastore_version"]
    if p["networks"]:
        inst["nics"] = [{"net-id": n} for n in p["networks"]]
    if p["databases"]:
        inst["databases"] = [{"name": d} for d in p["databases"]]
    if p["users"]:
        inst["users"] = [{"name": u["name"], "password": u["password"],
                          "databases": [{"name": d} for d in u.get("databases") or []]} for u in p["users"]]
    return {"instance": inst}


def main():
    module = AnsibleModule(
        argument_spec=argument_spec(
            name=dict(type="str", required=True),
            flavor=dict(type="str"),
            volume_size=dict(type="int", default=1),
            volume_type=dict(type="str"),
            datastore=dict(type="str"),
            datastore_version=dict(type="str"),
            networks=dict(type="list", elements="str", default=[]),
            databases=dict(type="list", elements="str", default=[]),
            users=dict(type="list", elements="dict", default=[], no_log=True),
        ),
        required_if=[("state", "present", ["flavor"])],
    )
    p = module.params
    conn = connect(module)
    db = conn.database
    try:
        inst = db.find_instance(p["name"], ignore_missing=True)
    except Exception as e:
        fail(module, "looking up Trove instance %s" % p["name"], e)

    if p["state"] == "absent":
        if inst is None:
            module.exit_json(changed=False)
        try:
            db.delete_instance(inst.id, ignore_missing=True)
        except Exception as e:
            fail(module, "deleting Trove instance %s" % p["name"], e)
        if p["wait"]:
            wait_for(module, "deletion of Trove instance %s" % p["name"],
                     lambda: db.find_instance(inst.id, ignore_missing=True), lambda v: v is None)
        module.exit_json(changed=True)

    changed = False
    if inst is None:
        try:
            flavor = db.find_flavor(p["flavor"], ignore_missing=True)
            body = create_body(dict(p, flavor=flavor.id if flavor is not None else p["flavor"]))
            resp = check(db.post("/instances", json=body))
            inst_id = resp.json()["instance"]["id"]
            inst = db.get_instance(inst_id)
        except Exception as e:
            fail(module, "creating Trove instance %s" % p["name"], e)
        changed = True
    if p["wait"]:
        inst = wait_for(module, "Trove instance %s ACTIVE" % p["name"], lambda: db.get_instance(inst.id),
                        lambda v: v.status == "ACTIVE", lambda v: v.status in ("ERROR", "FAILED"))
    module.exit_json(changed=changed, instance=summary(inst))


if __name__ == "__main__":
    main()
