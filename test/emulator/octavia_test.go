package emulator_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/openstack-service-broker/openstack-service-broker/pkg/emulator"
)

// TestOctaviaSDK: every Octavia resource through openstacksdk: load
// balancer (VIP port in Neutron), listener, pool, member (and the batch
// update), health monitor, L7 policy and rule, quotas; errors; isolation
// from alt; cascade delete frees the VIP port.
func TestOctaviaSDK(t *testing.T) {
	t.Parallel()
	c := StartCloud(t)
	out := asMap(t, c.Python(t, `
demo = connect("emulator")
lbs = demo.load_balancer
subnet = demo.network.find_subnet("private-subnet")
lb = lbs.create_load_balancer(name="sdk-lb", vip_subnet_id=subnet.id, description="first")
port = demo.network.get_port(lb.vip_port_id)
r = {"lb": [lb.provisioning_status, lb.operating_status, lb.vip_network_id == subnet.network_id, lb.provider],
     "port": [port.device_owner, port.name == "octavia-lb-" + lb.id, port.fixed_ips[0]["ip_address"] == lb.vip_address]}
lbs.update_load_balancer(lb, name="sdk-lb2", description="second")
shown = lbs.get_load_balancer(lb.id)
r["lb_upd"] = [shown.name, shown.description, [x.id for x in lbs.load_balancers()] == [lb.id]]
l = lbs.create_listener(name="web", loadbalancer_id=lb.id, protocol="HTTP", protocol_port=80, connection_limit=100)
lbs.update_listener(l, timeout_client_data=1000, description="d")
l = lbs.get_listener(l.id)
r["listener"] = [l.provisioning_status, l.operating_status, l.connection_limit, l.timeout_client_data, l.description,
                 lbs.find_listener("web").id == l.id]
r["dup_listener"] = http_error(lambda: lbs.create_listener(loadbalancer_id=lb.id, protocol="TCP", protocol_port=80))
p = lbs.create_pool(name="pool", listener_id=l.id, protocol="HTTP", lb_algorithm="ROUND_ROBIN",
                    session_persistence={"type": "APP_COOKIE", "cookie_name": "sid"})
lbs.update_pool(p, lb_algorithm="LEAST_CONNECTIONS")
p = lbs.get_pool(p.id)
r["pool"] = [p.provisioning_status, p.operating_status, p.lb_algorithm, p.session_persistence["cookie_name"],
             [x["id"] for x in p.listeners] == [l.id], lbs.get_listener(l.id).default_pool_id == p.id]
r["bad_pool"] = http_error(lambda: lbs.create_pool(loadbalancer_id=lb.id, protocol="UDP", lb_algorithm="ROUND_ROBIN",
                                                    session_persistence={"type": "HTTP_COOKIE"}))
m = lbs.create_member(p, name="m1", address="10.0.0.40", protocol_port=8080, subnet_id=subnet.id, weight=5)
lbs.update_member(m, p, weight=10)
m = lbs.get_member(m.id, p)
r["member"] = [m.provisioning_status, m.operating_status, m.weight, [x.name for x in lbs.members(p)], lbs.find_member("m1", p).id == m.id]
r["dup_member"] = http_error(lambda: lbs.create_member(p, address="10.0.0.40", protocol_port=8080))
r["bad_subnet"] = http_error(lambda: lbs.create_member(p, address="10.0.0.41", protocol_port=80, subnet_id="00000000-0000-0000-0000-000000000000"))
hm = lbs.create_health_monitor(pool_id=p.id, name="hm", type="HTTP", delay=5, timeout=3, max_retries=2, url_path="/health")
lbs.update_health_monitor(hm, delay=7)
hm = lbs.get_health_monitor(hm.id)
r["hm"] = [hm.provisioning_status, hm.delay, hm.url_path, hm.http_method, hm.expected_codes, lbs.find_health_monitor("hm").id == hm.id,
           lbs.get_member(m.id, p).operating_status]
r["dup_hm"] = http_error(lambda: lbs.create_health_monitor(pool_id=p.id, type="TCP", delay=5, timeout=3, max_retries=2))
pol = lbs.create_l7_policy(listener_id=l.id, name="redir", action="REDIRECT_TO_URL", redirect_url="http://example.org/")
rule = lbs.create_l7_rule(pol, type="PATH", compare_type="STARTS_WITH", value="/old")
lbs.update_l7_rule(rule, pol, invert=True)
r["l7"] = [pol.action, pol.redirect_url, pol.position, lbs.get_l7_rule(rule, pol).invert,
           [x.id for x in lbs.l7_rules(pol)] == [rule.id], [x.id for x in lbs.l7_policies()] == [pol.id]]
lbs.update_l7_policy(pol, name="redir2")
r["l7_bad"] = http_error(lambda: lbs.create_l7_policy(listener_id=l.id, action="REDIRECT_TO_POOL"))
# Members replaced in one request (batch update): m1 goes, two come.
resp = lbs.put("/lbaas/pools/%s/members" % p.id, json={"members": [
    {"address": "10.0.0.50", "protocol_port": 80}, {"address": "10.0.0.51", "protocol_port": 80}]})
r["batch"] = [resp.status_code, sorted(x.address for x in lbs.members(p))]
r["missing"] = http_error(lambda: lbs.get_load_balancer("00000000-0000-0000-0000-000000000000"))
alt = connect("emulator-alt")
r["alt_list"] = [x.id for x in alt.load_balancer.load_balancers()]
r["alt_get"] = http_error(lambda: alt.load_balancer.get_load_balancer(lb.id))
r["alt_del"] = http_error(lambda: alt.load_balancer.delete_load_balancer(lb.id, ignore_missing=False))
r["alt_member"] = http_error(lambda: alt.load_balancer.create_member(p.id, address="10.0.0.9", protocol_port=80))
admin = connect("emulator-admin")
r["admin_sees"] = lb.id in [x.id for x in admin.load_balancer.load_balancers()]
pid = demo.current_project_id
admin.load_balancer.update_quota(pid, load_balancer=1)
r["quota"] = [admin.load_balancer.get_quota(pid).load_balancers, http_error(lambda: lbs.create_load_balancer(vip_subnet_id=subnet.id))]
r["quota_member"] = http_error(lambda: lbs.update_quota(pid, load_balancer=5))
admin.load_balancer.delete_quota(pid)
r["children"] = http_error(lambda: lbs.delete_load_balancer(lb.id))
lbs.delete_load_balancer(lb.id, cascade=True)
r["gone"] = [http_error(lambda: lbs.get_load_balancer(lb.id)), http_error(lambda: lbs.get_listener(l.id)),
             http_error(lambda: lbs.get_pool(p.id)), http_error(lambda: demo.network.get_port(lb.vip_port_id))]
emit(r)
`))
	want := map[string]string{
		"lb":       "[ACTIVE ONLINE true amphora]",
		"port":     "[Octavia true true]",
		"lb_upd":   "[sdk-lb2 second true]",
		"listener": "[ACTIVE ONLINE 100 1000 d true]",
		"pool":     "[ACTIVE ONLINE LEAST_CONNECTIONS sid true true]",
		"member":   "[ACTIVE NO_MONITOR 10 [m1] true]",
		"hm":       "[ACTIVE 7 /health GET 200 true ONLINE]",
		"l7":       "[REDIRECT_TO_URL http://example.org/ 1 true true true]",
		"batch":    "[202 [10.0.0.50 10.0.0.51]]",
		"alt_list": "[]", "admin_sees": "true",
	}
	for k, w := range want {
		if got := fmt.Sprint(out[k]); got != w {
			t.Errorf("%s: %s, want %s", k, got, w)
		}
	}
	status := func(k string) float64 { s, _ := asMap(t, out[k])["status"].(float64); return s }
	for k, w := range map[string]float64{"dup_listener": 409, "bad_pool": 400, "dup_member": 409, "bad_subnet": 404,
		"dup_hm": 409, "l7_bad": 400, "missing": 404, "alt_get": 403, "alt_del": 403, "alt_member": 403,
		"quota_member": 403, "children": 400} {
		if got := status(k); got != w {
			t.Errorf("%s: %v, want %v", k, out[k], w)
		}
	}
	if q := asList(t, out["quota"]); q[0] != float64(1) || asMap(t, q[1])["status"] != float64(403) ||
		!strings.Contains(fmt.Sprint(asMap(t, q[1])["message"]), "Quota has been met for resources: Load Balancer") {
		t.Errorf("quota: %v", out["quota"])
	}
	if m := fmt.Sprint(asMap(t, out["dup_listener"])["message"]); !strings.Contains(m, "Another Listener on this Load Balancer is already using protocol HTTP and protocol_port 80") {
		t.Errorf("duplicate listener message: %s", m)
	}
	if m := fmt.Sprint(asMap(t, out["children"])["message"]); !strings.Contains(m, "it has children") {
		t.Errorf("delete with children: %s", m)
	}
	for _, g := range asList(t, out["gone"]) {
		if asMap(t, g)["status"] != float64(404) {
			t.Errorf("after the cascade delete: %v", out["gone"])
		}
	}
}

