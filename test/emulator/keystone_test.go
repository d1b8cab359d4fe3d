package emulator_test

import (
	"fmt"
	"net/http"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/openstack-service-broker/openstack-service-broker/pkg/emulator"
)

// TestKeystoneSDK: projects and users through openstacksdk (admin cloud),
// tokens, the catalog, one error each.
func TestKeystoneSDK(t *testing.T) {
	t.Parallel()
	c := StartCloud(t)
	out := asMap(t, c.Python(t, `
admin = connect("emulator-admin")
p = admin.identity.create_project(name="sdk-p", description="first", domain_id="default")
shown = admin.identity.get_project(p.id)
listed = [x.name for x in admin.identity.projects()]
admin.identity.update_project(p, description="second")
updated = admin.identity.get_project(p.id).description
dup = http_error(lambda: admin.identity.create_project(name="sdk-p", domain_id="default"))
u = admin.identity.create_user(name="sdk-u", password="pw-1", default_project_id=p.id, domain_id="default")
member = admin.identity.find_role("member")
admin.identity.assign_project_role_to_user(p, u, member)
# The new user logs in with its password and sees its project in the catalog token.
uc = openstack.connect(auth_url=admin.config.config["auth"]["auth_url"], username="sdk-u", password="pw-1",
    project_name="sdk-p", user_domain_name="Default", project_domain_name="Default", region_name="RegionOne")
tok = uc.auth_token
svc_types = sorted({e["type"] for e in uc.config.get_service_catalog().catalog})
bad = http_error(lambda: openstack.connect(auth_url=admin.config.config["auth"]["auth_url"], username="sdk-u",
    password="wrong", project_name="sdk-p", user_domain_name="Default", project_domain_name="Default").authorize())
admin.identity.delete_user(u)
admin.identity.delete_project(p)
gone = http_error(lambda: admin.identity.get_project(p.id))
demo = connect("emulator")
emit({"id": p.id, "shown": shown.name, "listed": listed, "updated": updated, "dup": dup, "token": bool(tok),
      "types": svc_types, "bad": bad, "gone": gone, "demo_project": demo.current_project_id,
      "demo_cannot_list_users": http_error(lambda: list(demo.identity.users()))})
`))
	if out["shown"] != "sdk-p" || out["updated"] != "second" {
		t.Errorf("project show/update: %v", out)
	}
	if !strings.Contains(fmt.Sprint(out["listed"]), "sdk-p") || !strings.Contains(fmt.Sprint(out["listed"]), "demo") {
		t.Errorf("project list: %v", out["listed"])
	}
	for k, want := range map[string]float64{"dup": 409, "bad": 401, "gone": 404, "demo_cannot_list_users": 403} {
		if got := asMap(t, out[k])["status"]; got != want {
			t.Errorf("%s: status %v, want %v (%v)", k, got, want, out[k])
		}
	}
	// The catalog lists every service the emulator registers (hidden
	// ones aside), whatever services the tree has.
	var want []string
	for _, sp := range c.Env().Specs() {
		if !sp.Hidden {
			want = append(want, sp.Type)
		}
	}
	sort.Strings(want)
	if fmt.Sprint(out["types"]) != fmt.Sprint(want) {
		t.Errorf("catalog types %v, want %v", out["types"], want)
	}
}

// TestKeystoneCLI: application credentials through the openstack CLI,
// tokens, the restricted credential of clouds.yaml, and isolation.
func TestKeystoneCLI(t *testing.T) {
	t.Parallel()
	c := StartCloud(t)
	tok := asMap(t, c.CLI(t, "emulator", "token", "issue"))
	if tok["project_id"] == "" || tok["id"] == "" {
		t.Fatalf("token issue: %v", tok)
	}
	ac := asMap(t, c.CLI(t, "emulator", "application", "credential", "create", "--role", "member", "--description", "cli", "cli-ac"))
	if ac["secret"] == "" || ac["roles"] != "member" || ac["unrestricted"] != false {
		t.Errorf("application credential create: %v", ac)
	}
	id := fmt.Sprint(ac["id"])
	shown := asMap(t, c.CLI(t, "emulator", "application", "credential", "show", "cli-ac"))
	if shown["id"] != id || shown["secret"] != nil || shown["description"] != "cli" {
		t.Errorf("application credential show (the secret is shown once only): %v", shown)
	}
	if findBy(t, c.CLI(t, "emulator", "application", "credential", "list"), "ID", id) == nil {
		t.Error("the new credential is not listed")
	}
	// Errors: a role the user does not have; a duplicate name.
	if e := c.CLIFails(t, "emulator", "application", "credential", "create", "--role", "admin", "x"); !strings.Contains(e, "HTTP 400") {
		t.Errorf("role the user lacks: %s", e)
	}
	if e := c.CLIFails(t, "emulator", "application", "credential", "create", "cli-ac"); !strings.Contains(e, "HTTP 409") {
		t.Errorf("duplicate name: %s", e)
	}
	// Isolation: alt neither lists nor shows demo's credential.
	if findBy(t, c.CLI(t, "emulator-alt", "application", "credential", "list"), "ID", id) != nil {
		t.Error("alt lists demo's application credential")
	}
	c.CLIFails(t, "emulator-alt", "application", "credential", "show", id)
	// The clouds.yaml credential is restricted: it cannot make more.
	if e := c.CLIFails(t, "emulator-appcred", "application", "credential", "create", "more"); !strings.Contains(e, "HTTP 403") {
		t.Errorf("restricted credential creating another: %s", e)
	}
	c.CLINoFormat(t, "emulator", "application", "credential", "delete", "cli-ac")
	c.CLIFails(t, "emulator", "application", "credential", "show", id)
	// Revocation: a revoked token no longer works.
	revoked := fmt.Sprint(tok["id"])
	c.CLINoFormat(t, "emulator", "token", "revoke", revoked)
	if resp, _ := c.HTTP(t, revoked, "GET", "/image/v2/images", nil); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("revoked token: %d", resp.StatusCode)
	}
	// Admin: projects and role assignments.
	c.CLI(t, "emulator-admin", "project", "create", "--description", "p", "cli-p")
	c.CLINoFormat(t, "emulator-admin", "role", "add", "--project", "cli-p", "--user", "alt", "reader")
	as := c.CLI(t, "emulator-admin", "role", "assignment", "list", "--project", "cli-p", "--names")
	if findBy(t, as, "User", "alt@Default") == nil {
		t.Errorf("role assignment list: %v", as)
	}
	c.CLINoFormat(t, "emulator-admin", "project", "delete", "cli-p")
}

