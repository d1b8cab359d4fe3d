package openstack

import (
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/openstack-service-broker/openstack-service-broker/pkg/osb/osbapi"
)

// genCase is one bundle hack/bundlegen generates: what a provision needs
// (made beforehand with openstacksdk, removed when the test ends), and how
// openstacksdk lists the resource an instance made.
type genCase struct {
	bundle string
	// setup makes what the resource hangs on and returns the provision's
	// parameters (only the required ones, or a few more where the
	// resource has no name to be found by).
	setup func(t *testing.T, c *Cloud, tag string) map[string]any
	// list is a Python expression over connection c listing, as dicts
	// with at least "id", the resources of instance name (osb-<id>) made
	// with params.
	list func(name string, params map[string]any) string
	// marked says how the listed resource carries the instance id
	// besides its name: "tags" (osb-instance-<id>) or "" (none); or,
	// "shared", that the listed policy shares its object (field shared).
	marked string
}

var generatedCases = []genCase{
	// No network: the demo project's only network of its own (private).
	{bundle: "openstack-port-apb",
		list: func(name string, _ map[string]any) string {
			return fmt.Sprintf(`[{"id": p.id, "network_id": p.network_id, "status": p.status, "tags": p.tags} for p in c.network.ports(name=%[1]q)
  if p.name == %[1]q and p.network_id == c.network.find_network(%[2]q).id]`, name, podsNetwork)
		},
		marked: "tags"},
	{bundle: "openstack-address-scope-apb",
		list: func(name string, _ map[string]any) string {
			return fmt.Sprintf(`[{"id": s.id, "ip_version": s.ip_version} for s in c.network.address_scopes(name=%[1]q) if s.name == %[1]q and s.ip_version == 4]`, name)
		}},
	// A security group of demo's shared with the alt project (not a
	// network: the port case needs demo's only network to stay the only).
	{bundle: "openstack-rbac-policy-apb",
		setup: func(t *testing.T, c *Cloud, tag string) map[string]any {
			group := "osb-e2e-rbac-" + tag
			ids := asMap(t, c.Python(t, fmt.Sprintf(`
c = connect("emulator")
emit({"group": c.network.create_security_group(name=%q).id, "alt": connect("emulator-alt").current_project_id})`, group)))
			t.Cleanup(func() {
				c.Python(t, fmt.Sprintf(`
c = connect("emulator")
g = c.network.find_security_group(%q)
if g: c.network.delete_security_group(g)
emit(None)`, group))
			})
			return map[string]any{"object_id": ids["group"], "object_type": "security_group", "target_project_id": ids["alt"]}
		},
		// The policy, and whether the alt project sees the group through it.
		list: func(_ string, p map[string]any) string {
			return fmt.Sprintf(`[{"id": r.id, "action": r.action,
  "shared": connect("emulator-alt").network.find_security_group(%[1]q) is not None}
  for r in c.network.rbac_policies(object_id=%[1]q) if r.target_project_id == %[2]q]`, p["object_id"], p["target_project_id"])
		},
		marked: "shared"},
	{bundle: "openstack-security-group-apb",
		list: func(name string, _ map[string]any) string {
			return fmt.Sprintf(`[{"id": g.id, "tags": g.tags} for g in c.network.security_groups(name=%[1]q) if g.name == %[1]q]`, name)
		},
		marked: "tags"},
	{bundle: "openstack-security-group-rule-apb",
		setup: func(t *testing.T, c *Cloud, tag string) map[string]any {
			group := "osb-e2e-sgr-" + tag
			c.Python(t, fmt.Sprintf(`
c = connect("emulator")
emit(c.network.create_security_group(name=%q).id)`, group))
			t.Cleanup(func() {
				c.Python(t, fmt.Sprintf(`
c = connect("emulator")
g = c.network.find_security_group(%q)
if g: c.network.delete_security_group(g)
emit(None)`, group))
			})
			return map[string]any{"security_group": group, "protocol": "tcp", "port_range_min": 5432, "port_range_max": 5432,
				"remote_ip_prefix": "10.20.0.0/16"}
		},
		list: func(_ string, p map[string]any) string {
			return fmt.Sprintf(`[{"id": r.id, "protocol": r.protocol} for g in [c.network.find_security_group(%q)] if g
  for r in c.network.security_group_rules(security_group_id=g.id)
  if r.port_range_min == 5432 and r.remote_ip_prefix == "10.20.0.0/16"]`, p["security_group"])
		}},
	{bundle: "openstack-server-group-apb",
		list: func(name string, _ map[string]any) string {
			return fmt.Sprintf(`[{"id": g.id, "policies": g.policies} for g in c.compute.server_groups() if g.name == %q]`, name)
		}},
	{bundle: "openstack-subnet-pool-apb",
		list: func(name string, _ map[string]any) string {
			return fmt.Sprintf(`[{"id": p.id, "prefixes": p.prefixes, "tags": p.tags} for p in c.network.subnet_pools(name=%[1]q) if p.name == %[1]q]`, name)
		},
		marked: "tags"},
	{bundle: "openstack-coe-cluster-template-apb",
		setup: func(t *testing.T, c *Cloud, tag string) map[string]any {
			return map[string]any{"image_id": magnumImage(t, c, tag)}
		},
		list: func(name string, _ map[string]any) string {
			return fmt.Sprintf(`[{"id": x.id, "coe": x.coe} for x in c.list_coe_cluster_templates() if x.name == %q]`, name)
		}},
	{bundle: "openstack-coe-cluster-apb",
		setup: func(t *testing.T, c *Cloud, tag string) map[string]any {
			image, tmpl := magnumImage(t, c, tag), "osb-e2e-ct-"+tag
			c.Python(t, fmt.Sprintf(`
c = connect("emulator")
emit(c.create_coe_cluster_template(%q, image_id=%q, coe="kubernetes").id)`, tmpl, image))
			t.Cleanup(func() {
				c.Python(t, fmt.Sprintf(`
c = connect("emulator")
c.delete_coe_cluster_template(%q)
emit(None)`, tmpl))
			})
			return map[string]any{"cluster_template_id": tmpl}
		},
		// Provision waits for the build: a listed cluster is complete.
		list: func(name string, _ map[string]any) string {
			return fmt.Sprintf(`(lambda l: l if all(x["status"] == "CREATE_COMPLETE" for x in l) else {"not built": l})(
  [{"id": x.id, "status": x.status} for x in c.list_coe_clusters() if x.name == %q])`, name)
		}},
	{bundle: "openstack-volume-backup-apb",
		setup: func(t *testing.T, c *Cloud, tag string) map[string]any {
			vol := "osb-e2e-backup-" + tag
			c.Python(t, fmt.Sprintf(`
c = connect("emulator")
v = c.block_storage.create_volume(name=%q, size=1)
c.block_storage.wait_for_status(v, "available", wait=60)
emit(v.id)`, vol))
			t.Cleanup(func() {
				c.Python(t, fmt.Sprintf(`
c = connect("emulator")
v = c.block_storage.find_volume(%q)
if v:
    c.block_storage.delete_volume(v)
    c.block_storage.wait_for_delete(v, wait=60)
emit(None)`, vol))
			})
			return map[string]any{"volume": vol}
		},
		list: func(name string, _ map[string]any) string {
			return fmt.Sprintf(`[{"id": b.id, "status": b.status, "volume_id": b.volume_id} for b in c.block_storage.backups(details=True) if b.name == %q]`, name)
		}},
}

