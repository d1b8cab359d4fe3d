package emulator_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
)

// TestNeutronSDKNetworks: the start state, then networks, subnets (IPv4,
// IPv6 SLAAC, from a subnet pool), subnet pools and ports through
// openstacksdk, with tags, filters, pagination, the 409s and isolation.
func TestNeutronSDKNetworks(t *testing.T) {
	t.Parallel()
	c := StartCloud(t)
	out := asMap(t, c.Python(t, `
demo = connect("emulator")
alt = connect("emulator-alt")
admin = connect("emulator-admin")
pub = demo.network.find_network("public")
priv = demo.network.find_network("private")
alt_priv = alt.network.find_network("private")
r1 = demo.network.find_router("router1")
own = [n.name for n in demo.network.networks(project_id=demo.current_project_id)]
start = {"pub_external": pub.is_router_external, "pub_shared": pub.is_shared, "pub_mtu": pub.mtu, "priv_mtu": priv.mtu,
    "priv_cidrs": [demo.network.get_subnet(s).cidr for s in priv.subnet_ids], "alt_priv_differs": alt_priv.id != priv.id,
    "own": own, "gw_public": r1.external_gateway_info["network_id"] == pub.id,
    "interfaces": [p.fixed_ips[0]["ip_address"] for p in demo.network.ports(device_id=r1.id, device_owner="network:router_interface")],
    "admin_type": admin.network.get_network(pub.id).provider_network_type, "demo_type": pub.provider_network_type,
    "pub_subnet_hidden": http_error(lambda: demo.network.get_subnet(pub.subnet_ids[0]))}

net = demo.network.create_network(name="sdk-net", description="d1")
demo.network.update_network(net, name="sdk-net2", mtu=1400)
demo.network.set_tags(net, ["a", "b"])
shown = demo.network.get_network(net.id)
sub = demo.network.create_subnet(network_id=net.id, name="sdk-sub", ip_version=4, cidr="192.168.10.0/29",
    allocation_pools=[{"start": "192.168.10.2", "end": "192.168.10.4"}], dns_nameservers=["8.8.8.8"])
demo.network.update_subnet(sub, name="sdk-sub2", dns_nameservers=["1.1.1.1"])
sub_shown = demo.network.get_subnet(sub.id)
sub6 = demo.network.create_subnet(network_id=net.id, name="sdk-sub6", ip_version=6, cidr="fd00:10::/64",
    ipv6_ra_mode="slaac", ipv6_address_mode="slaac")
pool = demo.network.create_subnet_pool(name="sdk-pool", prefixes=["10.100.0.0/16"], default_prefix_length=24)
demo.network.update_subnet_pool(pool, description="pool")
pnet = demo.network.create_network(name="sdk-pnet")
psub = demo.network.create_subnet(network_id=pnet.id, ip_version=4, subnet_pool_id=pool.id, name="from-pool")
pool_in_use = http_error(lambda: demo.network.delete_subnet_pool(pool, ignore_missing=False))
pool_shown = demo.network.get_subnet_pool(pool.id)
pools = [p.name for p in demo.network.subnet_pools()]
subnets = sorted(s.name for s in demo.network.subnets(network_id=net.id))
ports = [demo.network.create_port(network_id=net.id, name="p%d" % i) for i in range(3)]
exhausted = http_error(lambda: demo.network.create_port(network_id=net.id, name="p-x"))
ip_in_use = http_error(lambda: demo.network.create_port(network_id=net.id,
    fixed_ips=[{"subnet_id": sub.id, "ip_address": ports[0].fixed_ips[0]["ip_address"]}]))
demo.network.update_port(ports[0], name="p0b", allowed_address_pairs=[{"ip_address": "10.9.9.9"}])
p0 = demo.network.get_port(ports[0].id)
net_in_use = http_error(lambda: demo.network.delete_network(net, ignore_missing=False))
sub_in_use = http_error(lambda: demo.network.delete_subnet(sub, ignore_missing=False))
overlap = http_error(lambda: demo.network.create_subnet(network_id=net.id, ip_version=4, cidr="192.168.10.0/24"))
bad_cidr = http_error(lambda: demo.network.create_subnet(network_id=net.id, ip_version=4, cidr="192.168.300.0/24"))
shared = http_error(lambda: demo.network.create_network(name="x", shared=True))
listed = sorted(n.name for n in demo.network.networks())
tagged = [n.name for n in demo.network.networks(tags="a")]
paged = [p.id for p in demo.network.ports(network_id=net.id, limit=1)]
unpaged = [p.id for p in demo.network.ports(network_id=net.id)]
by_ip = [p.name for p in demo.network.ports(fixed_ips="ip_address=" + ports[1].fixed_ips[0]["ip_address"])]
alt_nets = [n.name for n in alt.network.networks()]
alt_get = http_error(lambda: alt.network.get_network(net.id))
alt_update = http_error(lambda: alt.network.update_network(net.id, name="mine"))
alt_port = http_error(lambda: alt.network.create_port(network_id=net.id))
alt_del = http_error(lambda: alt.network.delete_port(ports[1], ignore_missing=False))
alt_sub = http_error(lambda: alt.network.get_subnet(sub.id))
for p in ports:
    demo.network.delete_port(p)
demo.network.delete_subnet(sub)
demo.network.delete_network(net)
demo.network.delete_network(pnet)
demo.network.delete_subnet_pool(pool)
gone = http_error(lambda: demo.network.get_network(net.id))
emit({"start": start, "net": shown.to_dict(), "sub": sub_shown.to_dict(), "sub6": sub6.to_dict(), "p0": p0.to_dict(),
      "psub": psub.cidr, "pool_in_use": pool_in_use, "pool": [pool_shown.description, pool_shown.default_prefix_length, pools],
      "subnets": subnets, "exhausted": exhausted, "ip_in_use": ip_in_use, "net_in_use": net_in_use,
      "sub_in_use": sub_in_use, "overlap": overlap, "bad_cidr": bad_cidr, "shared": shared, "listed": listed, "tagged": tagged,
      "paged": paged, "unpaged": unpaged, "by_ip": by_ip, "alt_nets": alt_nets, "alt_get": alt_get, "alt_update": alt_update,
      "alt_port": alt_port, "alt_del": alt_del, "alt_sub": alt_sub, "gone": gone})
`))
	st := asMap(t, out["start"])
	if st["pub_external"] != true || st["pub_shared"] != false || st["pub_mtu"] != float64(1500) || st["priv_mtu"] != float64(1450) ||
		fmt.Sprint(st["priv_cidrs"]) != "[10.0.0.0/26]" || st["alt_priv_differs"] != true || fmt.Sprint(st["own"]) != "[private]" ||
		st["gw_public"] != true || fmt.Sprint(st["interfaces"]) != "[10.0.0.1]" || st["admin_type"] != "flat" || st["demo_type"] != nil {
		t.Errorf("start state: %v", st)
	}
	if got := asMap(t, st["pub_subnet_hidden"])["status"]; got != float64(404) {
		t.Errorf("public's subnet as demo: %v", st["pub_subnet_hidden"])
	}
	net := asMap(t, out["net"])
	if net["name"] != "sdk-net2" || net["mtu"] != float64(1400) || net["description"] != "d1" || fmt.Sprint(net["tags"]) != "[a b]" ||
		net["status"] != "ACTIVE" || net["is_router_external"] != false || net["is_port_security_enabled"] != true {
		t.Errorf("network: %v", net)
	}
	sub := asMap(t, out["sub"])
	if sub["name"] != "sdk-sub2" || sub["gateway_ip"] != "192.168.10.1" || fmt.Sprint(sub["dns_nameservers"]) != "[1.1.1.1]" ||
		fmt.Sprint(sub["allocation_pools"]) != "[map[end:192.168.10.4 start:192.168.10.2]]" || sub["is_dhcp_enabled"] != true {
		t.Errorf("subnet: %v", sub)
	}
	if s6 := asMap(t, out["sub6"]); s6["gateway_ip"] != "fd00:10::1" || s6["ipv6_address_mode"] != "slaac" {
		t.Errorf("IPv6 subnet: %v", s6)
	}
	p0 := asMap(t, out["p0"])
	ips := asList(t, p0["fixed_ips"])
	mac := fmt.Sprint(p0["mac_address"])
	if p0["name"] != "p0b" || len(ips) != 2 || asMap(t, ips[0])["ip_address"] != "192.168.10.2" ||
		!strings.HasPrefix(fmt.Sprint(asMap(t, ips[1])["ip_address"]), "fd00:10::f816:3eff:fe") ||
		!strings.HasPrefix(mac, "fa:16:3e:") || p0["status"] != "DOWN" || len(asList(t, p0["security_group_ids"])) != 1 ||
		fmt.Sprint(p0["allowed_address_pairs"]) != "[map[ip_address:10.9.9.9 mac_address:"+mac+"]]" {
		t.Errorf("port: %v", p0)
	}
	if out["psub"] != "10.100.0.0/24" || fmt.Sprint(out["pool"]) != "[pool 24 [sdk-pool]]" || fmt.Sprint(out["subnets"]) != "[sdk-sub2 sdk-sub6]" {
		t.Errorf("subnet from the pool %v, pool %v, subnets %v", out["psub"], out["pool"], out["subnets"])
	}
	for k, want := range map[string]float64{"pool_in_use": 400, "exhausted": 409, "ip_in_use": 409, "net_in_use": 409, "sub_in_use": 409,
		"overlap": 400, "bad_cidr": 400, "shared": 403, "alt_get": 404, "alt_update": 404, "alt_port": 404, "alt_del": 404, "alt_sub": 404, "gone": 404} {
		if got := asMap(t, out[k])["status"]; got != want {
			t.Errorf("%s: %v, want %v", k, out[k], want)
		}
	}
	for k, msg := range map[string]string{"exhausted": "No more IP addresses available on network", "ip_in_use": "is in use",
		"net_in_use": "There are one or more ports still in use on the network", "sub_in_use": "One or more ports have an IP allocation from this subnet",
		"overlap": "overlaps with another subnet", "shared": "create_network:shared"} {
		if !strings.Contains(fmt.Sprint(asMap(t, out[k])["message"]), msg) {
			t.Errorf("%s: %v lacks %q", k, out[k], msg)
		}
	}
	if fmt.Sprint(out["listed"]) != "[private public sdk-net2 sdk-pnet]" || fmt.Sprint(out["tagged"]) != "[sdk-net2]" {
		t.Errorf("listed %v, tagged %v", out["listed"], out["tagged"])
	}
	if len(asList(t, out["paged"])) != 3 || len(asList(t, out["unpaged"])) != 3 || fmt.Sprint(out["by_ip"]) != "[p1]" {
		t.Errorf("paginated %v, unpaginated %v, by ip %v", out["paged"], out["unpaged"], out["by_ip"])
	}
	if fmt.Sprint(out["alt_nets"]) != "[public private]" {
		t.Errorf("alt's networks: %v", out["alt_nets"])
	}
}

