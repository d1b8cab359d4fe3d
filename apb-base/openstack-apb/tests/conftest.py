# Unit tests of openstack-apb's own modules (Debian's python3-pytest,
# ansible-core, python3-openstacksdk):
#   /usr/bin/python3 -m pytest apb-base/openstack-apb/tests
# openstacksdk is mocked at openstack.connect: the modules' decisions and
# request bodies are checked against a recording fake connection.
import importlib.util
import json
import os
from unittest import mock

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)

import ansible.module_utils  # noqa: E402

for d in (os.path.join(ROOT, "module_utils"),):
    if d not in ansible.module_utils.__path__:
        ansible.module_utils.__path__.append(d)


def load(name):
    spec = importlib.util.spec_from_file_location("osapb_" + name, os.path.join(ROOT, "library", name + ".py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def run_module(mod, args, capsys):
    from ansible.module_utils import basic
    from ansible.module_utils.common.text.converters import to_bytes

    args = dict({"cloud": "test", "timeout": 5}, **args)
    args["_ansible_module_name"] = mod.__name__.replace("osapb_", "")
    basic._ANSIBLE_ARGS = to_bytes(json.dumps({"ANSIBLE_MODULE_ARGS": args}))
    with pytest.raises(SystemExit) as exc:
        mod.main()
    return exc.value.code, json.loads(capsys.readouterr().out)


class Resp:
    def __init__(self, status, body=None):
        self.status_code = status
        self._body = body or {}
        self.headers = {}
        self.text = json.dumps(self._body)
        self.content = self.text.encode()
        self.reason = "OK" if status < 400 else "Error"
        self.url = "http://fake"

    def json(self):
        return self._body

    def raise_for_status(self):
        if self.status_code >= 400:
            import requests

            raise requests.HTTPError("%s" % self.status_code, response=self)


@pytest.fixture
def conn(monkeypatch):
    import openstack

    c = mock.MagicMock(name="Connection")
    monkeypatch.setattr(openstack, "connect", lambda **kw: c)
    import time

    monkeypatch.setattr(time, "sleep", lambda s: None)
    return c


def res(**kw):
    return mock.Mock(**kw)
