package emulator_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/openstack-service-broker/openstack-service-broker/pkg/emulator"
)

// netTemplate is a small HOT template on Neutron and Heat's own
// resources, with the functions templates use most.
const netTemplate = `heat_template_version: 2018-08-31
description: a network with a subnet and a port
parameters:
  prefix:
    type: string
    default: app
    constraints:
      - length: {min: 2, max: 12}
  cidr: {type: string, default: 192.168.90.0/24}
  size: {type: number, default: 2}
resources:
  secret:
    type: OS::Heat::RandomString
    properties: {length: 12}
  label:
    type: OS::Heat::Value
    properties:
      value:
        str_replace:
          template: $prefix-x$size
          params: {$prefix: {get_param: prefix}, $size: {get_param: size}}
  net:
    type: OS::Neutron::Net
    properties:
      name: {list_join: ['-', [{get_param: prefix}, net]]}
  subnet:
    type: OS::Neutron::Subnet
    properties: {network: {get_resource: net}, cidr: {get_param: cidr}}
  port:
    type: OS::Neutron::Port
    properties:
      network: {get_resource: net}
      fixed_ips: [{subnet: {get_resource: subnet}}]
outputs:
  net_id: {value: {get_resource: net}, description: the network}
  net_name: {value: {get_attr: [net, name]}}
  port_ip: {value: {get_attr: [port, fixed_ips, 0, ip_address]}}
  label: {value: {get_attr: [label, value]}}
  secret_length: {value: {str_split: [',', {list_join: [',', [{get_attr: [secret, value]}]]}]}}
`

// failTemplate has a resource that fails on create.
const failTemplate = `heat_template_version: 2018-08-31
parameters:
  fail: {type: boolean, default: true}
resources:
  net:
    type: OS::Neutron::Net
  broken:
    type: OS::Heat::TestResource
    depends_on: net
    properties: {fail: {get_param: fail}, value: hello}
outputs:
  out: {value: {get_attr: [broken, output]}}
`

