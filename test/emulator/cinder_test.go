package emulator_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/openstack-service-broker/openstack-service-broker/pkg/emulator"
	"github.com/openstack-service-broker/openstack-service-broker/pkg/emulator/core"
)

// TestCinderSDK: volumes and snapshots through openstacksdk: the whole
// cycle with metadata and actions, the errors, and isolation from alt.
func TestCinderSDK(t *testing.T) {
	t.Parallel()
	c := StartCloud(t, func(o *emulator.Options) { o.Delay = 300 * time.Millisecond })
	out := asMap(t, c.Python(t, `
bs = connect("emulator").block_storage
v = bs.create_volume(name="sdk-vol", size=1, description="d", metadata={"a": "1"})
first_status = v.status
v = bs.wait_for_status(v, "available", wait=30, interval=0.2)
shown = bs.get_volume(v.id)
bs.set_volume_metadata(v, b="2")
bs.delete_volume_metadata(bs.get_volume(v.id), keys=["a"])  # SDK 0.101 keeps only the keys it set locally
bs.extend_volume(v, 2)
extending = bs.get_volume(v.id).status
v = bs.wait_for_status(bs.get_volume(v.id), "available", wait=30, interval=0.2)
bs.set_volume_bootable_status(v, True)
bs.set_volume_readonly(v, True)
bs.set_volume_readonly(v, False)
after = bs.get_volume(v.id)
names = [x.name for x in bs.volumes()]
snap = bs.create_snapshot(volume_id=v.id, name="sdk-snap", description="s", metadata={"k": "v"})
snap = bs.wait_for_status(snap, "available", wait=30, interval=0.2)
bs.update_snapshot(snap, name="sdk-snap2")
snap_shown = bs.get_snapshot(snap.id)
snaps = [s.name for s in bs.snapshots()]
del_with_snap = http_error(lambda: bs.delete_volume(v))
clone = bs.create_volume(name="from-snap", snapshot_id=snap.id)
clone = bs.wait_for_status(clone, "available", wait=30, interval=0.2)
alt = connect("emulator-alt").block_storage
alt_list = [x.id for x in alt.volumes()]
alt_get = http_error(lambda: alt.get_volume(v.id))
alt_del = http_error(lambda: alt.delete_volume(v.id, ignore_missing=False))
alt_snap = http_error(lambda: alt.get_snapshot(snap.id))
alt_snap_create = http_error(lambda: alt.create_snapshot(volume_id=v.id))
missing = http_error(lambda: bs.get_volume("00000000-0000-0000-0000-000000000000"))
bad_size = http_error(lambda: bs.create_volume(name="x", size=0))
bad_type = http_error(lambda: bs.create_volume(name="x", size=1, volume_type="nope"))
shrink = http_error(lambda: bs.extend_volume(v, 1))
bs.delete_snapshot(snap)
bs.wait_for_delete(snap, interval=0.2, wait=30)
for x in (clone, v):
    bs.delete_volume(x)
    bs.wait_for_delete(x, interval=0.2, wait=30)
gone = http_error(lambda: bs.get_volume(v.id))
emit({"first": first_status, "status": shown.status, "size": after.size, "extending": extending,
      "project": shown.project_id, "type": shown.volume_type, "meta": after.metadata, "bootable": after.is_bootable,
      "desc": shown.description, "names": sorted(names), "snap": [snap_shown.name, snap_shown.size, snap_shown.status, snap_shown.metadata],
      "snaps": snaps, "clone": [clone.size, clone.snapshot_id], "alt_list": v.id in alt_list, "alt_get": alt_get,
      "alt_del": alt_del, "alt_snap": alt_snap, "alt_snap_create": alt_snap_create, "missing": missing,
      "bad_size": bad_size, "bad_type": bad_type, "shrink": shrink, "del_with_snap": del_with_snap, "gone": gone})
`))
	if out["first"] != "creating" || out["status"] != "available" || out["extending"] != "extending" {
		t.Errorf("statuses: %v", out)
	}
	if out["size"] != float64(2) || out["type"] != "lvmdriver-1" || out["bootable"] != true || out["desc"] != "d" ||
		fmt.Sprint(out["meta"]) != "map[b:2]" || out["project"] == nil {
		t.Errorf("volume: %v", out)
	}
	if fmt.Sprint(out["names"]) != "[sdk-vol]" || fmt.Sprint(out["snap"]) != "[sdk-snap2 2 available map[k:v]]" ||
		fmt.Sprint(out["snaps"]) != "[sdk-snap2]" || asList(t, out["clone"])[0] != float64(2) {
		t.Errorf("lists and snapshot: %v", out)
	}
	if out["alt_list"] != false {
		t.Error("alt lists demo's volume")
	}
	for k, want := range map[string]float64{"alt_get": 404, "alt_del": 404, "alt_snap": 404, "alt_snap_create": 404,
		"missing": 404, "bad_size": 400, "bad_type": 404, "shrink": 400, "del_with_snap": 400, "gone": 404} {
		if got := asMap(t, out[k])["status"]; got != want {
			t.Errorf("%s: %v, want %v", k, out[k], want)
		}
	}
	if msg := fmt.Sprint(asMap(t, out["del_with_snap"])["message"]); !strings.Contains(msg, "have snapshots") {
		t.Errorf("deleting a volume with snapshots: %s", msg)
	}
}