// TestNeutronSDKRouting: routers (gateway, interfaces by subnet and by
// port, routes), floating IPs, security groups and rules, quotas through
// openstacksdk, with their errors and isolation.
func TestNeutronSDKRouting(t *testing.T) {
	t.Parallel()
	c := StartCloud(t)
	out := asMap(t, c.Python(t, `
demo = connect("emulator")
alt = connect("emulator-alt")
admin = connect("emulator-admin")
pub = demo.network.find_network("public")
net = demo.network.create_network(name="rt-net")
sub = demo.network.create_subnet(network_id=net.id, ip_version=4, cidr="192.168.20.0/24", name="rt-sub")
net2 = demo.network.create_network(name="rt-net2")
sub2 = demo.network.create_subnet(network_id=net2.id, ip_version=4, cidr="192.168.21.0/24", name="rt-sub2")
iso = demo.network.create_network(name="rt-iso")
iso_sub = demo.network.create_subnet(network_id=iso.id, ip_version=4, cidr="192.168.22.0/24")
iso_port = demo.network.create_port(network_id=iso.id)

r = demo.network.create_router(name="sdk-router", external_gateway_info={"network_id": pub.id})
by_subnet = demo.network.add_interface_to_router(r, subnet_id=sub.id)
p2 = demo.network.create_port(network_id=net2.id, fixed_ips=[{"subnet_id": sub2.id, "ip_address": "192.168.21.1"}])
by_port = demo.network.add_interface_to_router(r, port_id=p2.id)
dup_if = http_error(lambda: demo.network.add_interface_to_router(r, subnet_id=sub.id))
demo.network.update_router(r, name="sdk-router2", routes=[{"destination": "10.20.0.0/16", "nexthop": "192.168.20.10"}])
bad_route = http_error(lambda: demo.network.update_router(r, routes=[{"destination": "10.30.0.0/16", "nexthop": "192.168.99.1"}]))
demo.network.add_extra_routes_to_router(r, body={"router": {"routes": [{"destination": "10.21.0.0/16", "nexthop": "192.168.21.10"}]}})
rs = demo.network.get_router(r.id)
routers = sorted(x.name for x in demo.network.routers())
snat = http_error(lambda: demo.network.update_router(r, external_gateway_info={"network_id": pub.id, "enable_snat": False}))

vm = demo.network.create_port(network_id=net.id, name="vm-port", device_owner="compute:nova", device_id="server-1")
fip = demo.network.create_ip(floating_network_id=pub.id, description="web")
fip_created = fip.to_dict()
demo.network.update_ip(fip, port_id=vm.id)
fip_assoc = demo.network.get_ip(fip.id).to_dict()
by_port_filter = [f.id for f in demo.network.ips(port_id=vm.id)]
rm_in_use = http_error(lambda: demo.network.remove_interface_from_router(r, subnet_id=sub.id))
not_ext = http_error(lambda: demo.network.create_ip(floating_network_id=net.id))
unreachable = http_error(lambda: demo.network.create_ip(floating_network_id=pub.id, port_id=iso_port.id))
router_in_use = http_error(lambda: demo.network.delete_router(r, ignore_missing=False))
gw_port = http_error(lambda: demo.network.delete_port(by_subnet["port_id"], ignore_missing=False))
demo.network.update_ip(fip, port_id=None)
fip_free = demo.network.get_ip(fip.id).to_dict()
alt_fip = http_error(lambda: alt.network.get_ip(fip.id))
alt_router = http_error(lambda: alt.network.get_router(r.id))
alt_if = http_error(lambda: alt.network.add_interface_to_router(r, subnet_id=sub.id))
alt_fips = [f.id for f in alt.network.ips()]
demo.network.delete_ip(fip)
demo.network.remove_extra_routes_from_router(r, body={"router": {"routes": [{"destination": "10.21.0.0/16", "nexthop": "192.168.21.10"}]}})
demo.network.update_router(r, routes=[])
demo.network.remove_interface_from_router(r, subnet_id=sub.id)
demo.network.remove_interface_from_router(r, port_id=p2.id)
demo.network.update_router(r, external_gateway_info={})
no_gw = demo.network.get_router(r.id).external_gateway_info
demo.network.delete_router(r)
router_gone = http_error(lambda: demo.network.get_router(r.id))

sg = demo.network.create_security_group(name="sdk-sg", description="web")
demo.network.update_security_group(sg, description="web2")
rule = demo.network.create_security_group_rule(security_group_id=sg.id, direction="ingress", protocol="tcp",
    port_range_min=80, port_range_max=80, remote_ip_prefix="0.0.0.0/0")
dup_rule = http_error(lambda: demo.network.create_security_group_rule(security_group_id=sg.id, direction="ingress",
    protocol="tcp", port_range_min=80, port_range_max=80, remote_ip_prefix="0.0.0.0/0"))
bad_range = http_error(lambda: demo.network.create_security_group_rule(security_group_id=sg.id, direction="ingress",
    protocol="tcp", port_range_min=90, port_range_max=80))
sg_shown = demo.network.get_security_group(sg.id)
rule_shown = demo.network.get_security_group_rule(rule.id)
sgs = sorted(x.name for x in demo.network.security_groups())
rules = sorted(r.direction for r in demo.network.security_group_rules(security_group_id=sg.id))
default = demo.network.find_security_group("default")
del_default = http_error(lambda: demo.network.delete_security_group(default, ignore_missing=False))
named_default = http_error(lambda: demo.network.create_security_group(name="default"))
alt_sg = http_error(lambda: alt.network.get_security_group(sg.id))
alt_rule = http_error(lambda: alt.network.delete_security_group_rule(rule, ignore_missing=False))
alt_default = alt.network.find_security_group("default")
vm2 = demo.network.create_port(network_id=net.id, security_groups=[sg.id])
sg_in_use = http_error(lambda: demo.network.delete_security_group(sg, ignore_missing=False))
demo.network.delete_port(vm2)
demo.network.delete_security_group_rule(rule)
demo.network.delete_security_group(sg)
sg_gone = http_error(lambda: demo.network.get_security_group(sg.id))

q = demo.network.get_quota(demo.current_project_id)
qd = demo.network.get_quota(demo.current_project_id, details=True)
member_set = http_error(lambda: demo.network.update_quota(demo.current_project_id, networks=10))
alt_quota = http_error(lambda: alt.network.get_quota(demo.current_project_id))
admin.network.update_quota(demo.current_project_id, networks=qd.networks["used"])
over = http_error(lambda: demo.network.create_network(name="too-many"))
admin.network.delete_quota(demo.current_project_id)
after = demo.network.get_quota(demo.current_project_id).networks
emit({"gw": rs.external_gateway_info, "routes": rs.routes, "by_subnet": by_subnet, "by_port": by_port, "name": rs.name,
      "dup_if": dup_if, "bad_route": bad_route, "snat": snat, "fip_created": fip_created, "fip_assoc": fip_assoc,
      "by_port_filter": by_port_filter, "rm_in_use": rm_in_use, "not_ext": not_ext, "unreachable": unreachable,
      "router_in_use": router_in_use, "gw_port": gw_port, "fip_free": fip_free, "alt_fip": alt_fip, "alt_router": alt_router,
      "alt_if": alt_if, "alt_fips": alt_fips, "no_gw": no_gw, "router_gone": router_gone, "vm": vm.id,
      "sg": sg_shown.to_dict(), "rules": rules, "routers": routers, "sgs": sgs,
      "rule": [rule_shown.protocol, rule_shown.port_range_min, rule_shown.remote_ip_prefix, rule_shown.ether_type], "dup_rule": dup_rule, "bad_range": bad_range, "del_default": del_default,
      "named_default": named_default, "alt_sg": alt_sg, "alt_rule": alt_rule, "alt_default": alt_default.id != default.id,
      "sg_in_use": sg_in_use, "sg_gone": sg_gone, "quota": q.networks, "details": qd.networks, "member_set": member_set,
      "alt_quota": alt_quota, "over": over, "after": after})
`))
	gw := asMap(t, out["gw"])
	fixed := asList(t, gw["external_fixed_ips"])
	if gw["enable_snat"] != true || len(fixed) != 1 || !strings.HasPrefix(fmt.Sprint(asMap(t, fixed[0])["ip_address"]), "172.24.4.") {
		t.Errorf("gateway: %v", gw)
	}
	if fmt.Sprint(out["routers"]) != "[router1 sdk-router2]" || fmt.Sprint(out["sgs"]) != "[default sdk-sg]" ||
		fmt.Sprint(out["rule"]) != "[tcp 80 0.0.0.0/0 IPv4]" {
		t.Errorf("routers %v, groups %v, rule %v", out["routers"], out["sgs"], out["rule"])
	}
	if out["name"] != "sdk-router2" || len(asList(t, out["routes"])) != 2 {
		t.Errorf("router update and extra routes: %v %v", out["name"], out["routes"])
	}
	if bs := asMap(t, out["by_subnet"]); bs["port_id"] == "" || len(asList(t, bs["subnet_ids"])) != 1 {
		t.Errorf("add interface by subnet: %v", bs)
	}
	fc, fa, ff := asMap(t, out["fip_created"]), asMap(t, out["fip_assoc"]), asMap(t, out["fip_free"])
	if fc["status"] != "DOWN" || fc["port_id"] != nil || fc["description"] != "web" || !strings.HasPrefix(fmt.Sprint(fc["floating_ip_address"]), "172.24.4.") {
		t.Errorf("floating IP created: %v", fc)
	}
	if fa["status"] != "ACTIVE" || fa["port_id"] != out["vm"] || fa["fixed_ip_address"] != "192.168.20.2" || fa["router_id"] == nil ||
		asMap(t, fa["port_details"])["device_owner"] != "compute:nova" {
		t.Errorf("floating IP associated: %v", fa)
	}
	if ff["status"] != "DOWN" || ff["port_id"] != nil || ff["fixed_ip_address"] != nil {
		t.Errorf("floating IP disassociated: %v", ff)
	}
	if len(asList(t, out["by_port_filter"])) != 1 || len(asList(t, out["alt_fips"])) != 0 || out["no_gw"] != nil {
		t.Errorf("fips by port %v, alt's fips %v, gateway after removal %v", out["by_port_filter"], out["alt_fips"], out["no_gw"])
	}
	sg := asMap(t, out["sg"])
	if sg["description"] != "web2" || sg["stateful"] != true || len(asList(t, sg["security_group_rules"])) != 3 ||
		fmt.Sprint(out["rules"]) != "[egress egress ingress]" || out["alt_default"] != true {
		t.Errorf("security group: %v, rules %v", sg, out["rules"])
	}
	if out["quota"] != float64(100) || asMap(t, out["details"])["used"] != float64(4) || out["after"] != float64(100) {
		t.Errorf("quota %v, details %v, after delete %v", out["quota"], out["details"], out["after"])
	}
	for k, want := range map[string]float64{"dup_if": 400, "bad_route": 400, "snat": 403, "rm_in_use": 409, "not_ext": 400,
		"unreachable": 404, "router_in_use": 409, "gw_port": 409, "alt_fip": 404, "alt_router": 404, "alt_if": 404, "router_gone": 404,
		"dup_rule": 409, "bad_range": 400, "del_default": 409, "named_default": 409, "alt_sg": 404, "alt_rule": 404,
		"sg_in_use": 409, "sg_gone": 404, "member_set": 403, "alt_quota": 403, "over": 409} {
		if got := asMap(t, out[k])["status"]; got != want {
			t.Errorf("%s: %v, want %v", k, out[k], want)
		}
	}
	for k, msg := range map[string]string{"rm_in_use": "required by one or more floating IPs", "not_ext": "is not a valid external network",
		"unreachable": "is not reachable from subnet", "router_in_use": "still has ports", "gw_port": "cannot be deleted directly via the port API",
		"dup_rule": "Security group rule already exists", "over": "Quota exceeded for resources: ['network']"} {
		if !strings.Contains(fmt.Sprint(asMap(t, out[k])["message"]), msg) {
			t.Errorf("%s: %v lacks %q", k, out[k], msg)
		}
	}
}

