# Unit tests of the asb modules, run with Debian's python3-pytest against
# Debian's ansible-core and python3-kubernetes:
#   /usr/bin/python3 -m pytest apb-base/tests
# The Kubernetes API is mocked at the client boundary (CoreV1Api and the
# config loaders); everything else is the real module code.
import importlib.util
import json
import os
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
ROLE = os.path.join(os.path.dirname(HERE), "asb-modules")

# Make `from ansible.module_utils.asb_k8s import ...` resolve as it does in
# the image, where ansible.cfg adds the role's module_utils.
import ansible.module_utils  # noqa: E402

if os.path.join(ROLE, "module_utils") not in ansible.module_utils.__path__:
    ansible.module_utils.__path__.append(os.path.join(ROLE, "module_utils"))


def load(kind, name):
    path = os.path.join(ROLE, kind, name + ".py")
    spec = importlib.util.spec_from_file_location("asb_test_" + name, path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


class Result(Exception):
    pass


def run_module(mod, args, capsys):
    """Runs mod.main() with args the way Ansible would; returns (rc, result)."""
    from ansible.module_utils import basic
    from ansible.module_utils.common.text.converters import to_bytes

    # _ansible_module_name is what Ansible itself passes; errors name it.
    name = mod.__name__.replace("asb_test_", "")
    args = dict(args, _ansible_module_name=name)
    basic._ANSIBLE_ARGS = to_bytes(json.dumps({"ANSIBLE_MODULE_ARGS": args}))
    basic._ANSIBLE_PROFILE = "legacy"
    with pytest.raises(SystemExit) as exc:
        mod.main()
    out = capsys.readouterr().out
    return exc.value.code, json.loads(out)


@pytest.fixture
def pod_env(monkeypatch):
    monkeypatch.setenv("POD_NAME", "bundle-1234")
    monkeypatch.setenv("POD_NAMESPACE", "sandbox-ns")


@pytest.fixture
def out_of_cluster(monkeypatch, tmp_path):
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    monkeypatch.delenv("KUBERNETES_SERVICE_PORT", raising=False)
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "no-such-kubeconfig"))


@pytest.fixture
def fake_api(monkeypatch):
    """A MagicMock CoreV1Api handed out by an in-cluster config load."""
    from unittest import mock

    from kubernetes import client, config

    api = mock.MagicMock(name="CoreV1Api")
    monkeypatch.setattr(config, "load_incluster_config", lambda: None)
    monkeypatch.setattr(client, "CoreV1Api", lambda *a, **k: api)
    return api
