package openstack

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/openstack-service-broker/openstack-service-broker/pkg/osb/osbapi"
)

// appCredsOf lists the names of demo's application credentials starting
// with prefix, with openstacksdk.
func appCredsOf(t *testing.T, c *Cloud, cloud, prefix string) []string {
	t.Helper()
	return strs(c.Python(t, fmt.Sprintf(`
c = connect(%q)
r = c.identity.get("/users/%%s/application_credentials" %% c.current_user_id)
r.raise_for_status()
emit([a["name"] for a in r.json()["application_credentials"] if a["name"].startswith(%q)])`, cloud, prefix)))
}

// asAppCred runs script as the bound application credential of creds (a
// binding), with connect() giving that connection; it emits what the
// script passes to emit().
func asAppCred(t *testing.T, c *Cloud, creds map[string]any, script string) any {
	t.Helper()
	auth, _ := json.Marshal(map[string]any{"auth_url": creds["auth_url"], "application_credential_id": creds["application_credential_id"],
		"application_credential_secret": creds["application_credential_secret"]})
	return c.Python(t, fmt.Sprintf(`
AUTH = json.loads(%q)
def bound():
    return openstack.connect(auth_type="v3applicationcredential", auth=AUTH, region_name=%q)
`, auth, str(creds["region_name"]))+script)
}

// withCloudsYAML runs the openstack CLI with the clouds.yaml a binding
// returned, as an application would.
func withCloudsYAML(t *testing.T, c *Cloud, creds map[string]any, args ...string) (string, int) {
	t.Helper()
	f := filepath.Join(t.TempDir(), "clouds.yaml")
	if err := os.WriteFile(f, []byte(str(creds["clouds_yaml"])), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := append([]string{"--os-cloud", "openstack"}, args...)
	out, stderr, code := c.run(t, execCommand(openstackCLI, cmd...), []string{"OS_CLIENT_CONFIG_FILE=" + f})
	return out + stderr, code
}

func appcredLifecycle(t *testing.T, s *suite, f *flow) {
	c := s.cloud
	iid := newID(t)
	prefix := "osb-" + iid + "-"
	if _, err := f.runDirect("provision", iid, "default", nil); err != nil {
		t.Fatalf("direct provision: %v", err)
	}
	f.succeeded("provision", f.provision(iid, "default", nil))
	if left := appCredsOf(t, c, "emulator", prefix); len(left) != 0 {
		t.Errorf("provision left application credentials: %v", left)
	}

	bid := newID(t)
	lo, b := f.bind(iid, bid, nil)
	f.succeeded("bind", lo)
	if b["application_credential_name"] != prefix+bid || b["application_credential_secret"] == "" || !strings.Contains(str(b["roles"]), "member") {
		t.Errorf("binding = name %v roles %v", b["application_credential_name"], b["roles"])
	}
	// The credential works: the SDK with it, and the CLI with its clouds.yaml.
	if v := asAppCred(t, c, b, `
c = bound()
emit({"project": c.current_project_id, "servers": status_of(lambda: list(c.compute.servers()))})`); asMap(t, v)["project"] != b["project_id"] || asMap(t, v)["servers"] != nil {
		t.Errorf("the bound credential does not work: %v", v)
	}
	if out, code := withCloudsYAML(t, c, b, "token", "issue", "-f", "json"); code != 0 {
		t.Errorf("openstack token issue with the bound clouds.yaml: exit %d: %s", code, out)
	}
	bid2 := newID(t) // never unbound: the deprovision deletes its credential
	lo, b2 := f.bind(iid, bid2, nil)
	f.succeeded("bind (second)", lo)

	f.succeeded("unbind", f.unbind(iid, bid))
	if v := asAppCred(t, c, b, `emit(status_of(lambda: bound().authorize()))`); v != float64(401) {
		t.Errorf("the unbound credential still authenticates: %v", v)
	}
	if v := asAppCred(t, c, b2, `emit(status_of(lambda: bound().authorize()))`); v != nil {
		t.Errorf("unbinding one binding revoked another: %v", v)
	}

	// New bindings get the updated roles: read, not write.
	f.succeeded("update", f.update(iid, map[string]any{"roles": "reader", "expires_in_days": 7}))
	bid3 := newID(t)
	lo, b3 := f.bind(iid, bid3, nil)
	f.succeeded("bind (reader)", lo)
	if b3["roles"] != "reader" || b3["expires_at"] == "" {
		t.Errorf("binding after update: roles %v expires_at %v", b3["roles"], b3["expires_at"])
	}
	v := asMap(t, asAppCred(t, c, b3, `
c = bound()
emit({"read": status_of(lambda: list(c.compute.servers())),
      "write": status_of(lambda: c.network.create_network(name="osb-e2e-must-fail"))})`))
	if v["read"] != nil || v["write"] != float64(403) {
		t.Errorf("reader credential: %v, want reads allowed and writes 403", v)
	}

	f.succeeded("deprovision", f.deprovision(iid))
	if left := appCredsOf(t, c, "emulator", prefix); len(left) != 0 {
		t.Errorf("after deprovision: application credentials %v", left)
	}
	if v := asAppCred(t, c, b2, `emit(status_of(lambda: bound().authorize()))`); v != float64(401) {
		t.Errorf("a binding's credential outlived the deprovision: %v", v)
	}
}

// appcredFailure: credentials that are a restricted application credential
// (a namespace's own) may not create application credentials; the
// provision fails saying so, and the deprovision succeeds.
func appcredFailure(t *testing.T, s *suite, f *flow) {
	c := s.cloud
	params := ownCredentials(t, s, f, false)
	iid := newID(t)
	lo := f.provision(iid, "default", params)
	if lo.State != osbapi.StateFailed || !strings.Contains(lo.Description, "restricted application credential") || !strings.Contains(lo.Description, "403") {
		t.Errorf("provision with a restricted credential: %s %q, want failed naming Keystone's 403", lo.State, lo.Description)
	}
	f.succeeded("deprovision after a failed provision", f.deprovision(iid))
	if left := appCredsOf(t, c, "emulator-alt", "osb-"+iid); len(left) != 0 {
		t.Errorf("left: %v", left)
	}
}