// TestNeutronCLINetworks: networks, subnets, subnet pools and ports
// through the openstack CLI.
func TestNeutronCLINetworks(t *testing.T) {
	t.Parallel()
	c := StartCloud(t)
	net := asMap(t, c.CLI(t, "emulator", "network", "create", "--description", "d", "cli-net"))
	id := fmt.Sprint(net["id"])
	c.CLINoFormat(t, "emulator", "network", "set", "--name", "cli-net2", "--mtu", "1400", "--tag", "x", id)
	shown := asMap(t, c.CLI(t, "emulator", "network", "show", "cli-net2"))
	if shown["mtu"] != float64(1400) || fmt.Sprint(shown["tags"]) != "[x]" || shown["router:external"] != false || shown["status"] != "ACTIVE" {
		t.Errorf("network show: %v", shown)
	}
	if findBy(t, c.CLI(t, "emulator", "network", "list", "--tags", "x"), "ID", id) == nil {
		t.Error("network list --tags lacks the network")
	}
	sub := asMap(t, c.CLI(t, "emulator", "subnet", "create", "--network", "cli-net2", "--subnet-range", "192.168.30.0/24",
		"--allocation-pool", "start=192.168.30.10,end=192.168.30.20", "--dns-nameserver", "8.8.8.8", "cli-sub"))
	if sub["gateway_ip"] != "192.168.30.1" || sub["cidr"] != "192.168.30.0/24" {
		t.Errorf("subnet create: %v", sub)
	}
	c.CLINoFormat(t, "emulator", "subnet", "set", "--name", "cli-sub2", "--host-route", "destination=10.5.0.0/16,gateway=192.168.30.1", "cli-sub")
	if findBy(t, c.CLI(t, "emulator", "subnet", "list", "--network", "cli-net2"), "Name", "cli-sub2") == nil {
		t.Error("subnet list --network lacks the subnet")
	}
	if e := c.CLIFails(t, "emulator", "subnet", "create", "--network", "cli-net2", "--subnet-range", "192.168.30.128/25", "overlap"); !strings.Contains(e, "overlaps with another subnet") {
		t.Errorf("an overlapping subnet: %s", e)
	}
	if s := asMap(t, c.CLI(t, "emulator", "subnet", "show", "cli-sub2")); len(asList(t, s["host_routes"])) != 1 {
		t.Errorf("subnet set --host-route: %v", s)
	}
	port := asMap(t, c.CLI(t, "emulator", "port", "create", "--network", "cli-net2", "--fixed-ip", "subnet=cli-sub2,ip-address=192.168.30.15", "cli-port"))
	if !strings.Contains(fmt.Sprint(port["fixed_ips"]), "192.168.30.15") {
		t.Errorf("port create: %v", port)
	}
	c.CLINoFormat(t, "emulator", "port", "set", "--name", "cli-port2", "--allowed-address", "ip-address=10.1.1.1", "cli-port")
	if p := asMap(t, c.CLI(t, "emulator", "port", "show", "cli-port2")); !strings.Contains(fmt.Sprint(p["allowed_address_pairs"]), "10.1.1.1") {
		t.Errorf("port set: %v", p)
	}
	if findBy(t, c.CLI(t, "emulator", "port", "list", "--network", "cli-net2"), "Name", "cli-port2") == nil {
		t.Error("port list --network lacks the port")
	}
	if e := c.CLIFails(t, "emulator", "network", "delete", "cli-net2"); !strings.Contains(e, "409") {
		t.Errorf("deleting a network in use: %s", e)
	}
	if e := c.CLIFails(t, "emulator", "port", "create", "--network", "cli-net2", "--fixed-ip", "ip-address=10.99.0.1", "bad"); !strings.Contains(e, "400") {
		t.Errorf("a fixed IP outside the network: %s", e)
	}
	// Isolation.
	c.CLIFails(t, "emulator-alt", "network", "show", id)
	if findBy(t, c.CLI(t, "emulator-alt", "network", "list"), "ID", id) != nil {
		t.Error("alt lists demo's network")
	}
	pool := asMap(t, c.CLI(t, "emulator", "subnet", "pool", "create", "--pool-prefix", "10.200.0.0/16", "--default-prefix-length", "26", "cli-pool"))
	c.CLINoFormat(t, "emulator", "subnet", "pool", "set", "--description", "pooled", "cli-pool")
	if p := asMap(t, c.CLI(t, "emulator", "subnet", "pool", "show", "cli-pool")); p["description"] != "pooled" || p["default_prefixlen"] != float64(26) {
		t.Errorf("subnet pool show: %v", p)
	}
	if findBy(t, c.CLI(t, "emulator", "subnet", "pool", "list"), "Name", "cli-pool") == nil {
		t.Error("subnet pool list lacks the pool")
	}
	ps := asMap(t, c.CLI(t, "emulator", "subnet", "create", "--network", "cli-net2", "--subnet-pool", "cli-pool", "cli-psub"))
	if ps["cidr"] != "10.200.0.0/26" || ps["subnetpool_id"] != pool["id"] {
		t.Errorf("subnet from a pool: %v", ps)
	}
	c.CLINoFormat(t, "emulator", "port", "delete", "cli-port2")
	c.CLINoFormat(t, "emulator", "subnet", "delete", "cli-sub2", "cli-psub")
	c.CLINoFormat(t, "emulator", "subnet", "pool", "delete", "cli-pool")
	c.CLINoFormat(t, "emulator", "network", "delete", "cli-net2")
	if e := c.CLIFails(t, "emulator", "network", "show", id); !strings.Contains(e, "No Network found") {
		t.Errorf("deleted network: %s", e)
	}
}

