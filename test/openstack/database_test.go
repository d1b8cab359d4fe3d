package openstack

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/openstack-service-broker/openstack-service-broker/pkg/osb/osbapi"
)

func init() {
	bundleTests = append(bundleTests, bundleTest{"openstack-database-apb", databaseLifecycle, databaseFailure})
}

// troveOf is, as openstacksdk sees it in demo's project, every Trove
// instance named name with its status, datastore, databases and users.
func troveOf(t *testing.T, c *Cloud, name string) []map[string]any {
	t.Helper()
	v := c.Python(t, fmt.Sprintf(`
c = connect("emulator")
out = []
for i in c.database.instances():
    if i.name != %q:
        continue
    raw = c.database.get("/instances/%%s" %% i.id).json()["instance"]
    out.append({"id": i.id, "status": i.status, "datastore": i.datastore.get("type"), "ip": raw.get("ip") or [],
        "databases": sorted(d.name for d in c.database.databases(i.id)),
        "users": sorted(u.name for u in c.database.users(i.id))})
emit(out)`, name))
	var out []map[string]any
	for _, e := range asList(t, v) {
		out = append(out, asMap(t, e))
	}
	return out
}

func databaseLifecycle(t *testing.T, s *suite, f *flow) {
	c := s.cloud
	iid := newID(t)
	name := "osb-" + iid

	// A provision the broker never recorded, then the one it does: one
	// instance.
	if _, err := f.runDirect("provision", iid, "mysql", nil); err != nil {
		t.Fatalf("direct provision: %v", err)
	}
	f.succeeded("provision", f.provision(iid, "mysql", nil))
	got := troveOf(t, c, name)
	if len(got) != 1 || got[0]["status"] != "ACTIVE" || got[0]["datastore"] != "mysql" || !slices.Equal(strs(got[0]["databases"]), []string{"app"}) {
		t.Fatalf("after provision: %v, want one ACTIVE mysql instance with database app", got)
	}
	inst := got[0]

	// Two bindings, each its own user and password.
	bid1, bid2 := newID(t), newID(t)
	lo, b1 := f.bind(iid, bid1, nil)
	f.succeeded("bind", lo)
	lo, b2 := f.bind(iid, bid2, nil)
	f.succeeded("bind (second)", lo)
	u1, u2 := "osb_"+strings.ReplaceAll(bid1, "-", "")[:12], "osb_"+strings.ReplaceAll(bid2, "-", "")[:12]
	if b1["username"] != u1 || b2["username"] != u2 || len(str(b1["password"])) != 32 || b1["password"] == b2["password"] {
		t.Errorf("bindings' users: %v %v (passwords of %d characters, distinct %v)", b1["username"], b2["username"],
			len(str(b1["password"])), b1["password"] != b2["password"])
	}
	ip := strs(inst["ip"])
	if len(ip) == 0 || b1["host"] != ip[0] || b1["port"] != float64(3306) || b1["database"] != "app" || b1["instance_id"] != inst["id"] ||
		b1["uri"] != fmt.Sprintf("mysql://%s:%s@%s:3306/app", u1, b1["password"], ip[0]) {
		t.Errorf("binding = %v (instance ip %v)", redactedCreds(b1), ip)
	}
	// The users exist in Trove with access to the database (the openstack
	// CLI); no database server runs behind the emulator to log in to.
	users := asList(t, c.CLI(t, "emulator", "database", "user", "list", str(inst["id"])))
	var names []string
	for _, u := range users {
		names = append(names, str(asMap(t, u)["Name"]))
	}
	slices.Sort(names)
	if want := []string{u1, u2}; !slices.Equal(names, sortedStrings(want)) {
		t.Errorf("openstack database user list = %v, want %v", names, want)
	}
	access := fmt.Sprint(c.CLI(t, "emulator", "database", "user", "show", "access", str(inst["id"]), u1))
	if !strings.Contains(access, "app") {
		t.Errorf("user %s's access: %s, want database app", u1, access)
	}

	f.succeeded("unbind", f.unbind(iid, bid1))
	if got := troveOf(t, c, name); len(got) != 1 || !slices.Equal(strs(got[0]["users"]), []string{u2}) {
		t.Errorf("after unbind: %v, want only %s left", got, u2)
	}
	f.succeeded("unbind (second)", f.unbind(iid, bid2))
	if got := troveOf(t, c, name); len(got) != 1 || len(strs(got[0]["users"])) != 0 {
		t.Errorf("after both unbinds: users %v", got)
	}

	f.succeeded("deprovision", f.deprovision(iid))
	if got := troveOf(t, c, name); len(got) != 0 {
		t.Errorf("after deprovision: %v", got)
	}

	// The mariadb plan, another database name.
	iid2 := newID(t)
	f.succeeded("provision (mariadb)", f.provision(iid2, "mariadb", map[string]any{"database": "orders"}))
	got = troveOf(t, c, "osb-"+iid2)
	if len(got) != 1 || got[0]["datastore"] != "mariadb" || !slices.Equal(strs(got[0]["databases"]), []string{"orders"}) {
		t.Errorf("mariadb plan: %v", got)
	}
	bid3 := newID(t)
	lo, b3 := f.bind(iid2, bid3, nil)
	f.succeeded("bind (mariadb)", lo)
	if b3["port"] != float64(3306) || b3["datastore"] != "mariadb" || b3["database"] != "orders" ||
		!strings.HasSuffix(str(b3["uri"]), ":3306/orders") {
		t.Errorf("mariadb binding = %v", redactedCreds(b3))
	}
	f.succeeded("unbind (mariadb)", f.unbind(iid2, bid3))
	f.succeeded("deprovision (mariadb)", f.deprovision(iid2))
	if got := troveOf(t, c, "osb-"+iid2); len(got) != 0 {
		t.Errorf("after deprovision (mariadb): %v", got)
	}
}

// databaseFailure: Trove refuses the instance (quota); the provision
// fails naming Trove's error, and the deprovision succeeds with nothing
// to delete.
func databaseFailure(t *testing.T, s *suite, f *flow) {
	c := s.cloud
	iid := newID(t)
	trove := c.Fault(t, fault{Method: "POST", Path: "/database/v1.0/*/instances", BodyContains: "osb-" + iid,
		Status: 413, Body: map[string]any{"overLimit": map[string]any{"code": 413, "message": "injected: Quota exceeded for resources: ['instances']."}}})
	lo := f.provision(iid, "mysql", nil)
	trove.Remove()
	if lo.State != osbapi.StateFailed || !strings.Contains(lo.Description, "Quota exceeded for resources") {
		t.Errorf("provision with Trove refusing the instance: %s %q, want failed naming Trove's error", lo.State, lo.Description)
	}
	f.succeeded("deprovision after a failed provision", f.deprovision(iid))
	if got := troveOf(t, c, "osb-"+iid); len(got) != 0 {
		t.Errorf("after deprovision: %v", got)
	}
}

// redactedCreds is a binding without its password, for messages.
func redactedCreds(b map[string]any) map[string]any {
	out := map[string]any{}
	for k, v := range b {
		if k == "password" || k == "uri" {
			v = "<redacted>"
		}
		out[k] = v
	}
	return out
}

func sortedStrings(s []string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	return s
}
