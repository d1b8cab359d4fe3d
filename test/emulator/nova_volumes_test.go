package emulator_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/openstack-service-broker/openstack-service-broker/pkg/emulator"
)

// TestNovaVolumesSDK: Nova with Cinder through openstacksdk: a volume
// attached and detached through os-volume_attachments (Cinder's
// attachments API behind it), delete_on_termination set on attach (2.79)
// and updated (2.85), boot from volume through the cloud layer as
// openstack.cloud.server does it (a root volume made from the image and
// deleted with the server, a volume of the user's kept), the errors and
// isolation. A delay makes the root volume "creating" when Nova attaches
// it.
func TestNovaVolumesSDK(t *testing.T) {
	t.Parallel()
	c := StartCloud(t, func(o *emulator.Options) { o.Delay = 200 * time.Millisecond })
	out := asMap(t, c.Python(t, `
demo = connect("emulator")
alt = connect("emulator-alt")
bs, cp = demo.block_storage, demo.compute
res = {}
img = demo.image.find_image("cirros-0.6.2-x86_64-disk")
v = bs.create_volume(size=1, name="data")
kept = bs.create_volume(size=1, name="kept")
s = cp.create_server(name="vm", image_id=img.id, flavor_id="1", networks="none")
bs.wait_for_status(v, "available", wait=30)
bs.wait_for_status(kept, "available", wait=30)
s = cp.wait_for_server(s, wait=30)
a = cp.create_volume_attachment(s, volume_id=v.id)
res["attach"] = [a.device, a.volume_id == v.id]
got = bs.wait_for_status(bs.get_volume(v.id), "in-use", wait=30)
res["in_use"] = [got.status, got.attachments[0]["server_id"] == s.id, got.attachments[0]["device"]]
res["listed"] = [x.volume_id == v.id for x in cp.volume_attachments(s)]
res["twice"] = http_error(lambda: cp.create_volume_attachment(s, volume_id=v.id))
res["no_volume"] = http_error(lambda: cp.create_volume_attachment(s, volume_id="00000000-0000-0000-0000-000000000000"))
res["alt_attach"] = http_error(lambda: alt.compute.create_volume_attachment(s, volume_id=v.id))
path = "/servers/%s/os-volume_attachments" % s.id
res["update"] = cp.put(path + "/" + v.id, json={"volumeAttachment": {"volumeId": v.id, "delete_on_termination": True}}, microversion="2.85").status_code
shown = cp.get(path + "/" + v.id, microversion="2.89").json()["volumeAttachment"]
res["shown"] = [shown["delete_on_termination"], shown["attachment_id"] is not None]
cp.delete_volume_attachment(v, s)
got = bs.wait_for_status(bs.get_volume(v.id), "available", wait=30)
res["detached"] = [got.status, got.attachments]
r = cp.post(path, json={"volumeAttachment": {"volumeId": v.id, "delete_on_termination": True}}, microversion="2.79")
res["attach_2_79"] = [r.status_code, r.json()["volumeAttachment"]["delete_on_termination"]]
bs.wait_for_status(bs.get_volume(v.id), "in-use", wait=30)
# boot from volume, as openstack.cloud.server sends it
bfv = demo.create_server("bfv", image=img.id, flavor="m1.tiny", boot_from_volume=True, volume_size=1,
                         terminate_volume=True, volumes=[kept.id], network="private", auto_ip=False, wait=True, timeout=60)
raw = cp.get("/servers/" + bfv.id, microversion="2.3").json()["server"]
att = raw["os-extended-volumes:volumes_attached"]
res["bfv"] = [raw["status"], raw["image"], sorted(x["delete_on_termination"] for x in att)]
root_id = [x["id"] for x in att if x["id"] != kept.id][0]
root = bs.wait_for_status(bs.get_volume(root_id), "in-use", wait=30)
res["root"] = [root.is_bootable, root.size, root.attachments[0]["device"], root.volume_image_metadata.get("image_id") == img.id]
res["kept"] = [bs.get_volume(kept.id).status, bs.get_volume(kept.id).attachments[0]["server_id"] == bfv.id]
res["detach_root"] = http_error(lambda: cp.delete_volume_attachment(root_id, bfv))
res["in_use_elsewhere"] = http_error(lambda: cp.create_volume_attachment(s, volume_id=kept.id))
# deleting the servers deletes the volumes marked delete_on_termination
cp.delete_server(s)
cp.delete_server(bfv)
cp.wait_for_delete(s, wait=30)
cp.wait_for_delete(bfv, wait=30)
bs.wait_for_delete(v, wait=30)
res["v_gone"] = http_error(lambda: bs.get_volume(v.id))
bs.wait_for_delete(root, wait=30)
res["root_gone"] = http_error(lambda: bs.get_volume(root_id))
got = bs.wait_for_status(bs.get_volume(kept.id), "available", wait=30)
res["kept_after"] = [got.status, got.attachments]
emit(res)
`))
	want := map[string]string{
		"attach":      "[/dev/vdb true]",
		"in_use":      "[in-use true /dev/vdb]",
		"listed":      "[true]",
		"update":      "202",
		"shown":       "[true true]",
		"detached":    "[available []]",
		"attach_2_79": "[200 true]",
		"bfv":         "[ACTIVE  [false true]]",
		"root":        "[true 1 /dev/vda true]",
		"kept":        "[in-use true]",
		"kept_after":  "[available []]",
	}
	for k, v := range want {
		if got := fmt.Sprint(out[k]); got != v {
			t.Errorf("%s = %s, want %s", k, got, v)
		}
	}
	for k, status := range map[string]float64{"twice": 400, "no_volume": 404, "alt_attach": 404, "detach_root": 400,
		"in_use_elsewhere": 400, "v_gone": 404, "root_gone": 404} {
		if got := asMap(t, out[k])["status"]; got != status {
			t.Errorf("%s: %v, want %v", k, out[k], status)
		}
	}
}

