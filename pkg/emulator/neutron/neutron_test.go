package neutron_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/openstack-service-broker/openstack-service-broker/pkg/emulator"
	"github.com/openstack-service-broker/openstack-service-broker/pkg/emulator/core"
)

func start(t *testing.T, o emulator.Options) *emulator.Cloud {
	t.Helper()
	if o.Listen == "" {
		o.Listen = "127.0.0.1:0"
	}
	c, err := emulator.Start(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = c.Close()
		for _, p := range c.Problems() {
			t.Errorf("internal error: %s", p)
		}
	})
	return c
}

func token(t *testing.T, c *emulator.Cloud, user string) string {
	t.Helper()
	cr := c.Credentials()
	pw := map[string]string{"demo": cr.DemoPassword, "alt": cr.AltPassword, "admin": cr.AdminPassword}[user]
	resp, body := call(t, c, "", "POST", "/v3/auth/tokens", map[string]any{"auth": map[string]any{
		"identity": map[string]any{"methods": []string{"password"}, "password": map[string]any{"user": map[string]any{
			"name": user, "domain": map[string]any{"id": "default"}, "password": pw}}},
		"scope": map[string]any{"project": map[string]any{"name": user, "domain": map[string]any{"id": "default"}}}}})
	if resp.StatusCode != 201 {
		t.Fatalf("token: %d %s", resp.StatusCode, body)
	}
	return resp.Header.Get("X-Subject-Token")
}

