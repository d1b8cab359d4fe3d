package emulator_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os/exec"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/openstack-service-broker/openstack-service-broker/pkg/emulator"
)

// TestTroveSDK: an instance's cycle through openstacksdk's database
// proxy, with its databases, users and root, and isolation from alt.
// SDK 0.101's Instance has no flavorRef and its Database and User
// creates send bodies Trove refuses: those requests go raw through the
// proxy, as this project's Ansible module does.
func TestTroveSDK(t *testing.T) {
	t.Parallel()
	c := StartCloud(t)
	out := asMap(t, c.Python(t, `
demo = connect("emulator")
db = demo.database
flavors = sorted((f for f in db.flavors() if f.id is not None), key=lambda f: (f.ram, f.id))  # Trove shows no id for a non-integer Nova id
f1, f2 = flavors[0].id, flavors[1].id
ds = db.get("/datastores").json()["datastores"]
created = db.post("/instances", json={"instance": {"name": "sdk-db", "flavorRef": f1, "volume": {"size": 1},
    "datastore": {"type": "mysql", "version": "8.0"}, "databases": [{"name": "app"}],
    "users": [{"name": "app", "password": "pw", "databases": [{"name": "app"}]}]}})
iid = created.json()["instance"]["id"]
inst = db.get_instance(iid)
found = db.find_instance("sdk-db").id
listed = [i.name for i in db.instances()]
db.update_instance(inst, name="sdk-db2")
renamed = db.get_instance(iid).name
dbs_before = sorted(d.name for d in db.databases(inst))
r1 = db.post("/instances/%s/databases" % iid, json={"databases": [{"name": "more", "character_set": "utf8mb4"}]}).status_code
r2 = db.post("/instances/%s/users" % iid, json={"users": [{"name": "bob", "password": "pw2", "databases": [{"name": "more"}]}]}).status_code
users = sorted((u.name, tuple(d["name"] for d in u.databases)) for u in db.users(inst))
db.delete_user("bob", inst)
db.delete_database("more", inst)
after = (sorted(u.name for u in db.users(inst)), sorted(d.name for d in db.databases(inst)))
root_before = inst.is_root_enabled(db)
root = inst.enable_root_user(db)
root_after = inst.is_root_enabled(db)
inst.resize(db, f2)
resized = db.get_instance(iid).flavor["id"] == str(f2)
inst.restart(db)
missing = http_error(lambda: db.get_instance("00000000-0000-0000-0000-000000000000"))
dup_db = http_error(lambda: db.post("/instances/%s/databases" % iid, json={"databases": [{"name": "app"}]}, raise_exc=True))
alt = connect("emulator-alt")
alt_sees = [i.id for i in alt.database.instances()]
alt_get = http_error(lambda: alt.database.get_instance(iid))
alt_del = http_error(lambda: alt.database.delete_instance(iid, ignore_missing=False))
db.delete_instance(iid)
gone = http_error(lambda: db.get_instance(iid))
emit({"flavors": len(flavors), "datastores": sorted(d["name"] for d in ds), "status": created.json()["instance"]["status"],
      "code": created.status_code, "shown": inst.status, "datastore": inst.datastore, "volume": inst.volume,
      "found": found == iid, "listed": listed, "renamed": renamed, "dbs_before": dbs_before, "r1": r1, "r2": r2,
      "users": users, "after": after, "root_before": root_before, "root": root, "root_after": root_after,
      "resized": resized, "missing": missing, "dup_db": dup_db, "alt_sees": iid in alt_sees, "alt_get": alt_get,
      "alt_del": alt_del, "gone": gone})
`))
	if out["flavors"].(float64) < 2 || fmt.Sprint(out["datastores"]) != "[mariadb mysql postgresql]" {
		t.Errorf("flavors %v, datastores %v", out["flavors"], out["datastores"])
	}
	if out["code"] != float64(200) || out["status"] != "BUILD" || out["shown"] != "ACTIVE" || out["found"] != true {
		t.Errorf("create/show: %v", out)
	}
	if ds := asMap(t, out["datastore"]); ds["type"] != "mysql" || ds["version"] != "8.0" || asMap(t, out["volume"])["size"] != float64(1) {
		t.Errorf("instance datastore/volume: %v %v", out["datastore"], out["volume"])
	}
	if out["renamed"] != "sdk-db2" || fmt.Sprint(out["listed"]) != "[sdk-db]" {
		t.Errorf("list %v, update %v", out["listed"], out["renamed"])
	}
	if fmt.Sprint(out["dbs_before"]) != "[app]" || out["r1"] != float64(202) || out["r2"] != float64(202) ||
		fmt.Sprint(out["users"]) != "[[app [app]] [bob [more]]]" || fmt.Sprint(out["after"]) != "[[app] [app]]" {
		t.Errorf("databases/users: %v %v %v %v %v", out["dbs_before"], out["r1"], out["r2"], out["users"], out["after"])
	}
	if out["root_before"] != false || out["root_after"] != true || asMap(t, out["root"])["name"] != "root" || asMap(t, out["root"])["password"] == "" {
		t.Errorf("root: %v %v %v", out["root_before"], out["root"], out["root_after"])
	}
	if out["resized"] != true {
		t.Errorf("resize flavor: %v", out["resized"])
	}
	if out["alt_sees"] != false {
		t.Error("alt lists demo's instance")
	}
	for k, want := range map[string]float64{"missing": 404, "dup_db": 400, "alt_get": 404, "alt_del": 404, "gone": 404} {
		if got := asMap(t, out[k])["status"]; got != want {
			t.Errorf("%s: %v, want %v", k, out[k], want)
		}
	}
}

