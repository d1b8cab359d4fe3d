package openstack

import (
	"context"
	"encoding/base64"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/openstack-service-broker/openstack-service-broker/pkg/osb/osbapi"
)

// serverState is what openstacksdk (project demo; admin for user data
// and Ironic) says about the instance's server, group and floating IPs,
// all found by the instance's tag or name.
func serverState(t *testing.T, c *Cloud, iid string) map[string]any {
	t.Helper()
	return asMap(t, c.Python(t, fmt.Sprintf(`
name, tag = "osb-%[1]s", "osb-instance-%[1]s"
c = connect("emulator")
admin = connect("emulator-admin")
servers = []
for s in c.compute.servers(tags=tag):
    full = admin.compute.get_server(s.id)
    servers.append({"id": s.id, "name": s.name, "status": s.status, "tags": s.tags, "key_name": s.key_name,
                    "metadata": s.metadata, "networks": sorted((s.addresses or {}).keys()),
                    "groups": sorted(g["name"] for g in (s.security_groups or [])),
                    "user_data": full.user_data, "flavor": (s.flavor or {}).get("original_name")})
groups = [{"id": g.id, "tags": g.tags, "ports": sorted(r["port_range_min"] for r in g.security_group_rules
                                                      if r["direction"] == "ingress" and r["port_range_min"])}
          for g in c.network.security_groups(name=name)]
fips = [{"ip": f.floating_ip_address, "port_id": f.port_id} for f in c.network.ips(tags=tag)]
ports = {p.id: p.device_id for p in c.network.ports()}
nodes = [{"id": n.id, "instance_id": n.instance_id, "state": n.provision_state} for n in admin.baremetal.nodes(details=True)]
emit({"servers": servers, "groups": groups, "fips": fips, "fip_devices": [ports.get(f["port_id"]) for f in fips], "nodes": nodes})`, iid)))
}

// serverPort is the id of the one port of the instance's server.
func serverPort(t *testing.T, c *Cloud, iid string) string {
	t.Helper()
	ids := asList(t, c.Python(t, fmt.Sprintf(`
c = connect("emulator")
s = c.compute.find_server("osb-%s", ignore_missing=False)
emit([p.id for p in c.network.ports(device_id=s.id)])`, iid)))
	if len(ids) != 1 {
		t.Fatalf("server osb-%s has ports %v, want one", iid, ids)
	}
	return fmt.Sprint(ids[0])
}

