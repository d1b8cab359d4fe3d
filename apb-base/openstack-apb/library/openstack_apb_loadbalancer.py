#!/usr/bin/python3
# -*- coding: utf-8 -*-
from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: openstack_apb_loadbalancer
short_description: An Octavia load balancer with one listener, pool, members and health monitor, found by tags
description:
  - openstack.cloud 1.10's loadbalancer module does nothing when the load
    balancer exists (a provision interrupted after the load balancer never
    gets its listener), finds listeners and pools by name across the whole
    project, and sets no tags. This one finds the load balancer by its tags,
    tags everything it creates with them, brings one part at a time to the
    parameters (so a playbook reports progress between parts), and waits for
    Octavia's provisioning status after every change.
  - Sent through openstacksdk 0.101's load_balancer proxy.
options:
  name: {description: name of every resource made (members get name-address), required: true, type: str}
  tags: {description: tags every resource gets; the load balancer is found by them, required: true, type: list, elements: str}
  part:
    description: >-
      what to bring to the parameters: loadbalancer, listener, pool, members,
      health_monitor, or all; query only reads (state query)
    type: str
    default: all
  vip_subnet: {description: subnet (name or id) of the VIP; default the project's only subnet, type: str}
  protocol: {description: HTTP or TCP (listener, pool and health monitor), type: str, default: HTTP}
  port: {description: the listener's port, type: int, default: 80}
  lb_algorithm: {description: ROUND_ROBIN, LEAST_CONNECTIONS or SOURCE_IP, type: str, default: ROUND_ROBIN}
  members: {description: member addresses, type: list, elements: str, default: []}
  member_port: {description: the members' port (default port), type: int}
  health_monitor: {description: whether the pool has a health monitor, type: bool, default: true}
  state: {description: present, query or absent (deletes every load balancer with the tags, cascading), type: str, default: present}
  wait: {description: unused (always waits; Octavia refuses changes while pending), type: bool, default: true}
  timeout: {description: seconds to wait for each status, type: int, default: 600}
  cloud: {description: cloud name in clouds.yaml, type: str}
  auth: {description: auth dict as openstack.cloud's, type: dict}
"""

RETURN = r"""
loadbalancer: {description: "id, name, vip_address, vip_subnet_id, vip_port_id, provisioning_status, operating_status", returned: present and query when found, type: dict}
listener: {description: id, protocol, protocol_port, returned: when it exists, type: dict}
pool: {description: id, lb_algorithm, protocol, returned: when it exists, type: dict}
members: {description: id, address, protocol_port of each member, returned: when the pool exists, type: list}
health_monitor: {description: id, type, or null, returned: when the pool exists, type: dict}
deleted: {description: ids of the load balancers deleted, returned: absent, type: list}
"""

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.openstack_apb import argument_spec, connect, fail, wait_for

PARTS = ["loadbalancer", "listener", "pool", "members", "health_monitor"]
PENDING = ("PENDING_CREATE", "PENDING_UPDATE", "PENDING_DELETE")


def tagged(items, tags):
    # A cloud ignoring the tags filter must not make us touch others' resources.
    return [i for i in items if set(tags) <= set(i.tags or [])]


def on(refs, lb):
    return any((r.get("id") if isinstance(r, dict) else r) == lb.id for r in refs or [])


class LB(object):
    def __init__(self, module, conn):
        self.m = module
        self.p = module.params
        self.lbp = conn.load_balancer
        self.conn = conn
        self.changed = False

    # --- finding -----------------------------------------------------------
    def find(self):
        try:
            found = tagged(self.lbp.load_balancers(tags=",".join(self.p["tags"])), self.p["tags"])
        except Exception as e:
            fail(self.m, "listing load balancers tagged %s" % ",".join(self.p["tags"]), e)
        found = [lb for lb in found if lb.provisioning_status != "DELETED"]
        if len(found) > 1:
            self.m.fail_json(msg="%s: %d load balancers carry the tags %s: %s"
                                 % (self.m._name, len(found), ",".join(self.p["tags"]), ", ".join(lb.id for lb in found)))
        return found[0] if found else None

    def listener(self, lb):
        ls = [x for x in self.lbp.listeners(name=self.p["name"]) if x.name == self.p["name"] and on(x.load_balancers, lb)]
        return ls[0] if ls else None

    def pool(self, lb):
        ps = [x for x in self.lbp.pools(name=self.p["name"]) if x.name == self.p["name"] and on(x.loadbalancers, lb)]
        return ps[0] if ps else None

    # --- waiting -----------------------------------------------------------
    def settle(self, lb, what):
        """Waits until the load balancer is no longer PENDING_*; fails on ERROR."""
        return wait_for(self.m, "load balancer %s ACTIVE after %s" % (lb.id, what),
                        lambda: self.lbp.get_load_balancer(lb.id),
                        lambda v: v.provisioning_status == "ACTIVE",
                        lambda v: v.provisioning_status == "ERROR", interval=1.0)

    def changing(self, lb, what, fn):
        try:
            out = fn()
        except Exception as e:
            fail(self.m, what, e)
        self.changed = True
        self.settle(lb, what)
        return out

    # --- parts -------------------------------------------------------------
    def vip_subnet(self):
        ref = self.p["vip_subnet"]
        net = self.conn.network
        if ref:
            try:
                sn = net.find_subnet(ref, ignore_missing=True)
            except Exception as e:
                fail(self.m, "looking up subnet %s" % ref, e)
            if sn is None:
                self.m.fail_json(msg="%s: subnet %s not found" % (self.m._name, ref))
            return sn.id
        try:
            own = [s for s in net.subnets(project_id=self.conn.current_project_id)
                   if s.project_id == self.conn.current_project_id]
        except Exception as e:
            fail(self.m, "listing the project's subnets", e)
        if len(own) != 1:
            self.m.fail_json(msg="%s: the project has %d subnets: choose one with vip_subnet"
                                 % (self.m._name, len(own)))
        return own[0].id

    def ensure_loadbalancer(self):
        lb = self.find()
        if lb is None:
            subnet = self.vip_subnet()
            try:
                lb = self.lbp.create_load_balancer(name=self.p["name"], vip_subnet_id=subnet, tags=self.p["tags"],
                                                   description="made by openstack-service-broker")
            except Exception as e:
                fail(self.m, "creating load balancer %s" % self.p["name"], e)
            self.changed = True
        return self.settle(lb, "creating it")

    def need(self, what, v):
        if v is None:
            self.m.fail_json(msg="%s: the %s of load balancer %s does not exist yet (part %s first)"
                                 % (self.m._name, what, self.p["name"], what))
        return v

    def ensure_listener(self, lb):
        li = self.listener(lb)
        p = self.p
        if li is None:
            return self.changing(lb, "creating listener %s" % p["name"], lambda: self.lbp.create_listener(
                name=p["name"], load_balancer_id=lb.id, protocol=p["protocol"], protocol_port=p["port"],
                tags=p["tags"]))
        if li.protocol != p["protocol"] or li.protocol_port != p["port"]:
            self.m.fail_json(msg="%s: listener %s is %s on port %s; Octavia cannot change a listener's protocol or "
                                 "port (deprovision and provision again)"
                                 % (self.m._name, li.id, li.protocol, li.protocol_port))
        return li

    def ensure_pool(self, lb):
        li = self.need("listener", self.listener(lb))
        po = self.pool(lb)
        p = self.p
        if po is None:
            return self.changing(lb, "creating pool %s" % p["name"], lambda: self.lbp.create_pool(
                name=p["name"], listener_id=li.id, protocol=p["protocol"], lb_algorithm=p["lb_algorithm"],
                tags=p["tags"]))
        if po.lb_algorithm != p["lb_algorithm"]:
            self.changing(lb, "changing the algorithm of pool %s" % po.id,
                          lambda: self.lbp.update_pool(po, lb_algorithm=p["lb_algorithm"]))
        return po

    def ensure_members(self, lb):
        po = self.need("pool", self.pool(lb))
        p = self.p
        port = p["member_port"] or p["port"]
        want = []
        for a in p["members"]:
            a = a.strip()
            if a and a not in want:
                want.append(a)
        have = list(self.lbp.members(po.id))
        for m in have:
            if m.address not in want or m.protocol_port != port:
                self.changing(lb, "removing member %s from pool %s" % (m.address, po.id),
                              lambda: self.lbp.delete_member(m.id, po.id, ignore_missing=True))
        keep = set(m.address for m in have if m.address in want and m.protocol_port == port)
        subnet = lb.vip_subnet_id
        for a in want:
            if a in keep:
                continue
            self.changing(lb, "adding member %s to pool %s" % (a, po.id), lambda: self.lbp.create_member(
                po.id, name="%s-%s" % (p["name"], a), address=a, protocol_port=port, subnet_id=subnet,
                tags=p["tags"]))

    def ensure_health_monitor(self, lb):
        po = self.need("pool", self.pool(lb))
        p = self.p
        if p["health_monitor"] and not po.health_monitor_id:
            kw = dict(name=p["name"], pool_id=po.id, type=p["protocol"], delay=5, timeout=3, max_retries=3,
                      tags=p["tags"])
            if p["protocol"] in ("HTTP", "HTTPS"):
                kw.update(http_method="GET", url_path="/", expected_codes="200")
            self.changing(lb, "creating the health monitor of pool %s" % po.id,
                          lambda: self.lbp.create_health_monitor(**kw))
        elif not p["health_monitor"] and po.health_monitor_id:
            self.changing(lb, "deleting health monitor %s" % po.health_monitor_id,
                          lambda: self.lbp.delete_health_monitor(po.health_monitor_id, ignore_missing=True))

    # --- results -----------------------------------------------------------
    def describe(self, lb):
        out = {"loadbalancer": None, "listener": None, "pool": None, "members": [], "health_monitor": None}
        if lb is None:
            return out
        lb = self.lbp.get_load_balancer(lb.id)
        out["loadbalancer"] = {k: getattr(lb, k) for k in ("id", "name", "vip_address", "vip_subnet_id", "vip_port_id",
                                                           "provisioning_status", "operating_status")}
        li = self.listener(lb)
        if li is not None:
            out["listener"] = {"id": li.id, "protocol": li.protocol, "protocol_port": li.protocol_port}
        po = self.pool(lb)
        if po is not None:
            out["pool"] = {"id": po.id, "protocol": po.protocol, "lb_algorithm": po.lb_algorithm}
            out["members"] = [{"id": m.id, "address": m.address, "protocol_port": m.protocol_port}
                              for m in self.lbp.members(po.id)]
            if po.health_monitor_id:
                hm = self.lbp.get_health_monitor(po.health_monitor_id)
                out["health_monitor"] = {"id": hm.id, "type": hm.type}
        return out

    def absent(self):
        try:
            found = [lb for lb in tagged(self.lbp.load_balancers(tags=",".join(self.p["tags"])), self.p["tags"])]
        except Exception as e:
            fail(self.m, "listing load balancers tagged %s" % ",".join(self.p["tags"]), e)
        deleted = []
        for lb in found:
            if lb.provisioning_status in ("DELETED", "PENDING_DELETE"):
                deleted.append(lb.id)
                continue
            # Octavia refuses to delete while a change is pending (a provision
            # that stopped halfway): let it settle, even into ERROR.
            wait_for(self.m, "load balancer %s to settle" % lb.id,
                     lambda: self.lbp.find_load_balancer(lb.id, ignore_missing=True),
                     lambda v: v is None or v.provisioning_status not in PENDING, interval=1.0)
            try:
                self.lbp.delete_load_balancer(lb.id, ignore_missing=True, cascade=True)
            except Exception as e:
                fail(self.m, "deleting load balancer %s" % lb.id, e)
            deleted.append(lb.id)
        for i in deleted:
            wait_for(self.m, "deletion of load balancer %s" % i,
                     lambda: self.lbp.find_load_balancer(i, ignore_missing=True),
                     lambda v: v is None or v.provisioning_status == "DELETED", interval=1.0)
        return deleted


def main():
    module = AnsibleModule(argument_spec=argument_spec(
        name=dict(type="str", required=True),
        tags=dict(type="list", elements="str", required=True),
        part=dict(type="str", default="all", choices=["all"] + PARTS),
        vip_subnet=dict(type="str"),
        protocol=dict(type="str", default="HTTP", choices=["HTTP", "TCP"]),
        port=dict(type="int", default=80),
        lb_algorithm=dict(type="str", default="ROUND_ROBIN", choices=["ROUND_ROBIN", "LEAST_CONNECTIONS", "SOURCE_IP"]),
        members=dict(type="list", elements="str", default=[]),
        member_port=dict(type="int"),
        health_monitor=dict(type="bool", default=True),
        state=dict(type="str", default="present", choices=["present", "query", "absent"]),
    ))
    p = module.params
    if not p["tags"]:
        module.fail_json(msg="%s: tags must not be empty" % module._name)
    if not 1 <= p["port"] <= 65535 or (p["member_port"] is not None and not 1 <= p["member_port"] <= 65535):
        module.fail_json(msg="%s: port and member_port must be within 1-65535" % module._name)
    lb = LB(module, connect(module))

    if p["state"] == "absent":
        deleted = lb.absent()
        module.exit_json(changed=bool(deleted), deleted=deleted)
    if p["state"] == "query":
        try:
            module.exit_json(changed=False, **lb.describe(lb.find()))
        except Exception as e:
            fail(module, "reading load balancer %s" % p["name"], e)

    parts = PARTS if p["part"] == "all" else [p["part"]]
    if p["part"] == "loadbalancer" or p["part"] == "all":
        cur = lb.ensure_loadbalancer()
    else:
        cur = lb.need("load balancer", lb.find())
        cur = lb.settle(cur, "an earlier change")
    try:
        for part in parts:
            if part == "listener":
                lb.ensure_listener(cur)
            elif part == "pool":
                lb.ensure_pool(cur)
            elif part == "members":
                lb.ensure_members(cur)
            elif part == "health_monitor":
                lb.ensure_health_monitor(cur)
        out = lb.describe(cur)
    except Exception as e:
        fail(module, "bringing load balancer %s to its parameters" % p["name"], e)
    module.exit_json(changed=lb.changed, **out)


if __name__ == "__main__":
    main()