func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestHeatSDK: stacks through openstacksdk: create from a file and from a
// template_url (a public Swift object), outputs, resources, events,
// update (in place and with a resource added), a failed create with and
// without rollback, validation errors, isolation from alt, delete.
func TestHeatSDK(t *testing.T) {
	t.Parallel()
	c := StartCloud(t)
	writeFile(t, c.Dir, "net.yaml", netTemplate)
	writeFile(t, c.Dir, "fail.yaml", failTemplate)
	writeFile(t, c.Dir, "net2.yaml", strings.Replace(netTemplate, "outputs:", `  extra:
    type: OS::Heat::Value
    properties: {value: added}
outputs:
  extra: {value: {get_attr: [extra, value]}}`, 1))
	writeFile(t, c.Dir, "unknown.yaml", "heat_template_version: 2018-08-31\nresources:\n  x: {type: OS::Nope::Thing}\n")
	writeFile(t, c.Dir, "badprop.yaml", "heat_template_version: 2018-08-31\nresources:\n  x:\n    type: OS::Neutron::Net\n    properties: {nme: x}\n")
	out := asMap(t, c.Python(t, `
demo = connect("emulator")
outs = lambda s: {o["output_key"]: o.get("output_value") for o in s.outputs}
s = demo.create_stack("sdk-net", template_file="net.yaml", wait=True, rollback=False, prefix="sdk")
r = {"create": [s.status, s.status_reason]}
o = outs(s)
net = demo.network.get_network(o["net_id"])
r["outputs"] = [o["net_name"], net.name, o["label"], len(o["secret_length"][0]), o["port_ip"].startswith("192.168.90.")]
r["resources"] = sorted((x.name, x.status) for x in demo.orchestration.resources(s.id))
evs = demo.orchestration.get("/stacks/sdk-net/%s/events?sort_dir=asc" % s.id).json()["events"]
r["events"] = [evs[0]["resource_status"], evs[-1]["resource_status"], evs[-1]["resource_name"], len(evs)]
u = demo.update_stack("sdk-net", template_file="net2.yaml", wait=True, prefix="sdk2", cidr="192.168.90.0/24")
o = outs(u)
r["update"] = [u["stack_status"], o["net_name"], o["extra"], o["net_id"] == net.id, demo.network.get_network(net.id).name]
# A template from a URL: a public Swift object.
demo.object_store.create_container("templates", read_ACL=".r:*")
demo.object_store.upload_object("templates", "net.yaml", data=open("net.yaml").read())
url = demo.object_store.get_endpoint() + "/templates/net.yaml"
st = demo.orchestration.create_stack(name="sdk-url", template_url=url, parameters={"prefix": "url", "cidr": "10.77.0.0/24"})
got = demo.orchestration.get_stack(st.id)
r["url"] = [got.status, outs(got)["net_name"]]
# Failures.
f = demo.create_stack("sdk-fail", template_file="fail.yaml", wait=True, rollback=False)
r["fail"] = [f.status, f.status_reason]
fr = demo.create_stack("sdk-rollback", template_file="fail.yaml", wait=True, rollback=True)
r["rollback"] = demo.get_stack("sdk-rollback").status
def err(fn):
    try:
        fn()
    except Exception as e:
        return str(e)
    return None
r["errors"] = [err(lambda: demo.create_stack("sdk-net", template_file="net.yaml")),
               err(lambda: demo.create_stack("x1", template_file="net.yaml", bogus="1")),
               err(lambda: demo.create_stack("x2", template_file="net.yaml", prefix="x")),
               err(lambda: demo.create_stack("x3", template_file="unknown.yaml")),
               err(lambda: demo.create_stack("x4", template_file="badprop.yaml")),
               err(lambda: demo.create_stack("9bad", template_file="net.yaml"))]
v = demo.orchestration.validate_template(template={"heat_template_version": "2018-08-31",
     "parameters": {"p": {"type": "number", "default": 3, "constraints": [{"range": {"min": 1, "max": 5}}]}}, "resources": {}})
r["validate"] = v.parameters["p"]
alt = connect("emulator-alt")
r["alt"] = [alt.get_stack("sdk-net"), [x.name for x in alt.orchestration.stacks()],
            alt.orchestration.get("/stacks/sdk-net/%s" % s.id).status_code]
demo.delete_stack("sdk-net", wait=True)
demo.delete_stack("sdk-url", wait=True)
r["deleted"] = [demo.get_stack("sdk-net"), http_error(lambda: demo.network.get_network(net.id)),
                sorted(x.name for x in demo.orchestration.stacks())]
emit(r)
`))
	want := map[string]string{
		"create":    "[CREATE_COMPLETE Stack CREATE completed successfully]",
		"outputs":   "[sdk-net sdk-net sdk-x2 12 true]",
		"resources": "[[label CREATE_COMPLETE] [net CREATE_COMPLETE] [port CREATE_COMPLETE] [secret CREATE_COMPLETE] [subnet CREATE_COMPLETE]]",
		"events":    "[CREATE_IN_PROGRESS CREATE_COMPLETE sdk-net 12]",
		"update":    "[UPDATE_COMPLETE sdk2-net added true sdk2-net]",
		"url":       "[CREATE_COMPLETE url-net]",
		"fail":      "[CREATE_FAILED Resource CREATE failed: Exception: resources.broken: Test Resource failed broken]",
		"validate":  "map[Default:3 Description: Label:p MaxValue:5 MinValue:1 NoEcho:false Type:Number]",
	}
	for k, w := range want {
		if got := fmt.Sprint(out[k]); got != w {
			t.Errorf("%s: %s, want %s", k, got, w)
		}
	}
	if rb := fmt.Sprint(out["rollback"]); rb != "ROLLBACK_COMPLETE" && rb != "ROLLBACK_IN_PROGRESS" {
		t.Errorf("rollback: %s", rb)
	}
	errs := asList(t, out["errors"])
	for i, w := range []string{"409", "The Parameter (bogus) was not defined in template.",
		"Parameter 'prefix' is invalid: length (1) is out of range (min: 2, max: 12)",
		"The Resource Type (OS::Nope::Thing) could not be found.",
		"Property error: resources.x.properties: Unknown Property nme", "Invalid stack name 9bad"} {
		if !strings.Contains(fmt.Sprint(errs[i]), w) {
			t.Errorf("error %d: %v, want %q", i, errs[i], w)
		}
	}
	alt := asList(t, out["alt"])
	if alt[0] != nil || fmt.Sprint(alt[1]) != "[]" || alt[2] != float64(404) {
		t.Errorf("alt sees demo's stack: %v", alt)
	}
	del := asList(t, out["deleted"])
	if del[0] != nil || asMap(t, del[1])["status"] != float64(404) || strings.Contains(fmt.Sprint(del[2]), "sdk-net") {
		t.Errorf("after delete: %v", del)
	}
}