// TestOctaviaShapes: discovery, Octavia's error shape and WSME messages,
// PENDING_* with -delay and the 409s of an immutable load balancer,
// pagination, status tree, by raw HTTP beside the clients.
func TestOctaviaShapes(t *testing.T) {
	t.Parallel()
	c := StartCloud(t, func(o *emulator.Options) { o.Delay = 400 * time.Millisecond })
	resp, body := c.HTTP(t, "", "GET", "/load-balancer/", nil)
	if resp.StatusCode != 200 || !strings.Contains(string(body), `"id":"v2.26","links":[{"href":"`+c.URL()+`/load-balancer/v2","rel":"self"}],"status":"CURRENT"`) {
		t.Errorf("discovery: %d %s", resp.StatusCode, body)
	}
	resp, _ = c.HTTP(t, "", "GET", "/load-balancer/v2/lbaas/loadbalancers", nil)
	if resp.StatusCode != 401 {
		t.Errorf("no token: %d", resp.StatusCode)
	}
	tok, alt := c.Token(t, "demo"), c.Token(t, "alt")
	check := func(what string, status int, wantBody string, method, path string, body any) []byte {
		t.Helper()
		resp, b := c.HTTP(t, tok, method, "/load-balancer/v2/lbaas"+path, body)
		if resp.StatusCode != status || !strings.Contains(string(b), wantBody) {
			t.Errorf("%s: %d %s, want %d with %s", what, resp.StatusCode, b, status, wantBody)
		}
		return b
	}
	check("404", 404, `{"debuginfo":null,"faultcode":"Client","faultstring":"Load Balancer 00000000-0000-0000-0000-000000000000 not found."}`,
		"GET", "/loadbalancers/00000000-0000-0000-0000-000000000000", nil)
	check("unknown attribute", 400, `"faultstring":"Unknown attribute for argument load_balancer.loadbalancer: flavor"`,
		"POST", "/loadbalancers", map[string]any{"loadbalancer": map[string]any{"flavor": "x"}})
	check("bad uuid", 400, `"faultstring":"Invalid input for field/attribute vip_subnet_id. Value: ''. Value should be UUID format"`,
		"POST", "/loadbalancers", map[string]any{"loadbalancer": map[string]any{"vip_subnet_id": ""}})
	check("no vip", 400, `"faultstring":"Validation failure: VIP must contain one of: vip_port_id, vip_network_id, vip_subnet_id."`,
		"POST", "/loadbalancers", map[string]any{"loadbalancer": map[string]any{"name": "x"}})
	check("unknown subnet", 400, `"faultstring":"Subnet 00000000-0000-0000-0000-000000000000 not found."`,
		"POST", "/loadbalancers", map[string]any{"loadbalancer": map[string]any{"vip_subnet_id": "00000000-0000-0000-0000-000000000000"}})
	check("not json", 400, `"faultstring":"Request is not in valid JSON format"`, "POST", "/loadbalancers", "{nope")
	check("no body", 400, `"faultstring":"Missing argument: \"load_balancer\""`, "POST", "/loadbalancers", "")
	check("bad limit", 400, `"faultstring":"Supplied pagination limit 'x' is not valid."`, "GET", "/loadbalancers?limit=x", nil)
	check("bad filter", 400, `"faultstring":"One or more arguments are either duplicate or invalid"`, "GET", "/loadbalancers?colour=red", nil)

	_, sn := c.HTTP(t, tok, "GET", "/networking/v2.0/subnets?name=private-subnet", nil)
	var subnets struct{ Subnets []struct{ ID string } }
	if err := json.Unmarshal(sn, &subnets); err != nil || len(subnets.Subnets) != 1 {
		t.Fatalf("private-subnet: %s", sn)
	}
	b := check("create", 201, `"provisioning_status":"PENDING_CREATE"`, "POST", "/loadbalancers",
		map[string]any{"loadbalancer": map[string]any{"name": "slow", "vip_subnet_id": subnets.Subnets[0].ID}})
	var lb struct{ Loadbalancer struct{ ID string } }
	if err := json.Unmarshal(b, &lb); err != nil {
		t.Fatal(err)
	}
	id := lb.Loadbalancer.ID
	check("operating while pending", 200, `"operating_status":"OFFLINE"`, "GET", "/loadbalancers/"+id, nil)
	check("listener while pending", 409, `"faultstring":"Load Balancer `+id+` is immutable and cannot be updated."`,
		"POST", "/listeners", map[string]any{"listener": map[string]any{"loadbalancer_id": id, "protocol": "HTTP", "protocol_port": 80}})
	check("update while pending", 409, `"faultstring":"Invalid state PENDING_CREATE of loadbalancer resource `+id+`"`,
		"PUT", "/loadbalancers/"+id, map[string]any{"loadbalancer": map[string]any{"name": "x"}})
	waitUntil(t, func() bool {
		_, b := c.HTTP(t, tok, "GET", "/load-balancer/v2/lbaas/loadbalancers/"+id, nil)
		return strings.Contains(string(b), `"provisioning_status":"ACTIVE"`)
	})
	check("bad port", 400, `"faultstring":"Invalid input for field/attribute protocol_port. Value: '0'. Value should be greater or equal to 1"`,
		"POST", "/listeners", map[string]any{"listener": map[string]any{"loadbalancer_id": id, "protocol": "HTTP", "protocol_port": 0}})
	check("missing protocol", 400, `"faultstring":"Invalid input for field/attribute protocol. Value: 'None'. Mandatory field missing."`,
		"POST", "/listeners", map[string]any{"listener": map[string]any{"loadbalancer_id": id, "protocol_port": 80}})
	check("listener", 201, `"provisioning_status":"PENDING_CREATE"`,
		"POST", "/listeners", map[string]any{"listener": map[string]any{"loadbalancer_id": id, "protocol": "HTTP", "protocol_port": 80}})
	check("lb updating", 200, `"provisioning_status":"PENDING_UPDATE"`, "GET", "/loadbalancers/"+id, nil)
	resp, b = c.HTTP(t, alt, "GET", "/load-balancer/v2/lbaas/loadbalancers/"+id, nil)
	if resp.StatusCode != 403 || !strings.Contains(string(b), `"faultstring":"Policy does not allow this request to be performed."`) {
		t.Errorf("alt get: %d %s", resp.StatusCode, b)
	}
	waitUntil(t, func() bool {
		_, b := c.HTTP(t, tok, "GET", "/load-balancer/v2/lbaas/loadbalancers/"+id, nil)
		return strings.Contains(string(b), `"provisioning_status":"ACTIVE"`)
	})
	check("status tree", 200, `"operating_status":"ONLINE","pools":[],"provisioning_status":"ACTIVE"`, "GET", "/loadbalancers/"+id+"/status", nil)
	// Pagination: two load balancers, one per page.
	check("second", 201, `"name":"second"`, "POST", "/loadbalancers",
		map[string]any{"loadbalancer": map[string]any{"name": "second", "vip_subnet_id": subnets.Subnets[0].ID}})
	b = check("page", 200, `"rel":"next"`, "GET", "/loadbalancers?limit=1", nil)
	var page struct {
		LBs   []struct{ ID, Name string }  `json:"loadbalancers"`
		Links []struct{ Href, Rel string } `json:"loadbalancers_links"`
	}
	if err := json.Unmarshal(b, &page); err != nil || len(page.LBs) != 1 || len(page.Links) != 1 ||
		page.Links[0].Href != c.URL()+"/load-balancer/v2/lbaas/loadbalancers?limit=1&marker="+page.LBs[0].ID {
		t.Fatalf("first page: %s", b)
	}
	other := map[string]string{"slow": `"name":"second"`, "second": `"name":"slow"`}[page.LBs[0].Name]
	b = check("page 2", 200, other, "GET", "/loadbalancers?limit=1&marker="+page.LBs[0].ID, nil)
	if !strings.Contains(string(b), `"rel":"previous"`) {
		t.Errorf("previous link: %s", b)
	}
	check("delete with children", 400, "Validation failure: Cannot delete Load Balancer "+id+" - it has children", "DELETE", "/loadbalancers/"+id, nil)
	resp, b = c.HTTP(t, tok, "DELETE", "/load-balancer/v2/lbaas/loadbalancers/"+id+"?cascade=true", nil)
	if resp.StatusCode != 204 {
		t.Fatalf("cascade delete: %d %s", resp.StatusCode, b)
	}
	check("deleting", 200, `"provisioning_status":"PENDING_DELETE"`, "GET", "/loadbalancers/"+id, nil)
	waitUntil(t, func() bool {
		resp, _ := c.HTTP(t, tok, "GET", "/load-balancer/v2/lbaas/loadbalancers/"+id, nil)
		return resp.StatusCode == 404
	})
}

