#!/usr/bin/python3
# -*- coding: utf-8 -*-
from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: openstack_apb_dns_zone
short_description: A Designate zone and its recordsets, owned through a marker in their descriptions
description:
  - Designate has no tags. The zone and every recordset this module makes
    carry the marker (e.g. osb-instance-<id>) as their description; a zone
    of the same name without it belongs to someone else and is never taken
    over or deleted, and only recordsets with the marker are changed or
    removed when the wanted records change.
  - openstack.cloud 1.10's dns_zone would update (take over) an existing
    zone of the same name, and recordset cannot remove the records no
    longer wanted. Sent through openstacksdk 0.101's dns proxy.
options:
  name: {description: the zone's name (a trailing dot is added), required: true, type: str}
  marker: {description: the description marking what this module owns, required: true, type: str}
  email: {description: the zone's email (default hostmaster@ the zone), type: str}
  ttl: {description: TTL of the zone and its recordsets, type: int, default: 3600}
  records:
    description: >-
      the recordsets wanted, each {name, type, records}; name relative to the
      zone (@ or empty for the zone itself) or absolute with a trailing dot
    type: list
    elements: dict
    default: []
  records_text:
    description: >-
      more recordsets, one record a line as in a zone file without TTL and
      class, "NAME TYPE DATA" (e.g. "www A 192.0.2.10"); lines of one name
      and type make one recordset; empty lines and lines starting with # are
      skipped
    type: str
    default: ""
  state: {description: present, query or absent, type: str, default: present}
  timeout: {description: seconds to wait for ACTIVE or deletion, type: int, default: 600}
  cloud: {description: cloud name in clouds.yaml, type: str}
  auth: {description: auth dict as openstack.cloud's, type: dict}
"""

RETURN = r"""
zone: {description: "id, name, email, ttl, status, serial", returned: present and query when found, type: dict}
recordsets: {description: "name, type, records, id of the zone's marked recordsets", returned: present and query, type: list}
nameservers: {description: the zone's name servers (hostnames), returned: present and query, type: list}
"""

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.openstack_apb import argument_spec, connect, fail, wait_for

TYPES = ["A", "AAAA", "CNAME", "MX", "TXT", "SRV", "NS", "PTR", "CAA", "SSHFP", "SPF"]


def fqdn(name):
    return name if name.endswith(".") else name + "."


def absolute(rel, zone):
    rel = (rel or "").strip()
    if rel in ("", "@"):
        return zone
    if rel.endswith("."):
        return rel
    return rel + "." + zone


def parse_text(module, text):
    out = []
    for n, line in enumerate((text or "").splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        f = line.split(None, 2)
        if len(f) != 3:
            module.fail_json(msg="%s: records line %d %r: want NAME TYPE DATA" % (module._name, n, line))
        out.append({"name": f[0], "type": f[1], "records": [f[2]]})
    return out


def wanted(module, zone):
    out = {}
    for r in module.params["records"] + parse_text(module, module.params["records_text"]):
        t = str(r.get("type") or "").upper()
        if t not in TYPES:
            module.fail_json(msg="%s: record %s: type %r is not one of %s" % (module._name, r, r.get("type"), ", ".join(TYPES)))
        data = r.get("records")
        if isinstance(data, str):
            data = [data]
        if not data:
            module.fail_json(msg="%s: record %s has no data" % (module._name, r))
        key = (absolute(r.get("name"), zone), t)
        out.setdefault(key, [])
        out[key].extend(d for d in data if d not in out[key])
    return out


class Zone(object):
    def __init__(self, module, conn):
        self.m = module
        self.p = module.params
        self.dns = conn.dns
        self.name = fqdn(self.p["name"].strip().lower())

    def find(self):
        try:
            zs = [z for z in self.dns.zones(name=self.name) if z.name == self.name]
        except Exception as e:
            fail(self.m, "looking up zone %s" % self.name, e)
        if not zs:
            return None
        z = zs[0]
        if (z.description or "") != self.p["marker"]:
            self.m.fail_json(msg="%s: zone %s already exists and was not made for %s (its description is %r): "
                                 "choose another zone name" % (self.m._name, self.name, self.p["marker"], z.description))
        return z

    def settle(self, z, what):
        return wait_for(self.m, "zone %s ACTIVE after %s" % (self.name, what), lambda: self.dns.get_zone(z.id),
                        lambda v: v.status == "ACTIVE", lambda v: v.status == "ERROR", interval=1.0)

    def mine(self, z):
        return [r for r in self.dns.recordsets(z) if (r.description or "") == self.p["marker"]]

    def present(self):
        changed = False
        want = wanted(self.m, self.name)  # a bad record fails before anything is made
        z = self.find()
        p = self.p
        if z is None:
            try:
                z = self.dns.create_zone(name=self.name, email=p["email"] or "hostmaster@" + self.name.rstrip("."),
                                         ttl=p["ttl"], description=p["marker"], type="PRIMARY")
            except Exception as e:
                fail(self.m, "creating zone %s" % self.name, e)
            changed = True
        elif (p["email"] and z.email != p["email"]) or z.ttl != p["ttl"]:
            try:
                self.dns.update_zone(z, email=p["email"] or z.email, ttl=p["ttl"])
            except Exception as e:
                fail(self.m, "updating zone %s" % self.name, e)
            changed = True
        z = self.settle(z, "creating it" if changed else "an earlier change")
        try:
            have = self.mine(z)
        except Exception as e:
            fail(self.m, "listing the recordsets of zone %s" % self.name, e)
        for r in have:
            key = (r.name, r.type)
            if key not in want:
                try:
                    self.dns.delete_recordset(r, z, ignore_missing=True)
                except Exception as e:
                    fail(self.m, "deleting recordset %s %s" % key, e)
                changed = True
            elif sorted(r.records or []) != sorted(want[key]) or r.ttl != p["ttl"]:
                try:
                    self.dns.update_recordset(r, zone_id=z.id, records=want[key], ttl=p["ttl"])
                except Exception as e:
                    fail(self.m, "updating recordset %s %s" % key, e)
                changed = True
        existing = set((r.name, r.type) for r in have)
        for key, data in sorted(want.items()):
            if key in existing:
                continue
            try:
                self.dns.create_recordset(z, name=key[0], type=key[1], records=data, ttl=p["ttl"],
                                          description=p["marker"])
            except Exception as e:
                fail(self.m, "creating recordset %s %s" % key, e)
            changed = True
        return changed, self.describe(z)

    def describe(self, z):
        if z is None:
            return {"zone": None, "recordsets": [], "nameservers": []}
        z = self.dns.get_zone(z.id)
        try:
            ns = [n.get("hostname") for n in self.dns.get("/zones/%s/nameservers" % z.id).json().get("nameservers", [])]
        except Exception:
            ns = []
        return {
            "zone": {"id": z.id, "name": z.name, "email": z.email, "ttl": z.ttl, "status": z.status, "serial": z.serial},
            "recordsets": sorted([{"id": r.id, "name": r.name, "type": r.type, "records": sorted(r.records or [])}
                                  for r in self.mine(z)], key=lambda r: (r["name"], r["type"])),
            "nameservers": sorted(n for n in ns if n),
        }

    def absent(self):
        try:
            zs = [z for z in self.dns.zones(name=self.name) if z.name == self.name]
        except Exception as e:
            fail(self.m, "looking up zone %s" % self.name, e)
        zs = [z for z in zs if (z.description or "") == self.p["marker"]]
        if not zs:
            return False
        z = zs[0]
        if z.status != "PENDING" or z.action != "DELETE":
            try:
                self.dns.delete_zone(z, ignore_missing=True)
            except Exception as e:
                fail(self.m, "deleting zone %s" % self.name, e)
        wait_for(self.m, "deletion of zone %s" % self.name, lambda: self.dns.find_zone(z.id, ignore_missing=True),
                 lambda v: v is None or v.status == "DELETED", interval=1.0)
        return True


def main():
    module = AnsibleModule(argument_spec=argument_spec(
        name=dict(type="str", required=True),
        marker=dict(type="str", required=True),
        email=dict(type="str"),
        ttl=dict(type="int", default=3600),
        records=dict(type="list", elements="dict", default=[]),
        records_text=dict(type="str", default=""),
        state=dict(type="str", default="present", choices=["present", "query", "absent"]),
    ))
    p = module.params
    if not p["marker"]:
        module.fail_json(msg="%s: marker must not be empty" % module._name)
    z = Zone(module, connect(module))
    if p["state"] == "absent":
        module.exit_json(changed=z.absent())
    if p["state"] == "query":
        found = z.find()
        try:
            module.exit_json(changed=False, **z.describe(found))
        except Exception as e:
            fail(module, "reading zone %s" % z.name, e)
    changed, out = z.present()
    module.exit_json(changed=changed, **out)


if __name__ == "__main__":
    main()
