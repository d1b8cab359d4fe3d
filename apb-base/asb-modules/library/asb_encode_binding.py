#!/usr/bin/python3
# -*- coding: utf-8 -*-
from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: asb_encode_binding
short_description: Hands bind credentials to the service broker
description:
  - Stores I(fields) as JSON in the Secret named after the bundle pod
    (POD_NAME) in its namespace (POD_NAMESPACE), key C(fields). The broker
    reads it when the action finishes; provision's become the provision
    credentials, bind's the binding's credentials.
  - Out of a cluster, when the runtime mounted a results directory
    (C(APB_RESULTS_DIR), the broker's Docker runtime), writes the same value
    (base64 of the JSON) to the file C(fields) there instead.
options:
  fields:
    description: the credentials, e.g. DB_HOST, DB_USER, DB_PASSWORD
    required: true
    type: dict
"""

EXAMPLES = r"""
- asb_encode_binding:
    fields:
      DB_HOST: "{{ db_host }}"
      DB_PASSWORD: "{{ db_password }}"
"""

RETURN = r"""
secret_name: {description: name of the Secret written, returned: in a pod, type: str}
path: {description: the results file written, returned: with APB_RESULTS_DIR, type: str}
"""

import base64
import json

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.asb_k8s import api_error, core_v1, is_conflict, pod_identity
from ansible.module_utils.asb_results import results_dir, write_result


def encode_fields(fields):
    """The value of key `fields`: base64 of the JSON document."""
    return base64.b64encode(json.dumps(fields).encode("utf-8")).decode("ascii")


def main():
    module = AnsibleModule(
        argument_spec=dict(fields=dict(type="dict", required=True, no_log=True)),
        supports_check_mode=False,
    )
    if results_dir():
        path = write_result(module, "fields", encode_fields(module.params["fields"]))
        module.exit_json(changed=True, path=path)
    name, namespace = pod_identity(module)
    api = core_v1(module)
    from kubernetes import client

    body = client.V1Secret(
        metadata=client.V1ObjectMeta(name=name, namespace=namespace),
        data={"fields": encode_fields(module.params["fields"])},
    )
    try:
        api.create_namespaced_secret(namespace=namespace, body=body)
    except Exception as e:
        if not is_conflict(e):
            api_error(module, "creating Secret %s/%s" % (namespace, name), e)
        # A second call in the same action replaces the first one's fields.
        try:
            api.replace_namespaced_secret(name=name, namespace=namespace, body=body)
        except Exception as e2:
            api_error(module, "replacing Secret %s/%s" % (namespace, name), e2)
    module.exit_json(changed=True, secret_name=name)


if __name__ == "__main__":
    main()
