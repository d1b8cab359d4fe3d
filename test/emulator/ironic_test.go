package emulator_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/openstack-service-broker/openstack-service-broker/pkg/emulator"
)

// TestIronicSDK: a node's enrolment to deletion through openstacksdk
// (create, patch, manage, provide with the transient cleaning state,
// power, maintenance, validate, deploy and undeploy), ports, drivers,
// the errors, and that a project member is refused (admin only).
func TestIronicSDK(t *testing.T) {
	t.Parallel()
	c := StartCloud(t, func(o *emulator.Options) { o.Delay = 300 * time.Millisecond })
	out := asMap(t, c.Python(t, `
admin = connect("emulator-admin")
demo = connect("emulator")
# The SDK retries Ironic's 409 (a locked node) for about 15 s; the 409s
# this test expects are answered at once.
strict = connect("emulator-admin", baremetal_status_code_retries=0)
res = {}
res["drivers"] = sorted(d.name for d in admin.baremetal.drivers())
res["driver_404"] = http_error(lambda: admin.baremetal.get_driver("nope"))
n = admin.baremetal.create_node(driver="ipmi", name="sdk-node", resource_class="baremetal", provision_state="enroll",
                                properties={"cpus": 2, "memory_mb": 2048, "local_gb": 20, "cpu_arch": "x86_64"},
                                driver_info={"ipmi_address": "192.0.2.50", "ipmi_password": "secret"})
res["created"] = [n.provision_state, n.driver_info.get("ipmi_password")]
res["dup_name"] = http_error(lambda: strict.baremetal.create_node(driver="ipmi", name="node-1"))
res["bad_driver"] = http_error(lambda: admin.baremetal.create_node(driver="nope"))
p = admin.baremetal.create_port(node_id=n.id, address="52:54:00:AA:BB:CC")
res["port"] = [p.address, p.node_id == n.id]
res["dup_mac"] = http_error(lambda: strict.baremetal.create_port(node_id=n.id, address="52:54:00:aa:bb:cc"))
res["bad_mac"] = http_error(lambda: admin.baremetal.create_port(node_id=n.id, address="zz"))
res["node_ports"] = [x.address for x in admin.baremetal.ports(node=n.id)]
admin.baremetal.update_port(p, extra={"k": "v"})
res["port_extra"] = admin.baremetal.get_port(p.id).extra
admin.baremetal.patch_node(n, [{"op": "add", "path": "/extra/owner", "value": "sdk"}])
n = admin.baremetal.update_node(n, name="sdk-node2")
res["patched"] = [n.extra, n.name]
res["bad_patch"] = http_error(lambda: admin.baremetal.patch_node(n, [{"op": "replace", "path": "/uuid", "value": "x"}]))
res["provide_enroll"] = http_error(lambda: admin.baremetal.set_node_provision_state(n, "provide"))
n = admin.baremetal.set_node_provision_state(n, "manage", wait=True, timeout=30)
res["managed"] = n.provision_state
admin.baremetal.set_node_provision_state(n, "provide")
res["cleaning"] = [admin.baremetal.get_node(n.id).provision_state, admin.baremetal.get_node(n.id).target_provision_state]
n = admin.baremetal.wait_for_nodes_provision_state([n], "available", timeout=30)[0]
res["available"] = n.provision_state
admin.baremetal.set_node_power_state(n, "power on")
res["power"] = admin.baremetal.get_node(n.id).power_state
admin.baremetal.set_node_maintenance(n, reason="check")
m = admin.baremetal.get_node(n.id)
res["maintenance"] = [m.is_maintenance, m.maintenance_reason]
res["deploy_in_maintenance"] = http_error(lambda: admin.baremetal.set_node_provision_state(n, "active"))
admin.baremetal.unset_node_maintenance(n)
res["validate"] = {k: v.result for k, v in admin.baremetal.validate_node(n, required=()).items() if k in ("power", "management")}
admin.baremetal.update_node(n, instance_info={"image_source": "http://example/img.qcow2", "root_gb": "10"})
n = admin.baremetal.set_node_provision_state(n, "active", wait=True, timeout=30)
res["deployed"] = n.provision_state
res["delete_active"] = http_error(lambda: strict.baremetal.delete_node(n, ignore_missing=False))
n = admin.baremetal.set_node_provision_state(n, "deleted", wait=True, timeout=30)
res["undeployed"] = n.provision_state
res["listed"] = sorted(x.name for x in admin.baremetal.nodes())
res["filtered"] = sorted(x.name for x in admin.baremetal.nodes(provision_state="available", resource_class="baremetal"))
res["demo_list"] = http_error(lambda: list(demo.baremetal.nodes()))
res["demo_get"] = http_error(lambda: demo.baremetal.get_node(n.id))
admin.baremetal.delete_port(p)
admin.baremetal.delete_node(n)
res["gone"] = http_error(lambda: admin.baremetal.get_node(n.id))
res["port_gone"] = http_error(lambda: admin.baremetal.get_port(p.id))
emit(res)
`))
	want := map[string]string{
		"drivers":     "[fake-hardware ipmi redfish]",
		"created":     "[enroll ******]",
		"port":        "[52:54:00:aa:bb:cc true]",
		"node_ports":  "[52:54:00:aa:bb:cc]",
		"port_extra":  "map[k:v]",
		"patched":     "[map[owner:sdk] sdk-node2]",
		"managed":     "manageable",
		"cleaning":    "[cleaning available]",
		"available":   "available",
		"power":       "power on",
		"maintenance": "[true check]",
		"validate":    "map[management:true power:true]",
		"deployed":    "active",
		"undeployed":  "available",
		"listed":      "[node-1 node-2 node-3 sdk-node2]",
		"filtered":    "[node-1 node-2 node-3 sdk-node2]",
	}
	for k, v := range want {
		if got := fmt.Sprint(out[k]); got != v {
			t.Errorf("%s = %s, want %s", k, got, v)
		}
	}
	for k, status := range map[string]float64{"driver_404": 404, "dup_name": 409, "bad_driver": 400, "dup_mac": 409,
		"bad_mac": 400, "bad_patch": 400, "provide_enroll": 400, "deploy_in_maintenance": 400, "delete_active": 409,
		"demo_list": 403, "demo_get": 403, "gone": 404, "port_gone": 404} {
		if got := asMap(t, out[k])["status"]; got != status {
			t.Errorf("%s: %v, want %v", k, out[k], status)
		}
	}
}

