# The modules of the load balancer and DNS zone bundles (registries/):
# decisions (finding by tag/marker, creating nothing twice, never touching
# others' resources, reconciling members and recordsets) against a mocked
# SDK. Their behaviour against the emulator is tested end to end by
# test/openstack.
from types import SimpleNamespace as res

from conftest import load, run_module

lbmod = load("openstack_apb_loadbalancer")
dnsmod = load("openstack_apb_dns_zone")

TAGS = ["osb-instance-i"]


def lb(**kw):
    d = dict(id="lb-1", name="osb-i", tags=TAGS, provisioning_status="ACTIVE", vip_address="10.0.0.5",
             vip_subnet_id="sn-1", vip_port_id="p-1", operating_status="ONLINE")
    d.update(kw)
    return res(**d)


def test_lb_creates_on_the_only_subnet_with_tags(conn, capsys):
    conn.current_project_id = "proj"
    conn.load_balancer.load_balancers.return_value = []
    conn.network.subnets.return_value = [res(id="sn-1", project_id="proj")]
    conn.load_balancer.create_load_balancer.return_value = lb(provisioning_status="PENDING_CREATE")
    conn.load_balancer.get_load_balancer.side_effect = [lb(provisioning_status="PENDING_CREATE"), lb(), lb()]
    conn.load_balancer.listeners.return_value = []
    conn.load_balancer.pools.return_value = []
    rc, out = run_module(lbmod, {"name": "osb-i", "tags": TAGS, "part": "loadbalancer"}, capsys)
    assert rc == 0, out
    assert out["changed"] and out["loadbalancer"]["vip_address"] == "10.0.0.5"
    kw = conn.load_balancer.create_load_balancer.call_args.kwargs
    assert kw["vip_subnet_id"] == "sn-1" and kw["tags"] == TAGS and kw["name"] == "osb-i"


def test_lb_found_by_tag_is_not_created_again_and_others_are_ignored(conn, capsys):
    conn.load_balancer.load_balancers.return_value = [lb(), lb(id="other", tags=["x"])]
    conn.load_balancer.get_load_balancer.return_value = lb()
    conn.load_balancer.listeners.return_value = []
    conn.load_balancer.pools.return_value = []
    rc, out = run_module(lbmod, {"name": "osb-i", "tags": TAGS, "part": "loadbalancer"}, capsys)
    assert rc == 0 and not out["changed"], out
    conn.load_balancer.create_load_balancer.assert_not_called()


def test_lb_refuses_several_subnets_without_a_choice(conn, capsys):
    conn.current_project_id = "proj"
    conn.load_balancer.load_balancers.return_value = []
    conn.network.subnets.return_value = [res(id="a", project_id="proj"), res(id="b", project_id="proj")]
    rc, out = run_module(lbmod, {"name": "osb-i", "tags": TAGS}, capsys)
    assert rc == 1 and "2 subnets" in out["msg"] and "vip_subnet" in out["msg"]


def test_lb_members_reconciled(conn, capsys):
    conn.load_balancer.load_balancers.return_value = [lb()]
    conn.load_balancer.get_load_balancer.return_value = lb()
    pool = res(id="pool-1", name="osb-i", loadbalancers=[{"id": "lb-1"}], protocol="HTTP", lb_algorithm="ROUND_ROBIN",
               health_monitor_id=None)
    conn.load_balancer.pools.return_value = [pool]
    conn.load_balancer.listeners.return_value = []
    conn.load_balancer.members.return_value = [res(id="m-old", address="10.0.0.9", protocol_port=80),
                                               res(id="m-keep", address="10.0.0.10", protocol_port=80)]
    rc, out = run_module(lbmod, {"name": "osb-i", "tags": TAGS, "part": "members", "members": ["10.0.0.10", " 10.0.0.11"]}, capsys)
    assert rc == 0 and out["changed"], out
    conn.load_balancer.delete_member.assert_called_once_with("m-old", "pool-1", ignore_missing=True)
    args, kw = conn.load_balancer.create_member.call_args
    assert args == ("pool-1",) and kw["address"] == "10.0.0.11" and kw["tags"] == TAGS and kw["subnet_id"] == "sn-1"


