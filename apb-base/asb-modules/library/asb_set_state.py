#!/usr/bin/python3
# -*- coding: utf-8 -*-
from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: asb_set_state
short_description: Saves bundle state for the next actions of the instance
description:
  - Writes I(fields) (values turned into strings) into the ConfigMap named
    after the bundle pod in its namespace, creating or merging it. The
    broker keeps it as the instance's state and mounts it into later
    actions at $BUNDLE_STATE_LOCATION, where the C(asb_state) lookup reads it.
options:
  fields:
    description: keys and values to store
    required: true
    type: dict
"""

EXAMPLES = r"""
- asb_set_state:
    fields:
      volume_id: "{{ volume.id }}"
"""

import json

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.asb_k8s import api_error, core_v1, is_conflict, pod_identity


def stringify(fields):
    """ConfigMap data is strings: scalars as text, structures as JSON."""
    out = {}
    for k, v in fields.items():
        if isinstance(v, (dict, list)):
            out[str(k)] = json.dumps(v, sort_keys=True)
        elif isinstance(v, bool):
            out[str(k)] = "true" if v else "false"
        elif v is None:
            out[str(k)] = ""
        else:
            out[str(k)] = str(v)
    return out


def main():
    module = AnsibleModule(argument_spec=dict(fields=dict(type="dict", required=True)))
    name, namespace = pod_identity(module)
    api = core_v1(module)
    from kubernetes import client

    data = stringify(module.params["fields"])
    body = client.V1ConfigMap(metadata=client.V1ObjectMeta(name=name, namespace=namespace), data=data)
    try:
        api.create_namespaced_config_map(namespace=namespace, body=body)
    except Exception as e:
        if not is_conflict(e):
            api_error(module, "creating ConfigMap %s/%s" % (namespace, name), e)
        try:
            api.patch_namespaced_config_map(name=name, namespace=namespace, body={"data": data})
        except Exception as e2:
            api_error(module, "patching ConfigMap %s/%s" % (namespace, name), e2)
    module.exit_json(changed=True, config_map=name, keys=sorted(data))


if __name__ == "__main__":
    main()