// TestHeatShapes: discovery, the lookup redirect, Heat's error shape,
// CREATE_IN_PROGRESS -> CREATE_COMPLETE and DELETE_* with -delay, the
// stack's template, environment, outputs, resources (with attributes)
// and events, actions, the tenant check, resource types and template
// versions, by raw HTTP beside the clients.
func TestHeatShapes(t *testing.T) {
	t.Parallel()
	c := StartCloud(t, func(o *emulator.Options) { o.Delay = 300 * time.Millisecond })
	resp, body := c.HTTP(t, "", "GET", "/heat-api/", nil)
	if resp.StatusCode != 300 || !strings.Contains(string(body), `"href":"`+c.URL()+`/heat-api/v1/"`) {
		t.Errorf("versions: %d %s", resp.StatusCode, body)
	}
	tok, alt := c.Token(t, "demo"), c.Token(t, "alt")
	pid := tokenProjectID(t, c, tok)
	base := "/heat-api/v1/" + pid
	do := func(method, path string, body any) (int, map[string]any, string) {
		t.Helper()
		resp, b := c.HTTP(t, tok, method, base+path, body)
		var m map[string]any
		_ = json.Unmarshal(b, &m)
		return resp.StatusCode, m, resp.Header.Get("Location")
	}
	code, m, _ := do("GET", "/stacks/nope", nil)
	if code != 404 || fmt.Sprint(m["error"]) != "map[message:The Stack (nope) could not be found. traceback:<nil> type:EntityNotFound]" ||
		m["title"] != "Not Found" || m["explanation"] != "The resource could not be found." {
		t.Errorf("404: %d %v", code, m)
	}
	code, m, _ = do("POST", "/stacks", map[string]any{"stack_name": "x"})
	if code != 400 || !strings.Contains(fmt.Sprint(m["error"]), "No template specified") {
		t.Errorf("no template: %d %v", code, m)
	}
	code, m, _ = do("POST", "/stacks", map[string]any{"stack_name": "x", "template": "heat_template_version: 1999-01-01\n"})
	if code != 400 || !strings.Contains(fmt.Sprint(m["error"]), "InvalidTemplateVersion") {
		t.Errorf("bad version: %d %v", code, m)
	}
	code, m, _ = do("POST", "/stacks", map[string]any{"stack_name": "x", "template": map[string]any{
		"heat_template_version": "2018-08-31", "resources": map[string]any{"a": map[string]any{"type": "OS::Heat::None",
			"depends_on": "b"}, "b": map[string]any{"type": "OS::Heat::None", "depends_on": "a"}}}})
	if code != 400 || !strings.Contains(fmt.Sprint(m["error"]), "Circular Dependency Found") {
		t.Errorf("cycle: %d %v", code, m)
	}
	resp, _ = c.HTTP(t, alt, "GET", base+"/stacks", nil)
	if resp.StatusCode != 403 {
		t.Errorf("another tenant's URL: %d", resp.StatusCode)
	}
	code, m, _ = do("POST", "/stacks", map[string]any{"stack_name": "shapes", "template": netTemplate,
		"parameters": map[string]any{"prefix": "sh"}, "disable_rollback": true})
	if code != 201 {
		t.Fatalf("create: %d %v", code, m)
	}
	st := asMap(t, m["stack"])
	id := fmt.Sprint(st["id"])
	// The lookup by name redirects (a client that does not follow).
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	for path, want := range map[string]string{"/stacks/shapes": "/stacks/shapes/" + id,
		"/stacks/shapes/events?sort_dir=asc": "/stacks/shapes/" + id + "/events?sort_dir=asc"} {
		req, _ := http.NewRequest("GET", c.URL()+base+path, nil)
		req.Header.Set("X-Auth-Token", tok)
		resp, err := noFollow.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 302 || resp.Header.Get("Location") != c.URL()+base+want {
			t.Errorf("lookup %s: %d %s", path, resp.StatusCode, resp.Header.Get("Location"))
		}
	}
	_, m, _ = do("GET", "/stacks/shapes/"+id, nil)
	if s := asMap(t, m["stack"]); s["stack_status"] != "CREATE_IN_PROGRESS" || s["stack_status_reason"] != "Stack CREATE started" {
		t.Errorf("while creating: %v", s["stack_status"])
	}
	waitUntil(t, func() bool {
		_, m, _ := do("GET", "/stacks/shapes/"+id, nil)
		return asMap(t, m["stack"])["stack_status"] == "CREATE_COMPLETE"
	})
	_, m, _ = do("GET", "/stacks/shapes/"+id, nil)
	s := asMap(t, m["stack"])
	params := asMap(t, s["parameters"])
	if params["prefix"] != "sh" || params["size"] != "2" || params["OS::stack_name"] != "shapes" || params["OS::stack_id"] != id ||
		s["disable_rollback"] != true || s["description"] != "a network with a subnet and a port" {
		t.Errorf("stack show: %v", s)
	}
	_, m, _ = do("GET", "/stacks/shapes/"+id+"/outputs/net_name", nil)
	if fmt.Sprint(m["output"]) != "map[description:No description given output_key:net_name output_value:sh-net]" {
		t.Errorf("output show: %v", m)
	}
	_, m, _ = do("GET", "/stacks/shapes/"+id+"/resources/subnet", nil)
	res := asMap(t, m["resource"])
	if attrs := asMap(t, res["attributes"]); attrs["cidr"] != "192.168.90.0/24" || res["resource_status"] != "CREATE_COMPLETE" ||
		fmt.Sprint(res["required_by"]) != "[port]" {
		t.Errorf("resource show: %v", res)
	}
	_, m, _ = do("GET", "/stacks/shapes/"+id+"/template", nil)
	if m["heat_template_version"] != "2018-08-31" {
		t.Errorf("template: %v", m)
	}
	_, m, _ = do("GET", "/stacks/shapes/"+id+"/environment", nil)
	if fmt.Sprint(m["parameters"]) != "map[prefix:sh]" {
		t.Errorf("environment: %v", m)
	}
	code, _, _ = do("POST", "/stacks/shapes/"+id+"/actions", map[string]any{"suspend": nil})
	_, m, _ = do("GET", "/stacks/shapes/"+id, nil)
	if code != 200 || asMap(t, m["stack"])["stack_status"] != "SUSPEND_IN_PROGRESS" {
		t.Errorf("suspend: %d %v", code, asMap(t, m["stack"])["stack_status"])
	}
	code, m, _ = do("POST", "/stacks/shapes/"+id+"/actions", map[string]any{"resume": nil})
	if code != 409 || !strings.Contains(fmt.Sprint(m["error"]), "ActionInProgress") {
		t.Errorf("an action while suspending: %d %v", code, m)
	}
	code, m, _ = do("DELETE", "/stacks/shapes/"+id+"/abandon", nil)
	if code != 400 || !strings.Contains(fmt.Sprint(m["error"]), "Stack Abandon is not supported.") {
		t.Errorf("abandon: %d %v", code, m)
	}
	_, m, _ = do("GET", "/resource_types", nil)
	if types := fmt.Sprint(m["resource_types"]); !strings.Contains(types, "OS::Octavia::LoadBalancer") || !strings.Contains(types, "OS::Nova::Server") {
		t.Errorf("resource types: %v", types)
	}
	_, m, _ = do("GET", "/resource_types/OS::Neutron::Subnet", nil)
	if p := asMap(t, asMap(t, m["properties"])["network"]); p["required"] != true {
		t.Errorf("resource schema: %v", m)
	}
	_, m, _ = do("GET", "/template_versions", nil)
	if !strings.Contains(fmt.Sprint(m["template_versions"]), "heat_template_version.2021-04-16") {
		t.Errorf("template versions: %v", m)
	}
	waitUntil(t, func() bool {
		_, m, _ := do("GET", "/stacks/shapes/"+id, nil)
		return asMap(t, m["stack"])["stack_status"] == "SUSPEND_COMPLETE"
	})
	if code, _, _ := do("DELETE", "/stacks/shapes/"+id, nil); code != 204 {
		t.Fatalf("delete: %d", code)
	}
	_, m, _ = do("GET", "/stacks/shapes/"+id, nil)
	if asMap(t, m["stack"])["stack_status"] != "DELETE_IN_PROGRESS" {
		t.Errorf("deleting: %v", m)
	}
	waitUntil(t, func() bool {
		_, m, _ := do("GET", "/stacks/shapes/"+id, nil)
		return asMap(t, m["stack"])["stack_status"] == "DELETE_COMPLETE"
	})
	if code, _, _ := do("GET", "/stacks/shapes", nil); code != 404 {
		t.Errorf("a deleted stack by name: %d", code)
	}
	_, m, _ = do("GET", "/stacks", nil)
	if fmt.Sprint(m["stacks"]) != "[]" {
		t.Errorf("stacks after delete: %v", m)
	}
}

