package emulator_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/openstack-service-broker/openstack-service-broker/pkg/emulator"
)

// TestNovaSDK: flavors (with extra specs and access), keypairs and a
// server's whole life through openstacksdk: actions, metadata, tags, a
// server group, a snapshot to Glance, quotas, errors and isolation.
func TestNovaSDK(t *testing.T) {
	t.Parallel()
	c := StartCloud(t)
	out := asMap(t, c.Python(t, `
demo = connect("emulator")
admin = connect("emulator-admin")
alt = connect("emulator-alt")
res = {}
# flavors
res["flavors"] = sorted(f.name for f in demo.compute.flavors())
f = admin.compute.create_flavor(name="sdk.flavor", ram=256, vcpus=1, disk=1, is_public=False)
admin.compute.create_flavor_extra_specs(f, {"hw:cpu_policy": "dedicated"})
res["specs"] = admin.compute.fetch_flavor_extra_specs(f).extra_specs
res["demo_sees_private"] = "sdk.flavor" in [x.name for x in demo.compute.flavors()]
admin.compute.flavor_add_tenant_access(f, demo.current_project_id)
res["demo_sees_shared"] = "sdk.flavor" in [x.name for x in demo.compute.flavors()]
res["access"] = [a["tenant_id"] == demo.current_project_id for a in admin.compute.get_flavor_access(f)]
res["demo_create_flavor"] = http_error(lambda: demo.compute.create_flavor(name="x", ram=1, vcpus=1, disk=1))
res["dup_flavor"] = http_error(lambda: admin.compute.create_flavor(name="sdk.flavor", ram=1, vcpus=1, disk=1))
admin.compute.delete_flavor(f)
res["flavor_gone"] = http_error(lambda: admin.compute.get_flavor(f.id))
bm = demo.compute.find_flavor("baremetal")
res["bm_specs"] = demo.compute.fetch_flavor_extra_specs(bm).extra_specs
# keypairs
kp = demo.compute.create_keypair(name="sdk-kp")
res["private"] = kp.private_key.startswith("-----BEGIN")
res["kp_fp"] = demo.compute.get_keypair("sdk-kp").fingerprint == kp.fingerprint
res["kp_dup"] = http_error(lambda: demo.compute.create_keypair(name="sdk-kp"))
imp = demo.compute.create_keypair(name="imported", public_key=kp.public_key)
res["imported_fp"] = imp.fingerprint == kp.fingerprint
res["bad_key"] = http_error(lambda: demo.compute.create_keypair(name="bad", public_key="ssh-rsa notbase64"))
res["kp_names"] = sorted(k.name for k in demo.compute.keypairs())
res["alt_kp"] = [k.name for k in alt.compute.keypairs()]
res["alt_get_kp"] = http_error(lambda: alt.compute.get_keypair("sdk-kp"))
# a server group and a server
img = demo.image.find_image("cirros-0.6.2-x86_64-disk")
g = demo.compute.create_server_group(name="grp", policy="anti-affinity")
s = demo.compute.create_server(name="sdk-srv", image_id=img.id, flavor_id="1", networks="none", key_name="sdk-kp",
                               metadata={"a": "1"}, scheduler_hints={"group": g.id}, user_data="aGVsbG8=")
s = demo.compute.wait_for_server(s, wait=30)
res["status"] = s.status
res["group_members"] = demo.compute.get_server_group(g.id).member_ids == [s.id]
res["listed"] = [x.name for x in demo.compute.servers()]
demo.compute.update_server(s, name="sdk-srv2")
demo.compute.set_server_metadata(s, b="2")
res["meta"] = dict(demo.compute.get_server_metadata(s).metadata)
demo.compute.delete_server_metadata(s, ["a"])
s = demo.compute.get_server(s.id)
res["tag_2_1"] = demo.compute.put("/servers/%s/tags/t1" % s.id).status_code  # tags need 2.26: Nova says 404
res["tag_put"] = demo.compute.put("/servers/%s/tags/t1" % s.id, microversion="2.26").status_code
res["tags"] = demo.compute.get_server(s.id).tags
demo.compute.stop_server(s); demo.compute.wait_for_server(s, status="SHUTOFF", wait=30)
res["start_twice"] = http_error(lambda: demo.compute.stop_server(s))
demo.compute.start_server(s); demo.compute.wait_for_server(s, status="ACTIVE", wait=30)
demo.compute.reboot_server(s, "HARD"); demo.compute.wait_for_server(s, status="ACTIVE", wait=30)
demo.compute.pause_server(s); demo.compute.wait_for_server(s, status="PAUSED", wait=30)
demo.compute.unpause_server(s); demo.compute.wait_for_server(s, status="ACTIVE", wait=30)
demo.compute.suspend_server(s); demo.compute.wait_for_server(s, status="SUSPENDED", wait=30)
demo.compute.resume_server(s); demo.compute.wait_for_server(s, status="ACTIVE", wait=30)
demo.compute.lock_server(s, locked_reason="testing")
res["locked"] = [demo.compute.get_server(s.id).is_locked, http_error(lambda: demo.compute.delete_server(s))]
demo.compute.unlock_server(s)
demo.compute.resize_server(s, "2"); demo.compute.wait_for_server(s, status="VERIFY_RESIZE", wait=30)
demo.compute.revert_server_resize(s); s = demo.compute.wait_for_server(s, status="ACTIVE", wait=30)
res["flavor_after_revert"] = s.flavor.original_name
demo.compute.resize_server(s, "2"); demo.compute.wait_for_server(s, status="VERIFY_RESIZE", wait=30)
demo.compute.confirm_server_resize(s); s = demo.compute.wait_for_server(s, status="ACTIVE", wait=30)
res["flavor_after_confirm"] = s.flavor.original_name
res["same_flavor"] = http_error(lambda: demo.compute.resize_server(s, "2"))
demo.compute.rebuild_server(s, image=img.id, name="rebuilt"); s = demo.compute.wait_for_server(s, status="ACTIVE", wait=30)
res["rebuilt"] = s.name
snap = demo.compute.create_server_image(s, name="sdk-snap", wait=True)
res["snap"] = [snap.status, snap.properties.get("image_type") if snap.properties else None]
res["console"] = "login:" in demo.compute.get_server_console_output(s)["output"]
demo.compute.shelve_server(s); demo.compute.wait_for_server(s, status="SHELVED_OFFLOADED", wait=30)
demo.compute.unshelve_server(s); demo.compute.wait_for_server(s, status="ACTIVE", wait=30)
# isolation and errors
res["alt_list"] = [x.id for x in alt.compute.servers()]
res["alt_get"] = http_error(lambda: alt.compute.get_server(s.id))
res["alt_delete"] = http_error(lambda: alt.compute.delete_server(s, ignore_missing=False))
res["alt_stop"] = http_error(lambda: alt.compute.stop_server(s.id))
res["admin_all"] = s.id in [x.id for x in admin.compute.servers(all_projects=True)]
res["missing"] = http_error(lambda: demo.compute.get_server("00000000-0000-0000-0000-000000000000"))
res["bad_flavor"] = http_error(lambda: demo.compute.create_server(name="x", image_id=img.id, flavor_id="nope", networks="none"))
res["bad_image"] = http_error(lambda: demo.compute.create_server(name="x", image_id="00000000-0000-0000-0000-000000000000", flavor_id="1", networks="none"))
res["bad_key_name"] = http_error(lambda: demo.compute.create_server(name="x", image_id=img.id, flavor_id="1", networks="none", key_name="nope"))
res["over_quota"] = http_error(lambda: demo.compute.create_server(name="big", image_id=img.id, flavor_id="4", networks="none", min_count=6))
res["limits"] = demo.compute.get_limits().absolute.instances_used
demo.compute.delete_server(s); demo.compute.wait_for_delete(s, wait=30)
res["gone"] = http_error(lambda: demo.compute.get_server(s.id))
res["group_after"] = demo.compute.get_server_group(g.id).member_ids
demo.compute.delete_server_group(g)
res["group_gone"] = http_error(lambda: demo.compute.get_server_group(g.id))
demo.compute.delete_keypair("sdk-kp")
res["kp_gone"] = http_error(lambda: demo.compute.get_keypair("sdk-kp"))
emit(res)
`))
	want := map[string]string{
		"flavors":              "[baremetal m1.large m1.medium m1.small m1.tiny]",
		"specs":                "map[hw:cpu_policy:dedicated]",
		"demo_sees_private":    "false",
		"demo_sees_shared":     "true",
		"access":               "[true]",
		"bm_specs":             "map[resources:CUSTOM_BAREMETAL:1 resources:DISK_GB:0 resources:MEMORY_MB:0 resources:VCPU:0]",
		"private":              "true",
		"kp_fp":                "true",
		"imported_fp":          "true",
		"kp_names":             "[imported sdk-kp]",
		"alt_kp":               "[]",
		"status":               "ACTIVE",
		"group_members":        "true",
		"listed":               "[sdk-srv]",
		"meta":                 "map[a:1 b:2]",
		"tags":                 "[t1]",
		"tag_2_1":              "404",
		"tag_put":              "201",
		"flavor_after_revert":  "m1.tiny",
		"flavor_after_confirm": "m1.small",
		"rebuilt":              "rebuilt",
		"snap":                 "[active snapshot]",
		"console":              "true",
		"alt_list":             "[]",
		"admin_all":            "true",
		"limits":               "1",
		"group_after":          "[]",
	}
	for k, v := range want {
		if got := fmt.Sprint(out[k]); got != v {
			t.Errorf("%s = %s, want %s", k, got, v)
		}
	}
	for k, status := range map[string]float64{"demo_create_flavor": 403, "dup_flavor": 409, "flavor_gone": 404, "kp_dup": 409,
		"bad_key": 400, "alt_get_kp": 404, "start_twice": 409, "same_flavor": 400, "alt_get": 404, "alt_delete": 404,
		"alt_stop": 404, "missing": 404, "bad_flavor": 400, "bad_image": 400, "bad_key_name": 400, "over_quota": 403,
		"gone": 404, "group_gone": 404, "kp_gone": 404} {
		if got := asMap(t, out[k])["status"]; got != status {
			t.Errorf("%s: %v, want %v", k, out[k], status)
		}
	}
	if l := asList(t, out["locked"]); l[0] != true || asMap(t, l[1])["status"] != float64(409) {
		t.Errorf("locked: %v", l)
	}
	if m := fmt.Sprint(asMap(t, out["over_quota"])["message"]); !strings.Contains(m, "Quota exceeded for") {
		t.Errorf("over quota: %s", m)
	}
}

