# -*- coding: utf-8 -*-
# Shared by this project's OpenStack modules (services openstack.cloud 1.10
# has no module for). Written against Debian's openstacksdk 0.101.
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import time


def argument_spec(**extra):
    """Connection options named as openstack.cloud's, plus the module's own."""
    spec = dict(
        cloud=dict(type="str"),
        auth=dict(type="dict", no_log=True),
        auth_type=dict(type="str"),
        region_name=dict(type="str"),
        interface=dict(type="str", default="public", choices=["public", "internal", "admin"]),
        state=dict(type="str", default="present", choices=["present", "absent"]),
        wait=dict(type="bool", default=True),
        timeout=dict(type="int", default=600),
    )
    spec.update(extra)
    return spec


def connect(module):
    """An openstack.connection.Connection, or a module failure saying why.

    Credentials come from the module's cloud/auth options or from
    clouds.yaml (OS_CLIENT_CONFIG_FILE, which openstack-apb points at the
    broker-mapped Secret). Error texts carry exception types and messages,
    never the auth options.
    """
    try:
        import openstack
    except ImportError:
        module.fail_json(msg="%s: openstacksdk is missing (Debian: python3-openstacksdk)" % module._name)
    p = module.params
    kwargs = {k: p[k] for k in ("auth", "auth_type", "region_name", "interface") if p.get(k)}
    if p.get("cloud"):
        kwargs["cloud"] = p["cloud"]
    if not kwargs.get("cloud") and not kwargs.get("auth") and not os.environ.get("OS_CLOUD") \
            and not os.environ.get("OS_AUTH_URL"):
        cfg = os.environ.get("OS_CLIENT_CONFIG_FILE")
        if not cfg or not os.path.exists(cfg):
            module.fail_json(msg="%s: no OpenStack credentials: give cloud or auth, or mount a Secret with "
                                 "clouds.yaml (OS_CLIENT_CONFIG_FILE=%s)" % (module._name, cfg or "unset"))
    try:
        conn = openstack.connect(**kwargs)
    except Exception as e:
        module.fail_json(msg="%s: cannot configure the OpenStack connection: %s: %s"
                             % (module._name, type(e).__name__, e))
    # Authenticate now: a proxy's first use would otherwise raise the
    # keystone error as a traceback outside any operation's error handling.
    try:
        conn.authorize()
    except Exception as e:
        module.fail_json(msg="%s: cannot authenticate to OpenStack: %s: %s" % (module._name, type(e).__name__, e))
    return conn


def fail(module, what, err):
    module.fail_json(msg="%s: %s failed: %s: %s%s" % (module._name, what, type(err).__name__, err, described(err)))


def described(err):
    """The service's own words when the SDK's message lacks them.

    openstacksdk 0.101 reads only "message"/"faultstring" from error
    bodies; Zaqar (falcon) answers {"title": ..., "description": ...}, which
    the SDK reduces to the HTTP reason ("Service Unavailable").
    """
    resp = getattr(err, "response", None)
    if resp is None:
        return ""
    try:
        body = resp.json()
    except Exception:
        return ""
    if not isinstance(body, dict):
        return ""
    words = [str(body[k]) for k in ("title", "description") if body.get(k) and str(body[k]) not in str(err)]
    return (" (%s)" % ": ".join(words)) if words else ""


def wait_for(module, what, poll, done, failed=lambda v: False, interval=2.0, sleep=time.sleep, clock=time.monotonic):
    """Polls poll() until done(value) within the module's timeout (bounded).

    Returns the last value; fails the module on failed(value) or timeout.
    """
    deadline = clock() + max(0, module.params.get("timeout") or 0)
    while True:
        value = poll()
        if done(value):
            return value
        if failed(value):
            module.fail_json(msg="%s: %s ended in an error state" % (module._name, what))
        if clock() >= deadline:
            module.fail_json(msg="%s: %s not reached within %ss" % (module._name, what, module.params.get("timeout")))
        sleep(interval)


def check(resp):
    """Raises the SDK's HTTP exception for an error response of a raw call."""
    from openstack import exceptions

    exceptions.raise_from_response(resp)
    return resp
