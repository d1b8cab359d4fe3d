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
