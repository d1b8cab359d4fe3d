package emulator_test

import (
	_ "fmt"
	_ "strings"
	"testing"
	"time"

	"github.com/openstack-service-broker/openstack-service-broker/pkg/emulator"
)

// magnumImage makes the image Magnum's Kubernetes driver needs (os_distro
// fedora-coreos; the cloud's cirros has none Magnum supports) and emits
// nothing: scripts start with it.
const magnumImage = `
def fcos(conn):
    img = conn.image.create_image(name="fedora-coreos-38", disk_format="qcow2", container_format="bare",
                                  data=b"QFI\xfb" + b"\0" * 60, os_distro="fedora-coreos", visibility="private")
    return img.id
`

// TestMagnumSDK: a cluster template's and a cluster's cycle through
// openstacksdk's cloud layer (what the openstack.cloud modules call), the
// statuses over -delay, the errors and isolation from alt.
func TestMagnumSDK(t *testing.T) {
	t.Parallel()
	c := StartCloud(t, func(o *emulator.Options) { o.Delay = 300 * time.Millisecond })
	out := asMap(t, c.Python(t, magnumImage+`
import time
demo = connect("emulator")
image = fcos(demo)
kp = demo.compute.create_keypair(name="magnum-kp")
ct = demo.create_coe_cluster_template("k8s", image_id="fedora-coreos-38", keypair_id="magnum-kp", coe="kubernetes",
                                      labels={"kube_tag": "v1.18.16"}, flavor_id="m1.small", master_flavor_id="m1.small")
shown = demo.get_coe_cluster_template(ct.id)
listed = [x.name for x in demo.list_coe_cluster_templates()]
# one attribute a call: SDK 0.101 sorts the patch list, which fails for two
demo.update_coe_cluster_template(ct.id, "replace", docker_volume_size=5)
upd = demo.update_coe_cluster_template(ct.id, "replace", name="k8s-2")
cl = demo.create_coe_cluster("c1", cluster_template_id=ct.id, node_count=2, master_count=1)
first = demo.get_coe_cluster(cl.id)
statuses = [first.status]
for _ in range(40):
    s = demo.get_coe_cluster(cl.id)
    if s.status != statuses[-1]:
        statuses.append(s.status)
    if s.status == "CREATE_COMPLETE":
        break
    time.sleep(0.1)
done = demo.get_coe_cluster(cl.id)
clusters = [x.name for x in demo.list_coe_clusters()]
in_use = http_error(lambda: demo.delete_coe_cluster_template(ct.id))
in_use_upd = http_error(lambda: demo.update_coe_cluster_template(ct.id, "replace", docker_volume_size=7))
resized = demo.update_coe_cluster(cl.id, "replace", node_count=3)
resizing = resized.status
cirros = http_error(lambda: demo.create_coe_cluster_template("bad", image_id="cirros-0.6.2-x86_64-disk", coe="kubernetes"))
noflavor = http_error(lambda: demo.create_coe_cluster_template("bad", image_id=image, coe="kubernetes", flavor_id="nope"))
nokp = http_error(lambda: demo.create_coe_cluster("c2", cluster_template_id=ct.id, keypair="nope"))
noext = http_error(lambda: demo.create_coe_cluster_template("bad", image_id=image, coe="kubernetes", external_network_id="nope"))
alt = connect("emulator-alt")
alt_cts = [x.id for x in alt.list_coe_cluster_templates()]
alt_cls = [x.id for x in alt.list_coe_clusters()]
alt_get = alt.get_coe_cluster(cl.id)
alt_create = http_error(lambda: alt.create_coe_cluster("c3", cluster_template_id=ct.id))
demo.delete_coe_cluster(cl.id)
deleting = demo.get_coe_cluster(cl.id)
deleting = deleting.status if deleting else None
for _ in range(40):
    if demo.get_coe_cluster(cl.id) is None:
        break
    time.sleep(0.1)
gone = demo.get_coe_cluster(cl.id)
demo.delete_coe_cluster_template(ct.id)
ct_gone = demo.get_coe_cluster_template(ct.id)
emit({"ct": [shown.name, shown.coe, shown.cluster_distro, shown.network_driver, shown.is_public, shown.keypair_id, shown.labels],
      "listed": listed, "upd": [upd.name, upd.docker_volume_size], "created": cl.id is not None,
      "statuses": statuses, "done": [done.status, done.stack_id is not None, done.node_count, done.keypair,
      done.properties.get("api_address", "").startswith("https://"), len(done.properties.get("node_addresses") or []),
      done.properties.get("status_reason")],
      "clusters": clusters, "in_use": in_use, "in_use_upd": in_use_upd, "resizing": resizing,
      "cirros": cirros, "noflavor": noflavor, "nokp": nokp, "noext": noext,
      "alt_sees": [ct.id in alt_cts, cl.id in alt_cls, alt_get is not None], "alt_create": alt_create,
      "deleting": deleting, "gone": gone is None, "ct_gone": ct_gone is None})
`))
	t.Logf("%v", out)
}
