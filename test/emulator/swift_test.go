package emulator_test

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestSwiftSDK: containers, objects, metadata, a public container, temp
// URLs, a static large object and the errors through openstacksdk, and
// isolation from the alt project.
func TestSwiftSDK(t *testing.T) {
	t.Parallel()
	c := StartCloud(t)
	out := asMap(t, c.Python(t, `
import requests, os, hashlib
demo = connect("emulator")
os_ = demo.object_store
ep = os_.get_endpoint()
host = ep.split("/v1/")[0]
acct = ep.split("/v1/")[1]
os_.create_container(name="sdk")
os_.set_container_metadata("sdk", color="blue")
cmeta = os_.get_container_metadata("sdk")
os_.upload_object(container="sdk", name="dir/a.txt", data=b"hello swift", content_type="text/plain")
os_.upload_object(container="sdk", name="dir/b.txt", data=b"second")
os_.upload_object(container="sdk", name="top.bin", data=b"\x00\x01\x02")
names = [o.name for o in os_.objects("sdk")]
prefixed = [o.name for o in os_.objects("sdk", prefix="dir/")]
got = os_.download_object("dir/a.txt", container="sdk")
os_.set_object_metadata("dir/a.txt", container="sdk", owner="sdk-test")
ometa = os_.get_object_metadata("dir/a.txt", container="sdk")
containers = [x.name for x in os_.containers()]
# Account metadata and a temp URL signed with the account key.
os_.set_account_temp_url_key("s3cr3t")
acc = os_.get_account_metadata()
url = os_.generate_temp_url("/v1/%s/sdk/dir/a.txt" % acct, 60, "GET")
temp = requests.get(host + url)
bad = requests.get(host + url.replace("temp_url_sig=", "temp_url_sig=0"))
isourl = os_.generate_temp_url("/v1/%s/sdk/dir/a.txt" % acct, 60, "GET", temp_url_key="s3cr3t", iso8601=True)
temp256 = requests.get(host + isourl)
# A public container (the cloud layer's container access) reads without a token.
demo.create_container("pub", public=True)
os_.upload_object(container="pub", name="index.html", data=b"<p>hi</p>", content_type="text/html")
anon = requests.get(ep + "/pub/index.html")
anon_private = requests.get(ep + "/sdk/dir/a.txt")
access = demo.get_container_access("pub")
# Capabilities, as the cloud layer reads them.
caps = demo.get_object_capabilities()
# A static large object: 2.5 MiB in 1 MiB segments.
path = os.path.join(os.getcwd(), "big.bin")
data = os.urandom(2621440)
open(path, "wb").write(data)
os_.create_object("sdk", "big.bin", filename=path, segment_size=1048576)
big = os_.download_object("big.bin", container="sdk")
segs = [o.name for o in os_.objects("sdk_segments")] if "sdk_segments" in [x.name for x in os_.containers()] else [o.name for o in os_.objects("sdk") if o.name.startswith("big.bin/")]
# Errors and isolation.
not_empty = http_error(lambda: os_.delete_container("sdk", ignore_missing=False))
missing = http_error(lambda: os_.get_object_metadata("nope", container="sdk"))
alt = connect("emulator-alt")
alt_containers = [x.name for x in alt.object_store.containers()]
alt_get = http_error(lambda: alt.object_store.get_container_metadata("sdk"))
alt_session = alt.object_store
alt_head = alt_session.head(ep + "/sdk").status_code
alt_put = alt_session.put(ep + "/sdk/evil", data=b"x").status_code
# Cleanup through the SDK.
os_.delete_object("dir/a.txt", container="sdk")
gone = http_error(lambda: os_.get_object_metadata("dir/a.txt", container="sdk"))
emit({"cmeta": cmeta.metadata, "names": names, "prefixed": prefixed, "got": got.decode(), "ometa": ometa.metadata,
      "ctype": ometa.content_type, "etag": ometa.etag, "containers": containers, "acc_key": acc.meta_temp_url_key,
      "temp": [temp.status_code, temp.text, temp.headers.get("Content-Disposition")], "bad": [bad.status_code, bad.text],
      "tempiso": temp256.status_code, "anon": [anon.status_code, anon.text], "anon_private": anon_private.status_code,
      "access": access, "max_file_size": caps["swift"]["max_file_size"], "slo": "slo" in caps,
      "big_ok": big == data, "segments": len(segs), "not_empty": not_empty, "missing": missing,
      "alt_containers": alt_containers, "alt_get": alt_get, "alt_head": alt_head, "alt_put": alt_put, "gone": gone,
      "md5": hashlib.md5(b"hello swift").hexdigest()})
`))
	if asMap(t, out["cmeta"])["color"] != "blue" || fmt.Sprint(out["names"]) != "[dir/a.txt dir/b.txt top.bin]" ||
		fmt.Sprint(out["prefixed"]) != "[dir/a.txt dir/b.txt]" {
		t.Errorf("containers/listing: %v %v %v", out["cmeta"], out["names"], out["prefixed"])
	}
	if out["got"] != "hello swift" || asMap(t, out["ometa"])["owner"] != "sdk-test" || out["ctype"] != "text/plain" || out["etag"] != out["md5"] {
		t.Errorf("object: %v %v %v %v", out["got"], out["ometa"], out["ctype"], out["etag"])
	}
	if out["acc_key"] != "s3cr3t" {
		t.Errorf("account temp URL key: %v", out["acc_key"])
	}
	temp := asList(t, out["temp"])
	if temp[0] != float64(200) || temp[1] != "hello swift" || !strings.HasPrefix(fmt.Sprint(temp[2]), `attachment; filename="a.txt"`) {
		t.Errorf("temp URL: %v", temp)
	}
	if bad := asList(t, out["bad"]); bad[0] != float64(401) || bad[1] != "401 Unauthorized: Temp URL invalid\n" {
		t.Errorf("tampered temp URL: %v", bad)
	}
	if out["tempiso"] != float64(200) {
		t.Errorf("temp URL with an ISO 8601 expiry: %v", out["tempiso"])
	}
	if anon := asList(t, out["anon"]); anon[0] != float64(200) || anon[1] != "<p>hi</p>" || out["anon_private"] != float64(401) || out["access"] != "public" {
		t.Errorf("public container: %v, private %v, access %v", anon, out["anon_private"], out["access"])
	}
	if out["max_file_size"] != float64(64<<20) || out["slo"] != true {
		t.Errorf("capabilities: %v %v", out["max_file_size"], out["slo"])
	}
	if out["big_ok"] != true || out["segments"] != float64(3) {
		t.Errorf("static large object: data ok %v, %v segments", out["big_ok"], out["segments"])
	}
	for k, want := range map[string]float64{"not_empty": 409, "missing": 404, "alt_get": 404, "gone": 404} {
		if got := asMap(t, out[k])["status"]; got != want {
			t.Errorf("%s: %v, want %v", k, out[k], want)
		}
	}
	if len(asList(t, out["alt_containers"])) != 0 || out["alt_head"] != float64(403) || out["alt_put"] != float64(403) {
		t.Errorf("isolation: alt lists %v, HEAD %v, PUT %v", out["alt_containers"], out["alt_head"], out["alt_put"])
	}
}