// TestOctaviaCLI: the openstack loadbalancer commands
// (python3-octaviaclient) over every resource, an error, isolation.
func TestOctaviaCLI(t *testing.T) {
	t.Parallel()
	c := StartCloud(t)
	requireCLIPlugin(t, "octaviaclient")
	lb := asMap(t, c.CLI(t, "emulator", "loadbalancer", "create", "--name", "cli-lb", "--vip-subnet-id", "private-subnet", "--wait"))
	if lb["provisioning_status"] != "ACTIVE" || lb["vip_address"] == "" {
		t.Errorf("loadbalancer create: %v", lb)
	}
	c.CLINoFormat(t, "emulator", "loadbalancer", "set", "--description", "by cli", "cli-lb")
	l := asMap(t, c.CLI(t, "emulator", "loadbalancer", "listener", "create", "--name", "cli-l", "--protocol", "TCP", "--protocol-port", "443", "cli-lb"))
	p := asMap(t, c.CLI(t, "emulator", "loadbalancer", "pool", "create", "--name", "cli-p", "--listener", "cli-l", "--protocol", "TCP", "--lb-algorithm", "SOURCE_IP"))
	m := asMap(t, c.CLI(t, "emulator", "loadbalancer", "member", "create", "--name", "cli-m", "--address", "10.0.0.60", "--protocol-port", "443", "cli-p"))
	hm := asMap(t, c.CLI(t, "emulator", "loadbalancer", "healthmonitor", "create", "--name", "cli-hm", "--delay", "5", "--timeout", "3", "--max-retries", "2", "--type", "TCP", "cli-p"))
	if l["protocol_port"] != float64(443) || p["lb_algorithm"] != "SOURCE_IP" || m["address"] != "10.0.0.60" || hm["type"] != "TCP" {
		t.Errorf("creates: %v %v %v %v", l, p, m, hm)
	}
	shown := asMap(t, c.CLI(t, "emulator", "loadbalancer", "show", "cli-lb"))
	if shown["description"] != "by cli" || !strings.Contains(fmt.Sprint(shown["listeners"]), fmt.Sprint(l["id"])) {
		t.Errorf("loadbalancer show: %v", shown)
	}
	if findBy(t, c.CLI(t, "emulator", "loadbalancer", "member", "list", "cli-p"), "name", "cli-m") == nil {
		t.Error("member list lacks cli-m")
	}
	if e := c.CLIFails(t, "emulator", "loadbalancer", "listener", "create", "--protocol", "TCP", "--protocol-port", "443", "cli-lb"); !strings.Contains(e, "already using protocol TCP and protocol_port 443") {
		t.Errorf("duplicate listener: %s", e)
	}
	if e := c.CLIFails(t, "emulator-alt", "loadbalancer", "show", fmt.Sprint(lb["id"])); !strings.Contains(e, "Policy does not allow") {
		t.Errorf("alt show: %s", e)
	}
	c.CLINoFormat(t, "emulator", "loadbalancer", "delete", "--cascade", "--wait", "cli-lb")
	if l := c.CLI(t, "emulator", "loadbalancer", "list"); l != nil && len(asList(t, l)) != 0 {
		t.Errorf("load balancers after delete: %v", l)
	}
}