// TestNovaVolumesAnsible: openstack.cloud.server booting from a volume
// (boot_from_volume, volume_size, terminate_volume, volumes) and
// openstack.cloud.server_volume attaching and detaching a volume.
func TestNovaVolumesAnsible(t *testing.T) {
	t.Parallel()
	c := StartCloud(t)
	r := c.Ansible(t, `
- hosts: localhost
  gather_facts: false
  tasks:
    - name: volumes
      openstack.cloud.volume: {cloud: emulator, name: "{{ item }}", size: 1}
      loop: [ans-data, ans-kept]
    - name: server from volume
      openstack.cloud.server:
        cloud: emulator
        name: ans-bfv
        image: cirros-0.6.2-x86_64-disk
        flavor: m1.tiny
        boot_from_volume: true
        volume_size: 1
        terminate_volume: true
        volumes: [ans-kept]
        network: private
        auto_ip: false
        timeout: 60
    - name: attach
      openstack.cloud.server_volume: {cloud: emulator, server: ans-bfv, volume: ans-data, timeout: 60}
    - name: attach again
      openstack.cloud.server_volume: {cloud: emulator, server: ans-bfv, volume: ans-data, timeout: 60}
    - name: alt attach
      openstack.cloud.server_volume: {cloud: emulator-alt, server: ans-bfv, volume: ans-data}
      ignore_errors: true
    - name: detach
      openstack.cloud.server_volume: {cloud: emulator, server: ans-bfv, volume: ans-data, state: absent, timeout: 60}
    - name: delete server
      openstack.cloud.server: {cloud: emulator, name: ans-bfv, state: absent, timeout: 60}
    - name: volumes after
      openstack.cloud.volume_info: {cloud: emulator, details: true}
    - name: delete volumes
      openstack.cloud.volume: {cloud: emulator, name: "{{ item }}", state: absent}
      loop: [ans-data, ans-kept]
`)
	r.OK(t, "volumes")
	srv := asMap(t, r.OK(t, "server from volume")["server"])
	vols := fmt.Sprint(srv["volumes"])
	if srv["status"] != "ACTIVE" || strings.Count(vols, "delete_on_termination") != 2 {
		t.Errorf("server from volume: %v", srv)
	}
	att := r.OK(t, "attach")
	if att["changed"] != true || !strings.Contains(fmt.Sprint(att["attachments"]), "/dev/vd") {
		t.Errorf("attach: %v", att)
	}
	if again := r.OK(t, "attach again"); again["changed"] != false {
		t.Errorf("attach again: %v", again)
	}
	if msg := r.Failed(t, "alt attach"); !strings.Contains(msg, "not found") {
		t.Errorf("alt attach: %s", msg)
	}
	if d := r.OK(t, "detach"); d["changed"] != true {
		t.Errorf("detach: %v", d)
	}
	r.OK(t, "delete server")
	after := map[string]string{}
	for _, v := range asList(t, r.OK(t, "volumes after")["volumes"]) {
		m := asMap(t, v)
		after[fmt.Sprint(m["name"])] = fmt.Sprint(m["status"])
	}
	if fmt.Sprint(after) != "map[ans-data:available ans-kept:available]" {
		t.Errorf("volumes after the server's delete (the root volume deleted, the others kept): %v", after)
	}
	r.OK(t, "delete volumes")
}