def test_lb_listener_port_cannot_change(conn, capsys):
    conn.load_balancer.load_balancers.return_value = [lb()]
    conn.load_balancer.get_load_balancer.return_value = lb()
    conn.load_balancer.listeners.return_value = [res(id="l-1", name="osb-i", load_balancers=[{"id": "lb-1"}],
                                                     protocol="HTTP", protocol_port=80)]
    rc, out = run_module(lbmod, {"name": "osb-i", "tags": TAGS, "part": "listener", "port": 8080}, capsys)
    assert rc == 1 and "cannot change a listener's protocol or port" in out["msg"]


def test_lb_absent_settles_a_pending_one_then_cascades(conn, capsys):
    conn.load_balancer.load_balancers.return_value = [lb(provisioning_status="PENDING_UPDATE")]
    conn.load_balancer.find_load_balancer.side_effect = [lb(provisioning_status="PENDING_UPDATE"), lb(), None]
    rc, out = run_module(lbmod, {"name": "osb-i", "tags": TAGS, "state": "absent"}, capsys)
    assert rc == 0 and out["deleted"] == ["lb-1"], out
    conn.load_balancer.delete_load_balancer.assert_called_once_with("lb-1", ignore_missing=True, cascade=True)


def test_lb_absent_with_nothing_is_no_error(conn, capsys):
    conn.load_balancer.load_balancers.return_value = []
    rc, out = run_module(lbmod, {"name": "osb-i", "tags": TAGS, "state": "absent"}, capsys)
    assert rc == 0 and not out["changed"]


MARK = "osb-instance-i"


def zone(**kw):
    d = dict(id="z-1", name="e.org.", description=MARK, status="ACTIVE", email="hostmaster@e.org", ttl=3600, serial=1,
             action="NONE")
    d.update(kw)
    return res(**d)


def rs(name, type_, records, mine=True, id_="r"):
    return res(id=id_, name=name, type=type_, records=records, ttl=3600, description=MARK if mine else "")


def test_dns_creates_zone_and_records(conn, capsys):
    conn.dns.zones.return_value = []
    conn.dns.create_zone.return_value = zone(status="PENDING")
    conn.dns.get_zone.side_effect = [zone(status="PENDING"), zone(), zone()]
    conn.dns.recordsets.return_value = []
    text = "www A 192.0.2.1\nwww A 192.0.2.2\n# comment\n\n@ MX 10 mail.e.org."
    rc, out = run_module(dnsmod, {"name": "e.org", "marker": MARK, "records_text": text}, capsys)
    assert rc == 0 and out["changed"], out
    kw = conn.dns.create_zone.call_args.kwargs
    assert kw["name"] == "e.org." and kw["description"] == MARK and kw["email"] == "hostmaster@e.org"
    made = sorted((c.kwargs["name"], c.kwargs["type"], tuple(c.kwargs["records"])) for c in conn.dns.create_recordset.call_args_list)
    assert made == [("e.org.", "MX", ("10 mail.e.org.",)), ("www.e.org.", "A", ("192.0.2.1", "192.0.2.2"))]


def test_dns_never_takes_over_anothers_zone(conn, capsys):
    conn.dns.zones.return_value = [zone(description="theirs")]
    rc, out = run_module(dnsmod, {"name": "e.org.", "marker": MARK}, capsys)
    assert rc == 1 and "was not made for" in out["msg"]
    rc, out = run_module(dnsmod, {"name": "e.org.", "marker": MARK, "state": "absent"}, capsys)
    assert rc == 0 and not out["changed"]
    conn.dns.delete_zone.assert_not_called()


def test_dns_reconciles_only_its_recordsets(conn, capsys):
    conn.dns.zones.return_value = [zone()]
    conn.dns.get_zone.return_value = zone()
    conn.dns.recordsets.return_value = [rs("www.e.org.", "A", ["192.0.2.1"], id_="keep"), rs("old.e.org.", "A", ["1.1.1.1"], id_="old"),
                                        rs("app.e.org.", "TXT", ['"x"'], mine=False, id_="app")]
    rc, out = run_module(dnsmod, {"name": "e.org.", "marker": MARK, "records_text": "www A 192.0.2.9\napi CNAME www.e.org."}, capsys)
    assert rc == 0 and out["changed"], out
    deleted = [c.args[0].id for c in conn.dns.delete_recordset.call_args_list]
    assert deleted == ["old"]
    assert conn.dns.update_recordset.call_args.kwargs["records"] == ["192.0.2.9"]
    assert conn.dns.create_recordset.call_args.kwargs["name"] == "api.e.org."