// TestNovaBareMetal: a server of the bare-metal flavor is placed on an
// available Ironic node (deploying -> active, instance_uuid set), frees it
// on delete (cleaning -> available), and goes to ERROR with Nova's "No
// valid host" fault when no node is free.
func TestNovaBareMetal(t *testing.T) {
	t.Parallel()
	c := StartCloud(t, func(o *emulator.Options) { o.Delay = 300 * time.Millisecond })
	out := asMap(t, c.Python(t, `
import time
demo = connect("emulator")
admin = connect("emulator-admin")
res = {}
img = demo.image.find_image("cirros-0.6.2-x86_64-disk")
nodes = list(admin.baremetal.nodes(details=True))
res["nodes"] = sorted((n.provision_state, n.resource_class, n.properties["memory_mb"]) for n in nodes)
# two of three nodes into maintenance: one left
for n in nodes[1:]:
    admin.baremetal.set_node_maintenance(n, reason="test")
s = demo.compute.create_server(name="bm1", image_id=img.id, flavor_id="bm1", networks="none")
res["build"] = demo.compute.get_server(s.id).status
node = admin.baremetal.get_node(nodes[0].id)
res["deploying"] = [node.provision_state, node.instance_id == s.id]
s = demo.compute.wait_for_server(s, wait=30)
node = admin.baremetal.get_node(nodes[0].id)
res["active"] = [s.status, node.provision_state, node.power_state]
res["hypervisor"] = admin.compute.get_server(s.id).hypervisor_hostname == nodes[0].id
s2 = demo.compute.create_server(name="bm2", image_id=img.id, flavor_id="bm1", networks="none")
try:
    demo.compute.wait_for_server(s2, wait=30)
    res["second"] = "active"
except Exception as e:
    raw = demo.compute.get("/servers/" + s2.id).json()["server"]
    res["second"] = [raw["status"], raw["fault"]["message"], raw["fault"]["code"]]
demo.compute.stop_server(s); demo.compute.wait_for_server(s, status="SHUTOFF", wait=30)
res["powered_off"] = admin.baremetal.get_node(nodes[0].id).power_state
demo.compute.delete_server(s); demo.compute.wait_for_delete(s, wait=30)
demo.compute.delete_server(s2); demo.compute.wait_for_delete(s2, wait=30)
node = admin.baremetal.get_node(nodes[0].id)
res["after_delete"] = [node.provision_state, node.instance_id]
node = admin.baremetal.wait_for_nodes_provision_state([nodes[0].id], "available", timeout=30)[0]
res["available"] = [node.provision_state, node.instance_id]
emit(res)
`))
	want := map[string]string{
		"nodes":       "[[available baremetal 1024] [available baremetal 1024] [available baremetal 1024]]",
		"build":       "BUILD",
		"deploying":   "[deploying true]",
		"active":      "[ACTIVE active power on]",
		"hypervisor":  "true",
		"second":      "[ERROR No valid host was found. There are not enough hosts available. 500]",
		"powered_off": "power off",
		"available":   "[available <nil>]",
	}
	for k, v := range want {
		if got := fmt.Sprint(out[k]); got != v {
			t.Errorf("%s = %s, want %s", k, got, v)
		}
	}
	if a := asList(t, out["after_delete"]); a[0] != "cleaning" && a[0] != "available" || a[1] != nil {
		t.Errorf("after delete: %v", a)
	}
}

