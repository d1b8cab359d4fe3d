import pytest

from conftest import Resp, load, res, run_module

trove = load("openstack_apb_trove_instance")
zaqar = load("openstack_apb_zaqar_queue")
share = load("openstack_apb_share_access")


def test_no_credentials_is_a_clear_error(monkeypatch, capsys, tmp_path):
    for v in ("OS_CLOUD", "OS_AUTH_URL"):
        monkeypatch.delenv(v, raising=False)
    monkeypatch.setenv("OS_CLIENT_CONFIG_FILE", str(tmp_path / "clouds.yaml"))
    rc, out = run_module(zaqar, {"name": "q", "cloud": None}, capsys)
    assert rc == 1
    assert out["msg"].startswith("openstack_apb_zaqar_queue: no OpenStack credentials")


def test_trove_create_sends_full_body_and_waits(conn, capsys):
    db = conn.database
    db.find_instance.return_value = None
    db.find_flavor.return_value = res(id="fl-1")
    db.post.return_value = Resp(200, {"instance": {"id": "i-1"}})
    states = iter(["BUILD", "BUILD", "ACTIVE"])

    def get_instance(iid):
        r = res(id=iid, status=next(states), hostname="db.example", ip=["10.0.0.5"], datastore={"type": "mysql"},
                volume={"size": 2}, flavor={"id": "fl-1"})
        r.name = "db1"
        return r

    db.get_instance.side_effect = get_instance
    rc, out = run_module(trove, {"name": "db1", "flavor": "small", "volume_size": 2, "datastore": "mysql",
                                 "datastore_version": "8.0", "networks": ["net-1"], "databases": ["app"],
                                 "users": [{"name": "u", "password": "pw-not-shown", "databases": ["app"]}]}, capsys)
    assert rc == 0, out
    assert out["changed"] and out["instance"]["status"] == "ACTIVE" and out["instance"]["id"] == "i-1"
    path = db.post.call_args.args[0]
    body = db.post.call_args.kwargs["json"]
    assert path == "/instances"
    assert body == {"instance": {"name": "db1", "flavorRef": "fl-1", "volume": {"size": 2},
                                 "datastore": {"type": "mysql", "version": "8.0"}, "nics": [{"net-id": "net-1"}],
                                 "databases": [{"name": "app"}],
                                 "users": [{"name": "u", "password": "pw-not-shown", "databases": [{"name": "app"}]}]}}
    assert "pw-not-shown" not in str(out)


def test_trove_error_state_fails(conn, capsys):
    db = conn.database
    db.find_instance.return_value = res(id="i-1", status="BUILD")
    db.get_instance.return_value = res(id="i-1", status="ERROR")
    rc, out = run_module(trove, {"name": "db1", "flavor": "small"}, capsys)
    assert rc == 1 and "ended in an error state" in out["msg"]
    db.post.assert_not_called()


def test_trove_absent_deletes_and_waits(conn, capsys):
    db = conn.database
    db.find_instance.side_effect = [res(id="i-1"), res(id="i-1"), None]
    rc, out = run_module(trove, {"name": "db1", "state": "absent"}, capsys)
    assert rc == 0 and out["changed"]
    db.delete_instance.assert_called_once_with("i-1", ignore_missing=True)


def test_trove_absent_missing_is_unchanged(conn, capsys):
    conn.database.find_instance.return_value = None
    rc, out = run_module(trove, {"name": "db1", "state": "absent"}, capsys)
    assert rc == 0 and not out["changed"]
    conn.database.delete_instance.assert_not_called()


def test_trove_timeout(conn, capsys):
    db = conn.database
    db.find_instance.return_value = res(id="i-1")
    db.get_instance.return_value = res(id="i-1", status="BUILD")
    rc, out = run_module(trove, {"name": "db1", "flavor": "small", "timeout": 0}, capsys)
    assert rc == 1 and "not reached within 0s" in out["msg"]


def named(name):
    r = res()
    r.name = name
    return r