// TestCinderSDKAdmin: volume types with extra specs and access, quotas
// (413 past them), backups, limits and availability zones.
func TestCinderSDKAdmin(t *testing.T) {
	t.Parallel()
	c := StartCloud(t)
	out := asMap(t, c.Python(t, `
admin = connect("emulator-admin").block_storage
demo_conn = connect("emulator")
demo = demo_conn.block_storage
pid = demo_conn.current_project_id
vt = admin.create_type(name="fast", description="ssd", extra_specs={"volume_backend_name": "lvmdriver-1"})
admin.update_type(vt, description="ssd2")
admin.update_type_extra_specs(vt, tier="gold")
admin.delete_type_extra_specs(vt, ["volume_backend_name"])
vt_shown = admin.get_type(vt.id)
member_create = http_error(lambda: demo.create_type(name="nope"))
types = sorted(t.name for t in demo.types())
dup = http_error(lambda: admin.create_type(name="fast"))
priv = admin.create_type(name="private", is_public=False)
demo_priv = http_error(lambda: demo.get_type(priv.id))
admin.add_type_access(priv, pid)
demo_priv_after = demo.get_type(priv.id).name
v = demo.create_volume(name="typed", size=1, volume_type="fast")
v = demo.wait_for_status(v, "available")
in_use = http_error(lambda: admin.delete_type(vt))
demo.retype_volume(v, "private")
retyped = demo.get_volume(v.id).volume_type
admin.update_quota_set(admin.get_quota_set(pid), volumes=1)
over = http_error(lambda: demo.create_volume(name="over", size=1))
qs = demo.get_quota_set(pid)
limits = demo.get_limits()
azs = [a.name for a in demo.availability_zones()]
b = demo.create_backup(volume_id=v.id, name="bk")
b = demo.wait_for_status(b, "available")
b_shown = demo.get_backup(b.id)
backups = [x.name for x in demo.backups()]
restore_over = http_error(lambda: demo.restore_backup(b, name="restored"))
admin.update_quota_set(admin.get_quota_set(pid), volumes=10)
demo.restore_backup(b, name="restored")
alt_backup = http_error(lambda: connect("emulator-alt").block_storage.get_backup(b.id))
demo.delete_backup(b)
demo.wait_for_delete(b)
for x in demo.volumes():
    demo.wait_for_status(x, "available")
    demo.delete_volume(x)
    demo.wait_for_delete(x)
admin.delete_type(vt)
admin.delete_type(priv)
default_del = http_error(lambda: admin.delete_type(admin.find_type("lvmdriver-1")))
emit({"vt": [vt_shown.name, vt_shown.description, vt_shown.extra_specs], "member_create": member_create, "types": types,
      "dup": dup, "demo_priv": demo_priv, "demo_priv_after": demo_priv_after, "in_use": in_use, "retyped": retyped,
      "over": over, "qs_volumes": qs.volumes, "limits": limits.absolute, "azs": azs,
      "backup": [b_shown.name, b_shown.size, b_shown.status, b_shown.volume_id == v.id], "backups": backups,
      "restore_over": restore_over, "alt_backup": alt_backup, "default_del": default_del})
`))
	if fmt.Sprint(out["vt"]) != "[fast ssd2 map[tier:gold]]" || fmt.Sprint(out["types"]) != "[__DEFAULT__ fast lvmdriver-1]" {
		t.Errorf("types: %v %v", out["vt"], out["types"])
	}
	if out["demo_priv_after"] != "private" || out["retyped"] != "private" {
		t.Errorf("private type and retype: %v", out)
	}
	for k, want := range map[string]float64{"member_create": 403, "dup": 409, "demo_priv": 404, "in_use": 400,
		"over": 413, "restore_over": 413, "alt_backup": 404, "default_del": 400} {
		if got := asMap(t, out[k])["status"]; got != want {
			t.Errorf("%s: %v, want %v", k, out[k], want)
		}
	}
	if msg := fmt.Sprint(asMap(t, out["over"])["message"]); !strings.Contains(msg, "Maximum number of volumes allowed (1) exceeded for quota 'volumes'.") {
		t.Errorf("over quota: %s", msg)
	}
	if out["qs_volumes"] != float64(1) || asMap(t, out["limits"])["max_total_volumes"] != float64(1) ||
		asMap(t, out["limits"])["total_volumes_used"] != float64(1) || fmt.Sprint(out["azs"]) != "[nova]" {
		t.Errorf("quotas, limits, zones: %v %v %v", out["qs_volumes"], out["limits"], out["azs"])
	}
	if fmt.Sprint(out["backup"]) != "[bk 1 available true]" || fmt.Sprint(out["backups"]) != "[bk]" {
		t.Errorf("backup: %v %v", out["backup"], out["backups"])
	}
}

