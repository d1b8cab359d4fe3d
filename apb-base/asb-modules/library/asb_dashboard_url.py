#!/usr/bin/python3
# -*- coding: utf-8 -*-
from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: asb_dashboard_url
short_description: Gives the broker the service instance's dashboard URL
description:
  - Sets the annotation C(apb_dashboard_url) on the bundle pod; the broker
    reads it when the pod succeeds (the spec needs
    C(alpha: {dashboard_redirect: true})).
  - With a results directory (C(APB_RESULTS_DIR), the broker's Docker
    runtime) it writes the file C(dashboard_url) there instead.
options:
  dashboard_url:
    description: the URL
    required: true
    type: str
"""

EXAMPLES = r"""
- asb_dashboard_url:
    dashboard_url: "https://{{ route_host }}"
"""

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.asb_k8s import annotate_pod
from ansible.module_utils.asb_results import results_dir, write_result

ANNOTATION = "apb_dashboard_url"


def main():
    module = AnsibleModule(argument_spec=dict(dashboard_url=dict(type="str", required=True)))
    if results_dir():
        path = write_result(module, "dashboard_url", module.params["dashboard_url"])
        module.exit_json(changed=True, path=path)
    name, namespace = annotate_pod(module, ANNOTATION, module.params["dashboard_url"])
    module.exit_json(changed=True, pod=name, namespace=namespace)


if __name__ == "__main__":
    main()