// TestNovaCLI: flavors, keypairs, a server, server groups, limits and
// quotas through the openstack CLI (which speaks 2.1 unless told).
func TestNovaCLI(t *testing.T) {
	t.Parallel()
	c := StartCloud(t)
	if f := findBy(t, c.CLI(t, "emulator", "flavor", "list"), "Name", "baremetal"); f == nil || f["RAM"] != float64(1024) {
		t.Errorf("flavor list: %v", f)
	}
	fl := asMap(t, c.CLI(t, "emulator-admin", "flavor", "create", "--ram", "128", "--vcpus", "1", "--disk", "1",
		"--private", "--property", "hw:mem_page_size=small", "cli.flavor"))
	if fl["os-flavor-access:is_public"] != false || !strings.Contains(fmt.Sprint(fl["properties"]), "hw:mem_page_size") {
		t.Errorf("flavor create: %v", fl)
	}
	c.CLINoFormat(t, "emulator-admin", "flavor", "set", "--project", "demo", "cli.flavor")
	if sh := asMap(t, c.CLI(t, "emulator", "flavor", "show", "cli.flavor")); sh["ram"] != float64(128) {
		t.Errorf("flavor show: %v", sh)
	}
	c.CLINoFormat(t, "emulator-admin", "flavor", "delete", "cli.flavor")

	key := filepath.Join(c.Dir, "kp.pem")
	c.CLINoFormat(t, "emulator", "keypair", "create", "--private-key", key, "cli-kp")
	_ = os.Chmod(key, 0o600)
	if b, err := os.ReadFile(key); err != nil || !strings.HasPrefix(string(b), "-----BEGIN") {
		t.Errorf("private key: %v %q", err, b)
	} else if _, err := exec.LookPath("ssh-keygen"); err == nil {
		if out, err := exec.Command("ssh-keygen", "-y", "-f", key).CombinedOutput(); err != nil || !strings.HasPrefix(string(out), "ssh-rsa ") {
			t.Errorf("ssh-keygen -y: %v %s", err, out)
		}
	}
	if kp := asMap(t, c.CLI(t, "emulator", "keypair", "show", "cli-kp")); kp["name"] != "cli-kp" || kp["fingerprint"] == "" {
		t.Errorf("keypair show: %v", kp)
	}
	if e := c.CLIFails(t, "emulator", "keypair", "create", "cli-kp"); !strings.Contains(e, "409") {
		t.Errorf("duplicate keypair: %s", e)
	}
	if findBy(t, c.CLI(t, "emulator-alt", "keypair", "list"), "Name", "cli-kp") != nil {
		t.Error("alt lists demo's keypair")
	}

	srv := asMap(t, c.CLI(t, "emulator", "--os-compute-api-version", "2.latest", "server", "create", "--flavor", "m1.tiny",
		"--image", "cirros-0.6.2-x86_64-disk", "--network", "private", "--key-name", "cli-kp", "--property", "role=web",
		"--tag", "cli", "--wait", "cli-srv"))
	id := fmt.Sprint(srv["id"])
	if srv["status"] != "ACTIVE" || srv["key_name"] != "cli-kp" {
		t.Errorf("server create: %v", srv)
	}
	// Security groups: the CLI finds the group through Nova's
	// os-security-groups proxy (GET by name: 400, then the list), then
	// sends addSecurityGroup/removeSecurityGroup with its id.
	c.CLI(t, "emulator", "security", "group", "create", "cli-sg")
	c.CLINoFormat(t, "emulator", "server", "add", "security", "group", id, "cli-sg")
	c.CLINoFormat(t, "emulator", "server", "remove", "security", "group", id, "default")
	if e := c.CLIFails(t, "emulator", "server", "remove", "security", "group", id, "default"); !strings.Contains(e, "not associated with the instance") {
		t.Errorf("removing a group the server does not have: %s", e)
	}
	c.CLINoFormat(t, "emulator", "server", "set", "--name", "cli-srv2", "--property", "tier=1", id)
	sh := asMap(t, c.CLI(t, "emulator", "server", "show", id))
	if sh["name"] != "cli-srv2" || !strings.Contains(fmt.Sprint(sh["properties"]), "tier") {
		t.Errorf("server show: %v", sh)
	}
	if sgs := fmt.Sprint(sh["security_groups"]); !strings.Contains(sgs, "cli-sg") || strings.Contains(sgs, "default") {
		t.Errorf("server show: security groups %s, want cli-sg only", sgs)
	}
	if findBy(t, c.CLI(t, "emulator", "server", "list"), "ID", id) == nil {
		t.Error("server list lacks the server")
	}
	c.CLINoFormat(t, "emulator", "server", "stop", id)
	if log := c.CLINoFormat(t, "emulator", "console", "log", "show", id); !strings.Contains(log, "login:") {
		t.Errorf("console log: %s", log)
	}
	if e := c.CLIFails(t, "emulator-alt", "server", "show", id); !strings.Contains(e, "No server with a name or ID") {
		t.Errorf("alt server show: %s", e)
	}
	if e := c.CLIFails(t, "emulator-alt", "server", "delete", id); !strings.Contains(e, "No server with a name or ID") {
		t.Errorf("alt server delete: %s", e)
	}

	g := asMap(t, c.CLI(t, "emulator", "server", "group", "create", "--policy", "affinity", "cli-grp"))
	if g["policy"] != "affinity" && !strings.Contains(fmt.Sprint(g["policies"]), "affinity") {
		t.Errorf("server group create: %v", g)
	}
	c.CLINoFormat(t, "emulator", "server", "group", "delete", "cli-grp")
	c.CLINoFormat(t, "emulator-admin", "quota", "set", "--instances", "1", "demo")
	if e := c.CLIFails(t, "emulator", "--os-compute-api-version", "2.latest", "server", "create", "--flavor", "m1.tiny",
		"--image", "cirros-0.6.2-x86_64-disk", "--network", "none", "over"); !strings.Contains(e, "Quota exceeded for instances") {
		t.Errorf("over quota: %s", e)
	}
	c.CLINoFormat(t, "emulator", "server", "delete", "--wait", id)
	c.CLINoFormat(t, "emulator", "keypair", "delete", "cli-kp")
	if e := c.CLIFails(t, "emulator", "server", "show", id); !strings.Contains(e, "No server with a name or ID") {
		t.Errorf("deleted server: %s", e)
	}
}

