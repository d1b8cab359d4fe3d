package openstack

import (
	"fmt"
	"strings"
	"testing"

	"github.com/openstack-service-broker/openstack-service-broker/pkg/osb/osbapi"
)

func init() {
	bundleTests = append(bundleTests, bundleTest{"openstack-stack-apb", stackLifecycle, stackFailure})
}

// stackTemplate makes a Nova keypair and a random string; its outputs
// are what a binding returns.
const stackTemplate = `heat_template_version: 2018-08-31
description: e2e stack of the openstack-stack-apb test
parameters:
  key_name:
    type: string
  length:
    type: number
    default: 16
resources:
  key:
    type: OS::Nova::KeyPair
    properties:
      name: {get_param: key_name}
  token:
    type: OS::Heat::RandomString
    properties:
      length: {get_param: length}
outputs:
  key_name:
    value: {get_resource: key}
  public_key:
    value: {get_attr: [key, public_key]}
  token:
    value: {get_attr: [token, value]}
  info:
    value: {name: {get_param: key_name}, length: {get_param: length}}
`

// heatOf is, as openstacksdk sees it in demo's project, every stack
// tagged tag with its status, reason and outputs.
func heatOf(t *testing.T, c *Cloud, tag string) []map[string]any {
	t.Helper()
	v := c.Python(t, fmt.Sprintf(`
c = connect("emulator")
out = []
for s in c.orchestration.get("/stacks", params={"tags": %[1]q}).json()["stacks"]:
    if %[1]q not in (s.get("tags") or []):
        continue
    full = c.orchestration.get("/stacks/%%s/%%s" %% (s["stack_name"], s["id"])).json()["stack"]
    out.append({"id": full["id"], "name": full["stack_name"], "status": full["stack_status"], "reason": full.get("stack_status_reason"),
        "outputs": {o["output_key"]: o.get("output_value") for o in (full.get("outputs") or [])}})
emit(out)`, tag))
	var out []map[string]any
	for _, e := range asList(t, v) {
		out = append(out, asMap(t, e))
	}
	return out
}

func stackLifecycle(t *testing.T, s *suite, f *flow) {
	c := s.cloud
	iid := newID(t)
	tag := "osb-instance-" + iid
	key := "e2e-stack-" + iid[:8]
	params := map[string]any{"template": stackTemplate, "template_parameters": "key_name: " + key}

	// A provision the broker never recorded, then the one it does: one
	// stack, one keypair.
	if _, err := f.runDirect("provision", iid, "default", params); err != nil {
		t.Fatalf("direct provision: %v", err)
	}
	f.succeeded("provision", f.provision(iid, "default", params))
	got := heatOf(t, c, tag)
	if len(got) != 1 || got[0]["name"] != "osb-"+iid || got[0]["status"] != "CREATE_COMPLETE" && got[0]["status"] != "UPDATE_COMPLETE" {
		t.Fatalf("after provision: %v, want one complete stack osb-%s tagged %s", got, iid, tag)
	}
	if kps := keypairs(t, c, key); len(kps) != 1 {
		t.Fatalf("the stack's keypair %s: %v", key, kps)
	}
	out := asMap(t, got[0]["outputs"])

	bid := newID(t)
	lo, b := f.bind(iid, bid, nil)
	f.succeeded("bind", lo)
	kp := keypairs(t, c, key)[0]
	if b["key_name"] != key || b["public_key"] != kp["public_key"] || len(str(b["token"])) != 16 || b["token"] != out["token"] ||
		b["stack_id"] != got[0]["id"] || b["stack_name"] != "osb-"+iid {
		t.Errorf("binding = %v, outputs %v", b, out)
	}
	if !strings.Contains(str(b["info"]), `"length": 16`) || !strings.Contains(str(b["info"]), key) {
		t.Errorf("a mapping output as JSON: %v", b["info"])
	}
	// The stack as the openstack CLI shows it.
	shown := asMap(t, c.CLI(t, "emulator", "stack", "show", "osb-"+iid))
	if !strings.Contains(fmt.Sprint(shown["tags"]), tag) {
		t.Errorf("openstack stack show: tags %v, want %s", shown["tags"], tag)
	}
	f.succeeded("unbind", f.unbind(iid, bid))

	// New parameters: a longer random string, the same keypair.
	f.succeeded("update", f.update(iid, map[string]any{"template": stackTemplate, "template_parameters": "{key_name: " + key + ", length: 24}"}))
	got = heatOf(t, c, tag)
	if len(got) != 1 || got[0]["status"] != "UPDATE_COMPLETE" || len(str(asMap(t, got[0]["outputs"])["token"])) != 24 {
		t.Errorf("after update: %v", got)
	}

	f.succeeded("deprovision", f.deprovision(iid))
	if got := heatOf(t, c, tag); len(got) != 0 {
		t.Errorf("after deprovision: %v", got)
	}
	if kps := keypairs(t, c, key); len(kps) != 0 {
		t.Errorf("after deprovision: the stack's keypair is left: %v", kps)
	}
}

// stackFailure: Nova refuses the stack's keypair; the stack ends
// CREATE_FAILED and the provision fails naming Nova's error; the
// deprovision deletes the failed stack.
func stackFailure(t *testing.T, s *suite, f *flow) {
	c := s.cloud
	iid := newID(t)
	tag := "osb-instance-" + iid
	// Heat's own call to Nova carries the template's key name: the
	// instance id in it scopes the fault.
	key := "e2e-stack-" + iid
	nova := c.Fault(t, fault{Method: "POST", Path: "/compute/v2.1/os-keypairs", BodyContains: key,
		Status: 403, Body: map[string]any{"forbidden": map[string]any{"code": 403, "message": "injected: Quota exceeded, too many key pairs."}}})
	lo := f.provision(iid, "default", map[string]any{"template": stackTemplate, "template_parameters": "key_name: " + key})
	nova.Remove()
	if lo.State != osbapi.StateFailed || !strings.Contains(lo.Description, "CREATE_FAILED") || !strings.Contains(lo.Description, "too many key pairs") {
		t.Errorf("provision with Nova refusing the keypair: %s %q, want failed naming the stack's reason", lo.State, lo.Description)
	}
	if got := heatOf(t, c, tag); len(got) != 1 || got[0]["status"] != "CREATE_FAILED" {
		t.Errorf("after the failed provision: %v, want the failed stack", got)
	}
	f.succeeded("deprovision after a failed provision", f.deprovision(iid))
	if got := heatOf(t, c, tag); len(got) != 0 {
		t.Errorf("after deprovision: %v", got)
	}
	// A template that is not one fails before anything is made.
	iid2 := newID(t)
	lo = f.provision(iid2, "default", map[string]any{"template": "just: text"})
	if lo.State != osbapi.StateFailed || !strings.Contains(lo.Description, "heat_template_version") {
		t.Errorf("provision with a bad template: %s %q", lo.State, lo.Description)
	}
	f.succeeded("deprovision after a bad template", f.deprovision(iid2))
}