// TestIronicCLI: nodes and ports through `openstack baremetal`
// (python3-ironicclient), and Ironic's error body.
func TestIronicCLI(t *testing.T) {
	t.Parallel()
	c := StartCloud(t)
	node := asMap(t, c.CLI(t, "emulator-admin", "baremetal", "node", "create", "--driver", "fake-hardware", "--name", "cli-node",
		"--resource-class", "baremetal", "--property", "cpus=1"))
	id := fmt.Sprint(node["uuid"])
	if node["provision_state"] != "enroll" {
		t.Errorf("node create: %v", node)
	}
	c.CLINoFormat(t, "emulator-admin", "baremetal", "node", "set", "--extra", "team=qa", "cli-node")
	c.CLINoFormat(t, "emulator-admin", "baremetal", "node", "manage", "--wait", "30", "cli-node")
	c.CLINoFormat(t, "emulator-admin", "baremetal", "node", "provide", "--wait", "30", "cli-node")
	sh := asMap(t, c.CLI(t, "emulator-admin", "baremetal", "node", "show", "cli-node"))
	if sh["provision_state"] != "available" || asMap(t, sh["extra"])["team"] != "qa" || sh["uuid"] != id {
		t.Errorf("node show: %v", sh)
	}
	port := asMap(t, c.CLI(t, "emulator-admin", "baremetal", "port", "create", "--node", id, "52:54:00:12:34:56"))
	if findBy(t, c.CLI(t, "emulator-admin", "baremetal", "port", "list", "--node", id), "UUID", fmt.Sprint(port["uuid"])) == nil {
		t.Errorf("port list lacks %v", port)
	}
	if e := c.CLIFails(t, "emulator-admin", "baremetal", "port", "create", "--node", id, "52:54:00:12:34:56"); !strings.Contains(e, "already exists") {
		t.Errorf("duplicate port: %s", e)
	}
	if l := c.CLI(t, "emulator-admin", "baremetal", "node", "list"); findBy(t, l, "Name", "cli-node") == nil || len(asList(t, l)) != 4 {
		t.Errorf("node list: %v", l)
	}
	if e := c.CLIFails(t, "emulator", "baremetal", "node", "list"); !strings.Contains(e, "Access was denied") {
		t.Errorf("member node list: %s", e)
	}
	c.CLINoFormat(t, "emulator-admin", "baremetal", "port", "delete", fmt.Sprint(port["uuid"]))
	c.CLINoFormat(t, "emulator-admin", "baremetal", "node", "delete", "cli-node")
	if e := c.CLIFails(t, "emulator-admin", "baremetal", "node", "show", id); !strings.Contains(e, "could not be found") {
		t.Errorf("deleted node: %s", e)
	}
	resp, body := c.HTTP(t, c.Token(t, "admin"), "GET", "/baremetal/v1/nodes/nope", nil, "X-OpenStack-Ironic-API-Version", "1.46")
	if resp.StatusCode != 404 || !strings.Contains(string(body), `{"error_message":"{\"debuginfo\":null,\"faultcode\":\"Client\",\"faultstring\":\"Node nope could not be found.\"}"}`) ||
		resp.Header.Get("X-OpenStack-Ironic-API-Maximum-Version") != "1.82" || resp.Header.Get("X-OpenStack-Ironic-API-Version") != "1.46" {
		t.Errorf("404: %d %s %v", resp.StatusCode, body, resp.Header)
	}
	resp, body = c.HTTP(t, "", "GET", "/baremetal/", nil)
	if resp.StatusCode != 200 || !strings.Contains(string(body), `"default_version":{"id":"v1"`) {
		t.Errorf("discovery: %d %s", resp.StatusCode, body)
	}
}