// TestNeutronCLIRouting: routers, floating IPs, security groups and rules,
// quotas through the openstack CLI.
func TestNeutronCLIRouting(t *testing.T) {
	t.Parallel()
	c := StartCloud(t)
	c.CLI(t, "emulator", "network", "create", "cli-rnet")
	c.CLI(t, "emulator", "subnet", "create", "--network", "cli-rnet", "--subnet-range", "192.168.40.0/24", "cli-rsub")
	rt := asMap(t, c.CLI(t, "emulator", "router", "create", "cli-router"))
	c.CLINoFormat(t, "emulator", "router", "set", "--external-gateway", "public", "cli-router")
	c.CLINoFormat(t, "emulator", "router", "add", "subnet", "cli-router", "cli-rsub")
	c.CLINoFormat(t, "emulator", "router", "set", "--route", "destination=10.40.0.0/16,gateway=192.168.40.5", "cli-router")
	shown := asMap(t, c.CLI(t, "emulator", "router", "show", "cli-router"))
	if !strings.Contains(fmt.Sprint(shown["external_gateway_info"]), "172.24.4.") || !strings.Contains(fmt.Sprint(shown["routes"]), "10.40.0.0/16") ||
		!strings.Contains(fmt.Sprint(shown["interfaces_info"]), "192.168.40.1") {
		t.Errorf("router show: %v", shown)
	}
	if findBy(t, c.CLI(t, "emulator", "router", "list"), "ID", fmt.Sprint(rt["id"])) == nil {
		t.Error("router list lacks the router")
	}
	c.CLI(t, "emulator", "port", "create", "--network", "cli-rnet", "--device-owner", "compute:nova", "cli-vm")
	fip := asMap(t, c.CLI(t, "emulator", "floating", "ip", "create", "public"))
	fid := fmt.Sprint(fip["id"])
	c.CLINoFormat(t, "emulator", "floating", "ip", "set", "--port", "cli-vm", fid)
	if f := asMap(t, c.CLI(t, "emulator", "floating", "ip", "show", fid)); f["status"] != "ACTIVE" || f["fixed_ip_address"] != "192.168.40.2" || f["router_id"] != rt["id"] {
		t.Errorf("floating ip show: %v", f)
	}
	if findBy(t, c.CLI(t, "emulator", "floating", "ip", "list", "--port", "cli-vm"), "ID", fid) == nil {
		t.Error("floating ip list --port lacks it")
	}
	if e := c.CLIFails(t, "emulator", "router", "remove", "subnet", "cli-router", "cli-rsub"); !strings.Contains(e, "409") {
		t.Errorf("removing an interface a route and a floating IP need: %s", e)
	}
	c.CLIFails(t, "emulator-alt", "floating", "ip", "show", fid)
	c.CLINoFormat(t, "emulator", "floating", "ip", "unset", "--port", fid)
	c.CLINoFormat(t, "emulator", "floating", "ip", "delete", fid)
	c.CLINoFormat(t, "emulator", "router", "unset", "--route", "destination=10.40.0.0/16,gateway=192.168.40.5", "cli-router")
	c.CLINoFormat(t, "emulator", "router", "remove", "subnet", "cli-router", "cli-rsub")
	c.CLINoFormat(t, "emulator", "router", "delete", "cli-router")

	c.CLI(t, "emulator", "security", "group", "create", "--description", "web", "cli-sg")
	rule := asMap(t, c.CLI(t, "emulator", "security", "group", "rule", "create", "--protocol", "tcp", "--dst-port", "443", "cli-sg"))
	if rule["port_range_min"] != float64(443) || rule["direction"] != "ingress" || rule["remote_ip_prefix"] != "0.0.0.0/0" {
		t.Errorf("rule create: %v", rule)
	}
	if e := c.CLIFails(t, "emulator", "security", "group", "rule", "create", "--protocol", "tcp", "--dst-port", "443", "cli-sg"); !strings.Contains(e, "already exists") {
		t.Errorf("duplicate rule: %s", e)
	}
	if rules := asList(t, c.CLI(t, "emulator", "security", "group", "rule", "list", "cli-sg")); len(rules) != 3 {
		t.Errorf("rule list: %v", rules)
	}
	c.CLIFails(t, "emulator-alt", "security", "group", "show", "cli-sg")
	c.CLINoFormat(t, "emulator", "security", "group", "set", "--description", "web2", "cli-sg")
	if sg := asMap(t, c.CLI(t, "emulator", "security", "group", "show", "cli-sg")); sg["description"] != "web2" || len(asList(t, sg["rules"])) != 3 {
		t.Errorf("security group show: %v", sg)
	}
	if r := asMap(t, c.CLI(t, "emulator", "security", "group", "rule", "show", fmt.Sprint(rule["id"]))); r["protocol"] != "tcp" || r["port_range_max"] != float64(443) {
		t.Errorf("rule show: %v", r)
	}
	c.CLINoFormat(t, "emulator", "security", "group", "rule", "delete", fmt.Sprint(rule["id"]))
	c.CLINoFormat(t, "emulator", "security", "group", "delete", "cli-sg")
	if e := c.CLIFails(t, "emulator", "security", "group", "delete", "default"); !strings.Contains(e, "default security group") {
		t.Errorf("deleting the default group: %s", e)
	}
	// Quotas: the network part (quota set/show also need compute and volume).
	if q := c.CLI(t, "emulator-admin", "quota", "list", "--network"); len(asList(t, q)) != 0 {
		t.Errorf("no project has custom quotas yet: %v", q)
	}
}