@pytest.mark.parametrize("existing,state,changed,create,delete", [
    ([], "present", True, True, False),
    (["other", "q1"], "present", False, False, False),
    (["q1"], "absent", True, False, True),
    ([], "absent", False, False, False),
])
def test_zaqar_queue(conn, capsys, existing, state, changed, create, delete):
    conn.message.queues.return_value = [named(n) for n in existing]
    conn.message.get_endpoint.return_value = "http://zaqar.example/v2/"
    rc, out = run_module(zaqar, {"name": "q1", "state": state}, capsys)
    assert rc == 0, out
    assert out["changed"] == changed
    assert conn.message.create_queue.called == create
    assert conn.message.delete_queue.called == delete
    if state == "present":
        assert out["queue"] == {"name": "q1", "href": "http://zaqar.example/v2/queues/q1"}


def share_conn(conn, access_lists, allow=None):
    sfs = conn.shared_file_system
    s = res(id="sh-1")
    s.name = "data"
    sfs.shares.return_value = [s]
    lists = iter(access_lists)

    def post(path, json, headers):
        assert path == "/shares/sh-1/action"
        assert headers == {"X-OpenStack-Manila-API-Version": "2.7"}
        if "access_list" in json:
            return Resp(200, {"access_list": next(lists)})
        if "allow_access" in json:
            return allow or Resp(200, {"access": {"id": "a-1", "state": "new", **json["allow_access"]}})
        if "deny_access" in json:
            return Resp(202)
        raise AssertionError(json)

    sfs.post.side_effect = post
    return sfs


def test_share_access_grant_waits_active(conn, capsys):
    rule = {"id": "a-1", "access_type": "ip", "access_to": "10.0.0.0/24", "access_level": "rw"}
    sfs = share_conn(conn, [[], [dict(rule, state="new")], [dict(rule, state="active")]])
    rc, out = run_module(share, {"share": "data", "access_to": "10.0.0.0/24"}, capsys)
    assert rc == 0, out
    assert out["changed"] and out["share_id"] == "sh-1" and out["access"]["state"] == "active"
    allow = [c.kwargs["json"] for c in sfs.post.call_args_list if "allow_access" in c.kwargs["json"]]
    assert allow == [{"allow_access": {"access_type": "ip", "access_to": "10.0.0.0/24", "access_level": "rw"}}]


def test_share_access_existing_is_unchanged(conn, capsys):
    rule = {"id": "a-1", "access_type": "ip", "access_to": "10.0.0.9", "access_level": "ro", "state": "active"}
    share_conn(conn, [[rule], [rule]])
    rc, out = run_module(share, {"share": "sh-1", "access_to": "10.0.0.9", "access_level": "ro"}, capsys)
    assert rc == 0 and not out["changed"]


def test_share_access_level_conflict(conn, capsys):
    rule = {"id": "a-1", "access_type": "ip", "access_to": "10.0.0.9", "access_level": "ro", "state": "active"}
    share_conn(conn, [[rule]])
    rc, out = run_module(share, {"share": "data", "access_to": "10.0.0.9"}, capsys)
    assert rc == 1 and "already grants ro" in out["msg"]


def test_share_access_revoke(conn, capsys):
    rule = {"id": "a-1", "access_type": "ip", "access_to": "10.0.0.9", "access_level": "rw", "state": "active"}
    sfs = share_conn(conn, [[rule], [rule], []])
    rc, out = run_module(share, {"share": "data", "access_to": "10.0.0.9", "state": "absent"}, capsys)
    assert rc == 0 and out["changed"]
    assert {"deny_access": {"access_id": "a-1"}} in [c.kwargs["json"] for c in sfs.post.call_args_list]


def test_share_api_error_is_reported(conn, capsys):
    share_conn(conn, [[]], allow=Resp(403, {"forbidden": {"message": "Policy doesn't allow"}}))
    rc, out = run_module(share, {"share": "data", "access_to": "10.0.0.9"}, capsys)
    assert rc == 1 and out["msg"].startswith("openstack_apb_share_access: granting ip access to share sh-1 failed")


def test_share_missing(conn, capsys):
    conn.shared_file_system.shares.return_value = []
    rc, out = run_module(share, {"share": "nope", "access_to": "x"}, capsys)
    assert rc == 1 and "share nope not found" in out["msg"]
