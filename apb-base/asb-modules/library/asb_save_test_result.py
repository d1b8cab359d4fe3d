#!/usr/bin/python3
# -*- coding: utf-8 -*-
from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: asb_save_test_result
short_description: Records the outcome of the test action
description:
  - Appends C(1) (I(fail)) or C(0), then I(msg), one per line, to
    /var/tmp/test-result. The entrypoint then keeps the pod until the
    result is collected with C(test-retrieval). No Kubernetes access.
  - With a results directory (C(APB_RESULTS_DIR), the broker's Docker
    runtime) the records go to the file C(test-result) there; the container
    then ends at once, since the runtime reads the file after it.
options:
  fail: {description: whether the test failed, type: bool, default: false}
  msg: {description: a message for the user, type: str, default: ""}
"""

EXAMPLES = r"""
- asb_save_test_result:
    fail: "{{ response.status != 200 }}"
    msg: "the service answered {{ response.status }}"
"""

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.asb_results import append_result, results_dir

TEST_RESULT_PATH = "/var/tmp/test-result"


def main():
    module = AnsibleModule(
        argument_spec=dict(fail=dict(type="bool", default=False), msg=dict(type="str", default="")),
    )
    record = "%s\n%s\n" % ("1" if module.params["fail"] else "0", module.params["msg"])
    if results_dir():
        module.exit_json(changed=True, path=append_result(module, "test-result", record))
    try:
        with open(TEST_RESULT_PATH, "a") as f:
            f.write(record)
    except OSError as e:
        module.fail_json(msg="asb_save_test_result: cannot write %s: %s" % (TEST_RESULT_PATH, e.strerror))
    module.exit_json(changed=True, path=TEST_RESULT_PATH)


if __name__ == "__main__":
    main()
