# -*- coding: utf-8 -*-
# Shared by the asb modules: the out-of-cluster way of handing results to
# the broker. A runtime without Kubernetes (the broker's Docker runtime, `apb
# run`) mounts a writable directory into the bundle's container and names it
# in APB_RESULTS_DIR; the modules then write there what they would put on
# the pod (annotations) or in the pod's Secret, one file each:
#
#   fields          asb_encode_binding: base64 of the JSON credentials, the
#                   same value as the Secret's key `fields`
#   last_operation  asb_last_operation: the description
#   dashboard_url   asb_dashboard_url: the URL
#   test-result     asb_save_test_result: "0|1\nmsg\n" records
#
# The runtime reads them while the action runs (progress) and when it ends.
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

RESULTS_ENV = "APB_RESULTS_DIR"

# Files are readable by all: the broker reading them may run under another
# uid than the bundle (1001 or OpenShift's arbitrary one). Only the broker
# and the bundle reach the directory: the runtime mounts a private one per
# action.
FILE_MODE = 0o644


def results_dir():
    """The results directory the runtime mounted, or None (a pod)."""
    return os.environ.get(RESULTS_ENV) or None


def result_path(module, name):
    """The path of result file name; fails the module when the directory is unusable."""
    d = results_dir()
    if not os.path.isdir(d):
        module.fail_json(msg="%s: %s=%s is not a directory (the runtime mounts it)" % (module._name, RESULTS_ENV, d))
    return os.path.join(d, name)


def write_result(module, name, content):
    """Replaces result file name with content, atomically: the runtime polls
    the file while the action runs and must never read half of it. The
    message on failure names the file, never the content."""
    path = result_path(module, name)
    tmp = "%s.tmp-%d" % (path, os.getpid())
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, FILE_MODE)
        with os.fdopen(fd, "w") as f:
            f.write(content)
        os.chmod(tmp, FILE_MODE)  # whatever the umask
        os.replace(tmp, path)
    except OSError as e:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        module.fail_json(msg="%s: cannot write %s: %s" % (module._name, path, e.strerror))
    return path


def append_result(module, name, content):
    """Appends content to result file name (records the runtime reads once
    the action has ended)."""
    path = result_path(module, name)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, FILE_MODE)
        with os.fdopen(fd, "a") as f:
            f.write(content)
    except OSError as e:
        module.fail_json(msg="%s: cannot write %s: %s" % (module._name, path, e.strerror))
    return path
