package emulator_test

import (
	"fmt"
	"strings"
	"testing"
)

// TestNeutronSDKAddressScopesRBAC: address scopes (subnet pools joining
// them, the network's address scope, in-use and version errors) and RBAC
// policies (a network shared with the alt project becomes visible and
// usable to it, the policy in use is a 409, isolation) through
// openstacksdk.
func TestNeutronSDKAddressScopesRBAC(t *testing.T) {
	t.Parallel()
	c := StartCloud(t)
	out := asMap(t, c.Python(t, `
demo = connect("emulator")
alt = connect("emulator-alt")
exts = [e.alias for e in demo.network.extensions()]
scope = demo.network.create_address_scope(name="sdk-scope", ip_version=4)
demo.network.update_address_scope(scope, name="sdk-scope2")
shown = demo.network.get_address_scope(scope.id)
listed = [s.name for s in demo.network.address_scopes()]
shared_refused = http_error(lambda: demo.network.create_address_scope(name="x", ip_version=4, is_shared=True))
bad_version = http_error(lambda: demo.network.create_address_scope(name="x", ip_version=5))
pool = demo.network.create_subnet_pool(name="sdk-scoped", prefixes=["10.150.0.0/16"], default_prefix_length=24, address_scope_id=scope.id)
conflict = http_error(lambda: demo.network.create_subnet_pool(name="x", prefixes=["10.150.4.0/24"], address_scope_id=scope.id))
v6 = http_error(lambda: demo.network.create_subnet_pool(name="x6", prefixes=["fd00:1::/48"], address_scope_id=scope.id))
net = demo.network.create_network(name="sdk-scoped-net")
demo.network.create_subnet(network_id=net.id, ip_version=4, subnet_pool_id=pool.id, name="scoped-sub")
net_scope = demo.network.get_network(net.id).ipv4_address_scope_id
scope_in_use = http_error(lambda: demo.network.delete_address_scope(scope, ignore_missing=False))
alt_scope = http_error(lambda: alt.network.get_address_scope(scope.id))

alt_pid = alt.current_project_id
rbac = demo.network.create_rbac_policy(object_type="network", object_id=net.id, target_project_id=alt_pid, action="access_as_shared")
alt_sees = alt.network.get_network(net.id)
alt_lists = net.id in [n.id for n in alt.network.networks()]
alt_port = alt.network.create_port(network_id=net.id, name="alt-port")
policy_in_use = http_error(lambda: demo.network.delete_rbac_policy(rbac, ignore_missing=False))
alt_policy = http_error(lambda: alt.network.get_rbac_policy(rbac.id))
policies = [(p.object_id, p.target_project_id, p.action) for p in demo.network.rbac_policies(object_type="network", object_id=net.id)]
dup = http_error(lambda: demo.network.create_rbac_policy(object_type="network", object_id=net.id, target_project_id=alt_pid, action="access_as_shared"))
bad_action = http_error(lambda: demo.network.create_rbac_policy(object_type="address_scope", object_id=scope.id, target_project_id=alt_pid, action="access_as_external"))
wildcard = http_error(lambda: demo.network.create_rbac_policy(object_type="network", object_id=net.id, target_project_id="*", action="access_as_shared"))
not_owner = http_error(lambda: alt.network.create_rbac_policy(object_type="network", object_id=net.id, target_project_id=alt_pid, action="access_as_external"))
scope_rbac = demo.network.create_rbac_policy(object_type="address_scope", object_id=scope.id, target_project_id=alt_pid, action="access_as_shared")
alt_scope_shared = alt.network.get_address_scope(scope.id).is_shared
demo.network.update_rbac_policy(scope_rbac, target_project_id=demo.current_project_id)
alt_scope_after = http_error(lambda: alt.network.get_address_scope(scope.id))
demo.network.delete_rbac_policy(scope_rbac)
alt.network.delete_port(alt_port)
demo.network.delete_rbac_policy(rbac)
alt_gone = http_error(lambda: alt.network.get_network(net.id))
rbac_gone = http_error(lambda: demo.network.get_rbac_policy(rbac.id))
demo.network.delete_network(net)
demo.network.delete_subnet_pool(pool)
demo.network.delete_address_scope(scope)
scope_gone = http_error(lambda: demo.network.get_address_scope(scope.id))
emit({"exts": exts, "shown": shown.to_dict(), "listed": listed, "shared_refused": shared_refused, "bad_version": bad_version,
      "pool_scope": pool.address_scope_id == scope.id, "conflict": conflict, "v6": v6, "net_scope": net_scope == scope.id,
      "scope_in_use": scope_in_use, "alt_scope": alt_scope, "rbac": rbac.to_dict(), "alt_sees_shared": alt_sees.is_shared,
      "alt_lists": alt_lists, "alt_port": alt_port.network_id == net.id, "policy_in_use": policy_in_use,
      "alt_policy": alt_policy, "policies": policies, "dup": dup, "bad_action": bad_action, "wildcard": wildcard,
      "not_owner": not_owner, "alt_scope_shared": alt_scope_shared, "alt_scope_after": alt_scope_after,
      "alt_gone": alt_gone, "rbac_gone": rbac_gone, "scope_gone": scope_gone, "alt_pid": alt_pid})
`))
	exts := fmt.Sprint(out["exts"])
	for _, e := range []string{"address-scope", "rbac-policies", "rbac-address-scope", "rbac-subnetpool", "rbac-security-groups"} {
		if !strings.Contains(exts, e) {
			t.Errorf("extensions lack %s: %s", e, exts)
		}
	}
	shown := asMap(t, out["shown"])
	if shown["name"] != "sdk-scope2" || shown["ip_version"] != float64(4) || shown["is_shared"] != false {
		t.Errorf("address scope: %v", shown)
	}
	if !strings.Contains(fmt.Sprint(out["listed"]), "sdk-scope2") {
		t.Errorf("address scope list: %v", out["listed"])
	}
	status := func(key string, want float64, text string) {
		t.Helper()
		e := asMap(t, out[key])
		if e["status"] != want || !strings.Contains(fmt.Sprint(e["message"]), text) {
			t.Errorf("%s: got %v, want %v with %q", key, e, want, text)
		}
	}
	status("shared_refused", 403, "create_address_scope:shared")
	status("bad_version", 400, "5 is not in [4, 6]")
	status("conflict", 409, "must have unique prefixes")
	status("v6", 400, "subnetpool ip_version is not 4")
	status("scope_in_use", 409, "one or more subnet pools in use")
	status("alt_scope", 404, "could not be found")
	status("policy_in_use", 409, "Multiple tenants are using it")
	status("alt_policy", 404, "RBAC policy of type unknown")
	status("dup", 409, "already exists")
	status("bad_action", 400, "Invalid action 'access_as_external' for object type 'address_scope'")
	status("wildcard", 403, "create_rbac_policy:target_tenant")
	status("not_owner", 400, "Only admins can manipulate policies on networks they do not own")
	status("alt_scope_after", 404, "could not be found")
	status("alt_gone", 404, "")
	status("rbac_gone", 404, "")
	status("scope_gone", 404, "")
	for _, k := range []string{"pool_scope", "net_scope", "alt_sees_shared", "alt_lists", "alt_port", "alt_scope_shared"} {
		if out[k] != true {
			t.Errorf("%s: %v", k, out[k])
		}
	}
	rbac := asMap(t, out["rbac"])
	if rbac["object_type"] != "network" || rbac["action"] != "access_as_shared" || rbac["target_project_id"] != out["alt_pid"] {
		t.Errorf("rbac policy: %v", rbac)
	}
	if len(asList(t, out["policies"])) != 1 {
		t.Errorf("rbac policies of the network: %v", out["policies"])
	}
}