// TestCinderSDKAttach: the legacy attach actions as Nova's cinderclient
// and the SDK send them: reserve, initialize_connection, attach,
// begin_detaching, detach; a volume in use cannot be deleted.
func TestCinderSDKAttach(t *testing.T) {
	t.Parallel()
	c := StartCloud(t)
	out := asMap(t, c.Python(t, `
import uuid
conn = connect("emulator")
bs = conn.block_storage
image = conn.image.find_image("cirros-0.6.2-x86_64-disk")
v = bs.wait_for_status(bs.create_volume(name="att", size=1, image_id=image.id), "available")
from_image = [v.is_bootable, v.volume_image_metadata.get("image_name")]
bad_image = http_error(lambda: bs.create_volume(name="x", size=1, image_id="no-such-image"))
server = str(uuid.uuid4())
connector = {"host": "compute-1", "initiator": "iqn.1993-08.org.debian:01:abc", "ip": "10.0.0.5", "platform": "x86_64", "os_type": "linux"}
bs.reserve_volume(v)
reserved = bs.get_volume(v.id).status
bs.init_volume_attachment(v, connector)
bs.attach_volume(v, "/dev/vdb", instance=server)
attached = bs.get_volume(v.id)
del_in_use = http_error(lambda: bs.delete_volume(v))
bs.begin_volume_detaching(v)
detaching = bs.get_volume(v.id).status
bs.abort_volume_detaching(v)
rolled = bs.get_volume(v.id).status
bs.terminate_volume_attachment(v, connector)
bs.detach_volume(v, attached.attachments[0]["attachment_id"])
detached = bs.get_volume(v.id)
reserve_twice = None
bs.reserve_volume(v)
reserve_twice = http_error(lambda: bs.reserve_volume(v))
bs.unreserve_volume(v)
admin = connect("emulator-admin").block_storage
bs.reserve_volume(v)
member_reset = http_error(lambda: bs.reset_volume_status(v, "error", None, None))
admin.reset_volume_status(v, "error", None, None)
errored = bs.get_volume(v.id).status
bs.delete_volume(v)
bs.wait_for_delete(v)
emit({"reserved": reserved, "attached": [attached.status, len(attached.attachments), attached.attachments[0]["server_id"] == server,
      attached.attachments[0]["device"]], "del_in_use": del_in_use, "detaching": detaching, "rolled": rolled,
      "detached": [detached.status, detached.attachments], "reserve_twice": reserve_twice, "member_reset": member_reset, "errored": errored,
      "from_image": from_image, "bad_image": bad_image})
`))
	if out["reserved"] != "attaching" || fmt.Sprint(out["attached"]) != "[in-use 1 true /dev/vdb]" ||
		out["detaching"] != "detaching" || out["rolled"] != "in-use" || fmt.Sprint(out["detached"]) != "[available []]" ||
		out["errored"] != "error" {
		t.Errorf("attach cycle: %v", out)
	}
	if fmt.Sprint(out["from_image"]) != "[true cirros-0.6.2-x86_64-disk]" {
		t.Errorf("volume from an image: %v", out["from_image"])
	}
	for k, want := range map[string]float64{"del_in_use": 400, "reserve_twice": 400, "member_reset": 403, "bad_image": 400} {
		if got := asMap(t, out[k])["status"]; got != want {
			t.Errorf("%s: %v, want %v", k, out[k], want)
		}
	}
}

