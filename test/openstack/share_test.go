package openstack

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/openstack-service-broker/openstack-service-broker/pkg/osb/osbapi"
)

func init() {
	bundleTests = append(bundleTests, bundleTest{"openstack-share-apb", shareLifecycle, shareFailure})
}

// manilaOf is, as openstacksdk sees it in demo's project, every share
// named name with its metadata, size and status, and its access rules as
// "TO LEVEL STATE BINDING" (Manila API 2.45).
func manilaOf(t *testing.T, c *Cloud, name string) []map[string]any {
	t.Helper()
	v := c.Python(t, fmt.Sprintf(`
c = connect("emulator")
sfs = c.shared_file_system
h = {"X-OpenStack-Manila-API-Version": "2.45"}
out = []
for s in sfs.shares(details=True):
    if s.name != %q:
        continue
    rules = sfs.get("/share-access-rules", params={"share_id": s.id}, headers=h).json()["access_list"]
    out.append({"id": s.id, "size": s.size, "status": s.status, "metadata": s.metadata,
        "rules": sorted("%%s %%s %%s %%s" %% (r["access_to"], r["access_level"], r["state"], (r.get("metadata") or {}).get("osb-binding", "")) for r in rules)})
emit(out)`, name))
	var out []map[string]any
	for _, e := range asList(t, v) {
		out = append(out, asMap(t, e))
	}
	return out
}

// podsCIDR is the IPv4 CIDR of the pods' network, with the CLI.
func podsCIDR(t *testing.T, c *Cloud) string {
	t.Helper()
	for _, s := range asList(t, c.CLI(t, "emulator", "subnet", "list", "--network", podsNetwork, "--ip-version", "4")) {
		return str(asMap(t, s)["Subnet"])
	}
	t.Fatalf("network %s has no IPv4 subnet", podsNetwork)
	return ""
}

func shareLifecycle(t *testing.T, s *suite, f *flow) {
	c := s.cloud
	iid := newID(t)
	name := "osb-" + iid
	if _, err := f.runDirect("provision", iid, "nfs", nil); err != nil {
		t.Fatalf("direct provision: %v", err)
	}
	f.succeeded("provision", f.provision(iid, "nfs", nil))
	got := manilaOf(t, c, name)
	if len(got) != 1 || got[0]["status"] != "available" || got[0]["size"] != float64(1) || asMap(t, got[0]["metadata"])["osb-owner"] != iid {
		t.Fatalf("after provision: %v, want one available 1 GB share marked osb-owner=%s", got, iid)
	}
	shareID := str(got[0]["id"])

	// The first binding: the pods' network, read-write.
	cidr := podsCIDR(t, c)
	bid1 := newID(t)
	lo, b1 := f.bind(iid, bid1, nil)
	f.succeeded("bind", lo)
	locs := asList(t, c.CLI(t, "emulator", "share", "export", "location", "list", shareID))
	if len(locs) == 0 || b1["export_location"] != asMap(t, locs[0])["Path"] || b1["share_id"] != shareID || b1["access_to"] != cidr ||
		b1["access_level"] != "rw" || b1["protocol"] != "NFS" {
		t.Errorf("binding = %v, export locations %v, pods' CIDR %s", b1, locs, cidr)
	}
	// The rule Manila enforces for the clients, seen with the CLI.
	rules := asList(t, c.CLI(t, "emulator", "share", "access", "list", shareID))
	if len(rules) != 1 || asMap(t, rules[0])["Access To"] != cidr || asMap(t, rules[0])["State"] != "active" {
		t.Errorf("openstack share access list = %v, want %s active", rules, cidr)
	}

	// A second binding, read-only, for one address.
	bid2 := newID(t)
	lo, b2 := f.bind(iid, bid2, map[string]any{"access_to": "10.20.0.5", "read_only": true})
	f.succeeded("bind (read only)", lo)
	if b2["access_to"] != "10.20.0.5" || b2["access_level"] != "ro" {
		t.Errorf("read-only binding = %v", b2)
	}
	// A third asking for the first's address is refused: its unbind would
	// take the first's access away.
	lo, _ = f.bind(iid, newID(t), nil)
	if lo.State != osbapi.StateFailed || !strings.Contains(lo.Description, "already grants "+cidr) {
		t.Errorf("bind of an address already granted: %s %q", lo.State, lo.Description)
	}
	want := []string{"10.20.0.5 ro active " + bid2, cidr + " rw active " + bid1}
	if got := manilaOf(t, c, name); len(got) != 1 || !slices.Equal(strs(got[0]["rules"]), sortedStrings(want)) {
		t.Errorf("rules after the binds: %v, want %v", got, want)
	}

	f.succeeded("unbind", f.unbind(iid, bid1))
	if got := manilaOf(t, c, name); len(got) != 1 || !slices.Equal(strs(got[0]["rules"]), []string{"10.20.0.5 ro active " + bid2}) {
		t.Errorf("after unbind: %v, want only the second binding's rule", got)
	}
	f.succeeded("unbind (again)", f.unbind(iid, bid2))

	f.succeeded("update", f.update(iid, map[string]any{"size": 2}))
	if shown := asMap(t, c.CLI(t, "emulator", "share", "show", shareID)); str(shown["size"]) != "2" || shown["status"] != "available" {
		t.Errorf("after update: size %v status %v", shown["size"], shown["status"])
	}

	f.succeeded("deprovision", f.deprovision(iid))
	if got := manilaOf(t, c, name); len(got) != 0 {
		t.Errorf("after deprovision: %v", got)
	}
}

// shareFailure: Manila refuses the share (quota); the provision fails
// naming Manila's error, and the deprovision succeeds with nothing to
// delete.
func shareFailure(t *testing.T, s *suite, f *flow) {
	c := s.cloud
	iid := newID(t)
	manila := c.Fault(t, fault{Method: "POST", Path: "/share/v2/*/shares", BodyContains: "osb-" + iid,
		Status: 413, Body: map[string]any{"overLimit": map[string]any{"code": 413, "message": "injected: Requested share exceeds allowed project/user or share type gigabytes quota."}}})
	lo := f.provision(iid, "nfs", nil)
	manila.Remove()
	if lo.State != osbapi.StateFailed || !strings.Contains(lo.Description, "exceeds allowed project/user or share type gigabytes quota") {
		t.Errorf("provision with Manila refusing the share: %s %q, want failed naming Manila's error", lo.State, lo.Description)
	}
	f.succeeded("deprovision after a failed provision", f.deprovision(iid))
	if got := manilaOf(t, c, "osb-"+iid); len(got) != 0 {
		t.Errorf("after deprovision: %v", got)
	}
}
