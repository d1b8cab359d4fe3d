# -*- coding: utf-8 -*-
# Shared by the asb modules: who the bundle pod is and a Kubernetes client
# for it. Written for Python 3 and the kubernetes client Debian ships (22.x).
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

SA_TOKEN = "/var/run/secrets/kubernetes.io/serviceaccount/token"


def pod_identity(module):
    """Returns (POD_NAME, POD_NAMESPACE), or fails the module with why not.

    The broker sets both from the downward API; without them the module is
    not running in a bundle pod and has nothing to write to.
    """
    name = os.environ.get("POD_NAME", "")
    namespace = os.environ.get("POD_NAMESPACE", "")
    if not name or not namespace:
        module.fail_json(
            msg="%s: not running in a bundle pod: POD_NAME and POD_NAMESPACE are not set "
            "(the broker sets them; guard the task with `when: in_cluster` or set both "
            "to run it out of cluster)" % module._name
        )
    return name, namespace


def core_v1(module):
    """A CoreV1Api from the pod's service account, else from the kubeconfig."""
    try:
        from kubernetes import client, config
    except ImportError:
        module.fail_json(msg="%s: the Python kubernetes client is missing (Debian: python3-kubernetes)" % module._name)
    errors = []
    try:
        config.load_incluster_config()
        return client.CoreV1Api()
    except Exception as e:  # ConfigException when not in a pod
        errors.append("in-cluster: %s" % e)
    kubeconfig = os.environ.get("KUBECONFIG") or os.path.expanduser("~/.kube/config")
    try:
        if not os.path.exists(kubeconfig):
            raise ValueError("%s does not exist" % kubeconfig)
        config.load_kube_config(config_file=kubeconfig)
        return client.CoreV1Api()
    except Exception as e:
        errors.append("kubeconfig %s: %s" % (kubeconfig, e))
    module.fail_json(
        msg="%s: cannot reach Kubernetes out of cluster: no usable service account token (%s) "
        "and no usable kubeconfig (%s)" % (module._name, SA_TOKEN, "; ".join(errors))
    )


def api_error(module, what, err):
    """Fails the module naming the operation and the API's answer only.

    The response body is left out: for Secrets it could echo the data.
    """
    status = getattr(err, "status", None)
    reason = getattr(err, "reason", None) or str(err)
    if status is not None:
        module.fail_json(msg="%s: %s failed: HTTP %s %s" % (module._name, what, status, reason), status=status)
    module.fail_json(msg="%s: %s failed: %s" % (module._name, what, reason))


def is_conflict(err):
    return getattr(err, "status", None) == 409


def annotate_pod(module, key, value):
    """Sets one annotation on the bundle's own pod (the broker watches them)."""
    name, namespace = pod_identity(module)
    api = core_v1(module)
    body = {"metadata": {"annotations": {key: value}}}
    try:
        api.patch_namespaced_pod(name=name, namespace=namespace, body=body)
    except Exception as e:
        api_error(module, "annotating pod %s/%s" % (namespace, name), e)
    return name, namespace