// TestCinderCLI: volumes, snapshots, types, the v3 attachments API,
// backups and quotas through the openstack CLI.
func TestCinderCLI(t *testing.T) {
	t.Parallel()
	c := StartCloud(t)
	vol := asMap(t, c.CLI(t, "emulator", "volume", "create", "--size", "1", "--property", "p=1", "--description", "cli", "cli-vol"))
	id := fmt.Sprint(vol["id"])
	c.CLINoFormat(t, "emulator", "volume", "set", "--name", "cli-vol2", "--property", "q=2", "--size", "2", id)
	c.CLINoFormat(t, "emulator", "volume", "unset", "--property", "p", id)
	shown := asMap(t, c.CLI(t, "emulator", "volume", "show", "cli-vol2"))
	if shown["size"] != float64(2) || shown["status"] != "available" || fmt.Sprint(shown["properties"]) != "map[q:2]" || shown["type"] != "lvmdriver-1" {
		t.Errorf("volume show: %v", shown)
	}
	if findBy(t, c.CLI(t, "emulator", "volume", "list"), "ID", id) == nil {
		t.Error("volume list lacks the volume")
	}
	if findBy(t, c.CLI(t, "emulator-alt", "volume", "list"), "ID", id) != nil {
		t.Error("alt lists demo's volume")
	}
	c.CLIFails(t, "emulator-alt", "volume", "show", id)

	snap := asMap(t, c.CLI(t, "emulator", "volume", "snapshot", "create", "--volume", id, "cli-snap"))
	sid := fmt.Sprint(snap["id"])
	c.CLINoFormat(t, "emulator", "volume", "snapshot", "set", "--name", "cli-snap2", "--property", "s=1", sid)
	if s := asMap(t, c.CLI(t, "emulator", "volume", "snapshot", "show", "cli-snap2")); s["status"] != "available" || s["size"] != float64(2) {
		t.Errorf("snapshot show: %v", s)
	}
	if findBy(t, c.CLI(t, "emulator", "volume", "snapshot", "list"), "ID", sid) == nil {
		t.Error("snapshot list lacks the snapshot")
	}
	if e := c.CLIFails(t, "emulator", "volume", "delete", id); !strings.Contains(e, "snapshots") {
		t.Errorf("deleting a volume with snapshots: %s", e)
	}
	c.CLINoFormat(t, "emulator", "volume", "snapshot", "delete", sid)

	// Types, as admin; a member may not create one.
	c.CLI(t, "emulator-admin", "volume", "type", "create", "--property", "tier=gold", "--description", "gold", "gold")
	c.CLINoFormat(t, "emulator-admin", "volume", "type", "set", "--property", "x=y", "gold")
	if vt := findBy(t, c.CLI(t, "emulator-admin", "volume", "type", "list", "--long"), "Name", "gold"); vt == nil ||
		!strings.Contains(fmt.Sprint(vt["Properties"]), "x") {
		t.Errorf("type list: %v", vt)
	}
	if e := c.CLIFails(t, "emulator", "volume", "type", "create", "nope"); !strings.Contains(e, "403") {
		t.Errorf("member creating a type: %s", e)
	}
	c.CLINoFormat(t, "emulator-admin", "volume", "type", "delete", "gold")

	// The v3 attachments API (3.27+, complete at 3.44). The CLI's create
	// looks the server up in Nova, so the SDK reserves the attachment.
	server := core.NewUUID()
	aid := fmt.Sprint(c.Python(t, fmt.Sprintf(`
bs = connect("emulator").block_storage
r = bs.post("/attachments", json={"attachment": {"volume_uuid": %q, "instance_uuid": %q}}, microversion="3.27")
emit(r.json()["attachment"]["id"])
`, id, server)))
	api := []string{"--os-volume-api-version", "3.44"}
	att := asMap(t, c.CLI(t, "emulator", append(api, "volume", "attachment", "set", "--initiator", "iqn.x",
		"--ip", "10.0.0.2", "--host", "compute-1", "--mountpoint", "/dev/vdc", aid)...))
	if att["Status"] != "attaching" || att["Volume ID"] != id || !strings.Contains(fmt.Sprint(att["Properties"]), "iscsi") {
		t.Errorf("attachment set: %v", att)
	}
	c.CLINoFormat(t, "emulator", append(api, "volume", "attachment", "complete", aid)...)
	if a := findBy(t, c.CLI(t, "emulator", append(api, "volume", "attachment", "list")...), "ID", aid); a == nil || a["Status"] != "attached" {
		t.Errorf("attachment list: %v", a)
	}
	if v := asMap(t, c.CLI(t, "emulator", "volume", "show", id)); v["status"] != "in-use" {
		t.Errorf("attached volume: %v", v)
	}
	c.CLINoFormat(t, "emulator", append(api, "volume", "attachment", "delete", aid)...)
	c.CLIFails(t, "emulator", append(api, "volume", "attachment", "show", aid)...)

	bk := asMap(t, c.CLI(t, "emulator", "volume", "backup", "create", "--name", "cli-bk", id))
	bid := fmt.Sprint(bk["id"])
	if b := asMap(t, c.CLI(t, "emulator", "volume", "backup", "show", bid)); b["status"] != "available" || b["size"] != float64(2) {
		t.Errorf("backup show: %v", b)
	}
	c.CLINoFormat(t, "emulator", "volume", "backup", "delete", bid)

	// `quota set` needs Nova; the SDK sets the limit, the CLI lists it.
	c.Python(t, `
admin = connect("emulator-admin")
admin.block_storage.update_quota_set(admin.block_storage.get_quota_set(admin.identity.find_project("demo").id), volumes=1)
emit(None)
`)
	if q := asList(t, c.CLI(t, "emulator-admin", "quota", "list", "--volume")); len(q) != 1 || asMap(t, q[0])["Volumes"] != float64(1) {
		t.Errorf("quota list: %v", q)
	}
	if e := c.CLIFails(t, "emulator", "volume", "create", "--size", "1", "over"); !strings.Contains(e, "413") {
		t.Errorf("over quota: %s", e)
	}
	c.CLINoFormat(t, "emulator", "volume", "delete", id)
	if e := c.CLIFails(t, "emulator", "volume", "show", id); !strings.Contains(e, "No volume with a name or ID") {
		t.Errorf("deleted volume: %s", e)
	}
}

