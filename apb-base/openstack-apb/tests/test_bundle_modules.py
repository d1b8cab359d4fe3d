# The modules the bundles under registries/ use: application credentials,
# tags, containers. Their behaviour against the
# emulator is tested end to end by test/openstack; these pin the
# decisions (idempotency, ownership, errors) against a mocked SDK.
from unittest import mock

from conftest import Resp, load, res, run_module

appcred = load("openstack_apb_application_credential")
tagged = load("openstack_apb_tagged")
container = load("openstack_apb_object_container")


def appcred_conn(conn, existing):
    conn.current_user_id = "u-1"
    conn.config.get_region_name.return_value = "RegionOne"
    conn.config.get_interface.return_value = "public"
    conn.identity.get_endpoint_data.return_value.url = "http://keystone/v3"
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


def test_appcred_expiry_in_days(conn, capsys):
    appcred_conn(conn, [])
    rc, out = run_module(appcred, {"name": "osb-b", "expires_in_days": 30}, capsys)
    assert rc == 0, out
    at = conn.identity.post.call_args.kwargs["json"]["application_credential"]["expires_at"]
    import datetime
    days = (datetime.datetime.strptime(at, "%Y-%m-%dT%H:%M:%S.%f") - datetime.datetime.utcnow()).days
    assert days in (29, 30), at


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


def test_appcred_absent_with_credentials_that_may_not_list(conn, capsys):
    appcred_conn(conn, [])
    conn.identity.get.return_value = Resp(403, {"error": {"code": 403, "message": "forbidden"}})
    rc, out = run_module(appcred, {"name_prefix": "osb-i-", "state": "absent"}, capsys)
    assert rc == 0 and not out["changed"] and out["deleted"] == []
    rc, out = run_module(appcred, {"name": "osb-b", "state": "replace"}, capsys)
    assert rc == 1 and "restricted application credential" in out["msg"]


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


def swift(conn, head, listing=()):
    conn.object_store.get_endpoint.return_value = "http://swift/v1/AUTH_p/"
    conn.object_store.head.return_value = head
    pages = iter([Resp(200, list(listing)), Resp(200, [])])
    conn.object_store.get.side_effect = lambda *a, **kw: next(pages)
    conn.object_store.put.return_value = Resp(201)
    conn.object_store.delete.return_value = Resp(204)


def owned(owner, count=0):
    r = Resp(204)
    r.headers = {"X-Container-Meta-Osb-Owner": owner, "X-Container-Object-Count": str(count), "X-Container-Bytes-Used": "10"}
    return r


def test_container_created_with_its_owner_in_one_request(conn, capsys):
    swift(conn, Resp(404))
    conn.object_store.head.side_effect = [Resp(404), owned("i-1")]
    rc, out = run_module(container, {"container": "my c", "owner": "i-1"}, capsys)
    assert rc == 0 and out["changed"] and out["exists"] and out["owner"] == "i-1"
    assert out["url"] == "http://swift/v1/AUTH_p/my%20c"
    conn.object_store.put.assert_called_once_with("/my%20c", headers={"X-Container-Meta-Osb-Owner": "i-1"})


def test_container_of_another_owner_is_never_adopted_nor_deleted(conn, capsys):
    swift(conn, owned("i-2", count=3))
    rc, out = run_module(container, {"container": "c", "owner": "i-1"}, capsys)
    assert rc == 1 and "another instance's (i-2)" in out["msg"]
    rc, out = run_module(container, {"container": "c", "owner": "i-1", "state": "absent"}, capsys)
    assert rc == 0 and not out["changed"]
    conn.object_store.delete.assert_not_called()
    conn.object_store.put.assert_not_called()


def test_container_absent_deletes_objects_then_container(conn, capsys):
    swift(conn, owned("i-1", count=2), listing=[{"name": "a/b"}, {"name": "c d"}])
    rc, out = run_module(container, {"container": "c", "owner": "i-1", "state": "absent"}, capsys)
    assert rc == 0 and out["changed"] and out["deleted_objects"] == 2
    assert [c.args[0] for c in conn.object_store.delete.call_args_list] == ["/c/a/b", "/c/c%20d", "/c"]


def test_container_absent_when_gone(conn, capsys):
    swift(conn, Resp(404))
    rc, out = run_module(container, {"container": "c", "owner": "i-1", "state": "absent"}, capsys)
    assert rc == 0 and not out["changed"] and not out["exists"]
