package emulator_test

import (
	"bytes"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestGlanceSDK: an image's whole cycle through openstacksdk, with data,
// pagination and the errors, and isolation from the alt project.
func TestGlanceSDK(t *testing.T) {
	t.Parallel()
	c := StartCloud(t)
	out := asMap(t, c.Python(t, `
demo = connect("emulator")
data = bytes(range(256)) * 40
img = demo.image.create_image(name="sdk-img", data=data, disk_format="raw", container_format="bare",
                              tags=["a"], wait=True, allow_duplicates=True)
shown = demo.image.get_image(img.id)
demo.image.update_image(img, name="sdk-img2", min_ram=64)
demo.image.add_tag(img, "b")
after = demo.image.get_image(img.id)
got = demo.image.download_image(after).content
names = sorted(i.name for i in demo.image.images())
pages = [i.name for i in demo.image.images(limit=1, paginated=True)]
alt = connect("emulator-alt")
alt_sees = [i.id for i in alt.image.images()]
alt_get = http_error(lambda: alt.image.get_image(img.id))
alt_del = http_error(lambda: alt.image.delete_image(img.id, ignore_missing=False))
missing = http_error(lambda: demo.image.get_image("00000000-0000-0000-0000-000000000000"))
bad_fmt = http_error(lambda: demo.image.create_image(name="x", disk_format="nope", container_format="bare", allow_duplicates=True))
demo.image.delete_image(img)
gone = http_error(lambda: demo.image.get_image(img.id))
emit({"id": img.id, "status": shown.status, "size": shown.size, "checksum": shown.checksum, "name": after.name,
      "min_ram": after.min_ram, "tags": sorted(after.tags), "data_ok": got == data,
      "names": names, "pages": pages, "alt_sees": img.id in alt_sees, "alt_get": alt_get, "alt_del": alt_del,
      "missing": missing, "bad_fmt": bad_fmt, "gone": gone, "visibility": shown.visibility})
`))
	if out["status"] != "active" || out["size"] != float64(10240) || out["checksum"] == "" || out["data_ok"] != true {
		t.Errorf("upload/download: %v", out)
	}
	if out["name"] != "sdk-img2" || out["min_ram"] != float64(64) || fmt.Sprint(out["tags"]) != "[a b]" {
		t.Errorf("update: %v", out)
	}
	if fmt.Sprint(out["names"]) != "[cirros-0.6.2-x86_64-disk sdk-img2]" || len(asList(t, out["pages"])) != 2 {
		t.Errorf("list %v, paginated %v", out["names"], out["pages"])
	}
	if out["alt_sees"] != false {
		t.Error("alt lists demo's private image")
	}
	for k, want := range map[string]float64{"alt_get": 404, "alt_del": 404, "missing": 404, "bad_fmt": 400, "gone": 404} {
		if got := asMap(t, out[k])["status"]; got != want {
			t.Errorf("%s: %v, want %v", k, out[k], want)
		}
	}
}

// TestGlanceCLI: the same cycle through the openstack CLI.
func TestGlanceCLI(t *testing.T) {
	t.Parallel()
	c := StartCloud(t)
	data := bytes.Repeat([]byte("emulator"), 1000)
	in := filepath.Join(c.Dir, "in.raw")
	if err := os.WriteFile(in, data, 0o644); err != nil {
		t.Fatal(err)
	}
	img := asMap(t, c.CLI(t, "emulator", "image", "create", "--file", in, "--disk-format", "raw", "--container-format", "bare",
		"--property", "purpose=test", "--tag", "t1", "--private", "cli-img"))
	id := fmt.Sprint(img["id"])
	shown := asMap(t, c.CLI(t, "emulator", "image", "show", id))
	if shown["status"] != "active" || shown["size"] != float64(len(data)) || shown["visibility"] != "private" ||
		asMap(t, shown["properties"])["purpose"] != "test" {
		t.Errorf("image show: %v", shown)
	}
	c.CLINoFormat(t, "emulator", "image", "set", "--name", "cli-img2", "--property", "purpose=changed", "--tag", "t2", id)
	shown = asMap(t, c.CLI(t, "emulator", "image", "show", "cli-img2"))
	if tags := fmt.Sprint(shown["tags"]); asMap(t, shown["properties"])["purpose"] != "changed" || (tags != "[t1 t2]" && tags != "[t2 t1]") {
		t.Errorf("image set: %v", shown)
	}
	out := filepath.Join(c.Dir, "out.raw")
	c.CLINoFormat(t, "emulator", "image", "save", "--file", out, id)
	if got, err := os.ReadFile(out); err != nil || !bytes.Equal(got, data) {
		t.Errorf("image save: %v, %d bytes", err, len(got))
	}
	if findBy(t, c.CLI(t, "emulator", "image", "list"), "ID", id) == nil {
		t.Error("image list lacks the image")
	}
	// Isolation and errors.
	if findBy(t, c.CLI(t, "emulator-alt", "image", "list"), "ID", id) != nil {
		t.Error("alt lists demo's private image")
	}
	c.CLIFails(t, "emulator-alt", "image", "show", id)
	if e := c.CLIFails(t, "emulator", "image", "set", "--public", id); !strings.Contains(e, "403") {
		t.Errorf("a member publicizing an image: %s", e)
	}
	c.CLINoFormat(t, "emulator", "image", "delete", id)
	if e := c.CLIFails(t, "emulator", "image", "show", id); !strings.Contains(e, "No Image found") {
		t.Errorf("deleted image: %s", e)
	}
}

// TestGlanceAnsible: openstack.cloud.image and image_info in openstack-apb.
func TestGlanceAnsible(t *testing.T) {
	t.Parallel()
	c := StartCloud(t)
	r := c.Ansible(t, `
- hosts: localhost
  gather_facts: false
  tasks:
    - name: data file
      copy: {dest: /tmp/img.raw, content: "emulator image data"}
    - name: create image
      openstack.cloud.image:
        cloud: emulator
        name: ans-img
        filename: /tmp/img.raw
        disk_format: raw
        container_format: bare
        tags: [ans]
        properties: {purpose: ansible}
    - name: create again
      openstack.cloud.image: {cloud: emulator, name: ans-img, filename: /tmp/img.raw, disk_format: raw, container_format: bare}
    - name: image info
      openstack.cloud.image_info: {cloud: emulator, image: ans-img}
    - name: alt image info
      openstack.cloud.image_info: {cloud: emulator-alt, image: ans-img}
    - name: protected image
      openstack.cloud.image: {cloud: emulator, name: prot, filename: /tmp/img.raw, disk_format: raw, container_format: bare, protected: true}
    - name: delete protected
      openstack.cloud.image: {cloud: emulator, name: prot, state: absent}
      ignore_errors: true
    - name: unprotect
      openstack.cloud.image: {cloud: emulator, name: prot, filename: /tmp/img.raw, disk_format: raw, container_format: bare, protected: false}
    - name: delete unprotected
      openstack.cloud.image: {cloud: emulator, name: prot, state: absent}
    - name: delete image
      openstack.cloud.image: {cloud: emulator, name: ans-img, state: absent}
    - name: info after delete
      openstack.cloud.image_info: {cloud: emulator, image: ans-img}
`)
	created := r.OK(t, "create image")
	if created["changed"] != true {
		t.Errorf("create image: %v", created)
	}
	if again := r.OK(t, "create again"); again["changed"] != false {
		t.Errorf("a second create must change nothing: %v", again)
	}
	// openstack.cloud 1.10's image_info answers under "image".
	info := asMap(t, r.OK(t, "image info")["image"])
	if info["status"] != "active" || info["size"] != float64(len("emulator image data")) ||
		asMap(t, info["properties"])["purpose"] != "ansible" || fmt.Sprint(info["tags"]) != "[ans]" {
		t.Errorf("image info: %v", info)
	}
	if alt := r.OK(t, "alt image info")["image"]; alt != nil {
		t.Errorf("alt sees demo's image: %v", alt)
	}
	if p := asMap(t, r.OK(t, "protected image")["image"]); p["is_protected"] != true {
		t.Errorf("protected image: %v", p)
	}
	if msg := r.Failed(t, "delete protected"); !strings.Contains(msg, "403") {
		t.Errorf("deleting a protected image: %s", msg)
	}
	r.OK(t, "unprotect")
	r.OK(t, "delete unprotected")
	r.OK(t, "delete image")
	if after := r.OK(t, "info after delete")["image"]; after != nil {
		t.Errorf("image after delete: %v", after)
	}
}

// TestGlanceShapes: what the clients hide: version discovery, the JSON
// patch media type, WebOb error bodies, Glance's pagination links.
func TestGlanceShapes(t *testing.T) {
	t.Parallel()
	c := StartCloud(t)
	resp, body := c.HTTP(t, "", "GET", "/image", nil)
	if resp.StatusCode != http.StatusMultipleChoices || !strings.Contains(string(body), `"id":"v2.16","links":[{"href":"`+c.URL()+`/image/v2/"`) {
		t.Errorf("discovery: %d %s", resp.StatusCode, body)
	}
	tok := c.Token(t, "demo")
	resp, body = c.HTTP(t, tok, "POST", "/image/v2/images", map[string]any{"name": "p", "disk_format": "raw", "container_format": "bare"})
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("create: %d %s", resp.StatusCode, body)
	}
	var id string
	if _, err := fmt.Sscanf(string(body[strings.Index(string(body), `"id":"`)+6:]), "%36s", &id); err != nil {
		t.Fatal(err)
	}
	ops := `[{"op": "replace", "path": "/name", "value": "q"}]`
	if resp, body = c.HTTP(t, tok, "PATCH", "/image/v2/images/"+id, ops); resp.StatusCode != http.StatusUnsupportedMediaType {
		t.Errorf("PATCH as application/json: %d %s", resp.StatusCode, body)
	}
	resp, body = c.HTTP(t, tok, "PATCH", "/image/v2/images/"+id, ops, "Content-Type", "application/openstack-images-v2.1-json-patch")
	if resp.StatusCode != 200 || !strings.Contains(string(body), `"name":"q"`) {
		t.Errorf("PATCH: %d %s", resp.StatusCode, body)
	}
	resp, body = c.HTTP(t, tok, "PATCH", "/image/v2/images/"+id, `[{"op": "replace", "path": "/status", "value": "active"}]`,
		"Content-Type", "application/openstack-images-v2.1-json-patch")
	if resp.StatusCode != 403 || !strings.Contains(string(body), `Attribute 'status' is read-only.`) {
		t.Errorf("PATCH status: %d %s", resp.StatusCode, body)
	}
	resp, body = c.HTTP(t, tok, "GET", "/image/v2/images/"+strings.Repeat("0", 8), nil)
	if resp.StatusCode != 404 || !strings.Contains(string(body), `"code":"404 Not Found"`) {
		t.Errorf("404 body: %d %s", resp.StatusCode, body)
	}
	resp, body = c.HTTP(t, tok, "GET", "/image/v2/images?limit=1&sort_key=name&sort_dir=asc", nil)
	if resp.StatusCode != 200 || !strings.Contains(string(body), `"next":"/v2/images?limit=1\u0026marker=`) {
		t.Errorf("pagination: %d %s", resp.StatusCode, body)
	}
	if resp, body = c.HTTP(t, tok, "GET", "/image/v2/images?marker=nope", nil); resp.StatusCode != 400 {
		t.Errorf("bad marker: %d %s", resp.StatusCode, body)
	}
}