func call(t *testing.T, c *emulator.Cloud, tok, method, path string, body any) (*http.Response, string) {
	t.Helper()
	var rd io.Reader
	if s, ok := body.(string); ok {
		rd = strings.NewReader(s)
	} else if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, c.URL()+path, rd)
	req.Header.Set("Content-Type", "application/json")
	if tok != "" {
		req.Header.Set("X-Auth-Token", tok)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

// get decodes a 200 answer.
func get(t *testing.T, c *emulator.Cloud, tok, path string) map[string]any {
	t.Helper()
	resp, body := call(t, c, tok, "GET", path, nil)
	if resp.StatusCode != 200 {
		t.Fatalf("GET %s: %d %s", path, resp.StatusCode, body)
	}
	var v map[string]any
	if err := json.Unmarshal([]byte(body), &v); err != nil {
		t.Fatal(err)
	}
	return v
}

func first(t *testing.T, v map[string]any, coll string) map[string]any {
	t.Helper()
	l, _ := v[coll].([]any)
	if len(l) == 0 {
		t.Fatalf("no %s in %v", coll, v)
	}
	return l[0].(map[string]any)
}

// TestNovaPortCalls drives the calls Nova makes through Env.Do (README.md,
// "For Nova"): a port with a compute device owner and a binding, found by
// device id, unbound, deleted; the binding is refused to the user's own
// requests and hidden from them.
func TestNovaPortCalls(t *testing.T) {
	c := start(t, emulator.Options{})
	demo, admin := token(t, c, "demo"), token(t, c, "admin")
	ctx := context.Background()
	id := &core.Identity{Token: demo}
	env := c.Env()

	var nets struct {
		Networks []struct {
			ID   string `json:"id"`
			Name string `json:"name"`
		} `json:"networks"`
	}
	// Nova's choice of a network when none is asked: the project's own and
	// the shared ones.
	if err := env.Do(ctx, core.Call{Identity: id, Service: "network", Method: "GET", Path: "/v2.0/networks",
		Query: map[string][]string{"shared": {"false"}, "router:external": {"false"}}}, &nets); err != nil {
		t.Fatal(err)
	}
	if len(nets.Networks) != 1 || nets.Networks[0].Name != "private" {
		t.Fatalf("the project's networks: %+v", nets)
	}
	var sgs struct {
		SecurityGroups []struct{ ID string } `json:"security_groups"`
	}
	if err := env.Do(ctx, core.Call{Identity: id, Service: "network", Method: "GET", Path: "/v2.0/security-groups",
		Query: map[string][]string{"name": {"default"}}}, &sgs); err != nil || len(sgs.SecurityGroups) != 1 {
		t.Fatalf("default group: %v %+v", err, sgs)
	}
	server := core.NewUUID()
	var created struct {
		Port struct {
			ID       string           `json:"id"`
			Status   string           `json:"status"`
			FixedIPs []map[string]any `json:"fixed_ips"`
			MAC      string           `json:"mac_address"`
		} `json:"port"`
	}
	err := env.Do(ctx, core.Call{Identity: id, Service: "network", Method: "POST", Path: "/v2.0/ports", Body: map[string]any{
		"port": map[string]any{"network_id": nets.Networks[0].ID, "device_id": server, "device_owner": "compute:nova",
			"binding:host_id": "emulator", "security_groups": []string{sgs.SecurityGroups[0].ID}}}}, &created)
	if err != nil {
		t.Fatal(err)
	}
	if created.Port.Status != "ACTIVE" || len(created.Port.FixedIPs) != 1 || created.Port.FixedIPs[0]["ip_address"] != "10.0.0.2" {
		t.Errorf("created port: %+v", created.Port)
	}
	// The user sees the port by device id, without the binding; an admin sees it.
	mine := first(t, get(t, c, demo, "/networking/v2.0/ports?device_id="+server), "ports")
	if _, ok := mine["binding:host_id"]; ok || mine["device_owner"] != "compute:nova" {
		t.Errorf("port as the user sees it: %v", mine)
	}
	if adm := first(t, get(t, c, admin, "/networking/v2.0/ports?device_id="+server), "ports"); adm["binding:host_id"] != "emulator" || adm["binding:vif_type"] != "ovs" {
		t.Errorf("port as an admin sees it: %v", adm)
	}
	// The user's own request may not bind.
	resp, body := call(t, c, demo, "POST", "/networking/v2.0/ports", map[string]any{"port": map[string]any{
		"network_id": nets.Networks[0].ID, "binding:host_id": "h"}})
	if resp.StatusCode != 403 || !strings.Contains(body, "PolicyNotAuthorized") {
		t.Errorf("binding by the user: %d %s", resp.StatusCode, body)
	}
	// Nova unbinds a port the user gave it, then deletes the one it made.
	if err := env.Do(ctx, core.Call{Identity: id, Service: "network", Method: "PUT", Path: "/v2.0/ports/" + created.Port.ID,
		Body: map[string]any{"port": map[string]any{"device_id": "", "device_owner": "", "binding:host_id": ""}}}, nil); err != nil {
		t.Fatal(err)
	}
	if p := get(t, c, admin, "/networking/v2.0/ports/"+created.Port.ID)["port"].(map[string]any); p["status"] != "DOWN" || p["binding:vif_type"] != "unbound" {
		t.Errorf("unbound port: %v", p)
	}
	if err := env.Do(ctx, core.Call{Identity: id, Service: "network", Method: "DELETE", Path: "/v2.0/ports/" + created.Port.ID}, nil); err != nil {
		t.Fatal(err)
	}
	err = env.Do(ctx, core.Call{Identity: id, Service: "network", Method: "DELETE", Path: "/v2.0/ports/" + created.Port.ID}, nil)
	if ce, ok := err.(*core.CallError); !ok || ce.Status != 404 || !strings.Contains(string(ce.Body), "PortNotFound") {
		t.Errorf("second delete: %v", err)
	}
}

// TestDelayedStatuses: a port given a device and an associated floating IP
// are DOWN for -delay, then ACTIVE.
func TestDelayedStatuses(t *testing.T) {
	c := start(t, emulator.Options{Delay: 300 * time.Millisecond})
	demo := token(t, c, "demo")
	net := first(t, get(t, c, demo, "/networking/v2.0/networks?name=private"), "networks")
	pub := first(t, get(t, c, demo, "/networking/v2.0/networks?name=public"), "networks")
	resp, body := call(t, c, demo, "POST", "/networking/v2.0/ports", map[string]any{"port": map[string]any{
		"network_id": net["id"], "device_owner": "compute:nova", "device_id": "srv"}})
	if resp.StatusCode != 201 || !strings.Contains(body, `"status":"DOWN"`) {
		t.Fatalf("port: %d %s", resp.StatusCode, body)
	}
	var port struct{ Port struct{ ID string } }
	_ = json.Unmarshal([]byte(body), &port)
	resp, body = call(t, c, demo, "POST", "/networking/v2.0/floatingips", map[string]any{"floatingip": map[string]any{
		"floating_network_id": pub["id"], "port_id": port.Port.ID}})
	if resp.StatusCode != 201 || !strings.Contains(body, `"status":"DOWN"`) {
		t.Fatalf("floating IP: %d %s", resp.StatusCode, body)
	}
	var fip struct{ Floatingip struct{ ID string } }
	_ = json.Unmarshal([]byte(body), &fip)
	time.Sleep(400 * time.Millisecond)
	if p := get(t, c, demo, "/networking/v2.0/ports/"+port.Port.ID)["port"].(map[string]any); p["status"] != "ACTIVE" {
		t.Errorf("port after the delay: %v", p["status"])
	}
	if f := get(t, c, demo, "/networking/v2.0/floatingips/"+fip.Floatingip.ID)["floatingip"].(map[string]any); f["status"] != "ACTIVE" {
		t.Errorf("floating IP after the delay: %v", f["status"])
	}
	// Disassociated: DOWN at once.
	resp, body = call(t, c, demo, "PUT", "/networking/v2.0/floatingips/"+fip.Floatingip.ID, map[string]any{"floatingip": map[string]any{"port_id": nil}})
	if resp.StatusCode != 200 || !strings.Contains(body, `"status":"DOWN"`) || !strings.Contains(body, `"port_id":null`) {
		t.Errorf("disassociate: %d %s", resp.StatusCode, body)
	}
}

// TestStartStateRestartReset: devstack's networks at start, kept across a
// restart with -state (not made twice), back after an admin reset.
func TestStartStateRestartReset(t *testing.T) {
	file := filepath.Join(t.TempDir(), "state.json")
	c1, err := emulator.Start(context.Background(), emulator.Options{Listen: "127.0.0.1:0", StateFile: file})
	if err != nil {
		t.Fatal(err)
	}
	demo := token(t, c1, "demo")
	nets := get(t, c1, demo, "/networking/v2.0/networks")["networks"].([]any)
	if len(nets) != 2 {
		t.Fatalf("demo's networks at start: %v", nets)
	}
	resp, body := call(t, c1, demo, "POST", "/networking/v2.0/networks", map[string]any{"network": map[string]any{"name": "kept"}})
	if resp.StatusCode != 201 {
		t.Fatal(body)
	}
	if err := c1.Close(); err != nil {
		t.Fatal(err)
	}
	c2 := start(t, emulator.Options{StateFile: file})
	nets = get(t, c2, demo, "/networking/v2.0/networks")["networks"].([]any)
	if len(nets) != 3 {
		t.Errorf("after a restart: %v", nets)
	}

	// A reset (on a cloud without -state: Keystone's reset after a restore
	// is Keystone's business) brings the start state back.
	c3 := start(t, emulator.Options{})
	demo, admin := token(t, c3, "demo"), token(t, c3, "admin")
	if resp, body := call(t, c3, demo, "DELETE", "/networking/v2.0/routers/"+first(t, get(t, c3, demo, "/networking/v2.0/routers"), "routers")["id"].(string), nil); resp.StatusCode != 409 {
		t.Errorf("deleting a router with an interface: %d %s", resp.StatusCode, body)
	}
	call(t, c3, demo, "POST", "/networking/v2.0/networks", map[string]any{"network": map[string]any{"name": "gone"}})
	if resp, body := call(t, c3, admin, "POST", "/_emulator/reset", nil); resp.StatusCode != 204 {
		t.Fatalf("reset: %d %s", resp.StatusCode, body)
	}
	if l := get(t, c3, demo, "/networking/v2.0/networks?name=gone")["networks"].([]any); len(l) != 0 {
		t.Errorf("a reset keeps %v", l)
	}
	v := get(t, c3, demo, "/networking/v2.0/networks?name=private&fields=name")
	if l := v["networks"].([]any); len(l) != 1 || fmt.Sprint(l[0]) != "map[name:private]" {
		t.Errorf("after a reset: %v", v)
	}
	res := get(t, c3, admin, "/_emulator/resources?service=network&type=router")["resources"].([]any)
	if len(res) != 2 {
		t.Errorf("routers in the admin listing: %v", res)
	}
}

// TestGarbageNeverAnswers500 sends every attribute of every resource with
// every JSON type, as a member and as an admin, to create and update.
func TestGarbageNeverAnswers500(t *testing.T) {
	c := start(t, emulator.Options{})
	demo, admin := token(t, c, "demo"), token(t, c, "admin")
	net := first(t, get(t, c, demo, "/networking/v2.0/networks?name=private"), "networks")["id"].(string)
	pub := first(t, get(t, c, demo, "/networking/v2.0/networks?name=public"), "networks")["id"].(string)
	sub := first(t, get(t, c, demo, "/networking/v2.0/subnets?name=private-subnet"), "subnets")["id"].(string)
	rtr := first(t, get(t, c, demo, "/networking/v2.0/routers"), "routers")["id"].(string)
	port := first(t, get(t, c, demo, "/networking/v2.0/ports"), "ports")["id"].(string)
	sg := first(t, get(t, c, demo, "/networking/v2.0/security-groups"), "security_groups")["id"].(string)
	values := []any{nil, 0, -1, 1.5, 70000, "x", "", "10.0.0.0/8", "::/0", "fa:16:3e:00:00:01", []any{}, []any{1}, []any{"x"},
		[]any{map[string]any{}}, []any{map[string]any{"subnet_id": sub, "ip_address": "10.0.0.9"}}, []any{map[string]any{"start": "1", "end": 2}},
		[]any{map[string]any{"destination": "0.0.0.0/0", "nexthop": "10.0.0.7"}}, map[string]any{}, map[string]any{"network_id": pub},
		map[string]any{"network_id": pub, "external_fixed_ips": 5}, true, false}
	type res struct {
		coll, one string
		base      map[string]any
		attrs     []string
		id        string
	}
	resources := []res{
		{"networks", "network", map[string]any{}, []string{"name", "admin_state_up", "shared", "router:external", "provider:network_type",
			"provider:physical_network", "provider:segmentation_id", "mtu", "port_security_enabled", "availability_zone_hints", "tenant_id", "project_id", "status"}, net},
		{"subnets", "subnet", map[string]any{"network_id": net, "ip_version": 4, "cidr": "10.9.0.0/24"}, []string{"network_id", "ip_version",
			"cidr", "gateway_ip", "allocation_pools", "dns_nameservers", "host_routes", "enable_dhcp", "ipv6_ra_mode", "ipv6_address_mode",
			"subnetpool_id", "prefixlen", "use_default_subnetpool", "service_types", "segment_id"}, sub},
		{"ports", "port", map[string]any{"network_id": net}, []string{"network_id", "fixed_ips", "mac_address", "device_owner", "device_id",
			"security_groups", "allowed_address_pairs", "port_security_enabled", "binding:host_id", "binding:profile", "binding:vnic_type", "tags", "admin_state_up"}, port},
		{"routers", "router", map[string]any{}, []string{"external_gateway_info", "routes", "distributed", "ha", "availability_zone_hints", "admin_state_up"}, rtr},
		{"floatingips", "floatingip", map[string]any{"floating_network_id": pub}, []string{"floating_network_id", "floating_ip_address",
			"subnet_id", "port_id", "fixed_ip_address", "description"}, ""},
		{"security-groups", "security_group", map[string]any{}, []string{"name", "description", "stateful"}, sg},
		{"security-group-rules", "security_group_rule", map[string]any{"security_group_id": sg, "direction": "ingress"}, []string{
			"security_group_id", "direction", "protocol", "port_range_min", "port_range_max", "ethertype", "remote_ip_prefix", "remote_group_id"}, ""},
		{"subnetpools", "subnetpool", map[string]any{"name": "p", "prefixes": []any{"10.50.0.0/16"}}, []string{"prefixes", "default_prefixlen",
			"min_prefixlen", "max_prefixlen", "is_default", "shared", "default_quota", "address_scope_id"}, ""},
	}
	send := func(tok, method, path string, body any) {
		resp, b := call(t, c, tok, method, path, body)
		if resp.StatusCode >= 500 {
			t.Errorf("%s %s %v: %d %s", method, path, body, resp.StatusCode, b)
		}
	}
	for _, r := range resources {
		for _, a := range r.attrs {
			for _, v := range values {
				in := map[string]any{}
				for k, bv := range r.base {
					in[k] = bv
				}
				in[a] = v
				for _, tok := range []string{demo, admin} {
					send(tok, "POST", "/networking/v2.0/"+r.coll, map[string]any{r.one: in})
					if r.id != "" {
						send(tok, "PUT", "/networking/v2.0/"+r.coll+"/"+r.id, map[string]any{r.one: map[string]any{a: v}})
					}
				}
			}
		}
	}
	for _, path := range []string{"/networking/v2.0/routers/" + rtr + "/add_router_interface", "/networking/v2.0/routers/" + rtr + "/remove_router_interface",
		"/networking/v2.0/routers/" + rtr + "/add_extraroutes", "/networking/v2.0/routers/" + rtr + "/remove_extraroutes",
		"/networking/v2.0/networks/" + net + "/tags", "/networking/v2.0/quotas/x", "/networking/v2.0/networks", "/networking/v2.0/ports/nope"} {
		for _, b := range []any{"", "{", "[]", "null", `"x"`, map[string]any{"subnet_id": 1}, map[string]any{"port_id": port},
			map[string]any{"subnet_id": sub}, map[string]any{"router": map[string]any{"routes": "x"}}, map[string]any{"router": map[string]any{"routes": []any{1}}},
			map[string]any{"tags": []any{1, "a", "a"}}, map[string]any{"quota": map[string]any{"network": "x", "port": -5}},
			map[string]any{"networks": []any{1}}, map[string]any{"networks": []any{map[string]any{"name": 1}}}} {
			for _, m := range []string{"PUT", "POST", "DELETE", "GET"} {
				send(admin, m, path, b)
				send(demo, m, path, b)
			}
		}
	}
	for _, q := range []string{"limit=x", "limit=-1", "marker=nope&limit=1", "sort_key=name", "sort_key=nope&sort_dir=asc", "sort_key=name&sort_dir=up",
		"fixed_ips=x", "fixed_ips=ip_address%3D10.0.0.1", "admin_state_up=maybe", "mtu=x", "tags=a,b&not-tags-any=c", "page_reverse=true&limit=1",
		"fields=id&fields=nope", "tenant_id=a&project_id=b", "%zz=1"} {
		for _, coll := range []string{"networks", "subnets", "ports", "routers", "floatingips", "security-groups", "security-group-rules", "subnetpools"} {
			send(demo, "GET", "/networking/v2.0/"+coll+"?"+q, nil)
		}
	}
}
