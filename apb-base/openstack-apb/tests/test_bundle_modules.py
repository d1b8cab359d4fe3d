# The modules the bundles under registries/ use: application credentials,
# tags, volume size, container info. Their behaviour against the
# emulator is tested end to end by test/openstack; these pin the
# decisions (idempotency, ownership, errors) against a mocked SDK.
from unittest import mock

from conftest import Resp, load, res, run_module

appcred = load("openstack_apb_application_credential")
tagged = load("openstack_apb_tagged")
vsize = load("openstack_apb_volume_size")
cinfo = load("openstack_apb_object_container_info")


def appcred_conn(conn, existing):
    conn.current_user_id = "u-1"
    conn.config.get_region_name.return_value = "RegionOne"
    conn.config.get_interface.return_value = "public"
    conn.identity.get_endpoint.return_value = "http://keystone/v3"
    conn.identity.get.return_value = Resp(200, {"application_credentials": existing})
    conn.identity.post.return_value = Resp(201, {"application_credential": {
        "id": "ac-new", "name": "osb-b", "secret": "s3cret", "roles": [{"id": "r", "name": "member"}]}})
    conn.identity.delete.return_value = Resp(204)


def test_appcred_present_creates_with_rules_and_returns_the_secret(conn, capsys):
    appcred_conn(conn, [])
    rules = [{"service": "object-store", "method": "GET", "path": "/v1/AUTH_p/c"}]
    rc, out = run_module(appcred, {"name": "osb-b", "roles": ["member"], "access_rules": rules, "description": "d"}, capsys)
    assert rc == 0, out
    assert out["changed"] and out["application_credential"]["secret"] == "s3cret"
    assert out["auth_url"] == "http://keystone/v3" and out["region_name"] == "RegionOne"
    path, body = conn.identity.post.call_args.args[0], conn.identity.post.call_args.kwargs["json"]
    assert path == "/users/u-1/application_credentials"
    assert body == {"application_credential": {"name": "osb-b", "unrestricted": False, "description": "d",
                                               "roles": [{"name": "member"}], "access_rules": rules}}


def test_appcred_present_keeps_an_existing_one(conn, capsys):
    appcred_conn(conn, [{"id": "ac-1", "name": "osb-b", "roles": []}])
    rc, out = run_module(appcred, {"name": "osb-b"}, capsys)
    assert rc == 0 and not out["changed"]
    assert "secret" not in out["application_credential"]
    conn.identity.post.assert_not_called()


def test_appcred_replace_deletes_then_creates(conn, capsys):
    appcred_conn(conn, [{"id": "ac-1", "name": "osb-b"}])
    rc, out = run_module(appcred, {"name": "osb-b", "state": "replace"}, capsys)
    assert rc == 0 and out["changed"] and out["deleted"] == ["osb-b"]
    conn.identity.delete.assert_called_once_with("/users/u-1/application_credentials/ac-1")
    assert out["application_credential"]["secret"] == "s3cret"


def test_appcred_absent_by_prefix_and_gone_already(conn, capsys):
    appcred_conn(conn, [{"id": "a", "name": "osb-i-1"}, {"id": "b", "name": "osb-i-2"}, {"id": "c", "name": "other"}])
    conn.identity.delete.side_effect = [Resp(204), Resp(404, {"error": {"message": "gone"}})]
    rc, out = run_module(appcred, {"name_prefix": "osb-i-", "state": "absent"}, capsys)
    assert rc == 0 and out["changed"] and out["deleted"] == ["osb-i-1", "osb-i-2"]


def test_appcred_restricted_credential_is_explained(conn, capsys):
    appcred_conn(conn, [])
    conn.identity.post.return_value = Resp(403, {"error": {"code": 403, "message": "You are not authorized"}})
    rc, out = run_module(appcred, {"name": "osb-b"}, capsys)
    assert rc == 1 and "restricted application credential" in out["msg"] and "403" in out["msg"]