// The Ansible tests are four playbooks of a few tasks each: every module
// run starts Python in the container, and one playbook run may take at
// most ansibleTime.

// TestNeutronAnsibleNetworks: openstack.cloud.network and subnet, and
// their info modules, in openstack-apb.
func TestNeutronAnsibleNetworks(t *testing.T) {
	t.Parallel()
	c := StartCloud(t)
	r := c.Ansible(t, `
- hosts: localhost
  gather_facts: false
  tasks:
    - name: network
      openstack.cloud.network: {cloud: emulator, name: ans-net}
    - name: network again
      openstack.cloud.network: {cloud: emulator, name: ans-net}
    - name: subnet
      openstack.cloud.subnet: {cloud: emulator, name: ans-sub, network_name: ans-net, cidr: 192.168.77.0/24, dns_nameservers: [8.8.4.4]}
    - name: subnet update
      openstack.cloud.subnet: {cloud: emulator, name: ans-sub, network_name: ans-net, cidr: 192.168.77.0/24, dns_nameservers: [8.8.8.8]}
    - name: subnet with a bad cidr
      openstack.cloud.subnet: {cloud: emulator, name: ans-bad, network_name: ans-net, cidr: 192.168.777.0/24}
      ignore_errors: true
    - name: networks info
      openstack.cloud.networks_info: {cloud: emulator, name: ans-net}
    - name: alt networks info
      openstack.cloud.networks_info: {cloud: emulator-alt, name: ans-net}
    - name: subnets info
      openstack.cloud.subnets_info: {cloud: emulator, name: ans-sub}
    - name: delete subnet
      openstack.cloud.subnet: {cloud: emulator, name: ans-sub, state: absent}
    - name: delete network
      openstack.cloud.network: {cloud: emulator, name: ans-net, state: absent}
`)
	if v := r.OK(t, "network"); v["changed"] != true || asMap(t, v["network"])["mtu"] != float64(1450) {
		t.Errorf("network: %v", v)
	}
	if v := r.OK(t, "network again"); v["changed"] != false {
		t.Errorf("a second network run must change nothing: %v", v)
	}
	if v := r.OK(t, "subnet"); asMap(t, v["subnet"])["gateway_ip"] != "192.168.77.1" {
		t.Errorf("subnet: %v", v)
	}
	if v := r.OK(t, "subnet update"); v["changed"] != true || fmt.Sprint(asMap(t, v["subnet"])["dns_nameservers"]) != "[8.8.8.8]" {
		t.Errorf("subnet update: %v", v)
	}
	if msg := r.Failed(t, "subnet with a bad cidr"); !strings.Contains(msg, "not a valid IP subnet") {
		t.Errorf("a subnet with a bad cidr: %s", msg)
	}
	if nets := asList(t, r.OK(t, "networks info")["openstack_networks"]); len(nets) != 1 {
		t.Errorf("networks info: %v", nets)
	}
	if nets := asList(t, r.OK(t, "alt networks info")["openstack_networks"]); len(nets) != 0 {
		t.Errorf("alt sees demo's network: %v", nets)
	}
	if subs := asList(t, r.OK(t, "subnets info")["openstack_subnets"]); len(subs) != 1 {
		t.Errorf("subnets info: %v", subs)
	}
	for _, task := range []string{"delete subnet", "delete network"} {
		if v := r.OK(t, task); v["changed"] != true {
			t.Errorf("%s: %v", task, v)
		}
	}
}

