#!/usr/bin/python3
# -*- coding: utf-8 -*-
from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: openstack_apb_object_container
short_description: Creates, reads or deletes a Swift container owned by a service instance
description:
  - openstack.cloud 1.10's object_container module cannot tell a container
    it made from someone else's of the same name (container names are
    per project), sets metadata in a second request after the create, and
    returns no URL. This one marks the container with its owner in the
    creating request itself (C(X-Container-Meta-Osb-Owner)), never adopts
    or deletes a container with another owner or none, and returns the
    container's URL.
options:
  container: {description: container name, required: true, type: str}
  owner: {description: the owner mark (a service instance id), required: true, type: str}
  state:
    description: present (create, or find ours), absent (delete ours with its objects) or info (read only)
    type: str
    default: present
  cloud: {description: cloud name in clouds.yaml, type: str}
  auth: {description: auth dict as openstack.cloud's, type: dict}
"""

RETURN = r"""
exists: {description: whether the container exists (after the call), returned: always, type: bool}
owner: {description: the owner mark the container carries (empty for none), returned: always, type: str}
metadata: {description: X-Container-Meta-* metadata, keys lower-cased without the prefix, returned: always, type: dict}
object_count: {description: number of objects, returned: when it exists, type: int}
bytes_used: {description: bytes stored, returned: when it exists, type: int}
url: {description: the container's URL, returned: always, type: str}
account_url: {description: the project's object-store endpoint, returned: always, type: str}
deleted_objects: {description: objects deleted with the container, returned: absent, type: int}
"""

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.openstack_apb import argument_spec, check, connect, fail

try:
    from urllib.parse import quote
except ImportError:  # pragma: no cover - Python 2
    from urllib import quote

OWNER = "osb-owner"
PREFIX = "x-container-meta-"
MAX_OBJECTS = 100000  # bound on what one deprovision deletes


def head(store, path):
    resp = store.head(path)
    if resp.status_code == 404:
        return None
    check(resp)
    return resp


def describe(resp, out):
    out["exists"] = resp is not None
    if resp is None:
        return out
    meta = {k.lower()[len(PREFIX):]: v for k, v in resp.headers.items() if k.lower().startswith(PREFIX)}
    out.update(metadata=meta, owner=meta.get(OWNER, ""),
               object_count=int(resp.headers.get("X-Container-Object-Count", 0)),
               bytes_used=int(resp.headers.get("X-Container-Bytes-Used", 0)))
    return out


def main():
    module = AnsibleModule(argument_spec=argument_spec(
        container=dict(type="str", required=True),
        owner=dict(type="str", required=True),
        state=dict(type="str", default="present", choices=["present", "absent", "info"]),
    ))
    p = module.params
    name, owner = p["container"], p["owner"]
    conn = connect(module)
    store = conn.object_store
    try:
        account = store.get_endpoint().rstrip("/")
    except Exception as e:
        fail(module, "finding the object-store endpoint", e)
    path = "/" + quote(name, safe="")
    out = {"exists": False, "owner": "", "metadata": {}, "account_url": account, "url": account + path}
    try:
        current = head(store, path)
    except Exception as e:
        fail(module, "reading container %s" % name, e)
    describe(current, out)
    if p["state"] == "info":
        module.exit_json(changed=False, **out)

    if current is not None and out["owner"] != owner:
        whose = "another instance's (%s)" % out["owner"] if out["owner"] else "not made by this broker"
        if p["state"] == "absent":
            # Not ours to delete: a failed provision found it there.
            module.exit_json(changed=False, warnings=["container %s is %s: left alone" % (name, whose)], **out)
        module.fail_json(msg="%s: container %s already exists and is %s: choose another name" % (module._name, name, whose), **out)

    if p["state"] == "present":
        if current is not None:
            module.exit_json(changed=False, **out)
        try:
            check(store.put(path, headers={"X-Container-Meta-Osb-Owner": owner}))
            describe(head(store, path), out)
        except Exception as e:
            fail(module, "creating container %s" % name, e)
        module.exit_json(changed=True, **out)

    if current is None:
        module.exit_json(changed=False, deleted_objects=0, **out)
    deleted = 0
    try:
        while deleted < MAX_OBJECTS:
            # Each round lists what is left: deleted objects leave the listing.
            listing = check(store.get(path, params={"format": "json", "limit": 1000})).json()
            if not listing:
                break
            for o in listing:
                resp = store.delete(path + "/" + quote(o["name"], safe="/"))
                if resp.status_code != 404:
                    check(resp)
                deleted += 1
        resp = store.delete(path)
        if resp.status_code != 404:
            check(resp)
    except Exception as e:
        module.fail_json(msg="%s: deleting container %s failed after %d objects: %s: %s"
                             % (module._name, name, deleted, type(e).__name__, e), **out)
    out["exists"] = False
    module.exit_json(changed=True, deleted_objects=deleted, **out)


if __name__ == "__main__":
    main()