// TestNeutronCLIAddressScopesRBAC: openstack address scope ... and
// openstack network rbac ... .
func TestNeutronCLIAddressScopesRBAC(t *testing.T) {
	t.Parallel()
	c := StartCloud(t)
	scope := asMap(t, c.CLI(t, "emulator", "address", "scope", "create", "--ip-version", "6", "cli-scope"))
	if scope["ip_version"] != float64(6) || scope["shared"] != false {
		t.Errorf("address scope create: %v", scope)
	}
	c.CLINoFormat(t, "emulator", "address", "scope", "set", "--name", "cli-scope2", "cli-scope")
	if s := asMap(t, c.CLI(t, "emulator", "address", "scope", "show", "cli-scope2")); s["id"] != scope["id"] {
		t.Errorf("address scope show: %v", s)
	}
	if findBy(t, c.CLI(t, "emulator", "address", "scope", "list"), "Name", "cli-scope2") == nil {
		t.Error("address scope list lacks the scope")
	}
	if e := c.CLIFails(t, "emulator", "address", "scope", "create", "--share", "x"); !strings.Contains(e, "403") && !strings.Contains(e, "disallowed by policy") {
		t.Errorf("a shared address scope by a member: %s", e)
	}
	alt := asMap(t, c.CLI(t, "emulator-alt", "token", "issue"))
	altProject := fmt.Sprint(alt["project_id"])
	net := asMap(t, c.CLI(t, "emulator", "network", "create", "cli-rbac-net"))
	rbac := asMap(t, c.CLI(t, "emulator", "network", "rbac", "create", "--type", "network", "--action", "access_as_shared",
		"--target-project", altProject, "cli-rbac-net"))
	if rbac["object_id"] != net["id"] || rbac["target_project_id"] != altProject {
		t.Errorf("network rbac create: %v", rbac)
	}
	id := fmt.Sprint(rbac["id"])
	if r := asMap(t, c.CLI(t, "emulator", "network", "rbac", "show", id)); r["action"] != "access_as_shared" {
		t.Errorf("network rbac show: %v", r)
	}
	if findBy(t, c.CLI(t, "emulator", "network", "rbac", "list", "--type", "network"), "ID", id) == nil {
		t.Error("network rbac list lacks the policy")
	}
	if findBy(t, c.CLI(t, "emulator-alt", "network", "list"), "ID", fmt.Sprint(net["id"])) == nil {
		t.Error("alt does not see the network shared with it")
	}
	c.CLINoFormat(t, "emulator", "network", "rbac", "set", "--target-project", altProject, id)
	if e := c.CLIFails(t, "emulator", "network", "rbac", "create", "--type", "network", "--action", "access_as_shared",
		"--target-project", altProject, "cli-rbac-net"); !strings.Contains(e, "409") && !strings.Contains(e, "already exists") {
		t.Errorf("a duplicate policy: %s", e)
	}
	c.CLIFails(t, "emulator-alt", "network", "rbac", "show", id)
	c.CLINoFormat(t, "emulator", "network", "rbac", "delete", id)
	if findBy(t, c.CLI(t, "emulator-alt", "network", "list"), "ID", fmt.Sprint(net["id"])) != nil {
		t.Error("alt still sees the network after the policy went")
	}
	c.CLINoFormat(t, "emulator", "network", "delete", "cli-rbac-net")
	c.CLINoFormat(t, "emulator", "address", "scope", "delete", "cli-scope2")
	if e := c.CLIFails(t, "emulator", "address", "scope", "show", "cli-scope2"); !strings.Contains(e, "No AddressScope found") && !strings.Contains(e, "404") {
		t.Errorf("a deleted address scope: %s", e)
	}
}