// TestHeatCLI: openstack stack commands (python3-heatclient): create
// with --wait, show, output, resources, events, update, delete, errors.
func TestHeatCLI(t *testing.T) {
	t.Parallel()
	c := StartCloud(t)
	requireCLIPlugin(t, "heatclient")
	tf := writeFile(t, c.Dir, "net.yaml", netTemplate)
	bad := writeFile(t, c.Dir, "bad.yaml", "heat_template_version: 2018-08-31\nresources:\n  x: {type: OS::Nope::Thing}\n")
	// --wait prints the events before the table.
	if o := c.CLINoFormat(t, "emulator", "stack", "create", "-t", tf, "--parameter", "prefix=cli", "--wait", "cli-stack"); !strings.Contains(o, "[cli-stack]: CREATE_COMPLETE  Stack CREATE completed successfully") {
		t.Errorf("stack create --wait: %s", o)
	}
	out := asMap(t, c.CLI(t, "emulator", "stack", "output", "show", "cli-stack", "net_name"))
	if out["output_value"] != "cli-net" {
		t.Errorf("output show: %v", out)
	}
	if r := findBy(t, c.CLI(t, "emulator", "stack", "resource", "list", "cli-stack"), "resource_name", "port"); r == nil || r["resource_status"] != "CREATE_COMPLETE" {
		t.Errorf("resource list: %v", r)
	}
	c.CLINoFormat(t, "emulator", "stack", "update", "-t", tf, "--parameter", "prefix=cli2", "--wait", "cli-stack")
	shown := asMap(t, c.CLI(t, "emulator", "stack", "show", "cli-stack"))
	if shown["stack_status"] != "UPDATE_COMPLETE" || !strings.Contains(fmt.Sprint(shown["outputs"]), "cli2-net") {
		t.Errorf("stack show after update: %v", shown)
	}
	if e := c.CLIFails(t, "emulator", "stack", "create", "-t", bad, "cli-bad"); !strings.Contains(e, "The Resource Type (OS::Nope::Thing) could not be found.") {
		t.Errorf("bad template: %s", e)
	}
	if e := c.CLIFails(t, "emulator-alt", "stack", "show", "cli-stack"); !strings.Contains(e, "Stack not found: cli-stack") {
		t.Errorf("alt stack show: %s", e)
	}
	c.CLINoFormat(t, "emulator", "stack", "delete", "--yes", "--wait", "cli-stack")
	if l := c.CLI(t, "emulator", "stack", "list"); l != nil && len(asList(t, l)) != 0 {
		t.Errorf("stacks after delete: %v", l)
	}
}