// TestNeutronAnsiblePorts: openstack.cloud.port and port_info.
func TestNeutronAnsiblePorts(t *testing.T) {
	t.Parallel()
	c := StartCloud(t)
	r := c.Ansible(t, `
- hosts: localhost
  gather_facts: false
  tasks:
    - name: network
      openstack.cloud.network: {cloud: emulator, name: ans-pnet}
    - name: subnet
      openstack.cloud.subnet: {cloud: emulator, name: ans-psub, network_name: ans-pnet, cidr: 192.168.79.0/24}
    - name: port with a missing group
      openstack.cloud.port: {cloud: emulator, name: ans-port, network: ans-pnet, security_groups: [ans-sg-missing]}
      ignore_errors: true
    - name: port
      openstack.cloud.port: {cloud: emulator, name: ans-port, network: ans-pnet, fixed_ips: [{ip_address: 192.168.79.50}], security_groups: [default]}
    - name: port update
      openstack.cloud.port: {cloud: emulator, name: ans-port, network: ans-pnet, admin_state_up: false}
    - name: port info
      openstack.cloud.port_info: {cloud: emulator, port: ans-port}
    - name: delete network in use
      openstack.cloud.network: {cloud: emulator, name: ans-pnet, state: absent}
      ignore_errors: true
    - name: delete port
      openstack.cloud.port: {cloud: emulator, name: ans-port, state: absent}
    - name: delete network
      openstack.cloud.network: {cloud: emulator, name: ans-pnet, state: absent}
`)
	if msg := r.Failed(t, "port with a missing group"); !strings.Contains(msg, "ans-sg-missing") {
		t.Errorf("a port with a missing group: %s", msg)
	}
	port := asMap(t, r.OK(t, "port")["port"])
	if !strings.Contains(fmt.Sprint(port["fixed_ips"]), "192.168.79.50") || len(asList(t, port["security_group_ids"])) != 1 {
		t.Errorf("port: %v", port)
	}
	if v := r.OK(t, "port update"); v["changed"] != true || asMap(t, v["port"])["is_admin_state_up"] != false {
		t.Errorf("port update: %v", v)
	}
	if ports := asList(t, r.OK(t, "port info")["openstack_ports"]); len(ports) != 1 || asMap(t, ports[0])["status"] != "DOWN" {
		t.Errorf("port info: %v", ports)
	}
	if msg := r.Failed(t, "delete network in use"); !strings.Contains(msg, "still in use") {
		t.Errorf("deleting a network in use: %s", msg)
	}
	for _, task := range []string{"delete port", "delete network"} {
		if v := r.OK(t, task); v["changed"] != true {
			t.Errorf("%s: %v", task, v)
		}
	}
}

// TestNeutronAnsibleRouters: openstack.cloud.router, routers_info and
// floating_ip_info (openstack.cloud.floating_ip needs a server: Nova).
func TestNeutronAnsibleRouters(t *testing.T) {
	t.Parallel()
	c := StartCloud(t)
	r := c.Ansible(t, `
- hosts: localhost
  gather_facts: false
  tasks:
    - name: network
      openstack.cloud.network: {cloud: emulator, name: ans-rnet}
    - name: subnet
      openstack.cloud.subnet: {cloud: emulator, name: ans-rsub, network_name: ans-rnet, cidr: 192.168.78.0/24}
    - name: router
      openstack.cloud.router: {cloud: emulator, name: ans-router, network: public, interfaces: [ans-rsub]}
    - name: router again
      openstack.cloud.router: {cloud: emulator, name: ans-router, network: public, interfaces: [ans-rsub]}
    - name: router with snat as a member
      openstack.cloud.router: {cloud: emulator, name: ans-router2, network: public, enable_snat: false}
      ignore_errors: true
    - name: routers info
      openstack.cloud.routers_info: {cloud: emulator, name: ans-router}
    - name: floating ip info
      openstack.cloud.floating_ip_info: {cloud: emulator}
    - name: delete router
      openstack.cloud.router: {cloud: emulator, name: ans-router, state: absent}
`)
	if v := r.OK(t, "router"); v["changed"] != true || !strings.Contains(fmt.Sprint(asMap(t, v["router"])["external_gateway_info"]), "172.24.4.") {
		t.Errorf("router: %v", v)
	}
	if v := r.OK(t, "router again"); v["changed"] != false {
		t.Errorf("a second router run must change nothing: %v", v)
	}
	if msg := r.Failed(t, "router with snat as a member"); !strings.Contains(msg, "disallowed by policy") {
		t.Errorf("enable_snat as a member: %s", msg)
	}
	if rts := asList(t, r.OK(t, "routers info")["openstack_routers"]); len(rts) != 1 {
		t.Errorf("routers info: %v", rts)
	}
	r.OK(t, "floating ip info")
	if v := r.OK(t, "delete router"); v["changed"] != true {
		t.Errorf("delete router: %v", v)
	}
}