def test_tagged_present_adds_only_missing_tags(conn, capsys):
    conn.network.get.return_value = Resp(200, {"network": {"id": "n-1", "tags": ["a"]}})
    conn.network.put.return_value = Resp(201)
    rc, out = run_module(tagged, {"resource": "network", "id": "n-1", "tags": ["a", "osb instance/1"]}, capsys)
    assert rc == 0 and out["changed"]
    conn.network.put.assert_called_once_with("/networks/n-1/tags/osb%20instance%2F1")


def test_tagged_server_uses_nova_tags_microversion(conn, capsys):
    conn.compute.get.return_value = Resp(200, {"tags": []})
    conn.compute.put.return_value = Resp(201)
    rc, out = run_module(tagged, {"resource": "server", "id": "s-1", "tags": ["t"]}, capsys)
    assert rc == 0 and out["changed"]
    conn.compute.put.assert_called_once_with("/servers/s-1/tags/t", microversion="2.26")


def test_tagged_absent_deletes_only_resources_carrying_every_tag(conn, capsys):
    conn.network.get.return_value = Resp(200, {"floatingips": [
        {"id": "f-1", "floating_ip_address": "172.24.4.5", "tags": ["osb-instance-1"]},
        {"id": "f-2", "tags": ["other"]}]})
    conn.network.delete.return_value = Resp(204)
    rc, out = run_module(tagged, {"resource": "floatingip", "tags": ["osb-instance-1"], "state": "absent"}, capsys)
    assert rc == 0 and out["changed"] and [r["id"] for r in out["resources"]] == ["f-1"]
    conn.network.delete.assert_called_once_with("/floatingips/f-1")
    assert conn.network.get.call_args.kwargs["params"] == {"tags": "osb-instance-1"}


def test_tagged_absent_nothing_is_unchanged(conn, capsys):
    conn.network.get.return_value = Resp(200, {"security_groups": []})
    rc, out = run_module(tagged, {"resource": "security_group", "tags": ["x"], "state": "absent"}, capsys)
    assert rc == 0 and not out["changed"]
    conn.network.delete.assert_not_called()


def volume(**kw):
    v = res(id="v-1", **kw)
    v.name = "osb-v"
    return v


def test_volume_size_extends_and_waits(conn, capsys):
    bs = conn.block_storage
    vol = volume(size=1, status="available")
    bs.find_volume.return_value = vol
    states = iter([volume(size=1, status="extending"), volume(size=3, status="available")])
    bs.get_volume.side_effect = lambda vid: next(states)
    rc, out = run_module(vsize, {"volume": "osb-v", "size": 3}, capsys)
    assert rc == 0 and out["changed"] and out["volume"]["size"] == 3
    bs.extend_volume.assert_called_once_with(vol, 3)


def test_volume_size_refuses_to_shrink(conn, capsys):
    vol = volume(size=5, status="available")
    conn.block_storage.find_volume.return_value = vol
    rc, out = run_module(vsize, {"volume": "osb-v", "size": 2}, capsys)
    assert rc == 1 and "cannot shrink" in out["msg"]
    conn.block_storage.extend_volume.assert_not_called()


def test_container_info(conn, capsys):
    conn.object_store.get_endpoint.return_value = "http://swift/v1/AUTH_p/"
    r = Resp(204)
    r.headers = {"X-Container-Meta-Osb-Instance-Id": "i-1", "X-Container-Object-Count": "2", "X-Container-Bytes-Used": "10"}
    conn.object_store.head.return_value = r
    rc, out = run_module(cinfo, {"container": "my c"}, capsys)
    assert rc == 0 and out["exists"] and out["metadata"] == {"osb-instance-id": "i-1"}
    assert out["url"] == "http://swift/v1/AUTH_p/my%20c" and out["object_count"] == 2
    conn.object_store.head.return_value = Resp(404)
    rc, out = run_module(cinfo, {"container": "c"}, capsys)
    assert rc == 0 and not out["exists"] and out["metadata"] == {}
