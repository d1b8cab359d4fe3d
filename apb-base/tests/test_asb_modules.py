import base64
import json

import pytest
from kubernetes.client.rest import ApiException

from conftest import load, run_module

encode_binding = load("library", "asb_encode_binding")
last_operation = load("library", "asb_last_operation")
dashboard_url = load("library", "asb_dashboard_url")
save_test_result = load("library", "asb_save_test_result")
set_state = load("library", "asb_set_state")
state_lookup = load("lookup_plugins", "asb_state")


def test_encode_binding_creates_secret_named_after_pod(pod_env, fake_api, capsys):
    fields = {"DB_HOST": "db.example", "DB_PORT": 5432, "DB_PASSWORD": "s3cret"}
    rc, res = run_module(encode_binding, {"fields": fields}, capsys)
    assert rc == 0, res
    assert res["changed"] and res["secret_name"] == "bundle-1234"
    kwargs = fake_api.create_namespaced_secret.call_args.kwargs
    assert kwargs["namespace"] == "sandbox-ns"
    body = kwargs["body"]
    assert body.metadata.name == "bundle-1234"
    assert set(body.data) == {"fields"}
    assert json.loads(base64.b64decode(body.data["fields"])) == fields
    # Credentials never come back in the module result.
    assert "s3cret" not in json.dumps(res)


def test_encode_binding_replaces_on_conflict(pod_env, fake_api, capsys):
    fake_api.create_namespaced_secret.side_effect = ApiException(status=409, reason="Conflict")
    rc, res = run_module(encode_binding, {"fields": {"a": "b"}}, capsys)
    assert rc == 0, res
    kwargs = fake_api.replace_namespaced_secret.call_args.kwargs
    assert kwargs["name"] == "bundle-1234" and kwargs["namespace"] == "sandbox-ns"
    assert json.loads(base64.b64decode(kwargs["body"].data["fields"])) == {"a": "b"}


def test_encode_binding_api_error_has_no_secret(pod_env, fake_api, capsys):
    fake_api.create_namespaced_secret.side_effect = ApiException(status=403, reason="Forbidden")
    rc, res = run_module(encode_binding, {"fields": {"DB_PASSWORD": "hunter2"}}, capsys)
    assert rc == 1
    assert "HTTP 403 Forbidden" in res["msg"] and "sandbox-ns/bundle-1234" in res["msg"]
    assert "hunter2" not in json.dumps(res)


@pytest.mark.parametrize(
    "mod,args,annotation,value",
    [
        (last_operation, {"description": "50%: volume created"}, "apb_last_operation", "50%: volume created"),
        (dashboard_url, {"dashboard_url": "https://dash.example/x"}, "apb_dashboard_url", "https://dash.example/x"),
    ],
)
def test_annotations_on_own_pod(pod_env, fake_api, capsys, mod, args, annotation, value):
    rc, res = run_module(mod, args, capsys)
    assert rc == 0, res
    kwargs = fake_api.patch_namespaced_pod.call_args.kwargs
    assert kwargs == {"name": "bundle-1234", "namespace": "sandbox-ns",
                      "body": {"metadata": {"annotations": {annotation: value}}}}


@pytest.mark.parametrize(
    "mod,args",
    [
        (encode_binding, {"fields": {"user": "some-long-value"}}),
        (last_operation, {"description": "x"}),
        (dashboard_url, {"dashboard_url": "x"}),
        (set_state, {"fields": {"a": "b"}}),
    ],
)
def test_without_pod_env_fails_clearly(monkeypatch, capsys, mod, args):
    name = mod.__name__.replace("asb_test_", "")
    monkeypatch.delenv("POD_NAME", raising=False)
    monkeypatch.delenv("POD_NAMESPACE", raising=False)
    rc, res = run_module(mod, args, capsys)
    assert rc == 1
    assert res["msg"].startswith(name + ": not running in a bundle pod: POD_NAME and POD_NAMESPACE are not set")


@pytest.mark.parametrize("mod,args", [(encode_binding, {"fields": {"user": "some-long-value"}}), (set_state, {"fields": {"a": 1}}),
                                      (last_operation, {"description": "x"})])
