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

TEST_RESULT_PATH = "/var/tmp/test-result"


def main():
    module = AnsibleModule(
        argument_spec=dict(fail=dict(type="bool", default=False), msg=dict(type="str", default="")),
    )
    record = "%s\n%s\n" % ("1" if module.params["fail"] else "0", module.params["msg"])
    try:
        with open(TEST_RESULT_PATH, "a") as f:
            f.write(record)
    except OSError as e:
        module.fail_json(msg="asb_save_test_result: cannot write %s: %s" % (TEST_RESULT_PATH, e.strerror))
    module.exit_json(changed=True, path=TEST_RESULT_PATH)


if __name__ == "__main__":
    main()