// TestCinderAnsible: openstack.cloud's volume and volume_info in
// openstack-apb (the playbooks are split so each stays well inside the
// harness's 3-minute bound on a loaded machine).
func TestCinderAnsible(t *testing.T) {
	t.Parallel()
	c := StartCloud(t, func(o *emulator.Options) { o.Delay = 200 * time.Millisecond })
	r := c.Ansible(t, `
- hosts: localhost
  gather_facts: false
  tasks:
    - name: create volume
      openstack.cloud.volume: {cloud: emulator, name: ans-vol, size: 1, metadata: {purpose: ansible}, description: d}
    - name: create again
      openstack.cloud.volume: {cloud: emulator, name: ans-vol, size: 1}
    - name: extend volume
      openstack.cloud.volume: {cloud: emulator, name: ans-vol, size: 2}
    - name: volume info
      openstack.cloud.volume_info: {cloud: emulator, name: ans-vol, details: true}
    - name: alt volume info
      openstack.cloud.volume_info: {cloud: emulator-alt, name: ans-vol, details: true}
    - name: bad type
      openstack.cloud.volume: {cloud: emulator, name: bad, size: 1, volume_type: nope}
      ignore_errors: true
    - name: delete volume
      openstack.cloud.volume: {cloud: emulator, name: ans-vol, state: absent}
    - name: info after delete
      openstack.cloud.volume_info: {cloud: emulator, name: ans-vol}
`)
	if created := r.OK(t, "create volume"); created["changed"] != true {
		t.Errorf("create volume: %v", created)
	}
	if again := r.OK(t, "create again"); again["changed"] != false {
		t.Errorf("a second create must change nothing: %v", again)
	}
	if ext := r.OK(t, "extend volume"); ext["changed"] != true {
		t.Errorf("extend volume: %v", ext)
	}
	vols := asList(t, r.OK(t, "volume info")["volumes"])
	if len(vols) != 1 {
		t.Fatalf("volume info: %v", vols)
	}
	v := asMap(t, vols[0])
	if v["size"] != float64(2) || v["status"] != "available" || asMap(t, v["metadata"])["purpose"] != "ansible" {
		t.Errorf("volume info: %v", v)
	}
	if alt := asList(t, r.OK(t, "alt volume info")["volumes"]); len(alt) != 0 {
		t.Errorf("alt sees demo's volume: %v", alt)
	}
	if msg := r.Failed(t, "bad type"); !strings.Contains(msg, "nope") {
		t.Errorf("bad type: %s", msg)
	}
	r.OK(t, "delete volume")
	if after := asList(t, r.OK(t, "info after delete")["volumes"]); len(after) != 0 {
		t.Errorf("volume after delete: %v", after)
	}
}