// TestSwiftCLI: the openstack CLI's container, object and account
// commands, errors and isolation.
func TestSwiftCLI(t *testing.T) {
	t.Parallel()
	c := StartCloud(t)
	src := filepath.Join(c.Dir, "note.txt")
	if err := os.WriteFile(src, []byte("cli object\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if created := asList(t, c.CLI(t, "emulator", "container", "create", "cli-c")); len(created) != 1 || asMap(t, created[0])["container"] != "cli-c" {
		t.Fatalf("container create: %v", created)
	}
	c.CLINoFormat(t, "emulator", "container", "set", "--property", "team=blue", "cli-c")
	shown := asMap(t, c.CLI(t, "emulator", "container", "show", "cli-c"))
	if asMap(t, shown["properties"])["Team"] != "blue" && asMap(t, shown["properties"])["team"] != "blue" {
		t.Errorf("container show: %v", shown)
	}
	// The CLI names the object after the file path it is given (the
	// clients run in c.Dir).
	c.CLI(t, "emulator", "object", "create", "cli-c", "note.txt")
	c.CLINoFormat(t, "emulator", "object", "set", "--property", "k=v", "cli-c", "note.txt")
	obj := asMap(t, c.CLI(t, "emulator", "object", "show", "cli-c", "note.txt"))
	if obj["content-length"] != "11" || asMap(t, obj["properties"])["K"] != "v" && asMap(t, obj["properties"])["k"] != "v" {
		t.Errorf("object show: %v", obj)
	}
	if findBy(t, c.CLI(t, "emulator", "object", "list", "cli-c"), "Name", "note.txt") == nil {
		t.Error("object list lacks note.txt")
	}
	if findBy(t, c.CLI(t, "emulator", "container", "list"), "Name", "cli-c") == nil {
		t.Error("container list lacks cli-c")
	}
	dst := filepath.Join(c.Dir, "saved.txt")
	c.CLINoFormat(t, "emulator", "object", "save", "--file", dst, "cli-c", "note.txt")
	if b, err := os.ReadFile(dst); err != nil || string(b) != "cli object\n" {
		t.Errorf("object save: %q %v", b, err)
	}
	c.CLINoFormat(t, "emulator", "object", "store", "account", "set", "--property", "Temp-URL-Key=k1")
	acct := asMap(t, c.CLI(t, "emulator", "object", "store", "account", "show"))
	if acct["Containers"] != "1" || acct["Objects"] != "1" || !strings.Contains(fmt.Sprint(acct["properties"]), "k1") {
		t.Errorf("account show: %v", acct)
	}
	// Errors: a non-empty container, a missing object; isolation.
	if e := c.CLIFails(t, "emulator", "container", "delete", "cli-c"); !strings.Contains(e, "409") && !strings.Contains(e, "Conflict") {
		t.Errorf("deleting a non-empty container: %s", e)
	}
	if e := c.CLIFails(t, "emulator", "object", "show", "cli-c", "nope"); !strings.Contains(e, "404") && !strings.Contains(e, "Not Found") {
		t.Errorf("missing object: %s", e)
	}
	if e := c.CLIFails(t, "emulator-alt", "object", "show", "cli-c", "note.txt"); !strings.Contains(e, "404") && !strings.Contains(e, "Not Found") {
		// alt's own account has no such container.
		t.Errorf("alt showing demo's object: %s", e)
	}
	if l := c.CLI(t, "emulator-alt", "container", "list"); len(asListOrNil(l)) != 0 {
		t.Errorf("alt lists containers: %v", l)
	}
	c.CLINoFormat(t, "emulator", "object", "delete", "cli-c", "note.txt")
	c.CLINoFormat(t, "emulator", "container", "delete", "cli-c")
	if l := c.CLI(t, "emulator", "container", "list"); len(asListOrNil(l)) != 0 {
		t.Errorf("containers left: %v", l)
	}
}

func asListOrNil(v any) []any {
	l, _ := v.([]any)
	return l
}

// TestSwiftClient: python3-swiftclient's swift command: upload (segmented,
// as a static large object), list with a delimiter, download, post an
// ACL, stat, tempurl, capabilities and a bulk delete.
func TestSwiftClient(t *testing.T) {
	t.Parallel()
	c := StartCloud(t)
	if _, err := os.Stat("/usr/bin/swift"); err != nil {
		t.Fatal("the swift command is missing: install the Debian package python3-swiftclient (hack/test.d/20-emulator.sh), or set OSB_SKIP=emulator")
	}
	cr := c.Credentials()
	env := append(os.Environ(), "OS_AUTH_URL="+c.AuthURL(), "OS_USERNAME=demo", "OS_PASSWORD="+cr.DemoPassword,
		"OS_PROJECT_NAME=demo", "OS_USER_DOMAIN_NAME=Default", "OS_PROJECT_DOMAIN_NAME=Default", "OS_AUTH_VERSION=3",
		"OS_IDENTITY_API_VERSION=3")
	swift := func(args ...string) (string, error) {
		ctx := exec.Command("/usr/bin/swift", args...)
		ctx.Env, ctx.Dir = env, c.Dir
		b, err := ctx.CombinedOutput()
		c.checkProblems(t)
		return string(b), err
	}
	must := func(args ...string) string {
		out, err := swift(args...)
		if err != nil {
			t.Fatalf("swift %v: %v\n%s", args, err, out)
		}
		return out
	}
	data := bytes.Repeat([]byte("0123456789abcdef"), 20000) // 320000 bytes
	if err := os.WriteFile(filepath.Join(c.Dir, "big.dat"), data, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(c.Dir, "small.txt"), []byte("small"), 0o644); err != nil {
		t.Fatal(err)
	}
	must("upload", "--use-slo", "--segment-size", "100000", "sc", "big.dat")
	must("upload", "--object-name", "docs/small.txt", "sc", "small.txt")
	if l := must("list", "sc", "--delimiter", "/"); l != "big.dat\ndocs/\n" {
		t.Errorf("list with a delimiter: %q", l)
	}
	st := must("stat", "sc", "big.dat")
	if !strings.Contains(st, "Manifest:") && !strings.Contains(st, "X-Static-Large-Object: True") {
		t.Errorf("stat of the large object: %s", st)
	}
	if got := must("download", "sc", "big.dat", "-o", "-"); got != string(data) {
		t.Errorf("download of the large object: %d bytes", len(got))
	}
	must("post", "-r", ".r:*,.rlistings", "sc")
	if st := must("stat", "sc"); !strings.Contains(st, "Read ACL: .r:*,.rlistings") {
		t.Errorf("container stat after post -r: %s", st)
	}
	resp, body := c.HTTP(t, "", "GET", "/object-store/v1/AUTH_"+c.projectID(t, "demo")+"/sc?format=json", nil)
	if resp.StatusCode != 200 || !strings.Contains(string(body), `"name": "big.dat"`) {
		t.Errorf("anonymous listing of a .rlistings container: %d %s", resp.StatusCode, body)
	}
	must("post", "-m", "Temp-URL-Key:tk")
	turl := strings.TrimSpace(must("tempurl", "GET", "60", "/v1/AUTH_"+c.projectID(t, "demo")+"/sc/docs/small.txt", "tk"))
	resp, body = c.HTTP(t, "", "GET", "/object-store"+turl, nil)
	if resp.StatusCode != 200 || string(body) != "small" {
		t.Errorf("swift tempurl: %s -> %d %s", turl, resp.StatusCode, body)
	}
	if caps := must("capabilities"); !strings.Contains(caps, "bulk_delete") || !strings.Contains(caps, "tempurl") {
		t.Errorf("capabilities: %s", caps)
	}
	// Errors: a missing object; then a delete of everything (bulk delete
	// and the SLO's segments).
	if out, err := swift("download", "sc", "nope", "-o", "-"); err == nil || !strings.Contains(out, "not found") {
		t.Errorf("download of a missing object: %v %s", err, out)
	}
	must("delete", "sc")
	must("delete", "sc_segments")
	if l := must("list"); strings.TrimSpace(l) != "" {
		t.Errorf("containers left after delete: %q", l)
	}
}

// projectID returns a built-in user's project id (from a token).
func (c *Cloud) projectID(t *testing.T, user string) string {
	t.Helper()
	tok := c.Token(t, user)
	resp, body := c.HTTP(t, tok, "GET", "/v3/auth/tokens", nil, "X-Subject-Token", tok)
	var doc struct {
		Token struct {
			Project struct{ ID string } `json:"project"`
		} `json:"token"`
	}
	if err := json.Unmarshal(body, &doc); resp.StatusCode != 200 || err != nil || doc.Token.Project.ID == "" {
		t.Fatalf("validating %s's token: %d %v %s", user, resp.StatusCode, err, body)
	}
	return doc.Token.Project.ID
}

// TestSwiftAnsible: openstack.cloud.object_container and object in the
// openstack-apb image (few tasks: each module run costs seconds).
func TestSwiftAnsible(t *testing.T) {
	t.Parallel()
	c := StartCloud(t)
	r := c.Ansible(t, `
- hosts: localhost
  gather_facts: false
  tasks:
    - name: data file
      copy: {dest: /tmp/obj.txt, content: "ansible object"}
    - name: create container with metadata
      openstack.cloud.object_container: {cloud: emulator, container: ans-m, metadata: {owner: ansible, stage: test}}
    - name: delete metadata key
      openstack.cloud.object_container: {cloud: emulator, container: ans-m, keys: [stage]}
    - name: upload object to a public container
      openstack.cloud.object: {cloud: emulator, container: ans-c, name: obj.txt, filename: /tmp/obj.txt, container_access: public}
    - name: upload object again
      openstack.cloud.object: {cloud: emulator, container: ans-c, name: obj.txt, filename: /tmp/obj.txt, container_access: public}
    - name: delete non-empty container
      openstack.cloud.object_container: {cloud: emulator, container: ans-c, state: absent}
      ignore_errors: true
    - name: alt deletes its own ans-c
      openstack.cloud.object_container: {cloud: emulator-alt, container: ans-c, state: absent}
    - name: delete container with its objects
      openstack.cloud.object_container: {cloud: emulator, container: ans-c, state: absent, delete_with_all_objects: true}
`)
	if m := asMap(t, r.OK(t, "create container with metadata")["container"]); r.Tasks["create container with metadata"]["changed"] != true ||
		m["name"] != "ans-m" {
		t.Errorf("create container with metadata: %v", r.Tasks["create container with metadata"])
	}
	r.OK(t, "delete metadata key")
	if up := r.OK(t, "upload object to a public container"); up["changed"] != true {
		t.Errorf("upload: %v", up)
	}
	if up := r.OK(t, "upload object again"); up["changed"] != false {
		t.Errorf("a second upload of the same file must change nothing: %v", up)
	}
	if msg := r.Failed(t, "delete non-empty container"); !strings.Contains(msg, "Container has objects") {
		t.Errorf("deleting a non-empty container: %s", msg)
	}
	if alt := r.OK(t, "alt deletes its own ans-c"); alt["changed"] != false {
		t.Errorf("alt's delete touched something: %v", alt)
	}
	r.OK(t, "delete container with its objects")
	tok := c.Token(t, "demo")
	acct := "/object-store/v1/AUTH_" + c.projectID(t, "demo")
	resp, body := c.HTTP(t, tok, "GET", acct, nil, "Accept", "text/plain")
	if resp.StatusCode != 200 || string(body) != "ans-m\n" {
		t.Errorf("containers left: %d %q", resp.StatusCode, body)
	}
	resp, _ = c.HTTP(t, tok, "HEAD", acct+"/ans-m", nil)
	if resp.Header.Get("X-Container-Meta-Owner") != "ansible" || resp.Header.Get("X-Container-Meta-Stage") != "" {
		t.Errorf("metadata of ans-m: %v", resp.Header)
	}
}

// TestSwiftAccessRules: an application credential restricted to one
// container's objects (what the object-container bundle's bind creates:
// GET/PUT/HEAD/DELETE on /v1/AUTH_*/<container>/**) reads and writes
// there, and gets 401 on another container and on other services, through
// openstacksdk, the openstack CLI and the swift command.
func TestSwiftAccessRules(t *testing.T) {
	t.Parallel()
	c := StartCloud(t)
	out := asMap(t, c.Python(t, `
demo = connect("emulator")
demo.object_store.create_container(name="bound")
demo.object_store.create_container(name="other")
demo.object_store.upload_object(container="other", name="secret", data=b"not yours")
user = demo.current_user_id
rules = [{"service": "object-store", "method": m, "path": "/v1/AUTH_*/bound/**"} for m in ("GET", "PUT", "HEAD", "DELETE")]
ac = demo.identity.post("/users/%s/application_credentials" % user, json={"application_credential": {
    "name": "bound-ac", "access_rules": rules}}).json()["application_credential"]
auth_url = demo.config.config["auth"]["auth_url"]
ro = openstack.connect(auth_type="v3applicationcredential", auth_url=auth_url,
    application_credential_id=ac["id"], application_credential_secret=ac["secret"], region_name="RegionOne")
ro.object_store.upload_object(container="bound", name="app/data.txt", data=b"bound data")
got = ro.object_store.download_object("app/data.txt", container="bound").decode()
head = ro.object_store.get_object_metadata("app/data.txt", container="bound").content_length
other_get = http_error(lambda: ro.object_store.download_object("secret", container="other"))
other_put = http_error(lambda: ro.object_store.upload_object(container="other", name="x", data=b"x"))
listing = http_error(lambda: list(ro.object_store.objects("bound")))
images = http_error(lambda: list(ro.image.images()))
ro.object_store.delete_object("app/data.txt", container="bound")
left = [o.name for o in demo.object_store.objects("bound")]
emit({"id": ac["id"], "secret": ac["secret"], "got": got, "head": head, "other_get": other_get, "other_put": other_put,
      "listing": listing, "images": images, "left": left})
`))
	if out["got"] != "bound data" || out["head"] != float64(10) || len(asList(t, out["left"])) != 0 {
		t.Errorf("within the rules: %v", out)
	}
	for _, k := range []string{"other_get", "other_put", "listing", "images"} {
		if got := asMap(t, out[k])["status"]; got != float64(401) {
			t.Errorf("%s outside the rules: %v", k, out[k])
		}
	}
	// The same credential in clouds.yaml for the CLI and the swift command.
	f, err := os.OpenFile(c.CloudsYAML, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(f, "  bound:\n    auth_type: v3applicationcredential\n    auth:\n      auth_url: %q\n      application_credential_id: %q\n"+
		"      application_credential_secret: %q\n    region_name: RegionOne\n    interface: public\n    identity_api_version: 3\n",
		c.AuthURL(), out["id"], out["secret"])
	f.Close()
	if err := os.WriteFile(filepath.Join(c.Dir, "f.txt"), []byte("via cli"), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(openstackCLI, "--os-cloud", "bound", "object", "create", "bound", "f.txt")
	cmd.Dir, cmd.Env = c.Dir, append(os.Environ(), "OS_CLIENT_CONFIG_FILE="+c.CloudsYAML)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("openstack object create with the bound credential: %v\n%s", err, b)
	}
	if o := asMap(t, c.CLI(t, "bound", "object", "show", "bound", "f.txt")); o["content-length"] != "7" {
		t.Errorf("object show with the bound credential: %v", o)
	}
	if e := c.CLIFails(t, "bound", "object", "show", "other", "secret"); !strings.Contains(e, "401") && !strings.Contains(e, "Unauthorized") {
		t.Errorf("another container through the CLI: %s", e)
	}
	if e := c.CLIFails(t, "bound", "image", "list"); !strings.Contains(e, "401") {
		t.Errorf("another service through the CLI: %s", e)
	}
	swiftEnv := append(os.Environ(), "OS_AUTH_URL="+c.AuthURL(), "OS_AUTH_TYPE=v3applicationcredential",
		"OS_APPLICATION_CREDENTIAL_ID="+fmt.Sprint(out["id"]), "OS_APPLICATION_CREDENTIAL_SECRET="+fmt.Sprint(out["secret"]),
		"OS_AUTH_VERSION=3", "OS_IDENTITY_API_VERSION=3")
	run := func(args ...string) (string, error) {
		cmd := exec.Command("/usr/bin/swift", args...)
		cmd.Dir, cmd.Env = c.Dir, swiftEnv
		b, err := cmd.CombinedOutput()
		return string(b), err
	}
	if o, err := run("upload", "--skip-container-put", "--object-name", "sw.txt", "bound", "f.txt"); err != nil {
		t.Errorf("swift upload with the bound credential: %v\n%s", err, o)
	}
	if o, err := run("download", "bound", "sw.txt", "-o", "-"); err != nil || o != "via cli" {
		t.Errorf("swift download with the bound credential: %v %q", err, o)
	}
	if o, err := run("download", "other", "secret", "-o", "-"); err == nil || !strings.Contains(o, "401") {
		t.Errorf("swift download from another container: %v %q", err, o)
	}
	c.checkProblems(t)
}

// TestSwiftShapes: what the clients hide, through raw HTTP: discovery,
// X-Trans-Id, error bodies, listings, ranges, conditional requests, COPY,
// ACLs across projects, expiry, quotas, versioning, large objects, bulk
// delete and temp URL rules.
func TestSwiftShapes(t *testing.T) {
	t.Parallel()
	c := StartCloud(t)
	tok := c.Token(t, "demo")
	alt := c.Token(t, "alt")
	pid := c.projectID(t, "demo")
	acct := "/object-store/v1/AUTH_" + pid
	do, expect := rawChecks(t, c)
	// Discovery at the endpoint root and at the host root.
	for _, p := range []string{"/object-store/info", "/info"} {
		resp, body := do("", "GET", p, nil)
		expect("GET "+p, resp, body, 200, `"max_file_size": 67108864`)
	}
	// X-Trans-Id and error bodies.
	resp, body := do(tok, "GET", acct+"/missing", nil)
	expect("missing container", resp, body, 404, "<html><h1>Not Found</h1><p>The resource could not be found.</p></html>")
	if tx := resp.Header.Get("X-Trans-Id"); !strings.HasPrefix(tx, "tx") || len(tx) != 34 || resp.Header.Get("X-Openstack-Request-Id") != tx {
		t.Errorf("X-Trans-Id %q, request id %q", tx, resp.Header.Get("X-Openstack-Request-Id"))
	}
	resp, body = do("", "GET", acct, nil)
	expect("account without a token", resp, body, 401, "<h1>Unauthorized</h1>")
	if !strings.Contains(strings.Join(resp.Header.Values("Www-Authenticate"), " "), `Swift realm="AUTH_`+pid+`"`) {
		t.Errorf("WWW-Authenticate: %v", resp.Header.Values("Www-Authenticate"))
	}
	resp, body = do(tok, "GET", "/object-store/v2/AUTH_"+pid, nil)
	expect("bad version", resp, body, 400, "<h1>Bad Request</h1>")
	resp, body = do(tok, "PATCH", acct+"/c", nil)
	expect("PATCH", resp, body, 405, "Method Not Allowed")
	// Containers: 201 then 202, a bad ACL, listings.
	resp, _ = do(tok, "PUT", acct+"/c", nil)
	if resp.StatusCode != 201 {
		t.Fatalf("container PUT: %d", resp.StatusCode)
	}
	resp, body = do(tok, "PUT", acct+"/c", nil)
	expect("container PUT again", resp, body, 202, "<h1>Accepted</h1>")
	resp, body = do(tok, "POST", acct+"/c", nil, "X-Container-Read", ".r:")
	expect("bad ACL", resp, body, 400, "No host/domain value after referrer designation in ACL: '.r:'")
	for _, n := range []string{"a/1", "a/2", "b", "c/x/y", "d"} {
		if resp, _ := do(tok, "PUT", acct+"/c/"+n, "data-"+n, "Content-Type", "text/plain"); resp.StatusCode != 201 {
			t.Fatalf("PUT %s: %d", n, resp.StatusCode)
		}
	}
	resp, body = do(tok, "GET", acct+"/c?delimiter=/", nil, "Accept", "text/plain")
	expect("delimiter listing", resp, body, 200, "a/\nb\nc/\nd\n")
	resp, body = do(tok, "GET", acct+"/c?format=json&prefix=a/&limit=1", nil)
	expect("json listing", resp, body, 200, `[{"bytes": 8, "hash": "`)
	resp, body = do(tok, "GET", acct+"/c?marker=a/2&end_marker=d", nil, "Accept", "text/plain")
	expect("marker/end_marker", resp, body, 200, "b\nc/x/y\n")
	resp, body = do(tok, "GET", acct+"/c?format=xml&prefix=b", nil)
	expect("xml listing", resp, body, 200, `<container name="c"><object><name>b</name>`)
	resp, body = do(tok, "GET", acct+"/c?limit=10001", nil)
	expect("limit too big", resp, body, 412, "Maximum limit is 10000")
	resp, body = do(tok, "DELETE", acct+"/c", nil)
	expect("non-empty container", resp, body, 409, "<h1>Conflict</h1>")
	// Objects: ETag check, ranges, conditionals, metadata, COPY.
	resp, body = do(tok, "PUT", acct+"/c/e", "abc", "Etag", "00000000000000000000000000000000")
	expect("ETag mismatch", resp, body, 422, "Unprocessable Entity")
	resp, body = do(tok, "GET", acct+"/c/d", nil, "Range", "bytes=1-3")
	if resp.StatusCode != 206 || body != "ata" || resp.Header.Get("Content-Range") != "bytes 1-3/6" {
		t.Errorf("range: %d %q %v", resp.StatusCode, body, resp.Header)
	}
	resp, _ = do(tok, "GET", acct+"/c/d", nil, "Range", "bytes=100-")
	if resp.StatusCode != 416 || resp.Header.Get("Content-Range") != "bytes */6" {
		t.Errorf("unsatisfiable range: %d %v", resp.StatusCode, resp.Header)
	}
	resp, _ = do(tok, "HEAD", acct+"/c/d", nil)
	etag := resp.Header.Get("Etag")
	if resp, _ = do(tok, "GET", acct+"/c/d", nil, "If-None-Match", etag); resp.StatusCode != 304 {
		t.Errorf("If-None-Match: %d", resp.StatusCode)
	}
	if resp, _ = do(tok, "GET", acct+"/c/d", nil, "If-Match", "nope"); resp.StatusCode != 412 {
		t.Errorf("If-Match: %d", resp.StatusCode)
	}
	resp, body = do(tok, "POST", acct+"/c/d", nil, "X-Object-Meta-Color", "red", "Content-Type", "text/x-test")
	expect("object POST", resp, body, 202, "<h1>Accepted</h1>")
	resp, _ = do(tok, "COPY", acct+"/c/d", nil, "Destination", "c/d-copy", "X-Object-Meta-Extra", "1")
	if resp.StatusCode != 201 || resp.Header.Get("X-Copied-From") != "c/d" {
		t.Errorf("COPY: %d %v", resp.StatusCode, resp.Header)
	}
	resp, body = do(tok, "GET", acct+"/c/d-copy", nil)
	if body != "data-d" || resp.Header.Get("X-Object-Meta-Color") != "red" || resp.Header.Get("X-Object-Meta-Extra") != "1" ||
		resp.Header.Get("Content-Type") != "text/x-test" {
		t.Errorf("copied object: %q %v", body, resp.Header)
	}
	resp, body = do(tok, "PUT", acct+"/c/e", "", "X-Copy-From", "nocontainer")
	expect("bad X-Copy-From", resp, body, 412, "X-Copy-From header must be of the form <container name>/<object name>")
	resp, _ = do(tok, "PUT", acct+"/c/d-copy2", "", "X-Copy-From", "/c/d")
	if resp.StatusCode != 201 {
		t.Errorf("X-Copy-From: %d", resp.StatusCode)
	}
	// ACLs across projects: alt is refused, then allowed by a read ACL.
	altPID := c.projectID(t, "alt")
	resp, _ = do(alt, "GET", acct+"/c/d", nil)
	if resp.StatusCode != 403 {
		t.Errorf("alt reading demo's object: %d", resp.StatusCode)
	}
	do(tok, "POST", acct+"/c", nil, "X-Container-Read", altPID+":*")
	if resp, body = do(alt, "GET", acct+"/c/d", nil); resp.StatusCode != 200 || body != "data-d" {
		t.Errorf("alt with a read ACL: %d %q", resp.StatusCode, body)
	}
	if resp, _ = do(alt, "PUT", acct+"/c/alt", "x"); resp.StatusCode != 403 {
		t.Errorf("alt writing without a write ACL: %d", resp.StatusCode)
	}
	if resp, _ = do(alt, "HEAD", acct+"/c", nil); resp.StatusCode != 204 || resp.Header.Get("X-Container-Read") != "" {
		t.Errorf("alt's HEAD must not show the ACL: %d %v", resp.StatusCode, resp.Header)
	}
	// Expiring objects.
	do(tok, "PUT", acct+"/c/tmp", "x", "X-Delete-After", "1")
	resp, body = do(tok, "PUT", acct+"/c/tmp2", "x", "X-Delete-At", "1000")
	expect("X-Delete-At in the past", resp, body, 400, "X-Delete-At in past")
	// Quotas.
	do(tok, "PUT", acct+"/q", nil, "X-Container-Meta-Quota-Bytes", "5")
	resp, body = do(tok, "PUT", acct+"/q/big", "123456")
	expect("container quota", resp, body, 413, "Upload exceeds quota.")
	resp, body = do(tok, "POST", acct+"/q", nil, "X-Container-Meta-Quota-Count", "x")
	expect("bad quota", resp, body, 400, "Invalid count quota.")
	// Versioning (history mode).
	do(tok, "PUT", acct+"/archive", nil)
	do(tok, "PUT", acct+"/v", nil, "X-History-Location", "archive")
	do(tok, "PUT", acct+"/v/o", "one")
	do(tok, "PUT", acct+"/v/o", "two")
	resp, body = do(tok, "GET", acct+"/archive", nil, "Accept", "text/plain")
	if resp.StatusCode != 200 || !strings.HasPrefix(body, "001o/") {
		t.Errorf("archived version: %d %q", resp.StatusCode, body)
	}
	// A dynamic large object.
	do(tok, "PUT", acct+"/c/seg/1", "AA")
	do(tok, "PUT", acct+"/c/seg/2", "BB")
	do(tok, "PUT", acct+"/c/dlo", "", "X-Object-Manifest", "c/seg/")
	if resp, body = do(tok, "GET", acct+"/c/dlo", nil); body != "AABB" || !strings.HasPrefix(resp.Header.Get("Etag"), `"`) {
		t.Errorf("DLO: %q %v", body, resp.Header)
	}
	// A static large object with a bad segment, then a good one.
	resp, body = do(tok, "PUT", acct+"/c/slo?multipart-manifest=put", `[{"path": "/c/seg/1"}, {"path": "/c/nope"}]`)
	expect("SLO with a missing segment", resp, body, 400, `{"Errors": [["/c/nope", "404 Not Found"]]}`)
	resp, _ = do(tok, "PUT", acct+"/c/slo?multipart-manifest=put", `[{"path": "/c/seg/1", "size_bytes": 2}, {"path": "/c/seg/2"}]`)
	if resp.StatusCode != 201 {
		t.Fatalf("SLO PUT: %d", resp.StatusCode)
	}
	if resp, body = do(tok, "GET", acct+"/c/slo", nil); body != "AABB" || resp.Header.Get("X-Static-Large-Object") != "True" {
		t.Errorf("SLO GET: %q %v", body, resp.Header)
	}
	// Bulk delete, answered in JSON.
	resp, body = do(tok, "POST", acct+"?bulk-delete", "/c/a/1\n/c/a/2\n/c/nope\n/c\n", "Content-Type", "text/plain", "Accept", "application/json")
	expect("bulk delete", resp, body, 200, `"Number Deleted": 2, "Number Not Found": 1`)
	if !strings.Contains(body, `"Errors": [["/c", "409 Conflict"]]`) {
		t.Errorf("bulk delete errors: %s", body)
	}
	// Temp URLs: container keys, PUT through a temp URL, expiry.
	do(tok, "POST", acct+"/c", nil, "X-Container-Meta-Temp-URL-Key", "ckey")
	exp := time.Now().Add(time.Minute).Unix()
	sign := func(method, path string, exp int64) string {
		m := hmac.New(sha256.New, []byte("ckey"))
		fmt.Fprintf(m, "%s\n%d\n%s", method, exp, path)
		return hex.EncodeToString(m.Sum(nil))
	}
	p := "/v1/AUTH_" + pid + "/c/tu"
	resp, _ = do("", "PUT", "/object-store"+p+fmt.Sprintf("?temp_url_sig=%s&temp_url_expires=%d", sign("PUT", p, exp), exp), "via temp url")
	if resp.StatusCode != 201 {
		t.Errorf("temp URL PUT: %d", resp.StatusCode)
	}
	resp, body = do("", "GET", "/object-store"+p+fmt.Sprintf("?temp_url_sig=%s&temp_url_expires=%d&inline", sign("GET", p, exp), exp), nil)
	if resp.StatusCode != 200 || body != "via temp url" || resp.Header.Get("Content-Disposition") != "inline" {
		t.Errorf("temp URL GET: %d %q %v", resp.StatusCode, body, resp.Header)
	}
	past := time.Now().Add(-time.Minute).Unix()
	resp, body = do("", "GET", "/object-store"+p+fmt.Sprintf("?temp_url_sig=%s&temp_url_expires=%d", sign("GET", p, past), past), nil)
	expect("expired temp URL", resp, body, 401, "Temp URL invalid")
	// The expiring object is gone by now.
	time.Sleep(time.Until(time.Now().Truncate(time.Second).Add(2 * time.Second)))
	if resp, _ = do(tok, "GET", acct+"/c/tmp", nil); resp.StatusCode != 404 {
		t.Errorf("expired object: %d", resp.StatusCode)
	}
}