// TestOctaviaAnsible: openstack.cloud.loadbalancer (with listeners,
// pools and members), lb_listener, lb_pool, lb_member and
// lb_health_monitor in openstack-apb: create, idempotence, isolation, an
// error, delete.
func TestOctaviaAnsible(t *testing.T) {
	t.Parallel()
	c := StartCloud(t)
	r := c.Ansible(t, `
- hosts: localhost
  gather_facts: false
  tasks:
    - name: lb
      openstack.cloud.loadbalancer:
        cloud: emulator
        name: ans-lb
        vip_subnet: private-subnet
        listeners:
          - name: ans-web
            protocol: HTTP
            protocol_port: 80
            pool:
              name: ans-pool
              protocol: HTTP
              members:
                - {name: ans-m1, address: 10.0.0.70, protocol_port: 8080, subnet: private-subnet}
    - name: lb again
      openstack.cloud.loadbalancer: {cloud: emulator, name: ans-lb, vip_subnet: private-subnet}
    - name: listener
      openstack.cloud.lb_listener: {cloud: emulator, name: ans-tcp, loadbalancer: ans-lb, protocol: TCP, protocol_port: 5432}
    - name: pool
      openstack.cloud.lb_pool: {cloud: emulator, name: ans-pool2, listener: ans-tcp, protocol: TCP, lb_algorithm: LEAST_CONNECTIONS}
    - name: member
      openstack.cloud.lb_member: {cloud: emulator, name: ans-m2, pool: ans-pool2, address: 10.0.0.71, protocol_port: 5432}
    - name: member again
      openstack.cloud.lb_member: {cloud: emulator, name: ans-m2, pool: ans-pool2, address: 10.0.0.71, protocol_port: 5432}
    - name: monitor
      openstack.cloud.lb_health_monitor: {cloud: emulator, name: ans-hm, pool: ans-pool2, type: TCP, delay: 5, max_retries: 3, resp_timeout: 2}
    - name: bad listener
      openstack.cloud.lb_listener: {cloud: emulator, name: ans-dup, loadbalancer: ans-lb, protocol: TCP, protocol_port: 5432}
      ignore_errors: true
    - name: alt lb absent
      openstack.cloud.loadbalancer: {cloud: emulator-alt, name: ans-lb, state: absent}
    - name: monitor delete
      openstack.cloud.lb_health_monitor: {cloud: emulator, name: ans-hm, pool: ans-pool2, delay: 5, max_retries: 3, resp_timeout: 2, state: absent}
    - name: member delete
      openstack.cloud.lb_member: {cloud: emulator, name: ans-m2, pool: ans-pool2, state: absent}
    - name: pool delete
      openstack.cloud.lb_pool: {cloud: emulator, name: ans-pool2, state: absent}
    - name: listener delete
      openstack.cloud.lb_listener: {cloud: emulator, name: ans-tcp, loadbalancer: ans-lb, state: absent}
    - name: lb delete
      openstack.cloud.loadbalancer: {cloud: emulator, name: ans-lb, state: absent}
`)
	lb := r.OK(t, "lb")
	if b := asMap(t, lb["loadbalancer"]); lb["changed"] != true || b["provisioning_status"] != "ACTIVE" || b["vip_address"] == "" {
		t.Errorf("lb: %v", lb)
	}
	if again := r.OK(t, "lb again"); again["changed"] != false {
		t.Errorf("a second lb create must change nothing: %v", again)
	}
	if l := r.OK(t, "listener"); asMap(t, l["listener"])["protocol_port"] != float64(5432) {
		t.Errorf("listener: %v", l)
	}
	if p := r.OK(t, "pool"); asMap(t, p["pool"])["lb_algorithm"] != "LEAST_CONNECTIONS" {
		t.Errorf("pool: %v", p)
	}
	if m := r.OK(t, "member"); asMap(t, m["member"])["address"] != "10.0.0.71" || m["changed"] != true {
		t.Errorf("member: %v", m)
	}
	if m := r.OK(t, "member again"); m["changed"] != false {
		t.Errorf("member again: %v", m)
	}
	if h := r.OK(t, "monitor"); asMap(t, h["health_monitor"])["type"] != "TCP" {
		t.Errorf("monitor: %v", h)
	}
	if msg := r.Failed(t, "bad listener"); !strings.Contains(msg, "already using protocol TCP and protocol_port 5432") {
		t.Errorf("bad listener: %s", msg)
	}
	if alt := r.OK(t, "alt lb absent"); alt["changed"] != false {
		t.Errorf("alt deleted demo's load balancer: %v", alt)
	}
	for _, n := range []string{"monitor delete", "member delete", "pool delete", "listener delete", "lb delete"} {
		if d := r.OK(t, n); d["changed"] != true {
			t.Errorf("%s: %v", n, d)
		}
	}
}