// TestCinderAnsibleSnapshotsBackups: volume_snapshot(_info) and
// volume_backup(_info) in openstack-apb.
func TestCinderAnsibleSnapshotsBackups(t *testing.T) {
	t.Parallel()
	c := StartCloud(t)
	r := c.Ansible(t, `
- hosts: localhost
  gather_facts: false
  tasks:
    - name: create volume
      openstack.cloud.volume: {cloud: emulator, name: ans-vol, size: 1}
    - name: create snapshot
      openstack.cloud.volume_snapshot: {cloud: emulator, volume: ans-vol, name: ans-snap, description: s}
    - name: snapshot info
      openstack.cloud.volume_snapshot_info: {cloud: emulator, name: ans-snap}
    - name: delete volume with snapshot
      openstack.cloud.volume: {cloud: emulator, name: ans-vol, state: absent}
      ignore_errors: true
    - name: delete snapshot
      openstack.cloud.volume_snapshot: {cloud: emulator, volume: ans-vol, name: ans-snap, state: absent}
    - name: create backup
      openstack.cloud.volume_backup: {cloud: emulator, volume: ans-vol, name: ans-bk}
    - name: backup info
      openstack.cloud.volume_backup_info: {cloud: emulator, name: ans-bk}
    - name: delete backup
      openstack.cloud.volume_backup: {cloud: emulator, volume: ans-vol, name: ans-bk, state: absent}
`)
	r.OK(t, "create volume")
	if s := asMap(t, r.OK(t, "create snapshot")["snapshot"]); s["status"] != "available" {
		t.Errorf("create snapshot: %v", s)
	}
	if snaps := asList(t, r.OK(t, "snapshot info")["volume_snapshots"]); len(snaps) != 1 {
		t.Errorf("snapshot info: %v", snaps)
	}
	if msg := r.Failed(t, "delete volume with snapshot"); !strings.Contains(msg, "snapshots") {
		t.Errorf("deleting a volume with snapshots: %s", msg)
	}
	r.OK(t, "delete snapshot")
	if b := r.OK(t, "create backup"); b["changed"] != true {
		t.Errorf("create backup: %v", b)
	}
	if bks := asList(t, r.OK(t, "backup info")["volume_backups"]); len(bks) != 1 || asMap(t, bks[0])["status"] != "available" {
		t.Errorf("backup info: %v", bks)
	}
	r.OK(t, "delete backup")
}

