package emulator_test

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/openstack-service-broker/openstack-service-broker/pkg/emulator"
)

// magnumImage defines fcos(conn): the image Magnum's Kubernetes driver
// needs (os_distro fedora-coreos; the cloud's cirros has a distro no
// Magnum driver supports), as devstack's Magnum plugin uploads one.
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
demo.compute.create_keypair(name="magnum-kp")
ct = demo.create_coe_cluster_template("k8s", image_id="fedora-coreos-38", keypair_id="magnum-kp", coe="kubernetes",
                                      labels={"kube_tag": "v1.18.16"}, flavor_id="m1.small", master_flavor_id="m1.small")
shown = demo.get_coe_cluster_template(ct.id)
listed = [x.name for x in demo.list_coe_cluster_templates()]
# one attribute a call: SDK 0.101 sorts the patch list, which fails for two
demo.update_coe_cluster_template(ct.id, "replace", docker_volume_size=5)
upd = demo.update_coe_cluster_template(ct.id, "replace", name="k8s-2")
cl = demo.create_coe_cluster("c1", cluster_template_id=ct.id, node_count=2, master_count=1)
statuses = [demo.get_coe_cluster(cl.id).status]
for _ in range(50):
    s = demo.get_coe_cluster(cl.id).status
    if s != statuses[-1]:
        statuses.append(s)
    if s == "CREATE_COMPLETE":
        break
    time.sleep(0.05)
done = demo.get_coe_cluster(cl.id)
detail = demo._container_infra_client.get("/clusters/%s" % cl.id)
clusters = [x.name for x in demo.list_coe_clusters()]
in_use = http_error(lambda: demo.delete_coe_cluster_template(ct.id))
in_use_upd = http_error(lambda: demo.update_coe_cluster_template(ct.id, "replace", docker_volume_size=7))
rename_in_use = demo.update_coe_cluster_template(ct.id, "replace", name="k8s-3").name
resizing = demo.update_coe_cluster(cl.id, "replace", node_count=3).status
cirros = http_error(lambda: demo.create_coe_cluster_template("bad", image_id="cirros-0.6.2-x86_64-disk", coe="kubernetes"))
noflavor = http_error(lambda: demo.create_coe_cluster_template("bad", image_id=image, coe="kubernetes", flavor_id="nope"))
noext = http_error(lambda: demo.create_coe_cluster_template("bad", image_id=image, coe="kubernetes", external_network_id="nope"))
nokp = http_error(lambda: demo.create_coe_cluster("c2", cluster_template_id=ct.id, keypair="nope"))
alt = connect("emulator-alt")
alt_cts = [x.id for x in alt.list_coe_cluster_templates()]
alt_cls = [x.id for x in alt.list_coe_clusters()]
alt_get = alt.get_coe_cluster(cl.id)
alt_create = http_error(lambda: alt.create_coe_cluster("c3", cluster_template_id=ct.id))
demo.delete_coe_cluster(cl.id)
deleting = demo.get_coe_cluster(cl.id)
deleting = deleting.status if deleting else None
for _ in range(50):
    if demo.get_coe_cluster(cl.id) is None:
        break
    time.sleep(0.05)
gone = demo.get_coe_cluster(cl.id)
demo.delete_coe_cluster_template(ct.id)
emit({"ct": [shown.name, shown.coe, shown.cluster_distro, shown.network_driver, shown.is_public, shown.keypair_id, shown.labels],
      "listed": listed, "upd": [upd.name, upd.docker_volume_size], "statuses": statuses,
      "done": [done.status, done.node_count, done.keypair, done.cluster_template_id == ct.id],
      "detail": [detail["api_address"].startswith("https://172.24.4."), len(detail["node_addresses"]),
                 len(detail["master_addresses"]), detail["status_reason"], bool(detail["stack_id"])],
      "clusters": clusters, "in_use": in_use, "in_use_upd": in_use_upd, "rename_in_use": rename_in_use,
      "resizing": resizing, "cirros": cirros, "noflavor": noflavor, "noext": noext, "nokp": nokp,
      "alt_sees": [ct.id in alt_cts, cl.id in alt_cls, alt_get is not None], "alt_create": alt_create,
      "deleting": deleting, "gone": gone is None, "ct_gone": demo.get_coe_cluster_template(ct.id) is None})
