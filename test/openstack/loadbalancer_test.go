package openstack

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/openstack-service-broker/openstack-service-broker/pkg/osb/osbapi"
)

func init() {
	bundleTests = append(bundleTests, bundleTest{"openstack-loadbalancer-apb", loadbalancerLifecycle, loadbalancerFailure})
}

// octaviaOf is, as openstacksdk sees it in demo's project, every load
// balancer tagged tag with its listeners, pools, members and health
// monitors (each with its tags).
func octaviaOf(t *testing.T, c *Cloud, tag string) []map[string]any {
	t.Helper()
	v := c.Python(t, fmt.Sprintf(`
c = connect("emulator")
lbp = c.load_balancer
out = []
for lb in lbp.load_balancers(tags=%[1]q):
    if %[1]q not in (lb.tags or []):
        continue
    ls = [l for l in lbp.listeners() if any(r["id"] == lb.id for r in l.load_balancers)]
    ps = [p for p in lbp.pools() if any(r["id"] == lb.id for r in p.loadbalancers)]
    out.append({"id": lb.id, "name": lb.name, "tags": lb.tags, "status": lb.provisioning_status,
        "vip_address": lb.vip_address, "vip_port_id": lb.vip_port_id,
        "listeners": [{"id": l.id, "tags": l.tags, "protocol": l.protocol, "port": l.protocol_port} for l in ls],
        "pools": [{"id": p.id, "tags": p.tags, "algorithm": p.lb_algorithm, "hm": p.health_monitor_id,
                   "members": sorted([{"address": m.address, "port": m.protocol_port, "tags": m.tags} for m in lbp.members(p.id)], key=lambda m: m["address"])}
                  for p in ps],
        "monitors": [{"id": h.id, "type": h.type, "tags": h.tags} for h in lbp.health_monitors() if any(r["id"] in [p.id for p in ps] for r in h.pools)]})
emit(out)`, tag))
	var out []map[string]any
	for _, e := range asList(t, v) {
		out = append(out, asMap(t, e))
	}
	return out
}

// checkLB fails unless there is one load balancer tagged tag, ACTIVE,
// with one listener (protocol, port), one pool with the member
// addresses, and monitors health monitors, everything tagged tag.
func checkLB(t *testing.T, got []map[string]any, tag, protocol string, port int, members []string, monitors int) map[string]any {
	t.Helper()
	if len(got) != 1 {
		t.Fatalf("%d load balancers tagged %s, want 1: %v", len(got), tag, got)
	}
	lb := got[0]
	if lb["status"] != "ACTIVE" {
		t.Errorf("load balancer %v is %v", lb["id"], lb["status"])
	}
	ls, ps, hs := asList(t, lb["listeners"]), asList(t, lb["pools"]), asList(t, lb["monitors"])
	if len(ls) != 1 || len(ps) != 1 || len(hs) != monitors {
		t.Fatalf("load balancer %v: %d listeners, %d pools, %d monitors; want 1, 1, %d", lb["id"], len(ls), len(ps), len(hs), monitors)
	}
	l, p := asMap(t, ls[0]), asMap(t, ps[0])
	if l["protocol"] != protocol || l["port"] != float64(port) {
		t.Errorf("listener = %v, want %s on %d", l, protocol, port)
	}
	var addrs []string
	tagged := []any{lb, l, p}
	for _, m := range asList(t, p["members"]) {
		addrs = append(addrs, str(asMap(t, m)["address"]))
		tagged = append(tagged, m)
	}
	tagged = append(tagged, hs...)
	if !slices.Equal(addrs, members) {
		t.Errorf("members = %v, want %v", addrs, members)
	}
	for _, r := range tagged {
		if !slices.Contains(strs(asMap(t, r)["tags"]), tag) {
			t.Errorf("%v is not tagged %s", r, tag)
		}
	}
	return lb
}