// TestNovaShapes: what the clients hide: discovery, microversion headers,
// Nova's fault bodies and schema messages, pagination links, policy.
func TestNovaShapes(t *testing.T) {
	t.Parallel()
	c := StartCloud(t)
	resp, body := c.HTTP(t, "", "GET", "/compute/", nil)
	if resp.StatusCode != 200 || !strings.Contains(string(body), `"version":"`+"2.95"+`"`) || !strings.Contains(string(body), c.URL()+"/compute/v2.1/") {
		t.Errorf("discovery: %d %s", resp.StatusCode, body)
	}
	tok := c.Token(t, "demo")
	resp, body = c.HTTP(t, tok, "GET", "/compute/v2.1/flavors?limit=2", nil, "OpenStack-API-Version", "compute 2.61")
	if resp.Header.Get("OpenStack-API-Version") != "compute 2.61" || resp.Header.Get("X-OpenStack-Nova-API-Version") != "2.61" ||
		!strings.Contains(string(body), `"flavors_links":[{"href":"`+c.URL()+`/compute/v2.1/flavors?limit=2\u0026marker=2"`) {
		t.Errorf("flavors page: %v %s", resp.Header, body)
	}
	if resp, body = c.HTTP(t, tok, "GET", "/compute/v2.1/flavors", nil, "OpenStack-API-Version", "compute 2.200"); resp.StatusCode != 406 {
		t.Errorf("2.200: %d %s", resp.StatusCode, body)
	}
	resp, body = c.HTTP(t, tok, "GET", "/compute/v2.1/servers/nope", nil)
	if resp.StatusCode != 404 || string(body) != `{"itemNotFound":{"code":404,"message":"Instance nope could not be found."}}` ||
		resp.Header.Get("X-Compute-Request-Id") == "" {
		t.Errorf("404: %d %s %v", resp.StatusCode, body, resp.Header)
	}
	resp, body = c.HTTP(t, tok, "POST", "/compute/v2.1/servers", map[string]any{"server": map[string]any{"name": "x", "flavorRef": "1", "bogus": 1}},
		"OpenStack-API-Version", "compute 2.1")
	if resp.StatusCode != 400 || !strings.Contains(string(body), `Additional properties are not allowed ('bogus' was unexpected)`) {
		t.Errorf("unknown field: %d %s", resp.StatusCode, body)
	}
	resp, body = c.HTTP(t, tok, "POST", "/compute/v2.1/servers", map[string]any{"server": map[string]any{"name": "x", "flavorRef": "1", "imageRef": "x"}},
		"OpenStack-API-Version", "compute 2.37")
	if resp.StatusCode != 400 || !strings.Contains(string(body), `'networks' is a required property`) {
		t.Errorf("networks required: %d %s", resp.StatusCode, body)
	}
	if resp, body = c.HTTP(t, tok, "POST", "/compute/v2.1/os-keypairs", "{not json"); resp.StatusCode != 400 {
		t.Errorf("malformed: %d %s", resp.StatusCode, body)
	}
	resp, body = c.HTTP(t, tok, "GET", "/compute/v2.1/os-hypervisors", nil)
	if resp.StatusCode != 403 || !strings.Contains(string(body), `"forbidden"`) {
		t.Errorf("hypervisors as member: %d %s", resp.StatusCode, body)
	}
	resp, body = c.HTTP(t, tok, "POST", "/compute/v2.1/os-keypairs", map[string]any{"keypair": map[string]any{"name": "x"}},
		"OpenStack-API-Version", "compute 2.92")
	if resp.StatusCode != 400 || !strings.Contains(string(body), `'public_key' is a required property`) {
		t.Errorf("2.92 generation: %d %s", resp.StatusCode, body)
	}
	resp, body = c.HTTP(t, tok, "POST", "/compute/v2.1/servers/x/action", map[string]any{"addFloatingIp": map[string]any{"address": "1.2.3.4"}},
		"OpenStack-API-Version", "compute 2.44")
	if resp.StatusCode != 404 {
		t.Errorf("addFloatingIp at 2.44: %d %s", resp.StatusCode, body)
	}
	resp, body = c.HTTP(t, c.Token(t, "alt"), "GET", "/compute/v2.1/os-quota-sets/"+strings.Repeat("0", 32), nil)
	if resp.StatusCode != 403 {
		t.Errorf("another project's quotas: %d %s", resp.StatusCode, body)
	}
	if resp, _ = c.HTTP(t, tok, "DELETE", "/compute/v2.1/flavors", nil); resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("DELETE /flavors: %d", resp.StatusCode)
	}

	// The os-security-groups proxy to Neutron (to 2.35).
	const sgs = "/compute/v2.1/os-security-groups"
	resp, body = c.HTTP(t, tok, "POST", sgs, map[string]any{"security_group": map[string]any{"name": "web", "description": "w"}})
	var created struct {
		SG struct {
			ID       string `json:"id"`
			TenantID string `json:"tenant_id"`
		} `json:"security_group"`
	}
	if resp.StatusCode != 200 || json.Unmarshal(body, &created) != nil || created.SG.ID == "" {
		t.Fatalf("proxy create: %d %s", resp.StatusCode, body)
	}
	sg := created.SG.ID
	resp, body = c.HTTP(t, tok, "POST", "/compute/v2.1/os-security-group-rules", map[string]any{"security_group_rule": map[string]any{
		"parent_group_id": sg, "ip_protocol": "tcp", "from_port": 22, "to_port": 22, "cidr": "10.0.0.0/8"}})
	if resp.StatusCode != 200 || !strings.Contains(string(body), `"ip_range":{"cidr":"10.0.0.0/8"}`) || !strings.Contains(string(body), `"from_port":22`) {
		t.Errorf("proxy rule create: %d %s", resp.StatusCode, body)
	}
	var rule struct {
		Rule struct{ ID string } `json:"security_group_rule"`
	}
	_ = json.Unmarshal(body, &rule)
	if resp, body = c.HTTP(t, tok, "POST", "/compute/v2.1/os-security-group-rules", map[string]any{"security_group_rule": map[string]any{
		"parent_group_id": sg, "ip_protocol": "tcp", "from_port": 30, "to_port": 20}}); resp.StatusCode != 400 || !strings.Contains(string(body), "Invalid port range 30:20") {
		t.Errorf("proxy rule with a bad range: %d %s", resp.StatusCode, body)
	}
	resp, body = c.HTTP(t, tok, "GET", sgs+"/"+sg, nil)
	if resp.StatusCode != 200 || !strings.Contains(string(body), `"name":"web"`) || !strings.Contains(string(body), `"parent_group_id":"`+sg+`"`) {
		t.Errorf("proxy show: %d %s", resp.StatusCode, body)
	}
	if resp, body = c.HTTP(t, tok, "PUT", sgs+"/"+sg, map[string]any{"security_group": map[string]any{"name": "web2", "description": "w"}}); resp.StatusCode != 200 || !strings.Contains(string(body), `"name":"web2"`) {
		t.Errorf("proxy update: %d %s", resp.StatusCode, body)
	}
	resp, body = c.HTTP(t, tok, "GET", sgs, nil)
	if resp.StatusCode != 200 || !strings.Contains(string(body), `"name":"default"`) || !strings.Contains(string(body), `"name":"web2"`) {
		t.Errorf("proxy list: %d %s", resp.StatusCode, body)
	}
	if resp, body = c.HTTP(t, tok, "GET", sgs+"/default", nil); resp.StatusCode != 400 || !strings.Contains(string(body), "Security group id should be uuid") {
		t.Errorf("proxy show by name: %d %s", resp.StatusCode, body)
	}
	if resp, body = c.HTTP(t, c.Token(t, "alt"), "GET", sgs+"/"+sg, nil); resp.StatusCode != 404 {
		t.Errorf("alt shows demo's group through the proxy: %d %s", resp.StatusCode, body)
	}
	if resp, body = c.HTTP(t, tok, "GET", sgs, nil, "OpenStack-API-Version", "compute 2.36"); resp.StatusCode != 404 {
		t.Errorf("the proxy at 2.36: %d %s", resp.StatusCode, body)
	}
	if resp, body = c.HTTP(t, tok, "DELETE", "/compute/v2.1/os-security-group-rules/"+rule.Rule.ID, nil); resp.StatusCode != 202 {
		t.Errorf("proxy rule delete: %d %s", resp.StatusCode, body)
	}
	if resp, body = c.HTTP(t, tok, "DELETE", sgs+"/"+sg, nil); resp.StatusCode != 202 {
		t.Errorf("proxy delete: %d %s", resp.StatusCode, body)
	}
	if resp, body = c.HTTP(t, tok, "GET", sgs+"/"+sg, nil); resp.StatusCode != 404 {
		t.Errorf("proxy show after delete: %d %s", resp.StatusCode, body)
	}
}