// TestHeatAnsible: openstack.cloud.stack and stack_info in openstack-apb
// (patch 0005): create, update, info, a failed create, delete.
func TestHeatAnsible(t *testing.T) {
	t.Parallel()
	c := StartCloud(t)
	tmpl := strings.ReplaceAll(netTemplate, "\n", "\n          ")
	r := c.Ansible(t, `
- hosts: localhost
  gather_facts: false
  tasks:
    - name: template
      copy:
        dest: /tmp/net.yaml
        content: |
          `+tmpl+`
    - name: failing template
      copy:
        dest: /tmp/fail.yaml
        content: |
          `+strings.ReplaceAll(failTemplate, "\n", "\n          ")+`
    - name: stack
      openstack.cloud.stack: {cloud: emulator, name: ans-stack, template: /tmp/net.yaml, parameters: {prefix: ans}}
    - name: stack update
      openstack.cloud.stack: {cloud: emulator, name: ans-stack, template: /tmp/net.yaml, parameters: {prefix: ans2}}
    - name: info
      openstack.cloud.stack_info: {cloud: emulator, name: ans-stack}
    - name: alt info
      openstack.cloud.stack_info: {cloud: emulator-alt}
    - name: failing stack
      openstack.cloud.stack: {cloud: emulator, name: ans-fail, template: /tmp/fail.yaml}
      ignore_errors: true
    - name: stack delete
      openstack.cloud.stack: {cloud: emulator, name: ans-stack, state: absent}
    - name: failed stack delete
      openstack.cloud.stack: {cloud: emulator, name: ans-fail, state: absent}
    - name: stack delete again
      openstack.cloud.stack: {cloud: emulator, name: ans-stack, state: absent}
`)
	st := r.OK(t, "stack")
	outputs := fmt.Sprint(asMap(t, st["stack"])["outputs"])
	if asMap(t, st["stack"])["status"] != "CREATE_COMPLETE" || !strings.Contains(outputs, "ans-net") {
		t.Errorf("stack: %v", st)
	}
	if up := r.OK(t, "stack update"); asMap(t, up["stack"])["status"] != "UPDATE_COMPLETE" ||
		!strings.Contains(fmt.Sprint(asMap(t, up["stack"])["outputs"]), "ans2-net") {
		t.Errorf("stack update: %v", up)
	}
	if info := r.OK(t, "info"); len(asList(t, info["stacks"])) != 1 {
		t.Errorf("stack_info: %v", info)
	}
	if info := r.OK(t, "alt info"); len(asList(t, info["stacks"])) != 0 {
		t.Errorf("alt sees demo's stacks: %v", info)
	}
	if msg := r.Failed(t, "failing stack"); !strings.Contains(msg, "Failure in creating stack") {
		t.Errorf("failing stack: %s", msg)
	}
	for _, n := range []string{"stack delete", "failed stack delete"} {
		if d := r.OK(t, n); d["changed"] != true {
			t.Errorf("%s: %v", n, d)
		}
	}
	if d := r.OK(t, "stack delete again"); d["changed"] != false {
		t.Errorf("second delete: %v", d)
	}
}