func loadbalancerLifecycle(t *testing.T, s *suite, f *flow) {
	c := s.cloud
	iid := newID(t)
	tag := "osb-instance-" + iid
	params := map[string]any{"members": "10.0.0.10"}

	// A provision the broker never recorded, then the one it does:
	// nothing made twice.
	if _, err := f.runDirect("provision", iid, "http", params); err != nil {
		t.Fatalf("direct provision: %v", err)
	}
	checkLB(t, octaviaOf(t, c, tag), tag, "HTTP", 80, []string{"10.0.0.10"}, 1)
	f.succeeded("provision", f.provision(iid, "http", params))
	lb := checkLB(t, octaviaOf(t, c, tag), tag, "HTTP", 80, []string{"10.0.0.10"}, 1)
	shown := asMap(t, c.CLI(t, "emulator", "loadbalancer", "show", "osb-"+iid))
	if shown["vip_address"] != lb["vip_address"] || shown["provisioning_status"] != "ACTIVE" {
		t.Errorf("openstack loadbalancer show = %v", shown)
	}

	bid := newID(t)
	lo, b := f.bind(iid, bid, nil)
	f.succeeded("bind", lo)
	vip := str(lb["vip_address"])
	if b["vip_address"] != vip || b["port"] != float64(80) || b["protocol"] != "HTTP" || b["url"] != "http://"+vip+":80" ||
		b["loadbalancer_id"] != lb["id"] || b["members"] != "10.0.0.10" {
		t.Errorf("binding = %v", b)
	}
	// What the binding names is Neutron's VIP port, holding the address.
	port := asMap(t, c.CLI(t, "emulator", "port", "show", str(b["vip_port_id"])))
	if !strings.Contains(fmt.Sprint(port["fixed_ips"]), vip) {
		t.Errorf("VIP port %v: fixed_ips %v, want %s", b["vip_port_id"], port["fixed_ips"], vip)
	}
	f.succeeded("unbind", f.unbind(iid, bid))

	// Members changed, the monitor removed, another algorithm.
	f.succeeded("update", f.update(iid, map[string]any{"members": "10.0.0.11, 10.0.0.12", "health_monitor": false, "algorithm": "LEAST_CONNECTIONS"}))
	lb = checkLB(t, octaviaOf(t, c, tag), tag, "HTTP", 80, []string{"10.0.0.11", "10.0.0.12"}, 0)
	if p := asMap(t, asList(t, lb["pools"])[0]); p["algorithm"] != "LEAST_CONNECTIONS" {
		t.Errorf("after update: pool algorithm %v", p["algorithm"])
	}

	f.succeeded("deprovision", f.deprovision(iid))
	if got := octaviaOf(t, c, tag); len(got) != 0 {
		t.Errorf("after deprovision: %v", got)
	}

	// The tcp plan, with only the required parameters (none).
	iid2 := newID(t)
	tag2 := "osb-instance-" + iid2
	f.succeeded("provision (tcp)", f.provision(iid2, "tcp", nil))
	got := octaviaOf(t, c, tag2)
	checkLB(t, got, tag2, "TCP", 80, nil, 1)
	if h := asMap(t, asList(t, got[0]["monitors"])[0]); h["type"] != "TCP" {
		t.Errorf("tcp plan's monitor = %v", h)
	}
	f.succeeded("deprovision (tcp)", f.deprovision(iid2))
	if got := octaviaOf(t, c, tag2); len(got) != 0 {
		t.Errorf("after deprovision (tcp): %v", got)
	}
}

// loadbalancerFailure: Octavia refuses the listener after the load
// balancer exists; the provision fails naming Octavia's error, and the
// deprovision deletes the half-made load balancer.
func loadbalancerFailure(t *testing.T, s *suite, f *flow) {
	c := s.cloud
	iid := newID(t)
	tag := "osb-instance-" + iid
	octavia := c.Fault(t, fault{Method: "POST", Path: "/load-balancer/*/lbaas/listeners", BodyContains: "osb-" + iid,
		Status: 409, Body: map[string]any{"faultcode": "Client", "faultstring": "injected: Quota has been met for resources: Listener", "debuginfo": nil}})
	lo := f.provision(iid, "http", nil)
	octavia.Remove()
	if lo.State != osbapi.StateFailed || !strings.Contains(lo.Description, "Quota has been met for resources: Listener") {
		t.Errorf("provision with Octavia refusing the listener: %s %q, want failed naming Octavia's error", lo.State, lo.Description)
	}
	if got := octaviaOf(t, c, tag); len(got) != 1 || len(asList(t, got[0]["listeners"])) != 0 {
		t.Errorf("after the failed provision: %v, want the load balancer without listener", got)
	}
	f.succeeded("deprovision after a failed provision", f.deprovision(iid))
	if got := octaviaOf(t, c, tag); len(got) != 0 {
		t.Errorf("after deprovision: %v", got)
	}
}
