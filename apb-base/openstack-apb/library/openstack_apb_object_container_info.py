#!/usr/bin/python3
# -*- coding: utf-8 -*-
from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: openstack_apb_object_container_info
short_description: Tells whether a Swift container exists, with its metadata and URL
description:
  - openstack.cloud 1.10's object_container module neither reads a
    container's metadata nor returns its URL. Bundles read the metadata to
    tell their own container (marked with the instance id) from someone
    else's of the same name before changing or deleting it.
options:
  container: {description: container name, required: true, type: str}
  cloud: {description: cloud name in clouds.yaml, type: str}
  auth: {description: auth dict as openstack.cloud's, type: dict}
"""

RETURN = r"""
exists: {description: whether the container exists, returned: always, type: bool}
metadata: {description: the container's X-Container-Meta-* metadata, keys lower-cased, returned: always, type: dict}
object_count: {description: number of objects, returned: exists, type: int}
bytes_used: {description: bytes stored, returned: exists, type: int}
url: {description: the container's URL (the project's object-store endpoint and the name), returned: always, type: str}
account_url: {description: the project's object-store endpoint, returned: always, type: str}
"""

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.openstack_apb import argument_spec, connect, fail

try:
    from urllib.parse import quote
except ImportError:  # pragma: no cover - Python 2
    from urllib import quote


def main():
    module = AnsibleModule(argument_spec=argument_spec(container=dict(type="str", required=True)))
    p = module.params
    conn = connect(module)
    store = conn.object_store
    try:
        account = store.get_endpoint().rstrip("/")
    except Exception as e:
        fail(module, "finding the object-store endpoint", e)
    out = {"exists": False, "metadata": {}, "account_url": account, "url": account + "/" + quote(p["container"], safe="")}
    try:
        resp = store.head("/" + quote(p["container"], safe=""))
    except Exception as e:
        fail(module, "reading container %s" % p["container"], e)
    if resp.status_code == 404:
        module.exit_json(changed=False, **out)
    if resp.status_code >= 400:
        module.fail_json(msg="%s: reading container %s failed: HTTP %s: %s"
                             % (module._name, p["container"], resp.status_code, resp.text[:200]), **out)
    prefix = "x-container-meta-"
    out["exists"] = True
    out["metadata"] = {k.lower()[len(prefix):]: v for k, v in resp.headers.items() if k.lower().startswith(prefix)}
    out["object_count"] = int(resp.headers.get("X-Container-Object-Count", 0))
    out["bytes_used"] = int(resp.headers.get("X-Container-Bytes-Used", 0))
    module.exit_json(changed=False, **out)


if __name__ == "__main__":
    main()
