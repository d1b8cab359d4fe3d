package neutron_test

import (
	"encoding/json"
	"net/http"
	"os"
	"strings"
	"testing"

	"github.com/openstack-service-broker/openstack-service-broker/pkg/emulator"
)

// TestRBACInUse: a policy a project depends on cannot go (409
// RbacPolicyInUse naming the callback), for each shared object type; once
// the dependency goes, it can.
func TestRBACInUse(t *testing.T) {
	c := start(t, emulator.Options{})
	demo, alt, admin := token(t, c, "demo"), token(t, c, "alt"), token(t, c, "admin")
	altProject := projectOf(t, c, alt)
	create := func(tok, path, key string, body map[string]any) string {
		t.Helper()
		resp, out := call(t, c, tok, "POST", "/networking/v2.0/"+path, map[string]any{key: body})
		if resp.StatusCode != 201 {
			t.Fatalf("POST %s: %d %s", path, resp.StatusCode, out)
		}
		var m map[string]map[string]any
		_ = json.Unmarshal([]byte(out), &m)
		return m[key]["id"].(string)
	}
	share := func(tok, otype, oid, action string) string {
		return create(tok, "rbac-policies", "rbac_policy", map[string]any{"object_type": otype, "object_id": oid,
			"action": action, "target_tenant": altProject})
	}
	del := func(tok, path string) (int, string) {
		resp, out := call(t, c, tok, "DELETE", "/networking/v2.0/"+path, nil)
		return resp.StatusCode, out
	}

	sg := create(demo, "security-groups", "security_group", map[string]any{"name": "shared-sg"})
	pool := create(demo, "subnetpools", "subnetpool", map[string]any{"name": "shared-pool", "prefixes": []string{"10.77.0.0/16"}, "default_prefixlen": 24})
	scope := create(demo, "address-scopes", "address_scope", map[string]any{"name": "shared-scope", "ip_version": 4})
	ext := create(admin, "networks", "network", map[string]any{"name": "ext2"})
	create(admin, "subnets", "subnet", map[string]any{"network_id": ext, "ip_version": 4, "cidr": "172.30.0.0/24"})

	for _, tc := range []struct {
		name, tok, otype, oid, action string
		// use makes what the alt project builds on the policy; free
		// removes it again.
		use  func() string
		free func(id string)
		want string
	}{
		{name: "security group", tok: demo, otype: "security_group", oid: sg, action: "access_as_shared",
			use: func() string {
				net := get(t, c, alt, "/networking/v2.0/networks?name=private")["networks"].([]any)[0].(map[string]any)["id"].(string)
				return create(alt, "ports", "port", map[string]any{"network_id": net, "security_groups": []string{sg}})
			},
			free: func(id string) { del(alt, "ports/"+id) },
			want: "neutron.objects.securitygroup.SecurityGroup.validate_rbac_policy_change"},
		{name: "subnet pool", tok: demo, otype: "subnetpool", oid: pool, action: "access_as_shared",
			use: func() string {
				net := create(alt, "networks", "network", map[string]any{"name": "from-pool"})
				create(alt, "subnets", "subnet", map[string]any{"network_id": net, "ip_version": 4, "subnetpool_id": pool})
				return net
			},
			free: func(id string) { del(alt, "networks/"+id) },
			want: "Details: project_id=" + altProject},
		{name: "address scope", tok: demo, otype: "address_scope", oid: scope, action: "access_as_shared",
			use: func() string {
				return create(alt, "subnetpools", "subnetpool", map[string]any{"name": "in-scope", "prefixes": []string{"10.88.0.0/16"}, "address_scope_id": scope})
			},
			free: func(id string) { del(alt, "subnetpools/"+id) },
			want: "neutron.objects.address_scope.AddressScope"},
		{name: "external network", tok: admin, otype: "network", oid: ext, action: "access_as_external",
			use: func() string {
				return create(alt, "routers", "router", map[string]any{"name": "via-ext2", "external_gateway_info": map[string]any{"network_id": ext}})
			},
			free: func(id string) { del(alt, "routers/"+id) },
			want: "There are routers attached to this network that depend on this policy for access."},
	} {
		t.Run(tc.name, func(t *testing.T) {
			policy := share(tc.tok, tc.otype, tc.oid, tc.action)
			used := tc.use()
			code, out := del(tc.tok, "rbac-policies/"+policy)
			if code != 409 || !strings.Contains(out, "RbacPolicyInUse") || !strings.Contains(out, tc.want) {
				t.Errorf("deleting a policy in use: %d %s", code, out)
			}
			tc.free(used)
			if code, out := del(tc.tok, "rbac-policies/"+policy); code != 204 {
				t.Errorf("deleting a policy no longer in use: %d %s", code, out)
			}
		})
	}
	// The external network is external only while an entry says so.
	if n := get(t, c, admin, "/networking/v2.0/networks/"+ext)["network"].(map[string]any); n["router:external"] != false {
		t.Errorf("ext2 after its last access_as_external entry went: %v", n)
	}
}

// TestRBACRestoreOldState: a state saved before RBAC policies existed gets
// the entries its shared and external networks imply.
func TestRBACRestoreOldState(t *testing.T) {
	file := t.TempDir() + "/state.json"
	c := start(t, emulator.Options{StateFile: file})
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var saved any
	if err := json.Unmarshal(data, &saved); err != nil {
		t.Fatal(err)
	}
	if !dropKey(saved, "rbac_policies") {
		t.Fatalf("no rbac_policies in the saved state: %s", data)
	}
	data, _ = json.Marshal(saved)
	if err := os.WriteFile(file, data, 0o600); err != nil {
		t.Fatal(err)
	}
	c2 := start(t, emulator.Options{StateFile: file})
	admin := token(t, c2, "admin")
	pols := get(t, c2, admin, "/networking/v2.0/rbac-policies?action=access_as_external")["rbac_policies"].([]any)
	if len(pols) != 1 || pols[0].(map[string]any)["target_tenant"] != "*" {
		t.Errorf("public's access_as_external entry after a restart: %v", pols)
	}
}

// dropKey removes key from every object in v; it reports whether it found
// one.
func dropKey(v any, key string) bool {
	found := false
	switch x := v.(type) {
	case map[string]any:
		if _, ok := x[key]; ok {
			delete(x, key)
			found = true
		}
		for _, e := range x {
			found = dropKey(e, key) || found
		}
	case []any:
		for _, e := range x {
			found = dropKey(e, key) || found
		}
	}
	return found
}

// projectOf is the project of a token.
func projectOf(t *testing.T, c *emulator.Cloud, tok string) string {
	t.Helper()
	req, _ := http.NewRequest("GET", c.URL()+"/v3/auth/tokens", nil)
	req.Header.Set("X-Auth-Token", tok)
	req.Header.Set("X-Subject-Token", tok)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body struct {
		Token struct {
			Project struct {
				ID string `json:"id"`
			} `json:"project"`
		} `json:"token"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil || body.Token.Project.ID == "" {
		t.Fatalf("token's project: %v %+v", err, body)
	}
	return body.Token.Project.ID
}
