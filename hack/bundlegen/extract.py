#!/usr/bin/python3
"""Prints, as JSON, the argument specs and docs of the openstack.cloud
modules that manage a resource (an option `state` offering present and
absent), read from the collection Ansible uses in this image.

The argument specs are Python dicts built in code (openstack.cloud's
OpenStackModule merges each module's own with
openstack_full_argument_spec), so this script runs each module's main()
with AnsibleModule replaced by a stand-in that records the spec it is
given and stops the module there: what the module would accept, exactly,
including no_log, which ansible-doc does not show. Descriptions come from
the module's DOCUMENTATION; the return keys from its RETURN.

Run inside openstack-apb: python3 extract.py > modules.json
(hack/bundlegen/extract.sh does that; no OpenStack is reached).
"""
import importlib
import json
import os
import sys

import yaml

COLLECTION_ROOT = "/usr/share/ansible/collections"
PACKAGE = "ansible_collections.openstack.cloud.plugins.modules"


class Captured(Exception):
    def __init__(self, spec, kwargs):
        super().__init__("captured")
        self.spec = spec
        self.kwargs = kwargs


class StandIn(object):
    def __init__(self, argument_spec=None, **kwargs):
        raise Captured(argument_spec or {}, kwargs)


def common_options():
    from ansible_collections.openstack.cloud.plugins.module_utils import openstack
    return set(openstack.openstack_full_argument_spec().keys())


def clean(value):
    """JSON-safe copy of a spec value (tuples to lists)."""
    if isinstance(value, dict):
        return {str(k): clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set)):
        return [clean(v) for v in value]
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    return str(value)


def text(v):
    if v is None:
        return ""
    if isinstance(v, list):
        return " ".join(str(x).strip() for x in v)
    return str(v).strip()


def option(name, spec, doc):
    out = {
        "name": name,
        "type": spec.get("type", "str"),
        "required": bool(spec.get("required", False)),
        "no_log": bool(spec.get("no_log", False)),
        "description": text((doc or {}).get("description")),
    }
    for key in ("elements", "choices", "default", "aliases"):
        if spec.get(key) is not None:
            out[key] = clean(spec[key])
    if spec.get("options"):
        out["suboptions"] = sorted(spec["options"].keys())
    return out


def extract(path):
    import ansible.module_utils.basic as basic
    from ansible_collections.openstack.cloud.plugins.module_utils import openstack
    basic.AnsibleModule = StandIn
    openstack.AnsibleModule = StandIn
    common = common_options()
    mods_dir = os.path.join(path, "ansible_collections/openstack/cloud/plugins/modules")
    out = []
    for fname in sorted(os.listdir(mods_dir)):
        name, ext = os.path.splitext(fname)
        # os_* are the deprecated aliases of the same modules.
        if ext != ".py" or name.startswith("_") or name.startswith("os_"):
            continue
        mod = importlib.import_module(PACKAGE + "." + name)
        # Debian's unpatched copy in dist-packages is on the path too.
        if not os.path.realpath(mod.__file__).startswith(os.path.realpath(path) + os.sep):
            sys.exit("%s imported from %s, not from the copy Ansible uses (%s)" % (name, mod.__file__, path))
        if hasattr(mod, "AnsibleModule"):
            mod.AnsibleModule = StandIn
        try:
            mod.main()
        except Captured as c:
            spec, kwargs = c.spec, c.kwargs
        except SystemExit:
            print("%s: main() exited before building its module" % name, file=sys.stderr)
            continue
        else:
            print("%s: main() built no AnsibleModule" % name, file=sys.stderr)
            continue
        state = spec.get("state") or {}
        choices = state.get("choices") or []
        if "present" not in choices or "absent" not in choices:
            continue
        doc = yaml.safe_load(mod.DOCUMENTATION) or {}
        ret = yaml.safe_load(getattr(mod, "RETURN", "") or "") or {}
        docopts = doc.get("options") or {}
        out.append({
            "module": name,
            "short_description": text(doc.get("short_description")),
            "description": text(doc.get("description")),
            "options": [option(k, spec[k], docopts.get(k)) for k in sorted(spec) if k not in common],
            "returns": sorted(ret.keys()) if isinstance(ret, dict) else [],
            "required_if": clean(kwargs.get("required_if") or []),
            "required_one_of": clean(kwargs.get("required_one_of") or []),
            "mutually_exclusive": clean(kwargs.get("mutually_exclusive") or []),
            "required_together": clean(kwargs.get("required_together") or []),
        })
    return out


def main():
    sys.path.insert(0, COLLECTION_ROOT)
    manifest = os.path.join(COLLECTION_ROOT, "ansible_collections/openstack/cloud/MANIFEST.json")
    version = ""
    if os.path.exists(manifest):
        with open(manifest) as f:
            version = json.load(f)["collection_info"]["version"]
    json.dump({"collection": "openstack.cloud", "version": version, "modules": extract(COLLECTION_ROOT)},
              sys.stdout, indent=1, sort_keys=True)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