// TestTroveCLI: the openstack CLI's database commands (python3-troveclient).
func TestTroveCLI(t *testing.T) {
	t.Parallel()
	c := StartCloud(t)
	requireCLIPlugin(t, "troveclient")
	flavor := troveFlavors(t, c)[0]
	if n := len(asList(t, c.CLI(t, "emulator", "datastore", "version", "list", "postgresql"))); n != 2 {
		t.Errorf("postgresql versions: %d", n)
	}
	inst := asMap(t, c.CLI(t, "emulator", "database", "instance", "create", "cli-db", "--flavor", flavor.Name, "--size", "2",
		"--datastore", "mariadb", "--datastore-version", "10.11", "--databases", "shop", "--users", "shopper:s3cret", "--is-public"))
	id := fmt.Sprint(inst["id"])
	if inst["status"] != "BUILD" || inst["datastore"] != "mariadb" || inst["volume"] != float64(2) || inst["public"] != true {
		t.Errorf("instance create: %v", inst)
	}
	c.CLINoFormat(t, "emulator", "database", "db", "create", id, "ledger")
	c.CLINoFormat(t, "emulator", "database", "user", "grant", "access", id, "shopper", "ledger")
	user := asMap(t, c.CLI(t, "emulator", "database", "user", "show", id, "shopper"))
	if !strings.Contains(fmt.Sprint(user["databases"]), "ledger") || !strings.Contains(fmt.Sprint(user["databases"]), "shop") {
		t.Errorf("user show: %v", user)
	}
	c.CLINoFormat(t, "emulator", "database", "user", "update", "attributes", id, "shopper", "--new_name", "buyer")
	c.CLINoFormat(t, "emulator", "database", "instance", "resize", "volume", id, "4")
	shown := asMap(t, c.CLI(t, "emulator", "database", "instance", "show", "cli-db"))
	if shown["volume"] != float64(4) || shown["status"] != "ACTIVE" || shown["operating_status"] != "HEALTHY" {
		t.Errorf("instance show after resize: %v", shown)
	}
	if findBy(t, c.CLI(t, "emulator", "database", "user", "list", id), "Name", "buyer") == nil {
		t.Error("user list lacks the renamed user")
	}
	if e := c.CLIFails(t, "emulator", "database", "db", "create", id, "mysql"); !strings.Contains(e, "reserved list") || !strings.Contains(e, "400") {
		t.Errorf("reserved database name: %s", e)
	}
	if findBy(t, c.CLI(t, "emulator-admin", "database", "instance", "list", "--all-projects"), "ID", id) == nil {
		t.Error("the admin's --all-projects list lacks demo's instance")
	}
	if e := c.CLIFails(t, "emulator-alt", "database", "instance", "show", id); !strings.Contains(e, "No instance") {
		t.Errorf("alt instance show: %s", e)
	}
	c.CLINoFormat(t, "emulator", "database", "instance", "delete", id)
	if l := c.CLI(t, "emulator", "database", "instance", "list"); l != nil && findBy(t, l, "ID", id) != nil {
		t.Errorf("instance listed after delete: %v", l)
	}
}