`))
	if fmt.Sprint(out["ct"]) != "[k8s kubernetes fedora-coreos flannel false magnum-kp map[kube_tag:v1.18.16]]" ||
		fmt.Sprint(out["listed"]) != "[k8s]" || fmt.Sprint(out["upd"]) != "[k8s-2 5]" {
		t.Errorf("template create/show/list/update: %v %v %v", out["ct"], out["listed"], out["upd"])
	}
	if fmt.Sprint(out["statuses"]) != "[CREATE_IN_PROGRESS CREATE_COMPLETE]" ||
		fmt.Sprint(out["done"]) != "[CREATE_COMPLETE 2 magnum-kp true]" || fmt.Sprint(out["clusters"]) != "[c1]" {
		t.Errorf("cluster create/list: %v %v %v", out["statuses"], out["done"], out["clusters"])
	}
	if fmt.Sprint(out["detail"]) != "[true 2 1 Stack CREATE completed successfully true]" {
		t.Errorf("cluster detail (api_address, node/master addresses, status_reason, stack_id): %v", out["detail"])
	}
	if out["rename_in_use"] != "k8s-3" || out["resizing"] != "UPDATE_IN_PROGRESS" || out["deleting"] != "DELETE_IN_PROGRESS" {
		t.Errorf("rename in use / resize / delete: %v %v %v", out["rename_in_use"], out["resizing"], out["deleting"])
	}
	if fmt.Sprint(out["alt_sees"]) != "[false false false]" || out["gone"] != true || out["ct_gone"] != true {
		t.Errorf("isolation or deletion: %v gone=%v ct_gone=%v", out["alt_sees"], out["gone"], out["ct_gone"])
	}
	// alt_create: Magnum before 1.10 answers a template it cannot find with 400.
	for k, want := range map[string]float64{"in_use": 400, "in_use_upd": 400, "cirros": 400, "noflavor": 400, "noext": 400,
		"nokp": 404, "alt_create": 400} {
		if got := asMap(t, out[k])["status"]; got != want {
			t.Errorf("%s: %v, want %v", k, out[k], want)
		}
	}
}

// TestMagnumHTTP: what clients read beside the bodies: version discovery,
// the microversion headers, the error shape, pagination links.
func TestMagnumHTTP(t *testing.T) {
	t.Parallel()
	c := StartCloud(t)
	resp, body := c.HTTP(t, "", "GET", "/container-infra/", nil)
	var root struct {
		Name     string `json:"name"`
		Versions []struct {
			ID, Status, MaxVersion, MinVersion string
		} `json:"versions"`
	}
	_ = json.Unmarshal(body, &root)
	if resp.StatusCode != 200 || root.Name != "OpenStack Magnum API" || len(root.Versions) != 1 || root.Versions[0].ID != "v1" {
		t.Errorf("GET /: %d %s", resp.StatusCode, body)
	}
	if resp, body := c.HTTP(t, "", "GET", "/container-infra/v1", nil); resp.StatusCode != 200 || !strings.Contains(string(body), `"clustertemplates"`) ||
		resp.Header.Get("OpenStack-API-Version") != "container-infra 1.1" {
		t.Errorf("GET /v1: %d %v %s", resp.StatusCode, resp.Header, body)
	}
	tok := c.Token(t, "demo")
	resp, _ = c.HTTP(t, tok, "GET", "/container-infra/v1/clusters", nil, "OpenStack-API-Version", "container-infra latest")
	if resp.Header.Get("OpenStack-API-Version") != "container-infra 1.10" ||
		resp.Header.Get("OpenStack-API-Minimum-Version") != "container-infra 1.1" ||
		resp.Header.Get("OpenStack-API-Maximum-Version") != "container-infra 1.10" {
		t.Errorf("microversion headers: %v", resp.Header)
	}
	resp, body = c.HTTP(t, tok, "GET", "/container-infra/v1/clusters", nil, "OpenStack-API-Version", "container-infra 1.11")
	if resp.StatusCode != 406 || !strings.Contains(string(body), "magnum.microversion-unsupported") {
		t.Errorf("1.11: %d %s", resp.StatusCode, body)
	}
	resp, body = c.HTTP(t, tok, "GET", "/container-infra/v1/clusters/nope", nil)
	var e struct {
		Errors []struct {
			Code, Title, Detail string
			Status              int
		} `json:"errors"`
	}
	_ = json.Unmarshal(body, &e)
	if resp.StatusCode != 404 || len(e.Errors) != 1 || e.Errors[0].Code != "client" || e.Errors[0].Status != 404 ||
		e.Errors[0].Detail != "Cluster nope could not be found." || e.Errors[0].Title != "Cluster nope could not be found" {
		t.Errorf("404 shape: %d %s", resp.StatusCode, body)
	}
	for _, tc := range []struct {
		body any
		want string
	}{
		{`{"coe": "kubernetes"`, "Invalid data"},
		{map[string]any{"coe": "kubernetes"}, "Invalid input for field/attribute image_id. Value: 'None'. Mandatory field missing."},
		{map[string]any{"coe": "k8s", "image_id": "x"}, "Value should be one of: kubernetes, swarm, mesos, dcos, swarm-mode"},
		{map[string]any{"coe": "kubernetes", "image_id": "x", "bogus": 1}, "Unknown attribute for argument cluster_template: bogus"},
		{map[string]any{"coe": "kubernetes", "image_id": "x", "apiserver_port": 80}, "Value should be greater or equal to 1024"},
		{map[string]any{"coe": "mesos", "image_id": "x"}, "Requested COE type mesos is not supported."},
		{map[string]any{"coe": "kubernetes", "image_id": "x", "network_driver": "docker"}, "Network driver type docker is not supported"},
		{map[string]any{"coe": "kubernetes", "image_id": "no-such-image"}, "Cluster type (vm, None, kubernetes) not supported."},
	} {
		resp, body := c.HTTP(t, tok, "POST", "/container-infra/v1/clustertemplates", tc.body)
		if resp.StatusCode != 400 || !strings.Contains(string(body), tc.want) {
			t.Errorf("POST %v: %d %s, want 400 %q", tc.body, resp.StatusCode, body, tc.want)
		}
	}
	// Pagination: a full page has a next link with the marker. The body's
	// cluster_distro passes the driver check; Magnum then stores the
	// image's os_distro (cirros), as it does.
	for i := range 3 {
		b := map[string]any{"name": fmt.Sprintf("t%d", i), "coe": "kubernetes", "image_id": "cirros-0.6.2-x86_64-disk", "cluster_distro": "fedora-coreos"}
		if resp, body := c.HTTP(t, tok, "POST", "/container-infra/v1/clustertemplates", b); resp.StatusCode != 201 || !strings.Contains(string(body), `"cluster_distro":"cirros"`) {
			t.Fatalf("template %d: %d %s", i, resp.StatusCode, body)
		}
	}
	var pg struct {
		Templates []struct{ UUID, Name string } `json:"clustertemplates"`
		Next      string                        `json:"next"`
	}
	_, body = c.HTTP(t, tok, "GET", "/container-infra/v1/clustertemplates?limit=2", nil)
	_ = json.Unmarshal(body, &pg)
	if len(pg.Templates) != 2 || pg.Templates[0].Name != "t0" || !strings.HasSuffix(pg.Next, "/container-infra/v1/clustertemplates?sort_key=id&sort_dir=asc&limit=2&marker="+pg.Templates[1].UUID) {
		t.Errorf("first page: %s", body)
	}
	_, body = c.HTTP(t, tok, "GET", strings.TrimPrefix(pg.Next, c.URL()), nil)
	pg.Next = ""
	_ = json.Unmarshal(body, &pg)
	if len(pg.Templates) != 1 || pg.Templates[0].Name != "t2" || pg.Next != "" {
		t.Errorf("second page: %s", body)
	}
	if resp, body := c.HTTP(t, tok, "POST", "/container-infra/v1/clusters", map[string]any{"cluster_template_id": "t0"},
		"OpenStack-API-Version", "container-infra 1.10"); resp.StatusCode != 400 || !strings.Contains(string(body), "Cluster type (vm, cirros, kubernetes) not supported.") {
		t.Errorf("cluster on a cirros template: %d %s", resp.StatusCode, body)
	}
	// Public templates: admins only publish; other projects read but do
	// not change them; private ones do not exist for them.
	pub := map[string]any{"name": "pub", "coe": "kubernetes", "image_id": "cirros-0.6.2-x86_64-disk", "cluster_distro": "fedora-coreos", "public": true}
	if resp, body := c.HTTP(t, tok, "POST", "/container-infra/v1/clustertemplates", pub); resp.StatusCode != 403 ||
		!strings.Contains(string(body), "Not authorized to set public or hidden flag for cluster template.") {
		t.Errorf("member publishes: %d %s", resp.StatusCode, body)
	}
	if resp, body := c.HTTP(t, c.Token(t, "admin"), "POST", "/container-infra/v1/clustertemplates", pub); resp.StatusCode != 201 {
		t.Fatalf("admin publishes: %d %s", resp.StatusCode, body)
	}
	alt := c.Token(t, "alt")
	_, body = c.HTTP(t, alt, "GET", "/container-infra/v1/clustertemplates", nil)
	if !strings.Contains(string(body), `"name":"pub"`) || strings.Contains(string(body), `"name":"t0"`) {
		t.Errorf("alt's list: %s", body)
	}
	for _, tc := range []struct {
		method, path string
		body         any
		want         int
	}{
		{"GET", "/container-infra/v1/clustertemplates/pub", nil, 200},
		{"PATCH", "/container-infra/v1/clustertemplates/pub", []any{map[string]any{"op": "replace", "path": "/name", "value": "mine"}}, 403},
		{"DELETE", "/container-infra/v1/clustertemplates/pub", nil, 403},
		{"GET", "/container-infra/v1/clustertemplates/t0", nil, 404},
		{"DELETE", "/container-infra/v1/clustertemplates/" + pg.Templates[0].UUID, nil, 404},
	} {
		if resp, body := c.HTTP(t, alt, tc.method, tc.path, tc.body); resp.StatusCode != tc.want {
			t.Errorf("alt %s %s: %d %s, want %d", tc.method, tc.path, resp.StatusCode, body, tc.want)
		}
	}
	resp, body = c.HTTP(t, tok, "GET", "/container-infra/v1/clustertemplates?limit=0", nil)
	if resp.StatusCode != 400 || !strings.Contains(string(body), "Limit must be positive") {
		t.Errorf("limit=0: %d %s", resp.StatusCode, body)
	}
}

// magnumNote drops the line magnumclient prints before the JSON of a
// create ("Request to create cluster template x accepted").
func magnumNote(t *testing.T, out string) any {
	t.Helper()
	if i := strings.Index(out, "{"); i >= 0 {
		out = out[i:]
	}
	var v any
	if err := json.Unmarshal([]byte(out), &v); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, out)
	}
	return v
}

// TestMagnumCLI: `openstack coe cluster template ...` and `openstack coe
// cluster ...` (python3-magnumclient), errors and isolation.
func TestMagnumCLI(t *testing.T) {
	t.Parallel()
	c := StartCloud(t)
	c.Python(t, magnumImage+`emit(fcos(connect("emulator")))`)
	ct := asMap(t, magnumNote(t, c.CLINoFormat(t, "emulator", "coe", "cluster", "template", "create", "--coe", "kubernetes",
		"--image", "fedora-coreos-38", "--external-network", "public", "--labels", "kube_tag=v1.18.16", "-f", "json", "cli-ct")))
	if ct["cluster_distro"] != "fedora-coreos" || ct["external_network_id"] != "public" || ct["network_driver"] != "flannel" {
		t.Errorf("template create: %v", ct)
	}
	shown := asMap(t, c.CLI(t, "emulator", "coe", "cluster", "template", "show", "cli-ct"))
	if shown["uuid"] != ct["uuid"] || fmt.Sprint(shown["labels"]) != "map[kube_tag:v1.18.16]" {
		t.Errorf("template show: %v", shown)
	}
	if l := asList(t, c.CLI(t, "emulator", "coe", "cluster", "template", "list")); len(l) != 1 || asMap(t, l[0])["name"] != "cli-ct" {
		t.Errorf("template list: %v", l)
	}
	upd := asMap(t, c.CLI(t, "emulator", "coe", "cluster", "template", "update", "cli-ct", "replace", "docker_volume_size=10"))
	if upd["docker_volume_size"] != float64(10) {
		t.Errorf("template update: %v", upd)
	}
	if msg := c.CLIFails(t, "emulator", "coe", "cluster", "template", "create", "--coe", "kubernetes",
		"--image", "cirros-0.6.2-x86_64-disk", "--external-network", "public", "bad"); !strings.Contains(msg, "Cluster type (vm, cirros, kubernetes) not supported") {
		t.Errorf("template on cirros: %s", msg)
	}
	c.CLINoFormat(t, "emulator", "coe", "cluster", "create", "--cluster-template", "cli-ct", "--node-count", "2", "cli-cl")
	cl := asMap(t, c.CLI(t, "emulator", "coe", "cluster", "show", "cli-cl"))
	if cl["status"] != "CREATE_COMPLETE" || cl["node_count"] != float64(2) || len(asList(t, cl["node_addresses"])) != 2 ||
		!strings.HasPrefix(fmt.Sprint(cl["api_address"]), "https://") || cl["cluster_template_id"] != ct["uuid"] {
		t.Errorf("cluster show: %v", cl)
	}
	if l := asList(t, c.CLI(t, "emulator", "coe", "cluster", "list")); len(l) != 1 || asMap(t, l[0])["name"] != "cli-cl" {
		t.Errorf("cluster list: %v", l)
	}
	c.CLINoFormat(t, "emulator", "coe", "cluster", "resize", "cli-cl", "3")
	c.CLINoFormat(t, "emulator", "coe", "cluster", "update", "cli-cl", "replace", "node_count=4")
	if n := asMap(t, c.CLI(t, "emulator", "coe", "cluster", "show", "cli-cl"))["node_count"]; n != float64(4) {
		t.Errorf("node_count after resize and update: %v", n)
	}
	if msg := c.CLIFails(t, "emulator", "coe", "cluster", "update", "cli-cl", "replace", "master_count=2"); !strings.Contains(msg, "cannot change cluster property(ies) master_count") {
		t.Errorf("update master_count: %s", msg)
	}
	// magnumclient reports a failed delete and exits 0.
	if msg := c.CLINoFormat(t, "emulator", "coe", "cluster", "template", "delete", "cli-ct"); !strings.Contains(msg, "is referenced by one or multiple clusters (HTTP 400)") {
		t.Errorf("delete a template in use: %s", msg)
	}
	if msg := c.CLIFails(t, "emulator-alt", "coe", "cluster", "show", "cli-cl"); !strings.Contains(msg, "could not be found") {
		t.Errorf("alt sees demo's cluster: %s", msg)
	}
	if msg := c.CLINoFormat(t, "emulator-alt", "coe", "cluster", "template", "delete", "cli-ct"); !strings.Contains(msg, "ClusterTemplate cli-ct could not be found (HTTP 404)") {
		t.Errorf("alt deletes demo's template: %s", msg)
	}
	c.CLINoFormat(t, "emulator", "coe", "cluster", "delete", "cli-cl")
	c.CLIFails(t, "emulator", "coe", "cluster", "show", "cli-cl")
	c.CLINoFormat(t, "emulator", "coe", "cluster", "template", "delete", "cli-ct")
	if msg := c.CLIFails(t, "emulator", "coe", "cluster", "template", "show", "cli-ct"); !strings.Contains(msg, "ClusterTemplate cli-ct could not be found") {
		t.Errorf("template after delete: %s", msg)
	}
}

// TestMagnumAnsible: openstack.cloud.coe_cluster_template and coe_cluster
// in the openstack-apb image: create, idempotence, an error, isolation,
// delete.
func TestMagnumAnsible(t *testing.T) {
	t.Parallel()
	c := StartCloud(t)
	requireAnsible(t)
	c.Python(t, magnumImage+`emit(fcos(connect("emulator")))`)
	r := c.Ansible(t, `
- hosts: localhost
  gather_facts: false
  tasks:
    - name: template
      openstack.cloud.coe_cluster_template: {cloud: emulator, name: ans-ct, coe: kubernetes, image_id: fedora-coreos-38, labels: "kube_tag=v1.18.16"}
      register: ct
    - name: template again
      openstack.cloud.coe_cluster_template: {cloud: emulator, name: ans-ct, coe: kubernetes, image_id: fedora-coreos-38}
    - name: template on cirros
      openstack.cloud.coe_cluster_template: {cloud: emulator, name: bad-ct, coe: kubernetes, image_id: cirros-0.6.2-x86_64-disk}
      ignore_errors: true
    - name: cluster
      openstack.cloud.coe_cluster: {cloud: emulator, name: ans-cl, cluster_template_id: ans-ct, node_count: 2}
    - name: cluster again
      openstack.cloud.coe_cluster: {cloud: emulator, name: ans-cl, cluster_template_id: ans-ct, node_count: 2}
    - name: cluster by template id
      openstack.cloud.coe_cluster: {cloud: emulator, name: ans-cl, cluster_template_id: "{{ ct.id }}", node_count: 2}
    - name: cluster with a missing keypair
      openstack.cloud.coe_cluster: {cloud: emulator, name: bad-cl, cluster_template_id: ans-ct, keypair: nope}
      ignore_errors: true
    - name: alt cluster absent
      openstack.cloud.coe_cluster: {cloud: emulator-alt, name: ans-cl, cluster_template_id: ans-ct, state: absent}
    - name: alt template absent
      openstack.cloud.coe_cluster_template: {cloud: emulator-alt, name: ans-ct, coe: kubernetes, image_id: fedora-coreos-38, state: absent}
    - name: cluster delete
      openstack.cloud.coe_cluster: {cloud: emulator, name: ans-cl, cluster_template_id: ans-ct, state: absent}
    - name: template delete
      openstack.cloud.coe_cluster_template: {cloud: emulator, name: ans-ct, coe: kubernetes, image_id: fedora-coreos-38, state: absent}
    - name: template delete again
      openstack.cloud.coe_cluster_template: {cloud: emulator, name: ans-ct, coe: kubernetes, image_id: fedora-coreos-38, state: absent}
`)
	ct := r.OK(t, "template")
	if m := asMap(t, ct["cluster_template"]); ct["changed"] != true || m["coe"] != "kubernetes" || m["cluster_distro"] != "fedora-coreos" || ct["id"] == nil {
		t.Errorf("template: %v", ct)
	}
	if again := r.OK(t, "template again"); again["changed"] != false || again["id"] != ct["id"] {
		t.Errorf("a second template create must change nothing: %v", again)
	}
	if msg := r.Failed(t, "template on cirros"); !strings.Contains(msg, "400") {
		t.Errorf("template on cirros: %s", msg)
	}
	cl := r.OK(t, "cluster")
	if cl["changed"] != true || cl["id"] == nil || asMap(t, cl["cluster"])["uuid"] != cl["id"] {
		t.Errorf("cluster: %v", cl)
	}
	if again := r.OK(t, "cluster again"); again["changed"] != false || again["id"] != cl["id"] ||
		asMap(t, again["cluster"])["status"] != "CREATE_COMPLETE" || asMap(t, again["cluster"])["node_count"] != float64(2) {
		t.Errorf("a second cluster create must change nothing: %v", again)
	}
	if msg := r.Failed(t, "cluster with a missing keypair"); !strings.Contains(msg, "404") {
		t.Errorf("cluster with a missing keypair: %s", msg)
	}
	if byID := r.OK(t, "cluster by template id"); byID["changed"] != false || byID["id"] != cl["id"] {
		t.Errorf("the cluster by its template's id: %v", byID)
	}
	for _, name := range []string{"alt cluster absent", "alt template absent", "template delete again"} {
		if res := r.OK(t, name); res["changed"] != false {
			t.Errorf("%s: %v", name, res)
		}
	}
	for _, name := range []string{"cluster delete", "template delete"} {
		if res := r.OK(t, name); res["changed"] != true {
			t.Errorf("%s: %v", name, res)
		}
	}
}

// TestMagnumQuotasCLI: `openstack coe quotas ...` (admins set a project's
// cluster limit) and the limit enforced on cluster create.
func TestMagnumQuotasCLI(t *testing.T) {
	t.Parallel()
	c := StartCloud(t)
	project := asMap(t, c.CLI(t, "emulator", "token", "issue"))["project_id"].(string)
	c.Python(t, magnumImage+`
demo = connect("emulator")
fcos(demo)
ct = demo.create_coe_cluster_template("q-ct", image_id="fedora-coreos-38", coe="kubernetes")
demo.create_coe_cluster("q1", cluster_template_id=ct.id)
emit(ct.id)`)
	// magnumclient prints its quotas as tables (no -f).
	if q := c.CLINoFormat(t, "emulator", "coe", "quotas", "show", "--project-id", project, "--resource", "Cluster"); !regexp.MustCompile(`\| hard_limit +\| 20 +\|`).MatchString(q) {
		t.Errorf("the default quota: %s", q)
	}
	q := c.CLINoFormat(t, "emulator-admin", "coe", "quotas", "create", "--project-id", project, "--resource", "Cluster", "--hard-limit", "1")
	if !regexp.MustCompile(`\| hard_limit +\| 1 +\|`).MatchString(q) || !strings.Contains(q, project) {
		t.Errorf("quota create: %s", q)
	}
	if l := c.CLINoFormat(t, "emulator-admin", "coe", "quotas", "list", "--all-tenants"); !strings.Contains(l, project) {
		t.Errorf("quota list: %s", l)
	}
	if msg := c.CLIFails(t, "emulator", "coe", "cluster", "create", "--cluster-template", "q-ct", "q2"); !strings.Contains(msg, "You have reached the maximum clusters per project, 1") {
		t.Errorf("a cluster past the quota: %s", msg)
	}
	if msg := c.CLINoFormat(t, "emulator", "coe", "quotas", "create", "--project-id", project, "--resource", "Cluster", "--hard-limit", "9"); !strings.Contains(msg, "403") {
		t.Errorf("a member sets its quota: %s", msg)
	}
	if msg := c.CLINoFormat(t, "emulator-admin", "coe", "quotas", "create", "--project-id", project, "--resource", "Cluster", "--hard-limit", "3"); !strings.Contains(msg, "already exists") {
		t.Errorf("a second quota: %s", msg)
	}
	if q := c.CLINoFormat(t, "emulator-admin", "coe", "quotas", "update", "--project-id", project, "--resource", "Cluster", "--hard-limit", "2"); !regexp.MustCompile(`\| hard_limit +\| 2 +\|`).MatchString(q) {
		t.Errorf("quota update: %s", q)
	}
	c.CLINoFormat(t, "emulator", "coe", "cluster", "create", "--cluster-template", "q-ct", "q2")
	if msg := c.CLIFails(t, "emulator-alt", "coe", "quotas", "show", "--project-id", project, "--resource", "Cluster"); !strings.Contains(msg, "Not authorized") {
		t.Errorf("alt reads demo's quota: %s", msg)
	}
	c.CLINoFormat(t, "emulator-admin", "coe", "quotas", "delete", "--project-id", project, "--resource", "Cluster")
	if msg := c.CLINoFormat(t, "emulator-admin", "coe", "quotas", "delete", "--project-id", project, "--resource", "Cluster"); !strings.Contains(msg, "Quota could not be found") {
		t.Errorf("deleting a deleted quota: %s", msg)
	}
}