func serverLifecycle(t *testing.T, s *suite, f *flow) {
	c := s.cloud
	kp := "osb-e2e-" + newID(t)
	// --private-key: the CLI writes the key there and prints JSON.
	c.CLI(t, "emulator", "keypair", "create", "--private-key", filepath.Join(t.TempDir(), "key"), kp)
	t.Cleanup(func() { c.CLIDo(t, "emulator", "keypair", "delete", kp) })

	iid := newID(t)
	userData := "#!/bin/sh\necho hello from " + iid + "\n"
	params := map[string]any{"network": "pods", "open_ports": "22", "key_name": kp, "user_data": userData}
	if _, err := f.runDirect("provision", iid, "vm", params); err != nil {
		t.Fatalf("direct provision: %v", err)
	}
	f.succeeded("provision", f.provision(iid, "vm", params))
	st := serverState(t, c, iid)
	servers := asList(t, st["servers"])
	if len(servers) != 1 {
		t.Fatalf("after a repeated provision: %d servers tagged with the instance, want 1", len(servers))
	}
	srv := asMap(t, servers[0])
	ud, _ := base64.StdEncoding.DecodeString(str(srv["user_data"]))
	if srv["name"] != "osb-"+iid || srv["status"] != "ACTIVE" || srv["key_name"] != kp || asMap(t, srv["metadata"])["osb_instance_id"] != iid ||
		!slices.Equal(strs(srv["networks"]), []string{podsNetwork}) || !slices.Equal(strs(srv["groups"]), []string{"default", "osb-" + iid}) ||
		string(ud) != userData || srv["flavor"] != "m1.tiny" {
		t.Errorf("server = %v (user data %q)", srv, ud)
	}
	groups := asList(t, st["groups"])
	if len(groups) != 1 || !slices.Contains(strs(asMap(t, groups[0])["tags"]), "osb-instance-"+iid) ||
		!slices.Equal(strs(asMap(t, groups[0])["ports"]), []string{"22"}) {
		t.Errorf("security groups = %v, want one tagged, opening 22", groups)
	}
	if len(asList(t, st["fips"])) != 0 {
		t.Errorf("floating IPs without floating_ip: %v", st["fips"])
	}

	bid := newID(t)
	lo, b := f.bind(iid, bid, nil)
	f.succeeded("bind", lo)
	if b["server_id"] != srv["id"] || !strings.HasPrefix(str(b["private_ip"]), "10.0.0.") || b["floating_ip"] != "" || b["key_name"] != kp {
		t.Errorf("binding = %v", b)
	}
	// The bound address is the server's port's, as the CLI shows it.
	if addrs := fmt.Sprint(asMap(t, c.CLI(t, "emulator", "server", "show", str(b["server_id"])))["addresses"]); !strings.Contains(addrs, str(b["private_ip"])) {
		t.Errorf("server show addresses %s do not hold the bound %v", addrs, b["private_ip"])
	}
	f.succeeded("unbind", f.unbind(iid, bid))

	f.succeeded("update", f.update(iid, map[string]any{"floating_ip": true, "open_ports": "22, 80"}))
	st = serverState(t, c, iid)
	fips := asList(t, st["fips"])
	if len(fips) != 1 || asList(t, st["fip_devices"])[0] != srv["id"] {
		t.Errorf("after update: floating IPs %v on %v, want one on the server", fips, st["fip_devices"])
	}
	if g := asList(t, st["groups"]); len(g) != 1 || !slices.Equal(strs(asMap(t, g[0])["ports"]), []string{"22", "80"}) {
		t.Errorf("after update: groups %v, want ports 22 and 80", g)
	}
	bid2 := newID(t)
	lo, b = f.bind(iid, bid2, nil)
	f.succeeded("bind after update", lo)
	if len(fips) == 1 && b["floating_ip"] != asMap(t, fips[0])["ip"] {
		t.Errorf("binding floating_ip %v, want %v", b["floating_ip"], asMap(t, fips[0])["ip"])
	}
	f.succeeded("unbind", f.unbind(iid, bid2))

	f.succeeded("deprovision", f.deprovision(iid))
	st = serverState(t, c, iid)
	if len(asList(t, st["servers"]))+len(asList(t, st["groups"]))+len(asList(t, st["fips"])) != 0 {
		t.Errorf("after deprovision: %v", st)
	}

	// The vm plan with no parameters (none is required): the only image,
	// the smallest virtual flavor, the project's only network.
	min := newID(t)
	f.succeeded("provision (vm, no parameters)", f.provision(min, "vm", nil))
	st = serverState(t, c, min)
	if sv := asList(t, st["servers"]); len(sv) != 1 || asMap(t, sv[0])["flavor"] != "m1.tiny" || asMap(t, sv[0])["status"] != "ACTIVE" ||
		!slices.Equal(strs(asMap(t, sv[0])["networks"]), []string{"private"}) {
		t.Errorf("vm with no parameters: servers %v, want one ACTIVE m1.tiny on private", sv)
	}
	f.succeeded("deprovision (vm, no parameters)", f.deprovision(min))
	if st = serverState(t, c, min); len(asList(t, st["servers"]))+len(asList(t, st["groups"])) != 0 {
		t.Errorf("after deprovision: %v", st)
	}

	// The bare-metal plan: an Ironic node becomes the server, and is
	// free again after the deprovision.
	bm := newID(t)
	f.succeeded("provision (baremetal)", f.provision(bm, "baremetal", nil))
	st = serverState(t, c, bm)
	servers = asList(t, st["servers"])
	if len(servers) != 1 || asMap(t, servers[0])["flavor"] != "baremetal" {
		t.Fatalf("bare-metal servers = %v", servers)
	}
	bmID := asMap(t, servers[0])["id"]
	deployed := 0
	for _, n := range asList(t, st["nodes"]) {
		if asMap(t, n)["instance_id"] == bmID {
			deployed++
		}
	}
	if deployed != 1 {
		t.Errorf("%d Ironic nodes carry the server %v, want 1: %v", deployed, bmID, st["nodes"])
	}
	f.succeeded("deprovision (baremetal)", f.deprovision(bm))
	deadline := time.Now().Add(2 * time.Minute)
	for {
		st = serverState(t, c, bm)
		busy := []any{}
		for _, n := range asList(t, st["nodes"]) {
			if m := asMap(t, n); m["instance_id"] != nil || m["state"] != "available" {
				busy = append(busy, m)
			}
		}
		if len(busy) == 0 && len(asList(t, st["servers"])) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("Ironic nodes not free again after the deprovision: %v", busy)
		}
		time.Sleep(2 * time.Second)
	}
}

// serverFailure: Neutron refuses the floating IP after the server is up;
// the provision fails naming Neutron's error, and the deprovision deletes
// the half-made server and its group.
func serverFailure(t *testing.T, s *suite, f *flow) {
	c := s.cloud
	iid := newID(t)
	// The floating IP request names no instance, only the external
	// network and the server's port, which exists once the server does:
	// hold the provision at the server's tagging (its path names the
	// instance), fault the floating IPs of that port, let it go on.
	hold := c.Fault(t, fault{Method: "PUT", Path: "/compute/v2.1/servers/*/tags/osb-instance-" + iid, Delay: "8m"})
	wait, err := f.startProvision(iid, "vm", map[string]any{"floating_ip": true})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(f.ctx, actionLimit)
	defer cancel()
	hold.AwaitHit(ctx)
	neutron := c.Fault(t, fault{Method: "POST", Path: "/networking/v2.0/floatingips", BodyContains: serverPort(t, c, iid),
		Status: 409, Body: map[string]any{"NeutronError": map[string]any{
			"type": "OverQuota", "message": "injected: Quota exceeded for resources: ['floatingip'].", "detail": ""}}})
	hold.Remove()
	lo := wait()
	neutron.Remove()
	if lo.State != osbapi.StateFailed || !strings.Contains(lo.Description, "Quota exceeded for resources") {
		t.Errorf("provision with Neutron refusing the floating IP: %s %q, want failed naming Neutron's error", lo.State, lo.Description)
	}
	if n := len(asList(t, serverState(t, c, iid)["servers"])); n != 1 {
		t.Errorf("%d servers after the failed provision, want the one made before the floating IP", n)
	}
	f.succeeded("deprovision after a failed provision", f.deprovision(iid))
	st := serverState(t, c, iid)
	if len(asList(t, st["servers"]))+len(asList(t, st["groups"]))+len(asList(t, st["fips"])) != 0 {
		t.Errorf("after deprovision: %v", st)
	}
}