def test_dns_bad_record_fails_before_anything_is_made(conn, capsys):
    conn.dns.zones.return_value = []
    rc, out = run_module(dnsmod, {"name": "e.org.", "marker": MARK, "records_text": "www BOGUS x"}, capsys)
    assert rc == 1 and "BOGUS" in out["msg"]
    conn.dns.create_zone.assert_not_called()


troveuser = load("openstack_apb_trove_user")
sharemod = load("openstack_apb_share")
stackmod = load("openstack_apb_stack")
from conftest import Resp  # noqa: E402


def test_trove_user_created_with_access(conn, capsys):
    conn.database.find_instance.return_value = res(id="in-1", name="osb-i", status="ACTIVE", hostname=None, ip=["10.0.0.7"], datastore={"type": "mysql"})
    conn.database.get.side_effect = [Resp(404, {"itemNotFound": {"message": "no"}}), Resp(200, {"instance": {"id": "in-1", "ip": ["10.0.0.7"]}})]
    conn.database.post.return_value = Resp(202)
    rc, out = run_module(troveuser, {"instance": "osb-i", "name": "osb_u", "password": "pw", "databases": ["app"]}, capsys)
    assert rc == 0 and out["changed"], out
    assert conn.database.post.call_args.kwargs["json"] == {"users": [{"name": "osb_u", "password": "pw", "host": "%", "databases": [{"name": "app"}]}]}
    assert "pw" not in str(out)


def test_trove_user_existing_gets_the_new_password(conn, capsys):
    conn.database.find_instance.return_value = res(id="in-1", name="osb-i", status="ACTIVE", hostname=None, ip=[], datastore={})
    conn.database.get.side_effect = [Resp(200, {"user": {"name": "osb_u"}}), Resp(200, {"instance": {"id": "in-1"}})]
    conn.database.put.return_value = Resp(202)
    rc, out = run_module(troveuser, {"instance": "osb-i", "name": "osb_u", "password": "new", "databases": ["app"]}, capsys)
    assert rc == 0, out
    first = conn.database.put.call_args_list[0]
    assert first.args == ("/instances/in-1/users",) and first.kwargs["json"]["users"][0]["password"] == "new"
    conn.database.post.assert_not_called()


def test_trove_user_absent_with_the_instance_gone(conn, capsys):
    conn.database.find_instance.return_value = None
    rc, out = run_module(troveuser, {"instance": "osb-i", "name": "osb_u", "state": "absent"}, capsys)
    assert rc == 0 and not out["changed"]


def share(**kw):
    d = dict(id="sh-1", name="osb-i", metadata={"osb-owner": "i"}, size=1, share_protocol="NFS", status="available")
    d.update(kw)
    return res(**d)


def test_share_never_takes_over_anothers(conn, capsys):
    conn.shared_file_system.shares.return_value = [share(metadata={})]
    rc, out = run_module(sharemod, {"name": "osb-i", "owner": "i"}, capsys)
    assert rc == 1 and "was not made for" in out["msg"]
    rc, out = run_module(sharemod, {"name": "osb-i", "owner": "i", "state": "absent"}, capsys)
    assert rc == 0 and not out["changed"]
    conn.shared_file_system.delete_share.assert_not_called()


def test_share_grant_refuses_an_address_of_another_binding(conn, capsys):
    sfs = conn.shared_file_system
    sfs.shares.return_value = [share()]
    sfs.get.return_value = Resp(200, {"access_list": [{"id": "r1", "access_type": "ip", "access_to": "10.0.0.0/24",
                                                       "access_level": "rw", "state": "active", "metadata": {"osb-binding": "b1"}}]})
    rc, out = run_module(sharemod, {"name": "osb-i", "owner": "i", "state": "granted", "access_to": "10.0.0.0/24", "binding": "b2"}, capsys)
    assert rc == 1 and "already grants 10.0.0.0/24" in out["msg"] and "b1" in out["msg"]
    sfs.post.assert_not_called()