// TestKeystoneAnsible: projects and users through openstack.cloud modules
// in the openstack-apb image.
func TestKeystoneAnsible(t *testing.T) {
	t.Parallel()
	c := StartCloud(t)
	r := c.Ansible(t, `
- hosts: localhost
  gather_facts: false
  tasks:
    - name: auth
      openstack.cloud.auth: {cloud: emulator}
    - name: create project
      openstack.cloud.project: {cloud: emulator-admin, name: ans-p, description: one, domain_id: default}
    - name: update project
      openstack.cloud.project: {cloud: emulator-admin, name: ans-p, description: two, domain_id: default}
    - name: project info
      openstack.cloud.project_info: {cloud: emulator-admin, name: ans-p}
    - name: create user
      openstack.cloud.identity_user: {cloud: emulator-admin, name: ans-u, password: pw, default_project: ans-p, domain: default}
    - name: user info
      openstack.cloud.identity_user_info: {cloud: emulator-admin, name: ans-u}
    - name: delete user
      openstack.cloud.identity_user: {cloud: emulator-admin, name: ans-u, state: absent}
    - name: delete project
      openstack.cloud.project: {cloud: emulator-admin, name: ans-p, state: absent}
    - name: demo cannot create projects
      openstack.cloud.project: {cloud: emulator, name: nope, domain_id: default}
      ignore_errors: true
`)
	if tok := r.OK(t, "auth"); tok["changed"] == true {
		t.Errorf("auth: %v", tok)
	}
	if p := asMap(t, r.OK(t, "create project")["project"]); p["name"] != "ans-p" {
		t.Errorf("create project: %v", p)
	}
	if r.OK(t, "update project")["changed"] != true {
		t.Error("update project did not change it")
	}
	ps := asList(t, r.OK(t, "project info")["openstack_projects"])
	if len(ps) != 1 || asMap(t, ps[0])["description"] != "two" {
		t.Errorf("project info: %v", ps)
	}
	r.OK(t, "create user")
	if us := asList(t, r.OK(t, "user info")["openstack_users"]); len(us) != 1 {
		t.Errorf("user info: %v", us)
	}
	r.OK(t, "delete user")
	r.OK(t, "delete project")
	if msg := r.Failed(t, "demo cannot create projects"); !strings.Contains(msg, "403") {
		t.Errorf("demo creating a project: %s", msg)
	}
}

// TestAccessRules: a credential restricted to GET /v2/images on the image
// service lists images and gets 401 anywhere else; a token-level check of
// the shapes besides.
func TestAccessRules(t *testing.T) {
	t.Parallel()
	c := StartCloud(t)
	out := asMap(t, c.Python(t, `
demo = connect("emulator")
user = demo.current_user_id
# openstacksdk 0.101 does not know access_rules: send them through its
# identity session.
ac = demo.identity.post("/users/%s/application_credentials" % user, json={"application_credential": {
    "name": "ro", "access_rules": [{"service": "image", "method": "GET", "path": "/v2/images"}]}}).json()["application_credential"]
ro = openstack.connect(auth_type="v3applicationcredential", auth_url=demo.config.config["auth"]["auth_url"],
    application_credential_id=ac["id"], application_credential_secret=ac["secret"], region_name="RegionOne")
names = [i.name for i in ro.image.images()]
cirros = [i.id for i in demo.image.images()][0]
emit({"names": names,
      "get_one": http_error(lambda: ro.image.get_image(cirros)),
      "identity": http_error(lambda: ro.identity.get_user(user)),
      "rules": [dict(service=r["service"], method=r["method"], path=r["path"])
                for r in demo.identity.get("/users/%s/access_rules" % user).json()["access_rules"]]})
`))
	if !strings.Contains(fmt.Sprint(out["names"]), "cirros") {
		t.Errorf("allowed GET /v2/images: %v", out["names"])
	}
	for _, k := range []string{"get_one", "identity"} {
		if got := asMap(t, out[k])["status"]; got != float64(401) {
			t.Errorf("%s outside the access rules: %v", k, out[k])
		}
	}
	if fmt.Sprint(out["rules"]) != "[map[method:GET path:/v2/images service:image]]" {
		t.Errorf("access rules: %v", out["rules"])
	}
}