// TestNeutronAnsibleAddressScopesRBAC: openstack.cloud.address_scope and
// neutron_rbac_policy (with neutron_rbac_policies_info).
func TestNeutronAnsibleAddressScopesRBAC(t *testing.T) {
	t.Parallel()
	c := StartCloud(t)
	r := c.Ansible(t, `
- hosts: localhost
  gather_facts: false
  tasks:
    - name: scope
      openstack.cloud.address_scope: {cloud: emulator, name: ans-scope, ip_version: "4"}
    - name: scope again
      openstack.cloud.address_scope: {cloud: emulator, name: ans-scope, ip_version: "4"}
    - name: shared scope
      openstack.cloud.address_scope: {cloud: emulator, name: ans-scope, shared: true}
      ignore_errors: true
    - name: network
      openstack.cloud.network: {cloud: emulator, name: ans-rbac-net}
      register: net
    - name: alt project
      openstack.cloud.auth: {cloud: emulator-alt}
    - name: alt token
      ansible.builtin.uri:
        url: "{{ service_catalog | selectattr('type', 'equalto', 'identity') | map(attribute='endpoints') | first | selectattr('interface', 'equalto', 'public') | map(attribute='url') | first | regex_replace('/v3$', '') }}/v3/auth/tokens"
        headers: {X-Auth-Token: "{{ auth_token }}", X-Subject-Token: "{{ auth_token }}"}
      register: alt
    - name: policy
      openstack.cloud.neutron_rbac_policy:
        cloud: emulator
        object_id: "{{ net.id }}"
        object_type: network
        action: access_as_shared
        target_project_id: "{{ alt.json.token.project.id }}"
        project_id: "{{ net.network.project_id }}"
    - name: policy again
      openstack.cloud.neutron_rbac_policy:
        cloud: emulator
        object_id: "{{ net.id }}"
        object_type: network
        action: access_as_shared
        target_project_id: "{{ alt.json.token.project.id }}"
        project_id: "{{ net.network.project_id }}"
    - name: policies
      openstack.cloud.neutron_rbac_policies_info: {cloud: emulator, object_id: "{{ net.id }}"}
      register: policies
    - name: alt sees the network
      openstack.cloud.networks_info: {cloud: emulator-alt}
    - name: policy of an unknown network
      openstack.cloud.neutron_rbac_policy:
        cloud: emulator
        object_id: 0b6f6e3a-6d1e-4c3e-9d3a-000000000000
        object_type: network
        action: access_as_shared
        target_project_id: "{{ alt.json.token.project.id }}"
        project_id: "{{ net.network.project_id }}"
      ignore_errors: true
    - name: delete policy
      openstack.cloud.neutron_rbac_policy: {cloud: emulator, policy_id: "{{ (policies.policies | first).id }}", state: absent}
    - name: delete policy again
      openstack.cloud.neutron_rbac_policy: {cloud: emulator, policy_id: "{{ (policies.policies | first).id }}", state: absent}
    - name: delete network
      openstack.cloud.network: {cloud: emulator, name: ans-rbac-net, state: absent}
    - name: delete scope
      openstack.cloud.address_scope: {cloud: emulator, name: ans-scope, state: absent}
`)
	scope := r.OK(t, "scope")
	if scope["changed"] != true || asMap(t, scope["address_scope"])["ip_version"] != float64(4) {
		t.Errorf("scope: %v", scope)
	}
	if v := r.OK(t, "scope again"); v["changed"] != false || v["id"] != scope["id"] {
		t.Errorf("scope again: %v", v)
	}
	if msg := r.Failed(t, "shared scope"); !strings.Contains(msg, "disallowed by policy") {
		t.Errorf("a shared scope by a member: %s", msg)
	}
	policy := r.OK(t, "policy")
	if policy["changed"] != true || asMap(t, policy["policy"])["action"] != "access_as_shared" {
		t.Errorf("policy: %v", policy)
	}
	if v := r.OK(t, "policy again"); v["changed"] != false {
		t.Errorf("policy again: %v", v)
	}
	if ps := asList(t, r.OK(t, "policies")["policies"]); len(ps) != 1 {
		t.Errorf("policies: %v", ps)
	}
	if n := findBy(t, r.OK(t, "alt sees the network")["openstack_networks"], "name", "ans-rbac-net"); n == nil || n["is_shared"] != true {
		t.Errorf("alt's networks_info: %v", n)
	}
	if msg := r.Failed(t, "policy of an unknown network"); !strings.Contains(msg, "could not be found") {
		t.Errorf("a policy of an unknown network: %s", msg)
	}
	if v := r.OK(t, "delete policy"); v["changed"] != true {
		t.Errorf("delete policy: %v", v)
	}
	if v := r.OK(t, "delete policy again"); v["changed"] != false {
		t.Errorf("delete policy again: %v", v)
	}
	if v := r.OK(t, "delete scope"); v["changed"] != true {
		t.Errorf("delete scope: %v", v)
	}
}