def test_out_of_cluster_fails_clearly(pod_env, out_of_cluster, capsys, mod, args):
    rc, res = run_module(mod, args, capsys)
    assert rc == 1
    assert "cannot reach Kubernetes out of cluster" in res["msg"]
    assert "no-such-kubeconfig does not exist" in res["msg"]


def test_save_test_result_appends(tmp_path, monkeypatch, capsys):
    path = tmp_path / "test-result"
    monkeypatch.setattr(save_test_result, "TEST_RESULT_PATH", str(path))
    assert run_module(save_test_result, {"msg": "first ok"}, capsys)[0] == 0
    assert run_module(save_test_result, {"fail": True, "msg": "then broken"}, capsys)[0] == 0
    assert path.read_text() == "0\nfirst ok\n1\nthen broken\n"


def test_save_test_result_unwritable(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(save_test_result, "TEST_RESULT_PATH", str(tmp_path / "missing-dir" / "r"))
    rc, res = run_module(save_test_result, {"msg": "x"}, capsys)
    assert rc == 1 and "cannot write" in res["msg"]


def test_set_state_creates_config_map(pod_env, fake_api, capsys):
    rc, res = run_module(set_state, {"fields": {"volume_id": "v-1", "size": 10, "on": True,
                                                "tags": ["a", "b"], "none": None}}, capsys)
    assert rc == 0, res
    kwargs = fake_api.create_namespaced_config_map.call_args.kwargs
    assert kwargs["namespace"] == "sandbox-ns"
    assert kwargs["body"].metadata.name == "bundle-1234"
    assert kwargs["body"].data == {"volume_id": "v-1", "size": "10", "on": "true", "tags": '["a", "b"]', "none": ""}
    assert res["keys"] == ["none", "on", "size", "tags", "volume_id"]


def test_set_state_patches_existing(pod_env, fake_api, capsys):
    fake_api.create_namespaced_config_map.side_effect = ApiException(status=409, reason="Conflict")
    rc, res = run_module(set_state, {"fields": {"k": "v2"}}, capsys)
    assert rc == 0, res
    assert fake_api.patch_namespaced_config_map.call_args.kwargs == {
        "name": "bundle-1234", "namespace": "sandbox-ns", "body": {"data": {"k": "v2"}}}


def test_set_state_other_error(pod_env, fake_api, capsys):
    fake_api.create_namespaced_config_map.side_effect = ApiException(status=500, reason="Internal Server Error")
    rc, res = run_module(set_state, {"fields": {"k": "v"}}, capsys)
    assert rc == 1 and "creating ConfigMap sandbox-ns/bundle-1234 failed: HTTP 500" in res["msg"]
    fake_api.patch_namespaced_config_map.assert_not_called()


@pytest.fixture
def state_dir(tmp_path, monkeypatch):
    d = tmp_path / "state"
    d.mkdir()
    (d / "volume_id").write_text("v-1")
    (d / "size").write_text("10")
    (d / "..data").mkdir()  # what a ConfigMap volume also contains
    monkeypatch.setenv("BUNDLE_STATE_LOCATION", str(d))
    return d


def test_state_lookup_keys(state_dir):
    assert state_lookup.LookupModule().run(["volume_id", "size"]) == ["v-1", "10"]


def test_state_lookup_get_all(state_dir):
    assert state_lookup.LookupModule().run([], get_all=True) == [{"size": "10", "volume_id": "v-1"}]


@pytest.mark.parametrize("key,err", [("missing", "no state key 'missing'"), ("../etc", "invalid key")])
def test_state_lookup_errors(state_dir, key, err):
    from ansible.errors import AnsibleError

    with pytest.raises(AnsibleError, match=err):
        state_lookup.LookupModule().run([key])


def test_state_lookup_default_location(monkeypatch):
    monkeypatch.delenv("BUNDLE_STATE_LOCATION", raising=False)
    assert state_lookup.state_location() == "/etc/apb/state"


# Out of a cluster with a results directory (the broker's Docker runtime):
# the modules write files there instead of touching Kubernetes.


@pytest.fixture
def results(tmp_path, monkeypatch, fake_api):
    d = tmp_path / "apb-results"
    d.mkdir()
    monkeypatch.setenv("APB_RESULTS_DIR", str(d))
    # The Docker runtime sets POD_NAME too; the results directory wins.
    monkeypatch.setenv("POD_NAME", "bundle-1234")
    monkeypatch.delenv("POD_NAMESPACE", raising=False)
    return d


def no_kubernetes_calls(api):
    assert api.method_calls == [], api.method_calls


def test_results_encode_binding_writes_fields(results, fake_api, capsys):
    fields = {"DB_USER": "dbuser-1", "DB_PASSWORD": "s3cret-pw"}
    rc, res = run_module(encode_binding, {"fields": fields}, capsys)
    assert rc == 0, res
    f = results / "fields"
    # The same value as the Secret's key `fields`: base64 of the JSON.
    assert json.loads(base64.b64decode(f.read_text())) == fields
    assert f.stat().st_mode & 0o777 == 0o644
    assert res["path"] == str(f)
    assert "s3cret-pw" not in json.dumps(res)
    assert sorted(p.name for p in results.iterdir()) == ["fields"]  # no temporary file left
    no_kubernetes_calls(fake_api)


def test_results_encode_binding_second_call_replaces(results, capsys):
    assert run_module(encode_binding, {"fields": {"a": "first"}}, capsys)[0] == 0
    assert run_module(encode_binding, {"fields": {"a": "second"}}, capsys)[0] == 0
    assert json.loads(base64.b64decode((results / "fields").read_text())) == {"a": "second"}


@pytest.mark.parametrize(
    "mod,args,fname,value",
    [
        (last_operation, {"description": "50%: volume created"}, "last_operation", "50%: volume created"),
        (dashboard_url, {"dashboard_url": "https://dash.example/x"}, "dashboard_url", "https://dash.example/x"),
    ],
)
def test_results_progress_files(results, fake_api, capsys, mod, args, fname, value):
    assert run_module(mod, dict((k, "earlier") for k in args), capsys)[0] == 0
    rc, res = run_module(mod, args, capsys)
    assert rc == 0, res
    assert (results / fname).read_text() == value
    assert res["path"] == str(results / fname)
    no_kubernetes_calls(fake_api)


def test_results_test_result_appends(results, tmp_path, monkeypatch, capsys):
    legacy = tmp_path / "var-tmp-test-result"
    monkeypatch.setattr(save_test_result, "TEST_RESULT_PATH", str(legacy))
    assert run_module(save_test_result, {"msg": "first ok"}, capsys)[0] == 0
    assert run_module(save_test_result, {"fail": True, "msg": "then broken"}, capsys)[0] == 0
    assert (results / "test-result").read_text() == "0\nfirst ok\n1\nthen broken\n"
    # Not in /var/tmp: the entrypoint must not wait for test-retrieval.
    assert not legacy.exists()


@pytest.mark.parametrize("mod,args", [(encode_binding, {"fields": {"p": "hunter2-pw"}}), (last_operation, {"description": "x"}),
                                      (dashboard_url, {"dashboard_url": "x"}), (save_test_result, {"msg": "x"})])
def test_results_dir_missing_fails_clearly(tmp_path, monkeypatch, capsys, mod, args):
    name = mod.__name__.replace("asb_test_", "")
    monkeypatch.setenv("APB_RESULTS_DIR", str(tmp_path / "not-mounted"))
    rc, res = run_module(mod, args, capsys)
    assert rc == 1
    assert res["msg"] == "%s: APB_RESULTS_DIR=%s is not a directory (the runtime mounts it)" % (name, tmp_path / "not-mounted")
    assert "hunter2-pw" not in json.dumps(res)


def test_results_write_failure_names_file_not_content(results, capsys):
    (results / "fields").mkdir()  # in the way of the rename, even for root
    rc, res = run_module(encode_binding, {"fields": {"p": "hunter2-pw"}}, capsys)
    assert rc == 1
    assert "cannot write %s" % (results / "fields") in res["msg"]
    assert "hunter2-pw" not in json.dumps(res)
    assert sorted(p.name for p in results.iterdir()) == ["fields"]  # the temporary file is gone