// TestNeutronAnsibleSecurityGroups: openstack.cloud.security_group,
// security_group_rule and security_group_info.
func TestNeutronAnsibleSecurityGroups(t *testing.T) {
	t.Parallel()
	c := StartCloud(t)
	r := c.Ansible(t, `
- hosts: localhost
  gather_facts: false
  tasks:
    - name: security group
      openstack.cloud.security_group: {cloud: emulator, name: ans-sg, description: web}
    - name: security group update
      openstack.cloud.security_group: {cloud: emulator, name: ans-sg, description: web2}
    - name: rule
      openstack.cloud.security_group_rule: {cloud: emulator, security_group: ans-sg, protocol: tcp, port_range_min: 80, port_range_max: 80, remote_ip_prefix: 0.0.0.0/0}
    - name: rule again
      openstack.cloud.security_group_rule: {cloud: emulator, security_group: ans-sg, protocol: tcp, port_range_min: 80, port_range_max: 80, remote_ip_prefix: 0.0.0.0/0}
    - name: rule with a bad range
      openstack.cloud.security_group_rule: {cloud: emulator, security_group: ans-sg, protocol: tcp, port_range_min: 90, port_range_max: 80}
      ignore_errors: true
    - name: delete the default group
      openstack.cloud.security_group: {cloud: emulator, name: default, state: absent}
      ignore_errors: true
    - name: security group info
      openstack.cloud.security_group_info: {cloud: emulator, name: ans-sg}
    - name: delete rule
      openstack.cloud.security_group_rule: {cloud: emulator, security_group: ans-sg, protocol: tcp, port_range_min: 80, port_range_max: 80, remote_ip_prefix: 0.0.0.0/0, state: absent}
    - name: delete security group
      openstack.cloud.security_group: {cloud: emulator, name: ans-sg, state: absent}
`)
	if v := r.OK(t, "security group update"); v["changed"] != true || asMap(t, v["secgroup"])["description"] != "web2" {
		t.Errorf("security group update: %v", v)
	}
	if v := r.OK(t, "rule"); v["changed"] != true {
		t.Errorf("rule: %v", v)
	}
	if v := r.OK(t, "rule again"); v["changed"] != false {
		t.Errorf("a second rule run must change nothing: %v", v)
	}
	if msg := r.Failed(t, "rule with a bad range"); !strings.Contains(msg, "port_range_min must be <= port_range_max") {
		t.Errorf("a rule with a bad range: %s", msg)
	}
	if msg := r.Failed(t, "delete the default group"); !strings.Contains(msg, "default security group") {
		t.Errorf("deleting the default group: %s", msg)
	}
	if sgs := asList(t, r.OK(t, "security group info")["security_groups"]); len(sgs) != 1 || len(asList(t, asMap(t, sgs[0])["security_group_rules"])) != 3 {
		t.Errorf("security group info: %v", sgs)
	}
	for _, task := range []string{"delete rule", "delete security group"} {
		if v := r.OK(t, task); v["changed"] != true {
			t.Errorf("%s: %v", task, v)
		}
	}
}

// TestNeutronShapes: what the clients hide: discovery, extensions, error
// bodies, filters, fields, sorting, pagination links, bulk create, tags.
func TestNeutronShapes(t *testing.T) {
	t.Parallel()
	c := StartCloud(t)
	resp, body := c.HTTP(t, "", "GET", "/networking", nil)
	if resp.StatusCode != 200 || string(body) != `{"versions":[{"id":"v2.0","links":[{"href":"`+c.URL()+`/networking/v2.0/","rel":"self"}],"status":"CURRENT"}]}` {
		t.Errorf("discovery: %d %s", resp.StatusCode, body)
	}
	if resp, body = c.HTTP(t, "", "GET", "/networking/v2.0/networks", nil); resp.StatusCode != 401 {
		t.Errorf("no token: %d %s", resp.StatusCode, body)
	}
	demo, admin := c.Token(t, "demo"), c.Token(t, "admin")
	decode := func(b []byte) map[string]any {
		var v map[string]any
		if err := json.Unmarshal(b, &v); err != nil {
			t.Fatalf("%v: %s", err, b)
		}
		return v
	}
	check := func(method, path string, body any, status int, contains ...string) map[string]any {
		t.Helper()
		resp, b := c.HTTP(t, demo, method, path, body)
		if resp.StatusCode != status {
			t.Errorf("%s %s: %d %s, want %d", method, path, resp.StatusCode, b, status)
		}
		for _, s := range contains {
			if !strings.Contains(string(b), s) {
				t.Errorf("%s %s: %s lacks %s", method, path, b, s)
			}
		}
		if len(b) == 0 {
			return nil
		}
		return decode(b)
	}
	check("GET", "/networking/v2.0/", nil, 200, `"collection":"networks"`)
	check("GET", "/networking/v2.0/extensions", nil, 200, `"alias":"router"`, `"alias":"security-group"`, `"alias":"standard-attr-tag"`, `"alias":"extraroute-atomic"`)
	check("GET", "/networking/v2.0/extensions/router", nil, 200, `"name":"Neutron L3 Router"`)
	check("GET", "/networking/v2.0/extensions/qos", nil, 404, `{"NeutronError":{"detail":"","message":"Extension with alias qos does not exist","type":"HTTPNotFound"}}`)
	check("GET", "/networking/v2.0/networks/nope", nil, 404, `{"NeutronError":{"detail":"","message":"Network nope could not be found.","type":"NetworkNotFound"}}`)
	check("GET", "/networking/v2.0/nothing", nil, 404, `"type":"HTTPNotFound"`)
	check("PATCH", "/networking/v2.0/networks", nil, 405)
	check("POST", "/networking/v2.0/networks", "{", 400, `"message":"Body contains invalid data"`)
	check("POST", "/networking/v2.0/networks", map[string]any{"net": map[string]any{}}, 400, `Unable to find 'network' in request body`)
	check("POST", "/networking/v2.0/networks", map[string]any{"network": map[string]any{"colour": "red"}}, 400, `Unrecognized attribute(s) 'colour'`)
	check("POST", "/networking/v2.0/networks", map[string]any{"network": map[string]any{"status": "DOWN"}}, 400, `Attribute 'status' not allowed in POST`)
	check("POST", "/networking/v2.0/networks", map[string]any{"network": map[string]any{"admin_state_up": "maybe"}}, 400,
		`"message":"Invalid input for operation: 'maybe' cannot be converted to boolean.","type":"InvalidInput"`)
	check("POST", "/networking/v2.0/subnets", map[string]any{"subnet": map[string]any{"cidr": "10.1.0.0/24"}}, 400,
		`Failed to parse request. Required attribute 'ip_version' not specified`)
	check("POST", "/networking/v2.0/networks", map[string]any{"network": map[string]any{"provider:network_type": "vlan"}}, 403,
		`"type":"PolicyNotAuthorized"`)
	check("GET", "/networking/v2.0/networks?colour=red", nil, 400, `['colour'] is invalid attribute for filtering`)
	check("GET", "/networking/v2.0/networks?sort_key=name", nil, 400, `The number of sort_keys and sort_dirs must be same`)
	check("GET", "/networking/v2.0/networks?limit=x", nil, 400, `Bad limit request: Limit must be an integer 0 or greater and not 'x'.`)
	v := check("GET", "/networking/v2.0/networks?fields=name&sort_key=name&sort_dir=desc", nil, 200)
	if fmt.Sprint(v["networks"]) != "[map[name:public] map[name:private]]" {
		t.Errorf("fields and sorting: %v", v)
	}
	// Bulk create, then pages of one with next and previous links.
	v = check("POST", "/networking/v2.0/networks", map[string]any{"networks": []any{map[string]any{"name": "b1"}, map[string]any{"name": "b2"}}}, 201)
	if len(asList(t, v["networks"])) != 2 {
		t.Errorf("bulk create: %v", v)
	}
	v = check("GET", "/networking/v2.0/networks?limit=1&name=b1&name=b2", nil, 200)
	links := asList(t, v["networks_links"])
	if len(asList(t, v["networks"])) != 1 || len(links) != 2 || asMap(t, links[0])["rel"] != "next" ||
		!strings.HasPrefix(fmt.Sprint(asMap(t, links[0])["href"]), c.URL()+"/networking/v2.0/networks?limit=1&name=b1&name=b2&marker=") ||
		!strings.HasSuffix(fmt.Sprint(asMap(t, links[1])["href"]), "&page_reverse=True") {
		t.Errorf("page 1: %v", v)
	}
	next := strings.TrimPrefix(fmt.Sprint(asMap(t, links[0])["href"]), c.URL())
	v = check("GET", next, nil, 200)
	if len(asList(t, v["networks"])) != 1 {
		t.Errorf("page 2: %v", v)
	}
	// A bulk create that fails half way creates nothing.
	check("POST", "/networking/v2.0/networks", map[string]any{"networks": []any{map[string]any{"name": "b3"}, map[string]any{"mtu": 9000}}}, 400, "MTU is too big")
	if v := check("GET", "/networking/v2.0/networks?name=b3", nil, 200); len(asList(t, v["networks"])) != 0 {
		t.Errorf("a failed bulk create left %v", v)
	}
	// Tags.
	id := fmt.Sprint(asMap(t, asList(t, check("GET", "/networking/v2.0/networks?name=b1", nil, 200)["networks"])[0])["id"])
	check("PUT", "/networking/v2.0/networks/"+id+"/tags", map[string]any{"tags": []any{"red", "blue"}}, 200, `{"tags":["red","blue"]}`)
	check("PUT", "/networking/v2.0/networks/"+id+"/tags/green", nil, 201)
	check("GET", "/networking/v2.0/networks/"+id+"/tags/green", nil, 204)
	check("DELETE", "/networking/v2.0/networks/"+id+"/tags/red", nil, 204)
	check("GET", "/networking/v2.0/networks/"+id+"/tags/red", nil, 404, `"type":"TagNotFound"`)
	check("GET", "/networking/v2.0/networks/"+id+"/tags", nil, 200, `{"tags":["blue","green"]}`)
	check("PUT", "/networking/v2.0/networks/"+id+"/tags/"+strings.Repeat("x", 61), nil, 400, "exceeds maximum length of 60")
	if v := check("GET", "/networking/v2.0/networks?not-tags-any=green&name=b1&name=b2", nil, 200); len(asList(t, v["networks"])) != 1 {
		t.Errorf("not-tags-any: %v", v)
	}
	check("DELETE", "/networking/v2.0/networks/"+id+"/tags", nil, 204)
	// Quotas: OverQuota 409 in Neutron's shape; admin only to set.
	check("PUT", "/networking/v2.0/quotas/x", map[string]any{"quota": map[string]any{"network": 1}}, 403, "rule:update_quota is disallowed by policy")
	project := fmt.Sprint(asMap(t, check("GET", "/networking/v2.0/quotas/project", nil, 200)["project"])["project_id"])
	resp, b := c.HTTP(t, admin, "PUT", "/networking/v2.0/quotas/"+project, map[string]any{"quota": map[string]any{"network": 3}})
	if resp.StatusCode != 200 || !strings.Contains(string(b), `"network":3`) {
		t.Errorf("quota set: %d %s", resp.StatusCode, b)
	}
	check("POST", "/networking/v2.0/networks", map[string]any{"network": map[string]any{"name": "b4"}}, 409,
		`{"NeutronError":{"detail":"","message":"Quota exceeded for resources: ['network'].","type":"OverQuota"}}`)
	check("GET", "/networking/v2.0/quotas/"+project+"/details", nil, 200, `"network":{"limit":3,"reserved":0,"used":3}`)
	if resp.Header.Get("X-Openstack-Request-Id") == "" {
		t.Error("no X-Openstack-Request-Id")
	}
}