// TestGeneratedBundles runs every bundle hack/bundlegen generates through
// the broker against the emulator: a provision the broker never recorded
// and then the one it does (one resource, not two), bind (the resource's
// id), unbind, deprovision (gone, seen through openstacksdk), and a
// deprovision of what is already gone (succeeds).
func TestGeneratedBundles(t *testing.T) {
	c := cloud(t)
	for _, p := range platforms(t) {
		t.Run(p.Name(), func(t *testing.T) {
			t.Parallel() // the platforms at once, as in TestBundles
			timePlatform(t, p.Name())
			s := &suite{cloud: c, p: p, b: p.StartBroker(t, brokerSecret(c), "emulator")}
			for _, gc := range generatedCases {
				if !p.runs("generated", gc.bundle) {
					continue
				}
				t.Run(gc.bundle, func(t *testing.T) {
					t.Parallel()
					generatedLifecycle(t, s, s.flow(t, gc.bundle), gc)
				})
			}
			t.Run("openstack-port-apb/two-networks", func(t *testing.T) {
				t.Parallel()
				portNetworkNotGiven(t, s, s.flow(t, "openstack-port-apb"))
			})
		})
	}
}

func generatedLifecycle(t *testing.T, s *suite, f *flow, gc genCase) {
	c := s.cloud
	iid := newID(t)
	name := "osb-" + iid
	params := map[string]any{}
	if gc.setup != nil {
		params = gc.setup(t, c, iid[:8])
	}
	list := func() []map[string]any {
		t.Helper()
		var out []map[string]any
		for _, e := range asList(t, c.Python(t, "c = connect(\"emulator\")\nemit("+gc.list(name, params)+")")) {
			out = append(out, asMap(t, e))
		}
		return out
	}

	// A failed step leaves nothing behind: the bundle's own deprovision.
	t.Cleanup(func() {
		if t.Failed() {
			if _, err := f.runDirect("deprovision", iid, "default", params); err != nil {
				t.Errorf("cleaning up after the failure: %v", err)
			}
		}
	})
	if _, err := f.runDirect("provision", iid, "default", params); err != nil {
		t.Fatalf("direct provision: %v", err)
	}
	if got := list(); len(got) != 1 {
		t.Fatalf("after a provision: %d resources of %s, want 1: %v", len(got), name, got)
	}
	f.succeeded("provision", f.provision(iid, "default", params))
	got := list()
	if len(got) != 1 {
		t.Fatalf("after a repeated provision: %d resources of %s, want 1: %v", len(got), name, got)
	}

	switch gc.marked {
	case "shared":
		if got[0]["shared"] != true {
			t.Errorf("the target project does not see the shared object: %v", got[0])
		}
	case "tags":
		if !slices.Contains(strs(got[0]["tags"]), "osb-instance-"+iid) {
			t.Errorf("tags = %v, want osb-instance-%s", got[0]["tags"], iid)
		}
	}

	bid := newID(t)
	lo, creds := f.bind(iid, bid, nil)
	f.succeeded("bind", lo)
	if creds["id"] != got[0]["id"] {
		t.Errorf("binding id = %v, want the resource's %v (binding %v)", creds["id"], got[0]["id"], creds)
	}
	// (A resource without a name, an RBAC policy, has name null.)
	if n, ok := creds["name"]; ok && n != nil && !strings.HasPrefix(str(n), "osb-") {
		t.Errorf("binding name = %v, want %s", n, name)
	}
	f.succeeded("unbind", f.unbind(iid, bid))

	f.succeeded("deprovision", f.deprovision(iid))
	if left := list(); len(left) != 0 {
		t.Fatalf("after deprovision: %v left", left)
	}
	// A deprovision of what is already gone (a platform retrying).
	if _, err := f.runDirect("deprovision", iid, "default", params); err != nil {
		t.Errorf("deprovision of a deleted %s: %v", gc.bundle, err)
	}
}