// TestIronicAnsible: openstack.cloud.baremetal_node (enrol with NICs,
// manage, provide), baremetal_port, baremetal_node_info,
// baremetal_node_action (maintenance, power) and their removal.
func TestIronicAnsible(t *testing.T) {
	t.Parallel()
	c := StartCloud(t)
	r := c.Ansible(t, `
- hosts: localhost
  gather_facts: false
  tasks:
    - name: enrol node
      openstack.cloud.baremetal_node:
        cloud: emulator-admin
        name: ans-node
        driver: ipmi
        resource_class: baremetal
        driver_info: {ipmi_address: 192.0.2.99, ipmi_username: admin, ipmi_password: pw}
        nics: [{mac: "52:54:00:99:00:01"}]
        properties: {cpu_arch: x86_64, cpus: 1, ram: 1024, disk_size: 10}
    - name: node info
      openstack.cloud.baremetal_node_info: {cloud: emulator-admin, node: ans-node}
    - name: port
      openstack.cloud.baremetal_port: {cloud: emulator-admin, node: ans-node, address: "52:54:00:99:00:02"}
    - name: node's ports
      openstack.cloud.baremetal_port_info: {cloud: emulator-admin, node: ans-node}
    - name: port by address
      openstack.cloud.baremetal_port_info: {cloud: emulator-admin, address: "52:54:00:99:00:02"}
    - name: maintenance
      openstack.cloud.baremetal_node_action: {cloud: emulator-admin, name: ans-node, maintenance: true, maintenance_reason: test, power: present, deploy: false}
    - name: member node info
      openstack.cloud.baremetal_node_info: {cloud: emulator, node: ans-node}
      ignore_errors: true
    - name: delete port
      openstack.cloud.baremetal_port: {cloud: emulator-admin, address: "52:54:00:99:00:02", state: absent}
    # openstack.cloud 1.10 requires driver_info (and nics) for every
    # state, absent too (its documentation says so).
    - name: remove node
      openstack.cloud.baremetal_node:
        cloud: emulator-admin
        name: ans-node
        driver_info: {ipmi_address: 192.0.2.99}
        nics: [{mac: "52:54:00:99:00:01"}]
        state: absent
    - name: node info after removal
      openstack.cloud.baremetal_node_info: {cloud: emulator-admin, node: ans-node}
      ignore_errors: true
`)
	node := r.OK(t, "enrol node")
	if node["provision_state"] != "available" || node["uuid"] == nil {
		t.Errorf("enrolled node: %v", node)
	}
	if info := fmt.Sprint(r.OK(t, "node info")["baremetal_nodes"]); !strings.Contains(info, "52:54:00:99:00:01") {
		t.Errorf("node info: %s", info)
	}
	r.OK(t, "port")
	ports := asList(t, r.OK(t, "node's ports")["baremetal_ports"])
	if macs := fmt.Sprint(ports); len(ports) != 2 || !strings.Contains(macs, "52:54:00:99:00:01") || !strings.Contains(macs, "52:54:00:99:00:02") {
		t.Errorf("the node's ports: %v", ports)
	}
	if p := asList(t, r.OK(t, "port by address")["baremetal_ports"]); len(p) != 1 || asMap(t, p[0])["node_id"] != node["uuid"] {
		t.Errorf("port by address: %v", p)
	}
	r.OK(t, "maintenance")
	if msg := r.Failed(t, "member node info"); !strings.Contains(msg, "403") && !strings.Contains(msg, "Access was denied") {
		t.Errorf("member node info: %s", msg)
	}
	r.OK(t, "delete port")
	if rm := r.OK(t, "remove node"); rm["changed"] != true {
		t.Errorf("remove node: %v", rm)
	}
	if msg := r.Failed(t, "node info after removal"); !strings.Contains(msg, "not found") {
		t.Errorf("node info after removal: %s", msg)
	}
}