// TestNovaAnsible: the openstack.cloud modules a compute bundle uses
// besides the server, in openstack-apb: keypair(_info),
// compute_flavor(_info), server_group (the server: TestNovaAnsibleServer;
// bare metal: TestNovaBareMetal; volumes: TestNovaVolumesAnsible). Short
// playbooks: each run must end well within the harness's client bound on
// a loaded 2-core machine.
func TestNovaAnsible(t *testing.T) {
	t.Parallel()
	c := StartCloud(t)
	r := c.Ansible(t, `
- hosts: localhost
  gather_facts: false
  tasks:
    - name: keypair
      openstack.cloud.keypair: {cloud: emulator, name: ans-kp}
    - name: keypair again
      openstack.cloud.keypair: {cloud: emulator, name: ans-kp}
    - name: keypair info
      openstack.cloud.keypair_info: {cloud: emulator, name: ans-kp}
    - name: alt keypair info
      openstack.cloud.keypair_info: {cloud: emulator-alt, name: ans-kp}
    - name: flavor
      openstack.cloud.compute_flavor: {cloud: emulator-admin, name: ans.flavor, ram: 256, vcpus: 1, disk: 1, extra_specs: {"hw:cpu_policy": shared}}
    - name: flavor as member
      openstack.cloud.compute_flavor: {cloud: emulator, name: ans.member, ram: 256, vcpus: 1, disk: 1}
      ignore_errors: true
    - name: flavor info
      openstack.cloud.compute_flavor_info: {cloud: emulator, name: ans.flavor}
    - name: server group
      openstack.cloud.server_group: {cloud: emulator, name: ans-grp, policies: [anti-affinity]}
    - name: delete group
      openstack.cloud.server_group: {cloud: emulator, name: ans-grp, state: absent}
    - name: delete flavor
      openstack.cloud.compute_flavor: {cloud: emulator-admin, name: ans.flavor, state: absent}
    - name: delete keypair
      openstack.cloud.keypair: {cloud: emulator, name: ans-kp, state: absent}
    - name: keypair info after delete
      openstack.cloud.keypair_info: {cloud: emulator, name: ans-kp}
`)
	kp := asMap(t, r.OK(t, "keypair")["key"])
	if !strings.HasPrefix(fmt.Sprint(kp["private_key"]), "-----BEGIN") {
		t.Errorf("keypair: %v", kp)
	}
	if again := r.OK(t, "keypair again"); again["changed"] != false {
		t.Errorf("keypair again changed: %v", again)
	}
	if info := r.OK(t, "keypair info"); !strings.Contains(fmt.Sprint(info["openstack_keypairs"]), "ans-kp") {
		t.Errorf("keypair info: %v", info)
	}
	if info := fmt.Sprint(r.OK(t, "alt keypair info")["openstack_keypairs"]); info != "[]" {
		t.Errorf("alt keypair info: %s", info)
	}
	r.OK(t, "flavor")
	if msg := r.Failed(t, "flavor as member"); !strings.Contains(msg, "403") {
		t.Errorf("flavor as member: %s", msg)
	}
	if info := r.OK(t, "flavor info"); !strings.Contains(fmt.Sprint(info["openstack_flavors"]), "hw:cpu_policy") {
		t.Errorf("flavor info: %v", info)
	}
	if g := r.OK(t, "server group"); !strings.Contains(fmt.Sprint(g["server_group"]), "anti-affinity") {
		t.Errorf("server group: %v", g)
	}
	r.OK(t, "delete group")
	r.OK(t, "delete flavor")
	r.OK(t, "delete keypair")
	if info := fmt.Sprint(r.OK(t, "keypair info after delete")["openstack_keypairs"]); info != "[]" {
		t.Errorf("keypair info after delete: %s", info)
	}
}