// requireCLIPlugin fails the test when an openstack CLI plugin (Debian's
// python3-<module>) is missing.
func requireCLIPlugin(t *testing.T, module string) {
	t.Helper()
	requirePython(t)
	if out, err := exec.Command(python3, "-c", "import "+module).CombinedOutput(); err != nil {
		t.Fatalf("python3-%s (the openstack CLI plugin) is missing: %v: %s; install it (make test does: hack/test.d/20-emulator.sh), or set OSB_SKIP=emulator",
			module, err, out)
	}
}

// TestTroveAnsible: this project's openstack_apb_trove_instance module
// in openstack-apb: create with users and databases, idempotence,
// isolation, an error, delete.
func TestTroveAnsible(t *testing.T) {
	t.Parallel()
	c := StartCloud(t)
	flavor := troveFlavors(t, c)[0]
	r := c.Ansible(t, strings.ReplaceAll(`
- hosts: localhost
  gather_facts: false
  tasks:
    - name: create
      openstack_apb_trove_instance:
        cloud: emulator
        name: ans-db
        flavor: FLAVOR
        volume_size: 3
        datastore: postgresql
        databases: [app]
        users: [{name: app, password: secret, databases: [app]}]
    - name: again
      openstack_apb_trove_instance: {cloud: emulator, name: ans-db, flavor: FLAVOR}
    - name: alt absent
      openstack_apb_trove_instance: {cloud: emulator-alt, name: ans-db, state: absent}
    - name: bad flavor
      openstack_apb_trove_instance: {cloud: emulator, name: bad-db, flavor: no-such-flavor}
      ignore_errors: true
    - name: too big
      openstack_apb_trove_instance: {cloud: emulator, name: big-db, flavor: FLAVOR, volume_size: 50}
      ignore_errors: true
    - name: delete
      openstack_apb_trove_instance: {cloud: emulator, name: ans-db, state: absent}
    - name: delete again
      openstack_apb_trove_instance: {cloud: emulator, name: ans-db, state: absent}
`, "FLAVOR", flavor.Name))
	created := r.OK(t, "create")
	inst := asMap(t, created["instance"])
	if created["changed"] != true || inst["status"] != "ACTIVE" || asMap(t, inst["datastore"])["type"] != "postgresql" ||
		asMap(t, inst["volume"])["size"] != float64(3) || asMap(t, inst["flavor"])["id"] != flavor.ID {
		t.Errorf("create: %v", created)
	}
	if again := r.OK(t, "again"); again["changed"] != false {
		t.Errorf("a second create must change nothing: %v", again)
	}
	if alt := r.OK(t, "alt absent"); alt["changed"] != false {
		t.Errorf("alt deleted demo's instance: %v", alt)
	}
	if msg := r.Failed(t, "bad flavor"); !strings.Contains(msg, "400") || !strings.Contains(msg, "no-such-flavor cannot be found") {
		t.Errorf("bad flavor: %s", msg)
	}
	if msg := r.Failed(t, "too big"); !strings.Contains(msg, "413") {
		t.Errorf("volume over the maximum: %s", msg)
	}
	if del := r.OK(t, "delete"); del["changed"] != true {
		t.Errorf("delete: %v", del)
	}
	if again := r.OK(t, "delete again"); again["changed"] != false {
		t.Errorf("second delete: %v", again)
	}
}