// TestCinderShapes: what the clients hide: version discovery, the
// microversion headers, error bodies, pagination links, the project in
// the URL, and the attachments API as Nova calls it through env.Do.
func TestCinderShapes(t *testing.T) {
	t.Parallel()
	c := StartCloud(t)
	resp, body := c.HTTP(t, "", "GET", "/volume/", nil)
	if resp.StatusCode != http.StatusMultipleChoices || !strings.Contains(string(body), `"href":"`+c.URL()+`/volume/v3/"`) ||
		!strings.Contains(string(body), `"version":"3.70"`) {
		t.Errorf("discovery: %d %s", resp.StatusCode, body)
	}
	tok := c.Token(t, "demo")
	var projectID string
	if resp, body = c.HTTP(t, tok, "GET", "/volume/v3/", nil); resp.StatusCode != 200 || resp.Header.Get("OpenStack-API-Version") != "volume 3.0" {
		t.Errorf("v3 document: %d %v %s", resp.StatusCode, resp.Header, body)
	}
	// The project id comes from the catalog, as clients find it.
	projectID = projectOf(t, c, tok)
	base := "/volume/v3/" + projectID
	resp, body = c.HTTP(t, tok, "GET", base+"/volumes", nil, "OpenStack-API-Version", "volume 3.71")
	if resp.StatusCode != http.StatusNotAcceptable || !strings.Contains(string(body), `"computeFault"`) ||
		!strings.Contains(string(body), "Version 3.71 is not supported by the API. Minimum is 3.0 and maximum is 3.70.") {
		t.Errorf("3.71: %d %s", resp.StatusCode, body)
	}
	resp, body = c.HTTP(t, tok, "GET", base+"/volumes/nope", nil)
	if resp.StatusCode != 404 || string(body) != `{"itemNotFound":{"code":404,"message":"Volume nope could not be found."}}` {
		t.Errorf("404: %d %s", resp.StatusCode, body)
	}
	resp, body = c.HTTP(t, tok, "GET", "/volume/v3/"+strings.Repeat("0", 32)+"/volumes", nil)
	if resp.StatusCode != 400 || !strings.Contains(string(body), "Malformed request url") {
		t.Errorf("another project's URL: %d %s", resp.StatusCode, body)
	}
	if resp, body = c.HTTP(t, tok, "POST", base+"/volumes", "{nope"); resp.StatusCode != 400 || !strings.Contains(string(body), "Malformed request body") {
		t.Errorf("malformed body: %d %s", resp.StatusCode, body)
	}
	resp, body = c.HTTP(t, tok, "POST", base+"/volumes", map[string]any{"volume": map[string]any{"size": 1, "colour": "red"}},
		"OpenStack-API-Version", "volume 3.53")
	if resp.StatusCode != 400 || !strings.Contains(string(body), "Additional properties are not allowed ('colour' was unexpected)") {
		t.Errorf("unknown field at 3.53: %d %s", resp.StatusCode, body)
	}
	resp, body = c.HTTP(t, tok, "POST", base+"/volumes", map[string]any{"volume": map[string]any{"size": "abc"}})
	if resp.StatusCode != 400 || !strings.Contains(string(body), `Invalid input for field/attribute size. Value: abc. 'abc' does not match '^[0-9]+$'`) {
		t.Errorf("bad size: %d %s", resp.StatusCode, body)
	}
	var ids []string
	for i := 0; i < 3; i++ {
		resp, body = c.HTTP(t, tok, "POST", base+"/volumes", map[string]any{"volume": map[string]any{"size": 1, "name": fmt.Sprintf("v%d", i)}})
		if resp.StatusCode != http.StatusAccepted {
			t.Fatalf("create: %d %s", resp.StatusCode, body)
		}
		var v struct{ Volume struct{ ID string } }
		if err := json.Unmarshal(body, &v); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, v.Volume.ID)
	}
	resp, body = c.HTTP(t, tok, "GET", base+"/volumes?limit=2&sort=name:asc", nil)
	if resp.StatusCode != 200 || !strings.Contains(string(body), `"volumes_links":[{"href":"`+c.URL()+base+`/volumes?limit=2\u0026marker=`+ids[1]) {
		t.Errorf("pagination: %d %s", resp.StatusCode, body)
	}
	if resp, body = c.HTTP(t, tok, "GET", base+"/volumes?marker=nope", nil); resp.StatusCode != 404 {
		t.Errorf("bad marker: %d %s", resp.StatusCode, body)
	}
	resp, body = c.HTTP(t, c.Token(t, "admin"), "PUT", "/volume/v3/"+projectOf(t, c, c.Token(t, "admin"))+"/os-quota-sets/"+projectID,
		map[string]any{"quota_set": map[string]any{"gigabytes": 3}})
	if resp.StatusCode != 200 {
		t.Fatalf("quota update: %d %s", resp.StatusCode, body)
	}
	resp, body = c.HTTP(t, tok, "POST", base+"/volumes", map[string]any{"volume": map[string]any{"size": 1}})
	if resp.StatusCode != 413 || resp.Header.Get("Retry-After") != "0" || !strings.Contains(string(body), `"overLimit":{"code":413,"message":"Requested volume or snapshot exceeds allowed gigabytes quota. Requested 1G, quota is 3G and 3G has been consumed.","retryAfter":"0"}`) {
		t.Errorf("413: %d %v %s", resp.StatusCode, resp.Header, body)
	}

	// Nova's calls, in-process as Nova makes them (attachments API).
	id := ids[0]
	caller, err := c.Env().Tokens().ValidateToken(context.Background(), tok)
	if err != nil {
		t.Fatal(err)
	}
	server := core.NewUUID()
	hdr := http.Header{}
	hdr.Set("OpenStack-API-Version", "volume 3.44")
	var att struct {
		Attachment struct {
			ID             string         `json:"id"`
			Status         string         `json:"status"`
			ConnectionInfo map[string]any `json:"connection_info"`
		} `json:"attachment"`
	}
	do := func(method, path string, body, out any) error {
		return c.Env().Do(context.Background(), core.Call{Identity: caller, Service: "volumev3", Method: method,
			Path: "/v3/" + projectID + path, Header: hdr, Body: body}, out)
	}
	if err := do("POST", "/attachments", map[string]any{"attachment": map[string]any{"volume_uuid": id, "instance_uuid": server}}, &att); err != nil || att.Attachment.Status != "reserved" {
		t.Fatalf("attachment create: %v %+v", err, att)
	}
	if err := do("PUT", "/attachments/"+att.Attachment.ID, map[string]any{"attachment": map[string]any{"connector": map[string]any{
		"host": "compute-1", "initiator": "iqn.y", "mountpoint": "/dev/vdb"}}}, &att); err != nil || att.Attachment.ConnectionInfo["driver_volume_type"] != "iscsi" {
		t.Fatalf("attachment update: %v %+v", err, att)
	}
	if err := do("POST", "/attachments/"+att.Attachment.ID+"/action", map[string]any{"os-complete": nil}, nil); err != nil {
		t.Fatalf("attachment complete: %v", err)
	}
	resp, body = c.HTTP(t, tok, "GET", base+"/volumes/"+id, nil)
	if !strings.Contains(string(body), `"status":"in-use"`) || !strings.Contains(string(body), `"server_id":"`+server+`"`) {
		t.Errorf("attached volume: %s", body)
	}
	if resp, body = c.HTTP(t, tok, "DELETE", base+"/volumes/"+id, nil); resp.StatusCode != 400 {
		t.Errorf("deleting an attached volume: %d %s", resp.StatusCode, body)
	}
	if err := do("DELETE", "/attachments/"+att.Attachment.ID, nil, nil); err != nil {
		t.Fatalf("attachment delete: %v", err)
	}
	if resp, body = c.HTTP(t, tok, "GET", base+"/attachments", nil); resp.StatusCode != 404 {
		t.Errorf("attachments at 3.0: %d %s", resp.StatusCode, body)
	}
	if resp, body = c.HTTP(t, tok, "DELETE", base+"/volumes/"+id, nil); resp.StatusCode != 202 {
		t.Errorf("delete: %d %s", resp.StatusCode, body)
	}
}

// projectOf returns the project id of a token (the catalog puts it in
// every Cinder and Manila URL).
func projectOf(t *testing.T, c *Cloud, tok string) string {
	t.Helper()
	resp, body := c.HTTP(t, tok, "GET", "/v3/auth/tokens", nil, "X-Subject-Token", tok)
	var v struct {
		Token struct {
			Project struct{ ID string } `json:"project"`
		} `json:"token"`
	}
	if resp.StatusCode != 200 || json.Unmarshal(body, &v) != nil || v.Token.Project.ID == "" {
		t.Fatalf("token: %d %s", resp.StatusCode, body)
	}
	return v.Token.Project.ID
}
