#!/usr/bin/python3
# -*- coding: utf-8 -*-
from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: openstack_apb_stack
short_description: Creates, updates, reads or deletes a Heat stack found by its tags
description:
  - openstack.cloud 1.10's stack module takes the template as a file, never
    sends its C(tag) option, cannot pass template parameters named like
    create_stack's own arguments, and reports a failed create as the whole
    stack. This one sends Heat's v1 requests through openstacksdk 0.101's
    orchestration proxy; the stack is found by its tags, and a failure
    names the stack's status reason (the failing resource and its service's
    error).
options:
  name: {description: stack name, required: true, type: str}
  tags: {description: tags the stack carries; it is found by them, required: true, type: list, elements: str}
  template: {description: the HOT template (YAML or JSON text), type: str}
  parameters: {description: template parameters (a mapping, or YAML/JSON text of one), type: raw}
  state: {description: present, query or absent, type: str, default: present}
  timeout: {description: seconds to wait for a create, update or delete, type: int, default: 3600}
  cloud: {description: cloud name in clouds.yaml, type: str}
  auth: {description: auth dict as openstack.cloud's, type: dict}
"""

RETURN = r"""
stack: {description: "id, name, status, status_reason, tags", returned: present and query when found, type: dict}
outputs: {description: output key to value, returned: present and query when found, type: dict}
binding: {description: "the outputs as binding fields: strings, numbers and booleans as they are, other values as JSON text", returned: present and query, type: dict}
"""

import json

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.openstack_apb import argument_spec, check, connect, fail, wait_for

IN_PROGRESS = "_IN_PROGRESS"


def load_mapping(module, what, text):
    if text is None or text == "":
        return {}
    if isinstance(text, dict):
        return text
    try:
        import yaml

        class Loader(yaml.SafeLoader):
            pass

        # As Heat's own loader: heat_template_version: 2018-08-31 stays
        # the string Heat expects, not a date.
        Loader.add_constructor("tag:yaml.org,2002:timestamp", Loader.construct_yaml_str)
        v = yaml.load(text, Loader=Loader)
    except Exception as e:
        module.fail_json(msg="%s: %s is not YAML or JSON: %s" % (module._name, what, e))
    if v is None:
        return {}
    if not isinstance(v, dict):
        module.fail_json(msg="%s: %s must be a mapping, not %s" % (module._name, what, type(v).__name__))
    return v


class Stack(object):
    def __init__(self, module, conn):
        self.m = module
        self.p = module.params
        self.o = conn.orchestration

    def find(self):
        tags = self.p["tags"]
        try:
            stacks = check(self.o.get("/stacks", params={"tags": ",".join(tags)})).json().get("stacks") or []
        except Exception as e:
            fail(self.m, "listing stacks tagged %s" % ",".join(tags), e)
        mine = [s for s in stacks if set(tags) <= set(s.get("tags") or []) and s.get("stack_status") != "DELETE_COMPLETE"]
        if len(mine) > 1:
            self.m.fail_json(msg="%s: %d stacks carry the tags %s" % (self.m._name, len(mine), ",".join(tags)))
        return mine[0] if mine else None

    def show(self, s):
        resp = self.o.get("/stacks/%s/%s" % (s["stack_name"], s["id"]))
        if resp.status_code == 404:
            return None
        return check(resp).json()["stack"]

    def settle(self, s, what):
        return wait_for(self.m, "stack %s %s" % (s["stack_name"], what), lambda: self.show(s),
                        lambda v: v is None or not v.get("stack_status", "").endswith(IN_PROGRESS), interval=1.0)

    def result(self, s):
        if s is None:
            return {"stack": None, "outputs": {}, "binding": {}}
        outs = {}
        for o in s.get("outputs") or []:
            outs[o.get("output_key")] = o.get("output_value")
        flat = {}
        for k, v in outs.items():
            flat[k] = v if isinstance(v, (str, int, float, bool)) else json.dumps(v, sort_keys=True)
        return {"stack": {"id": s["id"], "name": s["stack_name"], "status": s.get("stack_status"),
                          "status_reason": s.get("stack_status_reason"), "tags": s.get("tags") or []},
                "outputs": outs, "binding": flat}

    def present(self):
        p = self.p
        template = load_mapping(self.m, "template", p["template"])
        if not template.get("heat_template_version") and not template.get("HeatTemplateFormatVersion"):
            self.m.fail_json(msg="%s: the template has no heat_template_version" % self.m._name)
        params = load_mapping(self.m, "parameters", p["parameters"])
        body = {"template": template, "parameters": params, "tags": ",".join(p["tags"]),
                "timeout_mins": max(1, (p["timeout"] + 59) // 60)}
        s = self.find()
        if s is not None and s.get("stack_status", "").endswith(IN_PROGRESS):
            s = self.settle(s, "to finish its last change")
        try:
            if s is None:
                body["stack_name"] = p["name"]
                created = check(self.o.post("/stacks", json=body)).json()["stack"]
                s = {"stack_name": p["name"], "id": created["id"]}
                verb = "CREATE"
            else:
                body["disable_rollback"] = True
                check(self.o.put("/stacks/%s/%s" % (s["stack_name"], s["id"]), json=body))
                verb = "UPDATE"
        except Exception as e:
            fail(self.m, "%s of stack %s" % ("creation" if s is None or "stack_status" not in s else "update", p["name"]), e)
        s = self.settle(s, verb.lower())
        if s is None or s.get("stack_status") != verb + "_COMPLETE":
            self.m.fail_json(msg="%s: stack %s ended %s: %s" % (self.m._name, p["name"], s and s.get("stack_status"),
                                                                s and s.get("stack_status_reason")), **self.result(s))
        return self.result(s)

    def absent(self):
        s = self.find()
        if s is None:
            return False
        if s.get("stack_status", "").endswith(IN_PROGRESS):
            s = self.settle(s, "to finish its last change") or s
        resp = self.o.delete("/stacks/%s/%s" % (s["stack_name"], s["id"]))
        if resp.status_code != 404:
            try:
                check(resp)
            except Exception as e:
                fail(self.m, "deletion of stack %s" % s["stack_name"], e)
        gone = self.settle(s, "deletion")
        if gone is not None and gone.get("stack_status") != "DELETE_COMPLETE":
            self.m.fail_json(msg="%s: deleting stack %s ended %s: %s" % (self.m._name, s["stack_name"],
                                                                        gone.get("stack_status"), gone.get("stack_status_reason")))
        return True


def main():
    module = AnsibleModule(argument_spec=argument_spec(
        name=dict(type="str", required=True),
        tags=dict(type="list", elements="str", required=True),
        template=dict(type="str"),
        parameters=dict(type="raw"),
        timeout=dict(type="int", default=3600),
        state=dict(type="str", default="present", choices=["present", "query", "absent"]),
    ), required_if=[("state", "present", ["template"])])
    p = module.params
    if not p["tags"]:
        module.fail_json(msg="%s: tags must not be empty" % module._name)
    st = Stack(module, connect(module))
    if p["state"] == "absent":
        module.exit_json(changed=st.absent())
    if p["state"] == "query":
        s = st.find()
        try:
            module.exit_json(changed=False, **st.result(st.show(s) if s else None))
        except Exception as e:
            fail(module, "reading stack %s" % p["name"], e)
    module.exit_json(changed=True, **st.present())


if __name__ == "__main__":
    main()