// TestNovaAnsibleServer: openstack.cloud.server (on the project's private
// network with a floating IP), server_info, server_metadata,
// server_action, a bad flavor, and the delete with its floating IP.
func TestNovaAnsibleServer(t *testing.T) {
	t.Parallel()
	c := StartCloud(t)
	r := c.Ansible(t, `
- hosts: localhost
  gather_facts: false
  tasks:
    - name: server
      openstack.cloud.server:
        cloud: emulator
        name: ans-srv
        image: cirros-0.6.2-x86_64-disk
        flavor: m1.tiny
        network: private
        auto_ip: true
        meta: {role: web}
        timeout: 60
    - name: server info
      openstack.cloud.server_info: {cloud: emulator, server: ans-srv}
    - name: alt server info
      openstack.cloud.server_info: {cloud: emulator-alt, server: ans-srv}
    - name: server metadata
      openstack.cloud.server_metadata: {cloud: emulator, server: ans-srv, meta: {tier: front}}
    - name: stop
      openstack.cloud.server_action: {cloud: emulator, server: ans-srv, action: stop, timeout: 60}
    - name: start
      openstack.cloud.server_action: {cloud: emulator, server: ans-srv, action: start, timeout: 60}
    - name: bad flavor
      openstack.cloud.server: {cloud: emulator, name: ans-bad, image: cirros-0.6.2-x86_64-disk, flavor: nope, network: private}
      ignore_errors: true
    - name: delete server
      openstack.cloud.server: {cloud: emulator, name: ans-srv, state: absent, delete_fip: true, timeout: 60}
    - name: info after delete
      openstack.cloud.server_info: {cloud: emulator, server: ans-srv}
`)
	srv := asMap(t, r.OK(t, "server")["server"])
	if srv["status"] != "ACTIVE" || srv["public_v4"] == "" || srv["private_v4"] == "" {
		t.Errorf("server: %v", srv)
	}
	if info := fmt.Sprint(r.OK(t, "server info")["openstack_servers"]); !strings.Contains(info, "ans-srv") || !strings.Contains(info, "role") {
		t.Errorf("server info: %s", info)
	}
	if info := fmt.Sprint(r.OK(t, "alt server info")["openstack_servers"]); info != "[]" {
		t.Errorf("alt server info: %s", info)
	}
	r.OK(t, "server metadata")
	for _, a := range []string{"stop", "start"} {
		if res := r.OK(t, a); res["changed"] != true {
			t.Errorf("%s: %v", a, res)
		}
	}
	if msg := r.Failed(t, "bad flavor"); !strings.Contains(msg, "nope") {
		t.Errorf("bad flavor: %s", msg)
	}
	r.OK(t, "delete server")
	if info := fmt.Sprint(r.OK(t, "info after delete")["openstack_servers"]); info != "[]" {
		t.Errorf("after delete: %s", info)
	}
	// The floating IP went with the server.
	resp, body := c.HTTP(t, c.Token(t, "demo"), "GET", "/networking/v2.0/floatingips", nil)
	if resp.StatusCode != 200 || strings.Contains(string(body), `"floating_ip_address"`) {
		t.Errorf("floating IPs after the server's delete (delete_fip): %d %s", resp.StatusCode, body)
	}
}