// TestTroveShapes: what the clients hide: discovery, the tenant check,
// Trove's fault names, validation messages, statuses that take -delay,
// 422 while building, quotas (413), pagination links.
func TestTroveShapes(t *testing.T) {
	t.Parallel()
	c := StartCloud(t, func(o *emulator.Options) { o.Delay = 400 * time.Millisecond })
	resp, body := c.HTTP(t, "", "GET", "/database/", nil)
	if resp.StatusCode != 200 || !strings.Contains(string(body), `"id":"v1.0"`) || !strings.Contains(string(body), c.URL()+"/database/v1.0/") {
		t.Errorf("discovery: %d %s", resp.StatusCode, body)
	}
	tok, admin := c.Token(t, "demo"), c.Token(t, "admin")
	project := tokenProjectID(t, c, tok)
	base := "/database/v1.0/" + project
	fl := troveFlavors(t, c)[0].ID
	resp, body = c.HTTP(t, tok, "GET", "/database/v1.0/someone-else/instances", nil)
	if resp.StatusCode != 403 || !strings.Contains(string(body), `"forbidden"`) || !strings.Contains(string(body), "cannot access this resource") {
		t.Errorf("another tenant's path: %d %s", resp.StatusCode, body)
	}
	resp, body = c.HTTP(t, tok, "POST", base+"/instances", map[string]any{"instance": map[string]any{"name": "x", "flavorRef": fl}})
	if resp.StatusCode != 400 || string(body) != `{"badRequest":{"code":400,"message":"Volume size was not specified."}}` {
		t.Errorf("no volume: %d %s", resp.StatusCode, body)
	}
	resp, body = c.HTTP(t, tok, "POST", base+"/instances", map[string]any{"instance": map[string]any{"name": "", "flavorRef": fl, "volume": map[string]any{"size": 1}}})
	if resp.StatusCode != 400 || !strings.Contains(string(body), `Validation error: instance['name'] '' is too short`) {
		t.Errorf("empty name: %d %s", resp.StatusCode, body)
	}
	resp, body = c.HTTP(t, tok, "POST", base+"/instances", map[string]any{"instance": map[string]any{"name": "y", "flavorRef": fl,
		"volume": map[string]any{"size": 1}, "datastore": map[string]any{"type": "oracle"}}})
	if resp.StatusCode != 404 || !strings.Contains(string(body), `"itemNotFound"`) || !strings.Contains(string(body), "Datastore 'oracle' cannot be found.") {
		t.Errorf("unknown datastore: %d %s", resp.StatusCode, body)
	}
	resp, body = c.HTTP(t, tok, "POST", base+"/instances", map[string]any{"instance": map[string]any{"name": "z", "flavorRef": fl,
		"volume": map[string]any{"size": 1}, "databases": []any{map[string]any{"name": "ab"}}, "users": []any{map[string]any{"name": "u", "password": "p", "databases": []any{map[string]any{"name": "cd"}}}}}})
	if resp.StatusCode != 400 || !strings.Contains(string(body), "but database cd is not included in the initial databases list") {
		t.Errorf("user on a database not created: %d %s", resp.StatusCode, body)
	}
	resp, body = c.HTTP(t, tok, "POST", base+"/instances", map[string]any{"instance": map[string]any{"name": "real", "flavorRef": fl, "volume": map[string]any{"size": 1}}})
	if resp.StatusCode != 200 {
		t.Fatalf("create: %d %s", resp.StatusCode, body)
	}
	var created struct {
		Instance struct {
			ID     string `json:"id"`
			Status string `json:"status"`
		} `json:"instance"`
	}
	if err := json.Unmarshal(body, &created); err != nil {
		t.Fatal(err)
	}
	id := created.Instance.ID
	resp, body = c.HTTP(t, tok, "POST", base+"/instances/"+id+"/action", map[string]any{"restart": map[string]any{}})
	if resp.StatusCode != 422 || !strings.Contains(string(body), `"unprocessableEntity"`) || !strings.Contains(string(body), "(instance status was BUILD)") {
		t.Errorf("restart while building: %d %s", resp.StatusCode, body)
	}
	resp, body = c.HTTP(t, tok, "GET", base+"/instances/"+id+"/databases", nil)
	if resp.StatusCode != 422 || !strings.Contains(string(body), "is not ready, status: new.") {
		t.Errorf("databases while building: %d %s", resp.StatusCode, body)
	}
	resp, body = c.HTTP(t, tok, "DELETE", base+"/instances/"+id, nil)
	if resp.StatusCode != 422 || !strings.Contains(string(body), "is not ready. (Status is BUILD).") {
		t.Errorf("delete while building: %d %s", resp.StatusCode, body)
	}
	waitUntil(t, func() bool {
		_, b := c.HTTP(t, tok, "GET", base+"/instances/"+id, nil)
		return strings.Contains(string(b), `"status":"ACTIVE"`)
	})
	_, body = c.HTTP(t, tok, "GET", base+"/instances/"+id, nil)
	for _, want := range []string{`"operating_status":"HEALTHY"`, `"access":{}`, `"version_number":"8.0.29"`, `"region":"RegionOne"`} {
		if !strings.Contains(string(body), want) {
			t.Errorf("instance show lacks %s: %s", want, body)
		}
	}
	resp, body = c.HTTP(t, tok, "POST", base+"/instances/"+id+"/action", map[string]any{"resize": map[string]any{"volume": map[string]any{"size": 1}}})
	if resp.StatusCode != 400 || !strings.Contains(string(body), "must be larger than the current volume size of '1'") {
		t.Errorf("resize to the same size: %d %s", resp.StatusCode, body)
	}
	resp, _ = c.HTTP(t, tok, "POST", base+"/instances/"+id+"/action", map[string]any{"resize": map[string]any{"volume": map[string]any{"size": 2}}})
	_, body = c.HTTP(t, tok, "GET", base+"/instances/"+id, nil)
	if resp.StatusCode != 202 || !strings.Contains(string(body), `"status":"RESIZE"`) || !strings.Contains(string(body), `"operating_status":""`) {
		t.Errorf("resize volume: %d %s", resp.StatusCode, body)
	}
	// Quotas: the admin lowers demo's instances to 1; the next create is 413.
	resp, body = c.HTTP(t, admin, "PUT", "/database/v1.0/"+tokenProjectID(t, c, admin)+"/mgmt/quotas/"+project, map[string]any{"quotas": map[string]any{"instances": 1}})
	if resp.StatusCode != 200 || string(body) != `{"quotas":{"instances":1}}` {
		t.Errorf("quota update: %d %s", resp.StatusCode, body)
	}
	resp, body = c.HTTP(t, tok, "PUT", base+"/mgmt/quotas/"+project, map[string]any{"quotas": map[string]any{"instances": 100}})
	if resp.StatusCode != 401 || !strings.Contains(string(body), "User does not have admin privileges.") {
		t.Errorf("quota update by a member: %d %s", resp.StatusCode, body)
	}
	resp, body = c.HTTP(t, tok, "POST", base+"/instances", map[string]any{"instance": map[string]any{"name": "over", "flavorRef": fl, "volume": map[string]any{"size": 1}}})
	if resp.StatusCode != 413 || string(body) != `{"overLimit":{"code":413,"message":"Quota exceeded for resources: ['instances']."}}` {
		t.Errorf("over quota: %d %s", resp.StatusCode, body)
	}
	_, body = c.HTTP(t, tok, "GET", base+"/mgmt/quotas/"+project, nil)
	if !strings.Contains(string(body), `{"in_use":1,"limit":1,"reserved":0,"resource":"instances"}`) {
		t.Errorf("quota show: %s", body)
	}
	_, body = c.HTTP(t, tok, "GET", base+"/limits", nil)
	if !strings.Contains(string(body), `"max_instances":1`) || !strings.Contains(string(body), `"verb":"ABSOLUTE"`) {
		t.Errorf("limits: %s", body)
	}
	// Pagination: links only when more follow.
	_, body = c.HTTP(t, admin, "PUT", "/database/v1.0/"+tokenProjectID(t, c, admin)+"/mgmt/quotas/"+project, map[string]any{"quotas": map[string]any{"instances": 10}})
	for _, n := range []string{"p1", "p2"} {
		if resp, body = c.HTTP(t, tok, "POST", base+"/instances", map[string]any{"instance": map[string]any{"name": n, "flavorRef": fl, "volume": map[string]any{"size": 1}}}); resp.StatusCode != 200 {
			t.Fatalf("create %s: %d %s", n, resp.StatusCode, body)
		}
	}
	_, body = c.HTTP(t, tok, "GET", base+"/instances?limit=2", nil)
	if !strings.Contains(string(body), `"links":[{"href":"`+c.URL()+base+`/instances?limit=2\u0026marker=`) {
		t.Errorf("page 1: %s", body)
	}
	_, body = c.HTTP(t, tok, "GET", base+"/instances", nil)
	if strings.Contains(string(body), `"rel":"next"`) || strings.Count(string(body), `"name":`) != 3 {
		t.Errorf("whole list: %s", body)
	}
	resp, body = c.HTTP(t, tok, "GET", base+"/instances/nope", nil)
	if resp.StatusCode != 404 || string(body) != `{"itemNotFound":{"code":404,"message":"Resource nope cannot be found."}}` {
		t.Errorf("404: %d %s", resp.StatusCode, body)
	}
	resp, body = c.HTTP(t, tok, "POST", base+"/instances", "{not json")
	if resp.StatusCode != 400 || !strings.Contains(string(body), `"badRequest"`) {
		t.Errorf("malformed body: %d %s", resp.StatusCode, body)
	}
}