// servicesTemplate maps resources onto every service of the emulator.
const servicesTemplate = `heat_template_version: 2021-04-16
parameters:
  image: {type: string, default: cirros-0.6.2-x86_64-disk}
resources:
  key:
    type: OS::Nova::KeyPair
    properties: {name: heat-key, save_private_key: true}
  group:
    type: OS::Nova::ServerGroup
    properties: {policies: [anti-affinity]}
  sg:
    type: OS::Neutron::SecurityGroup
    properties:
      rules: [{protocol: tcp, port_range_min: 22, port_range_max: 22, remote_ip_prefix: 0.0.0.0/0}]
  net:
    type: OS::Neutron::Net
  subnet:
    type: OS::Neutron::Subnet
    properties: {network: {get_resource: net}, cidr: 10.50.0.0/24}
  router:
    type: OS::Neutron::Router
    properties: {external_gateway_info: {network: public}}
  iface:
    type: OS::Neutron::RouterInterface
    properties: {router: {get_resource: router}, subnet: {get_resource: subnet}}
  port:
    type: OS::Neutron::Port
    properties: {network: {get_resource: net}, security_groups: [{get_resource: sg}]}
  fip:
    type: OS::Neutron::FloatingIP
    depends_on: iface
    properties: {floating_network: public, port_id: {get_resource: port}}
  server:
    type: OS::Nova::Server
    properties:
      image: {get_param: image}
      flavor: m1.tiny
      key_name: {get_resource: key}
      networks: [{port: {get_resource: port}}]
      scheduler_hints: {group: {get_resource: group}}
  vol:
    type: OS::Cinder::Volume
    properties: {size: 1, name: heat-vol}
  lb:
    type: OS::Octavia::LoadBalancer
    properties: {vip_subnet: {get_resource: subnet}}
  web:
    type: OS::Octavia::Listener
    properties: {loadbalancer: {get_resource: lb}, protocol: HTTP, protocol_port: 80}
  ssh:
    type: OS::Octavia::Listener
    properties: {loadbalancer: {get_resource: lb}, protocol: TCP, protocol_port: 22}
  pool:
    type: OS::Octavia::Pool
    properties: {listener: {get_resource: web}, protocol: HTTP, lb_algorithm: ROUND_ROBIN}
  member:
    type: OS::Octavia::PoolMember
    properties: {pool: {get_resource: pool}, address: {get_attr: [server, first_address]}, protocol_port: 80, subnet: {get_resource: subnet}}
  monitor:
    type: OS::Octavia::HealthMonitor
    properties: {pool: {get_resource: pool}, type: HTTP, delay: 5, timeout: 3, max_retries: 2}
  bucket:
    type: OS::Swift::Container
    properties: {name: heat-bucket, PurgeOnDelete: true}
  zone:
    type: OS::Designate::Zone
    properties: {name: heat.example.org., email: ops@example.org}
  www:
    type: OS::Designate::RecordSet
    properties: {zone: {get_resource: zone}, name: www, type: A, records: [{get_attr: [fip, floating_ip_address]}]}
  queue:
    type: OS::Zaqar::Queue
    properties: {name: heat-queue}
  db:
    type: OS::Trove::Instance
    properties: {flavor: m1.small, size: 1, datastore_type: mysql, databases: [{name: app}], networks: [{network: private}],
                 users: [{name: app, password: secret, databases: [app]}]}
outputs:
  server_ip: {value: {get_attr: [server, first_address]}}
  floating_ip: {value: {get_attr: [fip, floating_ip_address]}}
  vip: {value: {get_attr: [lb, vip_address]}}
  private_key: {value: {get_attr: [key, private_key]}}
  bucket_url: {value: {get_attr: [bucket, WebsiteURL]}}
  queue_href: {value: {get_attr: [queue, href]}}
  volume_size: {value: {get_attr: [vol, size]}}
  db_host: {value: {get_attr: [db, hostname]}}
  member_pool: {value: {get_attr: [member, pool_id]}}
`

