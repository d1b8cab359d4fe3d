package openstack

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/openstack-service-broker/openstack-service-broker/pkg/osb/osbapi"
)

func init() {
	bundleTests = append(bundleTests, bundleTest{"openstack-dns-zone-apb", dnsLifecycle, dnsFailure})
}

// designateOf is, as openstacksdk sees it in demo's project, the zone
// named zone (with its description and status) and every recordset in
// it as "NAME TYPE DATA|DATA" with its description.
func designateOf(t *testing.T, c *Cloud, zone string) map[string]any {
	t.Helper()
	return asMap(t, c.Python(t, fmt.Sprintf(`
c = connect("emulator")
zs = [z for z in c.dns.zones(name=%[1]q) if z.name == %[1]q]
out = {"zones": len(zs)}
if zs:
    z = zs[0]
    out.update({"id": z.id, "description": z.description, "status": z.status, "email": z.email, "ttl": z.ttl,
        "recordsets": sorted("%%s %%s %%s %%s" %% (r.name, r.type, "|".join(sorted(r.records)), r.description or "")
                             for r in c.dns.recordsets(z) if r.type not in ("SOA", "NS"))})
emit(out)`, zone)))
}

func dnsLifecycle(t *testing.T, s *suite, f *flow) {
	c := s.cloud
	iid := newID(t)
	marker := "osb-instance-" + iid
	zone := "e2e-" + iid[:8] + ".example.org."
	params := map[string]any{"zone": strings.TrimSuffix(zone, "."), "records": "www A 192.0.2.10\nwww A 192.0.2.11\n@ MX 10 mail." + zone}

	// A provision the broker never recorded, then the one it does: one
	// zone, its records once.
	if _, err := f.runDirect("provision", iid, "default", params); err != nil {
		t.Fatalf("direct provision: %v", err)
	}
	f.succeeded("provision", f.provision(iid, "default", params))
	got := designateOf(t, c, zone)
	want := []string{zone + " MX 10 mail." + zone + " " + marker, "www." + zone + " A 192.0.2.10|192.0.2.11 " + marker}
	if got["zones"] != float64(1) || got["description"] != marker || got["status"] != "ACTIVE" || !slices.Equal(strs(got["recordsets"]), want) {
		t.Fatalf("after provision: %v, want one ACTIVE zone marked %s with %v", got, marker, want)
	}
	if got["email"] != "hostmaster@"+strings.TrimSuffix(zone, ".") || got["ttl"] != float64(3600) {
		t.Errorf("zone email/ttl = %v %v", got["email"], got["ttl"])
	}

	bid := newID(t)
	lo, b := f.bind(iid, bid, nil)
	f.succeeded("bind", lo)
	if b["zone"] != zone || b["zone_id"] != got["id"] || str(b["nameservers"]) == "" {
		t.Errorf("binding = %v", b)
	}
	// The bound zone is usable: a record an application adds with the
	// CLI, which the broker's updates leave alone.
	c.CLI(t, "emulator", "recordset", "create", str(b["zone_id"]), "app", "--type", "TXT", "--record", `"hello"`)
	ns := asList(t, c.CLI(t, "emulator", "recordset", "list", str(b["zone_id"]), "--type", "NS"))
	if len(ns) != 1 || !strings.Contains(fmt.Sprint(asMap(t, ns[0])["records"]), strings.Split(str(b["nameservers"]), ",")[0]) {
		t.Errorf("NS recordset %v does not hold the bound name servers %v", ns, b["nameservers"])
	}
	f.succeeded("unbind", f.unbind(iid, bid))

	// New records: www changed, MX gone, api added; the app's TXT kept.
	f.succeeded("update", f.update(iid, map[string]any{"records": "www A 192.0.2.20\napi CNAME www." + zone, "ttl": 600}))
	got = designateOf(t, c, zone)
	want = []string{"api." + zone + " CNAME www." + zone + " " + marker, "app." + zone + ` TXT "hello" `, "www." + zone + " A 192.0.2.20 " + marker}
	if !slices.Equal(strs(got["recordsets"]), want) || got["ttl"] != float64(600) {
		t.Errorf("after update: %v, want %v and TTL 600", got["recordsets"], want)
	}

	f.succeeded("deprovision", f.deprovision(iid))
	if got := designateOf(t, c, zone); got["zones"] != float64(0) {
		t.Errorf("after deprovision: %v", got)
	}
	// Deprovisioning again (the zone gone) succeeds too: a broker that
	// died before recording the first.
	if _, err := f.runDirect("deprovision", iid, "default", params); err != nil {
		t.Errorf("deprovision of a zone already gone: %v", err)
	}
}

// dnsFailure: a zone of that name that someone else made is neither
// taken over nor deleted; then Designate refuses the recordset after the
// zone exists, the provision fails naming Designate's error, and the
// deprovision deletes the half-made zone.
func dnsFailure(t *testing.T, s *suite, f *flow) {
	c := s.cloud
	iid := newID(t)
	zone := "e2e-" + iid[:8] + ".example.net."
	theirs := asMap(t, c.CLI(t, "emulator", "zone", "create", "--email", "them@example.net", "--description", "not the broker's", zone))
	lo := f.provision(iid, "default", map[string]any{"zone": zone})
	if lo.State != osbapi.StateFailed || !strings.Contains(lo.Description, "already exists and was not made for") {
		t.Errorf("provision of another's zone: %s %q", lo.State, lo.Description)
	}
	f.succeeded("deprovision after another's zone", f.deprovision(iid))
	if got := designateOf(t, c, zone); got["zones"] != float64(1) || got["id"] != theirs["id"] {
		t.Errorf("the deprovision touched another's zone: %v", got)
	}
	c.CLI(t, "emulator", "zone", "delete", zone)

	iid2 := newID(t)
	zone2 := "e2e-" + iid2[:8] + ".example.net."
	// The recordset's description names the instance (Designate has no tags).
	designate := c.Fault(t, fault{Method: "POST", Path: "/dns/v2/zones/*/recordsets", BodyContains: "osb-instance-" + iid2,
		Status: 413, Body: map[string]any{"code": 413, "type": "over_quota", "message": "injected: Quota exceeded for zone_recordsets"}})
	lo = f.provision(iid2, "default", map[string]any{"zone": zone2, "records": "www A 192.0.2.1"})
	designate.Remove()
	if lo.State != osbapi.StateFailed || !strings.Contains(lo.Description, "Quota exceeded for zone_recordsets") {
		t.Errorf("provision with Designate refusing the recordset: %s %q, want failed naming Designate's error", lo.State, lo.Description)
	}
	if got := designateOf(t, c, zone2); got["zones"] != float64(1) {
		t.Errorf("after the failed provision: %v, want the zone", got)
	}
	f.succeeded("deprovision after a failed provision", f.deprovision(iid2))
	if got := designateOf(t, c, zone2); got["zones"] != float64(0) {
		t.Errorf("after deprovision: %v", got)
	}
}