// tokenProjectID is the project id of a token.
func tokenProjectID(t *testing.T, c *Cloud, tok string) string {
	t.Helper()
	resp, body := c.HTTP(t, tok, "GET", "/v3/auth/tokens", nil, "X-Subject-Token", tok)
	var v struct {
		Token struct {
			Project struct {
				ID string `json:"id"`
			} `json:"project"`
		} `json:"token"`
	}
	if resp.StatusCode != http.StatusOK || json.Unmarshal(body, &v) != nil || v.Token.Project.ID == "" {
		t.Fatalf("token validation: %d %s", resp.StatusCode, body)
	}
	return v.Token.Project.ID
}

// waitUntil polls cond for up to 5 s.
func waitUntil(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 5s")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

type troveFlavor struct{ ID, Name string }

// troveFlavors lists the flavors Trove offers (Nova's when the emulator
// has Nova, Trove's own otherwise), smallest RAM first.
func troveFlavors(t *testing.T, c *Cloud) []troveFlavor {
	t.Helper()
	tok := c.Token(t, "demo")
	resp, body := c.HTTP(t, tok, "GET", "/database/v1.0/"+tokenProjectID(t, c, tok)+"/flavors", nil)
	var out struct {
		Flavors []struct {
			ID   string `json:"str_id"`
			Name string `json:"name"`
			RAM  int    `json:"ram"`
		} `json:"flavors"`
	}
	if resp.StatusCode != 200 || json.Unmarshal(body, &out) != nil || len(out.Flavors) < 2 {
		t.Fatalf("trove flavors: %d %s", resp.StatusCode, body)
	}
	sort.SliceStable(out.Flavors, func(i, j int) bool { return out.Flavors[i].RAM < out.Flavors[j].RAM })
	fs := make([]troveFlavor, 0, len(out.Flavors))
	for _, f := range out.Flavors {
		fs = append(fs, troveFlavor{f.ID, f.Name})
	}
	return fs
}

// hasService reports whether the emulator runs a service of that type.
func hasService(c *Cloud, typ string) bool {
	for _, s := range c.Env().Specs() {
		if s.Type == typ {
			return true
		}
	}
	return false
}

// TestTroveNetwork: an instance on a network. With the emulator's
// Neutron, Trove creates a port named trove-<id> on it (the instance's
// address is the port's; the port blocks the network's deletion and goes
// with the instance); without Neutron the address is made up.
func TestTroveNetwork(t *testing.T) {
	t.Parallel()
	c := StartCloud(t)
	tok := c.Token(t, "demo")
	base := "/database/v1.0/" + tokenProjectID(t, c, tok)
	netID, subnet := "8c1f0e1e-0d7c-4b57-b3c8-3f6d3f0b8a10", ""
	neutron := hasService(c, "network")
	if neutron {
		resp, body := c.HTTP(t, tok, "POST", "/networking/v2.0/networks", map[string]any{"network": map[string]any{"name": "dbnet"}})
		var n struct {
			Network struct{ ID string } `json:"network"`
		}
		if resp.StatusCode != 201 || json.Unmarshal(body, &n) != nil {
			t.Fatalf("network create: %d %s", resp.StatusCode, body)
		}
		netID = n.Network.ID
		resp, body = c.HTTP(t, tok, "POST", "/networking/v2.0/subnets", map[string]any{"subnet": map[string]any{"network_id": netID,
			"cidr": "192.168.77.0/24", "ip_version": 4}})
		var s struct {
			Subnet struct{ ID string } `json:"subnet"`
		}
		if resp.StatusCode != 201 || json.Unmarshal(body, &s) != nil {
			t.Fatalf("subnet create: %d %s", resp.StatusCode, body)
		}
		subnet = s.Subnet.ID
	}
	resp, body := c.HTTP(t, tok, "POST", base+"/instances", map[string]any{"instance": map[string]any{"name": "netdb",
		"flavorRef": troveFlavors(t, c)[0].ID, "volume": map[string]any{"size": 1}, "nics": []any{map[string]any{"net-id": netID}}}})
	var created struct {
		Instance struct{ ID string } `json:"instance"`
	}
	if resp.StatusCode != 200 || json.Unmarshal(body, &created) != nil {
		t.Fatalf("create: %d %s", resp.StatusCode, body)
	}
	id := created.Instance.ID
	_, body = c.HTTP(t, tok, "GET", base+"/instances/"+id, nil)
	var shown struct {
		Instance struct {
			Status    string   `json:"status"`
			IP        []string `json:"ip"`
			Addresses []struct {
				Address, Type, Network string
			} `json:"addresses"`
		} `json:"instance"`
	}
	if json.Unmarshal(body, &shown) != nil || shown.Instance.Status != "ACTIVE" || len(shown.Instance.IP) != 1 ||
		len(shown.Instance.Addresses) != 1 || shown.Instance.Addresses[0].Network != netID || shown.Instance.Addresses[0].Type != "private" {
		t.Fatalf("instance on a network: %s", body)
	}
	ip := shown.Instance.IP[0]
	if !neutron {
		if !strings.HasPrefix(ip, "10.0.") {
			t.Errorf("made-up address: %s", ip)
		}
		return
	}
	if !strings.HasPrefix(ip, "192.168.77.") {
		t.Errorf("the address is not the subnet's: %s", ip)
	}
	_, body = c.HTTP(t, tok, "GET", "/networking/v2.0/ports?network_id="+netID, nil)
	if !strings.Contains(string(body), `"name":"trove-`+id+`"`) || !strings.Contains(string(body), ip) {
		t.Errorf("Trove's port: %s", body)
	}
	if resp, body = c.HTTP(t, tok, "DELETE", "/networking/v2.0/networks/"+netID, nil); resp.StatusCode != 409 {
		t.Errorf("deleting the network under an instance: %d %s", resp.StatusCode, body)
	}
	if resp, body = c.HTTP(t, tok, "DELETE", base+"/instances/"+id, nil); resp.StatusCode != 202 {
		t.Fatalf("instance delete: %d %s", resp.StatusCode, body)
	}
	_, body = c.HTTP(t, tok, "GET", "/networking/v2.0/ports?network_id="+netID, nil)
	if strings.Contains(string(body), "trove-"+id) {
		t.Errorf("the port outlived the instance: %s", body)
	}
	c.HTTP(t, tok, "DELETE", "/networking/v2.0/subnets/"+subnet, nil)
	if resp, body = c.HTTP(t, tok, "DELETE", "/networking/v2.0/networks/"+netID, nil); resp.StatusCode != 204 {
		t.Errorf("network delete after the instance: %d %s", resp.StatusCode, body)
	}
}