def test_share_revoke_only_the_bindings_rules(conn, capsys):
    sfs = conn.shared_file_system
    sfs.shares.return_value = [share()]
    mine = {"id": "r2", "access_type": "ip", "access_to": "10.0.0.5", "state": "active", "metadata": {"osb-binding": "b2"}}
    other = {"id": "r1", "access_type": "ip", "access_to": "10.0.0.6", "state": "active", "metadata": {"osb-binding": "b1"}}
    sfs.get.side_effect = [Resp(200, {"access_list": [other, mine]}), Resp(200, {"access_list": [other]})]
    sfs.post.return_value = Resp(202)
    rc, out = run_module(sharemod, {"name": "osb-i", "owner": "i", "state": "revoked", "binding": "b2"}, capsys)
    assert rc == 0 and out["changed"], out
    assert sfs.post.call_args.kwargs["json"] == {"deny_access": {"access_id": "r2"}}


TPL = "heat_template_version: 2018-08-31\nresources: {}\noutputs:\n  a: {value: 1}\n"


def test_stack_created_with_tags_and_outputs_flattened(conn, capsys):
    o = conn.orchestration
    o.get.side_effect = [Resp(200, {"stacks": []}),
                         Resp(200, {"stack": {"id": "s1", "stack_name": "osb-i", "stack_status": "CREATE_COMPLETE", "tags": ["t"],
                                              "outputs": [{"output_key": "a", "output_value": 1},
                                                          {"output_key": "m", "output_value": {"x": [1]}}]}})]
    o.post.return_value = Resp(201, {"stack": {"id": "s1"}})
    rc, out = run_module(stackmod, {"name": "osb-i", "tags": ["t"], "template": TPL, "parameters": "k: v"}, capsys)
    assert rc == 0, out
    body = o.post.call_args.kwargs["json"]
    assert body["tags"] == "t" and body["parameters"] == {"k": "v"} and body["stack_name"] == "osb-i"
    assert body["template"]["heat_template_version"] == "2018-08-31"  # a string, as Heat reads it
    assert out["binding"] == {"a": 1, "m": '{"x": [1]}'}


def test_stack_failed_create_names_the_reason(conn, capsys):
    o = conn.orchestration
    o.get.side_effect = [Resp(200, {"stacks": []}),
                         Resp(200, {"stack": {"id": "s1", "stack_name": "osb-i", "stack_status": "CREATE_FAILED",
                                              "stack_status_reason": "Resource CREATE failed: Forbidden: quota"}})]
    o.post.return_value = Resp(201, {"stack": {"id": "s1"}})
    rc, out = run_module(stackmod, {"name": "osb-i", "tags": ["t"], "template": TPL}, capsys)
    assert rc == 1 and "CREATE_FAILED" in out["msg"] and "Forbidden: quota" in out["msg"]


def test_stack_existing_is_updated_not_created(conn, capsys):
    o = conn.orchestration
    found = {"id": "s1", "stack_name": "osb-i", "stack_status": "CREATE_FAILED", "tags": ["t"]}
    o.get.side_effect = [Resp(200, {"stacks": [found]}), Resp(200, {"stack": dict(found, stack_status="UPDATE_COMPLETE")})]
    o.put.return_value = Resp(202)
    rc, out = run_module(stackmod, {"name": "osb-i", "tags": ["t"], "template": TPL}, capsys)
    assert rc == 0, out
    o.post.assert_not_called()
    assert o.put.call_args.args == ("/stacks/osb-i/s1",)


def test_stack_bad_template(conn, capsys):
    o = conn.orchestration
    rc, out = run_module(stackmod, {"name": "osb-i", "tags": ["t"], "template": "just: text"}, capsys)
    assert rc == 1 and "heat_template_version" in out["msg"]
    o.post.assert_not_called()


def test_failure_names_a_falcon_services_description():
    from ansible.module_utils.openstack_apb import described

    class E(Exception):
        response = Resp(503, {"title": "Service temporarily unavailable", "description": "the store is down"})

    assert described(E("HttpException: 503: Service Unavailable")) == " (Service temporarily unavailable: the store is down)"
    assert described(ValueError("x")) == ""