// TestHeatServices: one stack over Nova, Neutron, Cinder, Swift, Octavia
// (the listeners waiting for the busy load balancer), Designate, Zaqar
// and Trove, with -delay, through openstacksdk: every resource exists in
// its service while the stack does, and is gone after the delete.
func TestHeatServices(t *testing.T) {
	t.Parallel()
	c := StartCloud(t, func(o *emulator.Options) { o.Delay = 150 * time.Millisecond })
	writeFile(t, c.Dir, "all.yaml", servicesTemplate)
	out := asMap(t, c.Python(t, `
demo = connect("emulator")
s = demo.create_stack("everything", template_file="all.yaml", wait=True, rollback=False)
r = {"status": [s.status, s.status_reason]}
if s.status != "CREATE_COMPLETE":
    emit(r); sys.exit(0)
o = {x["output_key"]: x.get("output_value") for x in s.outputs}
r["outputs"] = {k: (v is not None and v != "") for k, v in o.items()}
ids = {x.name: x.physical_resource_id for x in demo.orchestration.resources(s.id)}
r["exists"] = {
    "server": demo.compute.get_server(ids["server"]).status,
    "key": demo.compute.find_keypair("heat-key") is not None,
    "volume": demo.block_storage.get_volume(ids["vol"]).status,
    "lb": demo.load_balancer.get_load_balancer(ids["lb"]).provisioning_status,
    "listeners": len(demo.load_balancer.get_load_balancer(ids["lb"]).listeners),
    "members": [m.address == o["server_ip"] for m in demo.load_balancer.members(ids["pool"])],
    "fip": demo.network.get_ip(ids["fip"]).port_id == ids["port"],
    "zone": demo.dns.get_zone(ids["zone"]).status,
    "recordset": demo.dns.get_recordset(ids["www"], ids["zone"]).records == [o["floating_ip"]],
    "bucket": demo.object_store.get_container_metadata("heat-bucket").name,
    "db": demo.database.get_instance(ids["db"]).status,
}
demo.delete_stack("everything", wait=True)
r["after"] = {
    "stack": demo.get_stack("everything"),
    "server": http_error(lambda: demo.compute.get_server(ids["server"])),
    "volume": http_error(lambda: demo.block_storage.get_volume(ids["vol"])),
    "lb": http_error(lambda: demo.load_balancer.get_load_balancer(ids["lb"])),
    "net": http_error(lambda: demo.network.get_network(ids["net"])),
    "zone": http_error(lambda: demo.dns.get_zone(ids["zone"])),
    "bucket": http_error(lambda: demo.object_store.get_container_metadata("heat-bucket")),
    "db": http_error(lambda: demo.database.get_instance(ids["db"])),
    "key": demo.compute.find_keypair("heat-key"),
}
emit(r)
`))
	if fmt.Sprint(out["status"]) != "[CREATE_COMPLETE Stack CREATE completed successfully]" {
		t.Fatalf("stack: %v", out["status"])
	}
	for k, v := range asMap(t, out["outputs"]) {
		if v != true {
			t.Errorf("output %s is empty", k)
		}
	}
	want := map[string]string{"server": "ACTIVE", "key": "true", "volume": "available", "lb": "ACTIVE", "listeners": "2",
		"members": "[true]", "fip": "true", "zone": "ACTIVE", "recordset": "true", "bucket": "heat-bucket", "db": "ACTIVE"}
	ex := asMap(t, out["exists"])
	for k, w := range want {
		if fmt.Sprint(ex[k]) != w {
			t.Errorf("%s: %v, want %s", k, ex[k], w)
		}
	}
	for k, v := range asMap(t, out["after"]) {
		if k == "stack" || k == "key" {
			if v != nil {
				t.Errorf("after delete, %s: %v", k, v)
			}
			continue
		}
		if asMap(t, v)["status"] != float64(404) {
			t.Errorf("after delete, %s: %v", k, v)
		}
	}
}