// magnumImage uploads the image Magnum's Kubernetes driver needs (os_distro
// fedora-coreos: the cloud's cirros has a distro no Magnum driver takes), as
// devstack's Magnum plugin does, and deletes it when the test ends.
func magnumImage(t *testing.T, c *Cloud, tag string) string {
	name := "osb-e2e-fcos-" + tag
	c.Python(t, fmt.Sprintf(`
c = connect("emulator")
emit(c.image.create_image(name=%q, disk_format="qcow2", container_format="bare", data=b"QFI\xfb" + b"\0" * 60,
                          os_distro="fedora-coreos", visibility="private").id)`, name))
	t.Cleanup(func() {
		c.Python(t, fmt.Sprintf(`
c = connect("emulator")
i = c.image.find_image(%q)
if i: c.image.delete_image(i)
emit(None)`, name))
	})
	return name
}

// altNetworks keeps project alt at its two networks while a
// portNetworkNotGiven counts them.
var altNetworks sync.Mutex

// portNetworkNotGiven: a port provision without network in a project with
// two networks of its own (alt's private and one more) fails naming the
// parameter and the networks, and leaves nothing; the deprovision
// succeeds.
func portNetworkNotGiven(t *testing.T, s *suite, f *flow) {
	// The platforms run this at once: each adds a network to alt.
	altNetworks.Lock()
	defer altNetworks.Unlock()
	c := s.cloud
	iid := newID(t)
	second := "osb-e2e-second-" + iid[:8]
	c.Python(t, fmt.Sprintf(`
c = connect("emulator-alt")
emit(c.network.create_network(name=%q).id)`, second))
	t.Cleanup(func() {
		c.Python(t, fmt.Sprintf(`
c = connect("emulator-alt")
n = c.network.find_network(%q)
if n: c.network.delete_network(n)
emit(None)`, second))
	})
	params := map[string]any{"cloud": "emulator-alt"}
	lo := f.provision(iid, "default", params)
	if lo.State != osbapi.StateFailed || !strings.Contains(lo.Description, "parameter network not given") ||
		!strings.Contains(lo.Description, "2 networks") || !strings.Contains(lo.Description, second) {
		t.Errorf("a port provision without network on two networks: %s %q, want failed naming network and both networks", lo.State, lo.Description)
	}
	f.succeeded("deprovision after a failed provision", f.deprovision(iid))
	left := asList(t, c.Python(t, fmt.Sprintf(`
c = connect("emulator-alt")
emit([p.id for p in c.network.ports(name="osb-%s")])`, iid)))
	if len(left) != 0 {
		t.Errorf("ports left: %v", left)
	}
}