// TestNeutronWithNova: a server made with defaults lands on the project's
// private network (openstacksdk), then openstack.cloud.floating_ip gives it
// an address from public, finds it again, and takes it away.
func TestNeutronWithNova(t *testing.T) {
	t.Parallel()
	c := StartCloud(t)
	out := asMap(t, c.Python(t, `
demo = connect("emulator")
img = demo.image.find_image("cirros-0.6.2-x86_64-disk")
s = demo.compute.create_server(name="fip-vm", image_id=img.id, flavor_id="1", networks="auto")
s = demo.compute.wait_for_server(s, wait=60)
ports = list(demo.network.ports(device_id=s.id))
emit({"addresses": s.addresses, "owner": ports[0].device_owner, "status": ports[0].status, "sgs": len(ports[0].security_group_ids)})
`))
	addrs := asMap(t, out["addresses"])
	if priv, ok := addrs["private"]; !ok || !strings.Contains(fmt.Sprint(priv), "10.0.0.") || out["owner"] != "compute:nova" ||
		out["status"] != "ACTIVE" || out["sgs"] != float64(1) {
		t.Fatalf("a server with defaults: %v", out)
	}
	r := c.Ansible(t, `
- hosts: localhost
  gather_facts: false
  tasks:
    - name: floating ip
      openstack.cloud.floating_ip: {cloud: emulator, server: fip-vm, network: public, wait: true}
      register: fip
    - name: floating ip again
      openstack.cloud.floating_ip: {cloud: emulator, server: fip-vm, network: public}
    - name: floating ip info
      openstack.cloud.floating_ip_info: {cloud: emulator}
    - name: floating ip of a missing server
      openstack.cloud.floating_ip: {cloud: emulator, server: nope, network: public}
      ignore_errors: true
    - name: release
      openstack.cloud.floating_ip: {cloud: emulator, server: fip-vm, network: public, floating_ip_address: "{{ fip.floating_ip.floating_ip_address }}", state: absent, purge: true}
    - name: floating ip info after release
      openstack.cloud.floating_ip_info: {cloud: emulator}
`)
	fip := asMap(t, r.OK(t, "floating ip")["floating_ip"])
	if !strings.HasPrefix(fmt.Sprint(fip["floating_ip_address"]), "172.24.4.") || !strings.HasPrefix(fmt.Sprint(fip["fixed_ip_address"]), "10.0.0.") {
		t.Errorf("floating ip: %v", fip)
	}
	if v := r.OK(t, "floating ip again"); v["changed"] != false {
		t.Errorf("a second run must change nothing: %v", v)
	}
	if ips := asList(t, r.OK(t, "floating ip info")["floating_ips"]); len(ips) != 1 {
		t.Errorf("floating ip info: %v", ips)
	}
	if msg := r.Failed(t, "floating ip of a missing server"); !strings.Contains(msg, "not found") {
		t.Errorf("a missing server: %s", msg)
	}
	if v := r.OK(t, "release"); v["changed"] != true {
		t.Errorf("release: %v", v)
	}
	if ips := asList(t, r.OK(t, "floating ip info after release")["floating_ips"]); len(ips) != 0 {
		t.Errorf("after release: %v", ips)
	}
}
