package openstack

import (
	"fmt"
	"strings"
	"testing"

	"github.com/openstack-service-broker/openstack-service-broker/pkg/osb/osbapi"
)

// cinderOf lists, with openstacksdk (project demo), the volumes and
// snapshots named name.
func cinderOf(t *testing.T, c *Cloud, name string) (vols, snaps []map[string]any) {
	t.Helper()
	v := asMap(t, c.Python(t, fmt.Sprintf(`
c = connect("emulator")
emit({"volumes": [{"id": v.id, "size": v.size, "status": v.status, "metadata": v.metadata}
                  for v in c.block_storage.volumes(name=%[1]q) if v.name == %[1]q],
      "snapshots": [{"id": s.id, "volume_id": s.volume_id, "status": s.status, "size": s.size}
                    for s in c.block_storage.snapshots(name=%[1]q) if s.name == %[1]q]})`, name)))
	for _, e := range asList(t, v["volumes"]) {
		vols = append(vols, asMap(t, e))
	}
	for _, e := range asList(t, v["snapshots"]) {
		snaps = append(snaps, asMap(t, e))
	}
	return vols, snaps
}

func volumeLifecycle(t *testing.T, s *suite, f *flow) {
	c := s.cloud
	iid := newID(t)
	name := "osb-" + iid
	if _, err := f.runDirect("provision", iid, "standard", nil); err != nil {
		t.Fatalf("direct provision: %v", err)
	}
	f.succeeded("provision", f.provision(iid, "standard", nil))
	vols, _ := cinderOf(t, c, name)
	if len(vols) != 1 {
		t.Fatalf("after a repeated provision: %d volumes named %s, want 1", len(vols), name)
	}
	vol := vols[0]
	if str(vol["size"]) != "1" || vol["status"] != "available" || asMap(t, vol["metadata"])["osb_instance_id"] != iid {
		t.Errorf("volume = %v, want 1 GB, available, metadata osb_instance_id %s", vol, iid)
	}

	bid := newID(t)
	lo, b := f.bind(iid, bid, nil)
	f.succeeded("bind", lo)
	if b["volume_id"] != vol["id"] || str(b["size"]) != "1" || b["availability_zone"] != "nova" {
		t.Errorf("binding = %v, want volume %v", b, vol["id"])
	}
	shown := asMap(t, c.CLI(t, "emulator", "volume", "show", str(b["volume_id"])))
	if shown["name"] != name {
		t.Errorf("openstack volume show %v: %v", b["volume_id"], shown["name"])
	}
	f.succeeded("unbind", f.unbind(iid, bid))

	f.succeeded("update", f.update(iid, map[string]any{"size": 2}))
	if shown := asMap(t, c.CLI(t, "emulator", "volume", "show", name)); str(shown["size"]) != "2" || shown["status"] != "available" {
		t.Errorf("after update to 2 GB: size %v status %v", shown["size"], shown["status"])
	}

	// The snapshot plan, of that volume.
	sid := newID(t)
	snapName := "osb-" + sid
	f.succeeded("provision (snapshot)", f.provision(sid, "snapshot", map[string]any{"volume": name}))
	_, snaps := cinderOf(t, c, snapName)
	if len(snaps) != 1 || snaps[0]["volume_id"] != vol["id"] || snaps[0]["status"] != "available" {
		t.Fatalf("snapshots = %v, want one of volume %v", snaps, vol["id"])
	}
	bid2 := newID(t)
	lo, b = f.bind(sid, bid2, nil)
	f.succeeded("bind (snapshot)", lo)
	if b["snapshot_id"] != snaps[0]["id"] || b["volume_id"] != vol["id"] {
		t.Errorf("snapshot binding = %v", b)
	}
	// The bound snapshot restores, with the CLI.
	restored := "osb-e2e-restore-" + sid
	c.CLI(t, "emulator", "volume", "create", "--snapshot", str(b["snapshot_id"]), "--size", "2", restored)
	c.Python(t, fmt.Sprintf(`
c = connect("emulator")
v = c.block_storage.find_volume(%q)
c.block_storage.wait_for_status(v, "available", wait=120)
c.block_storage.delete_volume(v)
c.block_storage.wait_for_delete(v, wait=120)
emit(True)`, restored))
	f.succeeded("unbind (snapshot)", f.unbind(sid, bid2))

	// Cinder refuses to delete a volume with a snapshot: the deprovision
	// fails saying so, and succeeds once the snapshot is gone.
	lo = f.deprovision(iid)
	if lo.State != osbapi.StateFailed || !strings.Contains(lo.Description, "snapshot") {
		t.Errorf("deprovision of a volume with a snapshot: %s %q, want failed naming Cinder's reason", lo.State, lo.Description)
	}
	f.succeeded("deprovision (snapshot)", f.deprovision(sid))
	if vols, snaps := cinderOf(t, c, snapName); len(snaps) != 0 || len(vols) != 0 {
		t.Errorf("after deprovision of the snapshot: %v %v", vols, snaps)
	}
	if vols, _ := cinderOf(t, c, name); len(vols) != 1 {
		t.Errorf("the snapshot plan's deprovision touched its source volume: %v", vols)
	}
	f.succeeded("deprovision", f.deprovision(iid))
	if vols, _ := cinderOf(t, c, name); len(vols) != 0 {
		t.Errorf("after deprovision: %v", vols)
	}
}

// volumeFailure: Cinder refuses the volume (over quota); the provision
// fails naming Cinder's error; a snapshot of a volume that does not
// exist fails too; both deprovision cleanly.
func volumeFailure(t *testing.T, s *suite, f *flow) {
	c := s.cloud
	iid := newID(t)
	cinder := c.Fault(t, fault{Method: "POST", Path: "/volume/v3/*/volumes", BodyContains: "osb-" + iid,
		Status: 413, Body: map[string]any{"overLimit": map[string]any{
			"code": 413, "message": "injected: VolumeSizeExceedsAvailableQuota: Requested volume or snapshot exceeds allowed gigabytes quota.", "retryAfter": "0"}}})
	lo := f.provision(iid, "standard", map[string]any{"size": 5})
	cinder.Remove()
	if lo.State != osbapi.StateFailed || !strings.Contains(lo.Description, "exceeds allowed gigabytes quota") {
		t.Errorf("provision with Cinder over quota: %s %q, want failed naming Cinder's error", lo.State, lo.Description)
	}
	f.succeeded("deprovision after a failed provision", f.deprovision(iid))

	sid := newID(t)
	lo = f.provision(sid, "snapshot", map[string]any{"volume": "no-such-volume"})
	if lo.State != osbapi.StateFailed || !strings.Contains(lo.Description, "no-such-volume") {
		t.Errorf("snapshot of a missing volume: %s %q", lo.State, lo.Description)
	}
	f.succeeded("deprovision of the failed snapshot", f.deprovision(sid))
	for _, id := range []string{iid, sid} {
		if vols, snaps := cinderOf(t, c, "osb-"+id); len(vols)+len(snaps) != 0 {
			t.Errorf("left: %v %v", vols, snaps)
		}
	}
}
