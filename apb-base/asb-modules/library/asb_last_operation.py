#!/usr/bin/python3
# -*- coding: utf-8 -*-
from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: asb_last_operation
short_description: Reports progress of the running action to the broker
description:
  - Sets the annotation C(apb_last_operation) on the bundle pod; the broker
    shows it as the OSB last_operation description.
  - With a results directory (C(APB_RESULTS_DIR), the broker's Docker
    runtime) it writes the file C(last_operation) there instead, which the
    runtime polls while the action runs.
options:
  description:
    description: the progress text, e.g. "50%: volume created"
    required: true
    type: str
"""

EXAMPLES = r"""
- asb_last_operation:
    description: "50%: objects updated"
"""

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.asb_k8s import annotate_pod
from ansible.module_utils.asb_results import results_dir, write_result

ANNOTATION = "apb_last_operation"


def main():
    module = AnsibleModule(argument_spec=dict(description=dict(type="str", required=True)))
    if results_dir():
        path = write_result(module, "last_operation", module.params["description"])
        module.exit_json(changed=True, path=path)
    name, namespace = annotate_pod(module, ANNOTATION, module.params["description"])
    module.exit_json(changed=True, pod=name, namespace=namespace)


if __name__ == "__main__":
    main()