// TestTokens: discovery, validation, HEAD, expiry and the request id,
// through raw HTTP (the shapes the clients hide).
func TestTokens(t *testing.T) {
	t.Parallel()
	c := StartCloud(t, func(o *emulator.Options) { o.TokenTTL = 2 * time.Second })
	resp, body := c.HTTP(t, "", "GET", "/", nil)
	if resp.StatusCode != http.StatusMultipleChoices || !strings.Contains(string(body), `"id":"v3.14"`) {
		t.Errorf("GET /: %d %s", resp.StatusCode, body)
	}
	if rid := resp.Header.Get("X-Openstack-Request-Id"); !strings.HasPrefix(rid, "req-") || len(rid) != 40 {
		t.Errorf("X-Openstack-Request-Id %q", rid)
	}
	tok := c.Token(t, "demo")
	admin := c.Token(t, "admin")
	resp, body = c.HTTP(t, admin, "GET", "/v3/auth/tokens", nil, "X-Subject-Token", tok)
	if resp.StatusCode != 200 || !strings.Contains(string(body), `"name":"demo"`) || resp.Header.Get("X-Subject-Token") != tok {
		t.Errorf("validate: %d %s", resp.StatusCode, body)
	}
	if resp, _ = c.HTTP(t, tok, "HEAD", "/v3/auth/tokens", nil, "X-Subject-Token", tok); resp.StatusCode != 200 {
		t.Errorf("HEAD own token: %d", resp.StatusCode)
	}
	alt := c.Token(t, "alt")
	if resp, _ = c.HTTP(t, alt, "GET", "/v3/auth/tokens", nil, "X-Subject-Token", tok); resp.StatusCode != 403 {
		t.Errorf("alt validating demo's token: %d", resp.StatusCode)
	}
	resp, body = c.HTTP(t, "", "GET", "/image/v2/images", nil)
	if resp.StatusCode != 401 || !strings.Contains(string(body), `"The request you have made requires authentication."`) ||
		!strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), "Keystone uri=") {
		t.Errorf("no token: %d %s %v", resp.StatusCode, body, resp.Header)
	}
	time.Sleep(2100 * time.Millisecond)
	if resp, _ = c.HTTP(t, tok, "GET", "/image/v2/images", nil); resp.StatusCode != 401 {
		t.Errorf("expired token: %d", resp.StatusCode)
	}
}

// TestResetAfterRestart: after a restart with -state, POST /_emulator/reset
// brings back the start state of the identities the state file holds, so
// the clouds.yaml written at the restart keeps working for every cloud,
// a token from before the restart stays valid, what was made is gone, and
// the built-in projects have their start networks again.
func TestResetAfterRestart(t *testing.T) {
	t.Parallel()
	file := filepath.Join(t.TempDir(), "state.json")
	withState := func(o *emulator.Options) { o.StateFile = file }
	c1 := StartCloud(t, withState)
	before := asMap(t, c1.Python(t, `
demo = connect("emulator")
demo.compute.create_keypair(name="made")
demo.network.create_network(name="made")
emit({"token": demo.auth_token})
`))
	if err := c1.Close(); err != nil {
		t.Fatal(err)
	}
	c2 := StartCloud(t, withState)
	if resp, body := c2.HTTP(t, c2.Token(t, "admin"), "POST", "/_emulator/reset", nil); resp.StatusCode != 204 {
		t.Fatalf("reset: %d %s", resp.StatusCode, body)
	}
	after := asMap(t, c2.Python(t, `
res = {}
for cloud in ("emulator", "emulator-alt", "emulator-admin", "emulator-appcred"):
    res[cloud] = bool(connect(cloud).authorize())
demo = connect("emulator")
res["keypairs"] = [k.name for k in demo.compute.keypairs()]
res["networks"] = sorted(n.name for n in demo.network.networks())
emit(res)
`))
	want := map[string]string{"emulator": "true", "emulator-alt": "true", "emulator-admin": "true", "emulator-appcred": "true",
		"keypairs": "[]", "networks": "[private public]"}
	for k, v := range want {
		if got := fmt.Sprint(after[k]); got != v {
			t.Errorf("after the restart and the reset: %s = %s, want %s", k, got, v)
		}
	}
	if resp, body := c2.HTTP(t, fmt.Sprint(before["token"]), "GET", "/compute/v2.1/os-keypairs", nil); resp.StatusCode != 200 {
		t.Errorf("a token from before the restart and the reset: %d %s", resp.StatusCode, body)
	}
}
