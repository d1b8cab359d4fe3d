package openstack

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/openstack-service-broker/openstack-service-broker/pkg/osb/osbapi"
)

// neutronOf lists, with openstacksdk as the given cloud, the networks,
// subnets and routers named name, with their tags.
func neutronOf(t *testing.T, c *Cloud, cloud, name string) map[string][]map[string]any {
	t.Helper()
	v := asMap(t, c.Python(t, fmt.Sprintf(`
c = connect(%q)
def rows(items):
    return [{"id": i.id, "tags": sorted(i.tags or []), "cidr": getattr(i, "cidr", None),
             "gateway_ip": getattr(i, "gateway_ip", None), "dns": getattr(i, "dns_nameservers", None),
             "network_id": getattr(i, "network_id", None),
             "gw": getattr(i, "external_gateway_info", None)} for i in items if i.name == %q]
emit({"networks": rows(c.network.networks()), "subnets": rows(c.network.subnets()), "routers": rows(c.network.routers())})`, cloud, name)))
	out := map[string][]map[string]any{}
	for k, l := range v {
		for _, e := range asList(t, l) {
			out[k] = append(out[k], asMap(t, e))
		}
	}
	return out
}

// with is params and more in a new map.
func with(params, more map[string]any) map[string]any {
	out := maps.Clone(params)
	maps.Copy(out, more)
	return out
}

// checkNeutron fails unless there are exactly the wanted numbers of
// networks, subnets and routers named name, each tagged with the
// instance's tag.
func checkNeutron(t *testing.T, got map[string][]map[string]any, tag string, networks, subnets, routers int) {
	t.Helper()
	for kind, want := range map[string]int{"networks": networks, "subnets": subnets, "routers": routers} {
		if len(got[kind]) != want {
			t.Errorf("%d %s, want %d", len(got[kind]), kind, want)
		}
		for _, r := range got[kind] {
			if !slices.Contains(strs(r["tags"]), tag) {
				t.Errorf("%s %v is not tagged %s: %v", kind, r["id"], tag, r["tags"])
			}
		}
	}
}

// networkLifecycle runs in project alt, with the namespace's own
// application credential (topology b on Kubernetes), both plans.
func networkLifecycle(t *testing.T, s *suite, f *flow) {
	c := s.cloud
	own := ownCredentials(t, s, f, false)
	params := with(own, map[string]any{"dns_nameservers": "10.0.0.2"})
	iid := newID(t)
	name, tag := "osb-"+iid, "osb-instance-"+iid

	if _, err := f.runDirect("provision", iid, "routed", params); err != nil {
		t.Fatalf("direct provision: %v", err)
	}
	checkNeutron(t, neutronOf(t, c, "emulator-alt", name), tag, 1, 1, 1)
	f.succeeded("provision", f.provision(iid, "routed", params))
	got := neutronOf(t, c, "emulator-alt", name)
	checkNeutron(t, got, tag, 1, 1, 1)
	if t.Failed() {
		t.FailNow()
	}
	if n := neutronOf(t, c, "emulator", name); len(n["networks"]) != 0 {
		t.Errorf("the network is in the broker's project, not the namespace's")
	}
	sn := got["subnets"][0]
	if sn["cidr"] != "192.168.0.0/24" || sn["gateway_ip"] != "192.168.0.1" || !slices.Equal(strs(sn["dns"]), []string{"10.0.0.2"}) {
		t.Errorf("subnet = %v, want the default CIDR and the DNS server given", sn)
	}
	gw := asMap(t, got["routers"][0]["gw"])
	if asList(t, gw["external_fixed_ips"]) == nil {
		t.Errorf("router has no external gateway: %v", gw)
	}

	bid := newID(t)
	lo, b := f.bind(iid, bid, nil)
	f.succeeded("bind", lo)
	if b["network_id"] != got["networks"][0]["id"] || b["subnet_id"] != sn["id"] || b["router_id"] != got["routers"][0]["id"] ||
		b["cidr"] != "192.168.0.0/24" || b["gateway_ip"] != "192.168.0.1" || !strings.HasPrefix(str(b["external_gateway_ip"]), "172.24.4.") {
		t.Errorf("binding = %v", b)
	}
	// What the binding names is usable: a port on it, with the CLI.
	port := asMap(t, c.CLI(t, "emulator-alt", "port", "create", "--network", str(b["network_id"]),
		"--fixed-ip", "subnet="+str(b["subnet_id"]), "osb-e2e-"+iid))
	if ips := fmt.Sprint(port["fixed_ips"]); !strings.Contains(ips, "192.168.0.") {
		t.Errorf("port on the bound network: fixed_ips %v", ips)
	}
	c.CLIDo(t, "emulator-alt", "port", "delete", str(port["id"]))
	f.succeeded("unbind", f.unbind(iid, bid))

	f.succeeded("update", f.update(iid, map[string]any{"dns_nameservers": "10.0.0.3, 10.0.0.4"}))
	sub := asMap(t, c.CLI(t, "emulator-alt", "subnet", "show", name))
	if dns := fmt.Sprint(sub["dns_nameservers"]); !strings.Contains(dns, "10.0.0.3") || !strings.Contains(dns, "10.0.0.4") || strings.Contains(dns, "10.0.0.2") {
		t.Errorf("after update: dns_nameservers %v", dns)
	}
	checkNeutron(t, neutronOf(t, c, "emulator-alt", name), tag, 1, 1, 1)

	f.succeeded("deprovision", f.deprovision(iid))
	checkNeutron(t, neutronOf(t, c, "emulator-alt", name), tag, 0, 0, 0)

	// The isolated plan: no router.
	iid2 := newID(t)
	f.succeeded("provision (isolated)", f.provision(iid2, "isolated", with(own, map[string]any{"cidr": "10.20.0.0/24", "enable_dhcp": false})))
	got = neutronOf(t, c, "emulator-alt", "osb-"+iid2)
	checkNeutron(t, got, "osb-instance-"+iid2, 1, 1, 0)
	f.succeeded("deprovision (isolated)", f.deprovision(iid2))
	checkNeutron(t, neutronOf(t, c, "emulator-alt", "osb-"+iid2), "osb-instance-"+iid2, 0, 0, 0)
}

// networkFailure: Neutron refuses the router after the network and
// subnet exist; the provision fails naming Neutron's error, and the
// deprovision deletes the half-made network.
func networkFailure(t *testing.T, s *suite, f *flow) {
	c := s.cloud
	own := ownCredentials(t, s, f, false)
	iid := newID(t)
	neutron := c.Fault(t, fault{Method: "POST", Path: "/networking/v2.0/routers", BodyContains: "osb-" + iid,
		Status: 409, Body: map[string]any{"NeutronError": map[string]any{"type": "OverQuota", "message": "injected: Quota exceeded for resources: ['router'].", "detail": ""}}})
	lo := f.provision(iid, "routed", own)
	neutron.Remove()
	if lo.State != osbapi.StateFailed || !strings.Contains(lo.Description, "Quota exceeded for resources") {
		t.Errorf("provision with Neutron refusing the router: %s %q, want failed naming Neutron's error", lo.State, lo.Description)
	}
	checkNeutron(t, neutronOf(t, c, "emulator-alt", "osb-"+iid), "osb-instance-"+iid, 1, 1, 0)
	f.succeeded("deprovision after a failed provision", f.deprovision(iid))
	checkNeutron(t, neutronOf(t, c, "emulator-alt", "osb-"+iid), "osb-instance-"+iid, 0, 0, 0)
}
