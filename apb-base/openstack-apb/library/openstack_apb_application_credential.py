#!/usr/bin/python3
# -*- coding: utf-8 -*-
from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: openstack_apb_application_credential
short_description: Creates or deletes a Keystone application credential of the current user
description:
  - openstack.cloud 1.10 has no application credential module. This one
    sends Keystone's v3 requests (POST/GET/DELETE
    /v3/users/{user}/application_credentials) through openstacksdk 0.101's
    identity proxy, as the user the connection authenticates as.
  - Keystone shows a credential's secret once, when it is created. C(present)
    leaves an existing credential of that name alone (no secret returned);
    C(replace) deletes it and creates a new one, for callers that must hand
    out the secret (a repeated bind).
  - A restricted application credential cannot create or delete application
    credentials (Keystone answers 403): the error says so.
options:
  name: {description: credential name (unique per user); required unless state is absent with name_prefix, type: str}
  name_prefix: {description: with state absent, delete every credential of the user whose name starts with it, type: str}
  description: {description: free text, type: str}
  roles: {description: role names the credential gets (default, the token's roles), type: list, elements: str}
  access_rules: {description: "list of {service, method, path}: the only requests the credential may make", type: list, elements: dict}
  expires_at: {description: ISO 8601 expiry (default, never), type: str}
  expires_in_days: {description: expiry this many days from now (0, never); exclusive with expires_at, type: int}
  unrestricted: {description: may create further credentials and trusts, type: bool, default: false}
  state: {description: present, replace or absent, type: str, default: present}
  cloud: {description: cloud name in clouds.yaml, type: str}
  auth: {description: auth dict as openstack.cloud's, type: dict}
"""

RETURN = r"""
application_credential:
  description: id, name, secret (only when created here), project_id, roles, access_rules, expires_at, unrestricted
  returned: present, replace
  type: dict
auth_url: {description: the identity endpoint the credential authenticates at, returned: present, replace, type: str}
region_name: {description: the connection's region, returned: present, replace, type: str}
interface: {description: the connection's interface, returned: present, replace, type: str}
user_id: {description: the user owning the credential, returned: always, type: str}
deleted: {description: names of the credentials deleted, returned: absent, replace, type: list}
"""

import datetime

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.openstack_apb import argument_spec, check, connect, fail

MAX_CREDENTIALS = 10000  # bound on a user's listing
FIELDS = ("id", "name", "description", "project_id", "roles", "access_rules", "expires_at", "unrestricted")


def listing(ident, user_id, name=None):
    params = {"name": name} if name else None
    creds = check(ident.get("/users/%s/application_credentials" % user_id, params=params)).json()
    return (creds.get("application_credentials") or [])[:MAX_CREDENTIALS]


def shown(cred, secret=None):
    out = {k: cred.get(k) for k in FIELDS}
    out["roles"] = [r.get("name") for r in cred.get("roles") or []]
    if secret:
        out["secret"] = secret
    return out


def denied_hint(err):
    if getattr(err, "status_code", None) == 403:
        return (" (a restricted application credential cannot manage application credentials: use a password, or an "
                "application credential created with unrestricted)")
    return ""


def main():
    module = AnsibleModule(
        argument_spec=argument_spec(
            name=dict(type="str"),
            name_prefix=dict(type="str"),
            description=dict(type="str"),
            roles=dict(type="list", elements="str"),
            access_rules=dict(type="list", elements="dict"),
            expires_at=dict(type="str"),
            expires_in_days=dict(type="int"),
            unrestricted=dict(type="bool", default=False),
            state=dict(type="str", default="present", choices=["present", "replace", "absent"]),
        ),
        required_if=[("state", "present", ["name"]), ("state", "replace", ["name"])],
        mutually_exclusive=[("name", "name_prefix"), ("expires_at", "expires_in_days")],
        required_one_of=[("name", "name_prefix")],
    )
    p = module.params
    conn = connect(module)
    ident = conn.identity
    try:
        user_id = conn.current_user_id
    except Exception as e:
        fail(module, "finding the current user", e)

    deleted = []

    def delete_matching(match):
        try:
            found = [c for c in listing(ident, user_id, p["name"]) if match(c.get("name") or "")]
        except Exception as e:
            if p["state"] == "absent" and getattr(e, "status_code", None) == 403:
                # Credentials that may not manage application credentials
                # cannot have made any: there is nothing of theirs to delete.
                module.exit_json(changed=False, deleted=[], user_id=user_id,
                                 warnings=["these credentials may not manage application credentials: none to delete"])
            module.fail_json(msg="%s: listing application credentials failed: %s: %s%s"
                                 % (module._name, type(e).__name__, e, denied_hint(e)), user_id=user_id)
        for c in found:
            try:
                resp = ident.delete("/users/%s/application_credentials/%s" % (user_id, c["id"]))
                if resp.status_code != 404:  # gone meanwhile is fine
                    check(resp)
            except Exception as e:
                module.fail_json(msg="%s: deleting application credential %s failed: %s: %s%s"
                                     % (module._name, c.get("name"), type(e).__name__, e, denied_hint(e)),
                                 user_id=user_id, deleted=deleted)
            deleted.append(c.get("name"))

    if p["state"] == "absent":
        if p["name"]:
            delete_matching(lambda n: n == p["name"])
        else:
            delete_matching(lambda n: n.startswith(p["name_prefix"]))
        module.exit_json(changed=bool(deleted), deleted=deleted, user_id=user_id)

    where = {"user_id": user_id, "region_name": conn.config.get_region_name(),
             "interface": conn.config.get_interface() or "public"}
    try:
        # The identity proxy's get_endpoint(endpoint) is Keystone's endpoint
        # resource, not the adapter's URL: ask keystoneauth's endpoint data.
        where["auth_url"] = conn.identity.get_endpoint_data().url
    except Exception as e:
        fail(module, "finding the identity endpoint", e)

    if p["state"] == "present":
        try:
            existing = [c for c in listing(ident, user_id, p["name"]) if c.get("name") == p["name"]]
        except Exception as e:
            module.fail_json(msg="%s: listing application credentials failed: %s: %s%s"
                                 % (module._name, type(e).__name__, e, denied_hint(e)), user_id=user_id)
        if existing:
            module.exit_json(changed=False, application_credential=shown(existing[0]), **where)
    else:
        delete_matching(lambda n: n == p["name"])

    body = {"name": p["name"], "unrestricted": p["unrestricted"]}
    if p["description"]:
        body["description"] = p["description"]
    if p["roles"]:
        body["roles"] = [{"name": r} for r in p["roles"]]
    if p["access_rules"]:
        body["access_rules"] = [{k: r[k] for k in ("service", "method", "path", "id") if r.get(k)} for r in p["access_rules"]]
    if p["expires_at"]:
        body["expires_at"] = p["expires_at"]
    elif p["expires_in_days"]:
        if p["expires_in_days"] < 0:
            module.fail_json(msg="%s: expires_in_days must not be negative" % module._name)
        at = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(days=p["expires_in_days"])
        body["expires_at"] = at.strftime("%Y-%m-%dT%H:%M:%S.000000")
    try:
        created = check(ident.post("/users/%s/application_credentials" % user_id,
                                   json={"application_credential": body})).json()["application_credential"]
    except Exception as e:
        module.fail_json(msg="%s: creating application credential %s failed: %s: %s%s"
                             % (module._name, p["name"], type(e).__name__, e, denied_hint(e)),
                         user_id=user_id, deleted=deleted)
    module.exit_json(changed=True, application_credential=shown(created, created.get("secret")), deleted=deleted, **where)


if __name__ == "__main__":
    main()
