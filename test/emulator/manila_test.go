package emulator_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/openstack-service-broker/openstack-service-broker/pkg/emulator"
)

// TestManilaSDK: shares through openstacksdk's shared-file-system proxy
// (and access rules through its session, as the SDK has no call for
// them), the errors, limits, zones, and isolation from alt.
func TestManilaSDK(t *testing.T) {
	t.Parallel()
	c := StartCloud(t, func(o *emulator.Options) { o.Delay = 300 * time.Millisecond })
	out := asMap(t, c.Python(t, `
sfs = connect("emulator").shared_file_system
sh = sfs.create_share(name="sdk-share", size=1, share_protocol="NFS", description="d", metadata={"a": "1"})
first = sh.status
sh = sfs.wait_for_status(sh, "available", wait=30, interval=0.2)
sfs.update_share(sh.id, display_name="sdk-share2")
shown = sfs.get_share(sh.id)
names = [s.name for s in sfs.shares()]
v27 = {"X-OpenStack-Manila-API-Version": "2.7"}
rule = sfs.post("/shares/%s/action" % sh.id, json={"allow_access": {"access_type": "ip", "access_to": "10.0.0.0/24", "access_level": "ro"}}, headers=v27).json()["access"]
dup = sfs.post("/shares/%s/action" % sh.id, json={"allow_access": {"access_type": "ip", "access_to": "10.0.0.0/24"}}, headers=v27).status_code
bad_ip = sfs.post("/shares/%s/action" % sh.id, json={"allow_access": {"access_type": "ip", "access_to": "10.0.0.300"}}, headers=v27).status_code
import time
time.sleep(0.5)
rules = sfs.post("/shares/%s/action" % sh.id, json={"access_list": None}, headers=v27).json()["access_list"]
v245 = {"X-OpenStack-Manila-API-Version": "2.45"}
rules245 = sfs.get("/share-access-rules?share_id=%s" % sh.id, headers=v245).json()["access_list"]
exports = sfs.get("/shares/%s/export_locations" % sh.id, headers={"X-OpenStack-Manila-API-Version": "2.14"}).json()["export_locations"]
sfs.post("/shares/%s/action" % sh.id, json={"extend": {"new_size": 2}}, headers=v27)
extending = sfs.get_share(sh.id).status
time.sleep(0.5)
sfs.post("/shares/%s/action" % sh.id, json={"deny_access": {"access_id": rule["id"]}}, headers=v27)
alt = connect("emulator-alt").shared_file_system
alt_list = [s.id for s in alt.shares()]
alt_get = http_error(lambda: alt.get_share(sh.id))
alt_del = http_error(lambda: alt.delete_share(sh.id, ignore_missing=False))
alt_allow = alt.post("/shares/%s/action" % sh.id, json={"allow_access": {"access_type": "ip", "access_to": "10.9.9.9"}}, headers=v27).status_code
missing = http_error(lambda: sfs.get_share("00000000-0000-0000-0000-000000000000"))
bad_proto = http_error(lambda: sfs.create_share(name="x", size=1, share_protocol="NOPE"))
limits = [l.to_dict() for l in sfs.limits()]
# SDK 0.101's availability_zones() sends no microversion: Manila serves
# /availability-zones from 2.7 only, so it is a 404 there as here.
sdk_azs = http_error(lambda: list(sfs.availability_zones()))
azs = [a["name"] for a in sfs.get("/availability-zones", headers=v27).json()["availability_zones"]]
time.sleep(0.5)
sfs.delete_share(sh)
sfs.wait_for_delete(sh, interval=0.2, wait=30)
gone = http_error(lambda: sfs.get_share(sh.id))
emit({"first": first, "status": shown.status, "name": shown.name, "size": shown.size, "proto": shown.share_protocol,
      "meta": shown.metadata, "names": names, "rule": [rule["state"], rule["access_level"], rule["share_id"] == sh.id],
      "dup": dup, "bad_ip": bad_ip, "rules": [[r["access_to"], r["state"]] for r in rules],
      "rules245": [[r["access_to"], r["state"], r["metadata"]] for r in rules245], "exports": exports, "extending": extending,
      "alt_list": sh.id in alt_list, "alt_get": alt_get, "alt_del": alt_del, "alt_allow": alt_allow, "missing": missing,
      "bad_proto": bad_proto, "limits": limits, "azs": azs, "sdk_azs": sdk_azs, "gone": gone})
`))
	if out["first"] != "creating" || out["status"] != "available" || out["name"] != "sdk-share2" || out["size"] != float64(1) ||
		out["proto"] != "NFS" || fmt.Sprint(out["meta"]) != "map[a:1]" || fmt.Sprint(out["names"]) != "[sdk-share2]" {
		t.Errorf("share: %v", out)
	}
	if fmt.Sprint(out["rule"]) != "[new ro true]" || fmt.Sprint(out["rules"]) != "[[10.0.0.0/24 active]]" ||
		fmt.Sprint(out["rules245"]) != "[[10.0.0.0/24 active map[]]]" || out["dup"] != float64(400) || out["bad_ip"] != float64(400) {
		t.Errorf("access rules: %v %v %v %v %v", out["rule"], out["rules"], out["rules245"], out["dup"], out["bad_ip"])
	}
	exports := asList(t, out["exports"])
	if len(exports) != 1 || !strings.HasPrefix(fmt.Sprint(asMap(t, exports[0])["path"]), "127.0.0.1:/") || asMap(t, exports[0])["preferred"] != true {
		t.Errorf("export locations: %v", exports)
	}
	if out["extending"] != "extending" || out["alt_list"] != false || out["alt_allow"] != float64(404) || fmt.Sprint(out["azs"]) != "[nova]" {
		t.Errorf("extend, isolation, zones: %v", out)
	}
	for k, want := range map[string]float64{"alt_get": 404, "alt_del": 404, "missing": 404, "bad_proto": 400, "gone": 404, "sdk_azs": 404} {
		if got := asMap(t, out[k])["status"]; got != want {
			t.Errorf("%s: %v, want %v", k, out[k], want)
		}
	}
	if !strings.Contains(fmt.Sprint(out["limits"]), "maxTotalShares") && !strings.Contains(fmt.Sprint(out["limits"]), "max_total_shares") {
		t.Errorf("limits: %v", out["limits"])
	}
}

// TestManilaCLI: shares, export locations, access rules, share types,
// share networks, quotas and limits through the openstack CLI with
// python3-manilaclient's plugin (microversion 2.72).
func TestManilaCLI(t *testing.T) {
	t.Parallel()
	c := StartCloud(t)
	requireManilaPlugin(t)
	net := asMap(t, c.CLI(t, "emulator", "share", "network", "create", "--name", "cli-net", "--neutron-net-id", "n1", "--neutron-subnet-id", "s1"))
	netID := fmt.Sprint(net["id"])
	sh := asMap(t, c.CLI(t, "emulator", "share", "create", "NFS", "1", "--name", "cli-share", "--property", "p=1",
		"--share-network", netID, "--wait"))
	id := fmt.Sprint(sh["id"])
	if sh["status"] != "available" || sh["share_network_id"] != netID {
		t.Errorf("share create: %v", sh)
	}
	c.CLINoFormat(t, "emulator", "share", "set", "--name", "cli-share2", "--property", "q=2", id)
	c.CLINoFormat(t, "emulator", "share", "unset", "--property", "p", id)
	c.CLINoFormat(t, "emulator", "share", "resize", id, "2")
	shown := asMap(t, c.CLI(t, "emulator", "share", "show", id))
	if shown["name"] != "cli-share2" || shown["size"] != float64(2) || fmt.Sprint(shown["properties"]) != "map[q:2]" ||
		!strings.Contains(fmt.Sprint(shown["export_locations"]), "127.0.0.1:/") {
		t.Errorf("share show: %v", shown)
	}
	if findBy(t, c.CLI(t, "emulator", "share", "list"), "ID", id) == nil {
		t.Error("share list lacks the share")
	}
	if findBy(t, c.CLI(t, "emulator-alt", "share", "list"), "ID", id) != nil {
		t.Error("alt lists demo's share")
	}
	c.CLIFails(t, "emulator-alt", "share", "show", id)

	rule := asMap(t, c.CLI(t, "emulator", "share", "access", "create", "--access-level", "ro", id, "user", "alice"))
	rid := fmt.Sprint(rule["id"])
	if a := findBy(t, c.CLI(t, "emulator", "share", "access", "list", id), "ID", rid); a == nil || a["State"] != "active" || a["Access Level"] != "ro" {
		t.Errorf("access list: %v", a)
	}
	if e := c.CLIFails(t, "emulator", "share", "access", "create", id, "ip", "10.0.0.1/24"); !strings.Contains(e, "host bits set") {
		t.Errorf("bad ip rule: %s", e)
	}
	c.CLINoFormat(t, "emulator", "share", "access", "delete", id, rid)
	if els := asList(t, c.CLI(t, "emulator", "share", "export", "location", "list", id)); len(els) != 1 {
		t.Errorf("export location list: %v", els)
	}

	c.CLI(t, "emulator-admin", "share", "type", "create", "gold", "false", "--description", "gold", "--extra-specs", "tier=gold")
	if st := findBy(t, c.CLI(t, "emulator", "share", "type", "list"), "Name", "gold"); st == nil || st["Is Default"] != false {
		t.Errorf("share type list: %v", st)
	}
	if e := c.CLIFails(t, "emulator", "share", "type", "create", "nope", "false"); !strings.Contains(e, "403") {
		t.Errorf("member creating a share type: %s", e)
	}
	c.CLINoFormat(t, "emulator-admin", "share", "type", "delete", "gold")

	project := projectOf(t, c, c.Token(t, "demo"))
	c.CLINoFormat(t, "emulator-admin", "share", "quota", "set", "--shares", "1", project)
	if q := asMap(t, c.CLI(t, "emulator", "share", "quota", "show", project)); q["shares"] != float64(1) {
		t.Errorf("quota show: %v", q)
	}
	if e := c.CLIFails(t, "emulator", "share", "create", "NFS", "1", "--name", "over"); !strings.Contains(e, "413") {
		t.Errorf("over quota: %s", e)
	}
	if e := c.CLIFails(t, "emulator", "share", "network", "delete", netID); !strings.Contains(e, "409") && !strings.Contains(e, "share(s)") {
		t.Errorf("deleting a share network in use: %s", e)
	}
	c.CLINoFormat(t, "emulator", "share", "delete", "--wait", id)
	c.CLINoFormat(t, "emulator", "share", "network", "delete", netID)
	c.CLIFails(t, "emulator", "share", "show", id)
}

func requireManilaPlugin(t *testing.T) {
	t.Helper()
	requirePython(t)
	if _, err := os.Stat("/usr/lib/python3/dist-packages/manilaclient"); err != nil {
		t.Fatal("the openstack CLI's share commands need python3-manilaclient: " + installHint)
	}
}

// TestManilaAnsible: this project's openstack_apb_share_access module in
// openstack-apb grants (waiting for queued_to_apply -> active), keeps,
// refuses another level, and revokes a rule, and cannot see another
// project's share; the share and a second rule come from openstacksdk.
func TestManilaAnsible(t *testing.T) {
	t.Parallel()
	c := StartCloud(t, func(o *emulator.Options) { o.Delay = 300 * time.Millisecond })
	c.Python(t, `
sfs = connect("emulator").shared_file_system
sh = sfs.wait_for_status(sfs.create_share(name="ans-share", size=1, share_protocol="NFS"), "available", wait=30, interval=0.2)
sfs.post("/shares/%s/action" % sh.id, json={"allow_access": {"access_type": "user", "access_to": "alice"}},
         headers={"X-OpenStack-Manila-API-Version": "2.7"})
emit(None)
`)
	r := c.Ansible(t, `
- hosts: localhost
  gather_facts: false
  tasks:
    - name: grant
      openstack_apb_share_access: {cloud: emulator, share: ans-share, access_type: ip, access_to: 10.1.0.0/16, access_level: ro, timeout: 60}
    - name: grant again
      openstack_apb_share_access: {cloud: emulator, share: ans-share, access_type: ip, access_to: 10.1.0.0/16, access_level: ro}
    - name: other level
      openstack_apb_share_access: {cloud: emulator, share: ans-share, access_type: ip, access_to: 10.1.0.0/16, access_level: rw}
      ignore_errors: true
    - name: alt grants
      openstack_apb_share_access: {cloud: emulator-alt, share: ans-share, access_to: 10.2.0.0/16}
      ignore_errors: true
    - name: revoke
      openstack_apb_share_access: {cloud: emulator, share: ans-share, access_type: ip, access_to: 10.1.0.0/16, state: absent, timeout: 60}
    - name: revoke again
      openstack_apb_share_access: {cloud: emulator, share: ans-share, access_type: ip, access_to: 10.1.0.0/16, state: absent}
`)
	grant := r.OK(t, "grant")
	acc := asMap(t, grant["access"])
	if grant["changed"] != true || acc["state"] != "active" || acc["access_level"] != "ro" || acc["access_to"] != "10.1.0.0/16" {
		t.Errorf("grant: %v", grant)
	}
	if again := r.OK(t, "grant again"); again["changed"] != false {
		t.Errorf("a second grant must change nothing: %v", again)
	}
	if msg := r.Failed(t, "other level"); !strings.Contains(msg, "already grants ro") {
		t.Errorf("other level: %s", msg)
	}
	if msg := r.Failed(t, "alt grants"); !strings.Contains(msg, "not found") {
		t.Errorf("alt grants on demo's share: %s", msg)
	}
	if rv := r.OK(t, "revoke"); rv["changed"] != true {
		t.Errorf("revoke: %v", rv)
	}
	if rv := r.OK(t, "revoke again"); rv["changed"] != false {
		t.Errorf("a second revoke must change nothing: %v", rv)
	}
	out := asMap(t, c.Python(t, `
sfs = connect("emulator").shared_file_system
sh = [s for s in sfs.shares() if s.name == "ans-share"][0]
emit(sfs.post("/shares/%s/action" % sh.id, json={"access_list": None}, headers={"X-OpenStack-Manila-API-Version": "2.7"}).json())
`))
	if l := asList(t, out["access_list"]); len(l) != 1 || asMap(t, l[0])["access_to"] != "alice" {
		t.Errorf("rules left: %v", l)
	}
}

// TestManilaShapes: discovery, the Manila microversion header, error
// bodies, the access-rule APIs by version, the project in the URL.
func TestManilaShapes(t *testing.T) {
	t.Parallel()
	c := StartCloud(t)
	resp, body := c.HTTP(t, "", "GET", "/share/", nil)
	if resp.StatusCode != http.StatusMultipleChoices || !strings.Contains(string(body), `"href":"`+c.URL()+`/share/v2/"`) ||
		!strings.Contains(string(body), `"version":"2.73"`) || !strings.Contains(string(body), `"id":"v1.0"`) {
		t.Errorf("discovery: %d %s", resp.StatusCode, body)
	}
	tok := c.Token(t, "demo")
	project := projectOf(t, c, tok)
	base := "/share/v2/" + project
	v := func(ver string) []string { return []string{"X-OpenStack-Manila-API-Version", ver} }
	resp, body = c.HTTP(t, tok, "GET", base+"/shares", nil)
	if resp.StatusCode != 200 || resp.Header.Get("X-OpenStack-Manila-API-Version") != "2.0" || resp.Header.Get("Vary") != "X-OpenStack-Manila-API-Version" {
		t.Errorf("default version: %d %v", resp.StatusCode, resp.Header)
	}
	resp, body = c.HTTP(t, tok, "GET", base+"/shares", nil, v("2.74")...)
	if resp.StatusCode != 406 || !strings.Contains(string(body), "Version 2.74 is not supported by the API. Minimum is 2.0 and maximum is 2.73.") {
		t.Errorf("2.74: %d %s", resp.StatusCode, body)
	}
	if resp, body = c.HTTP(t, tok, "GET", base+"/shares", nil, v("latest")...); resp.StatusCode != 400 {
		t.Errorf("latest: %d %s", resp.StatusCode, body)
	}
	if resp, body = c.HTTP(t, tok, "GET", base+"/shares/nope", nil); resp.StatusCode != 404 ||
		string(body) != `{"itemNotFound":{"code":404,"message":"The resource could not be found."}}` {
		t.Errorf("404: %d %s", resp.StatusCode, body)
	}
	if resp, body = c.HTTP(t, tok, "GET", "/share/v2/"+strings.Repeat("0", 32)+"/shares", nil); resp.StatusCode != 400 {
		t.Errorf("another project's URL: %d %s", resp.StatusCode, body)
	}
	resp, body = c.HTTP(t, tok, "POST", base+"/shares", map[string]any{"share": map[string]any{"share_proto": "nfs", "size": 1, "name": "s"}}, v("2.45")...)
	if resp.StatusCode != 200 {
		t.Fatalf("share create: %d %s", resp.StatusCode, body)
	}
	var sh struct{ Share struct{ ID string } }
	if err := json.Unmarshal(body, &sh); err != nil {
		t.Fatal(err)
	}
	if resp, body = c.HTTP(t, tok, "POST", base+"/shares", map[string]any{"nope": 1}); resp.StatusCode != 422 {
		t.Errorf("no share key: %d %s", resp.StatusCode, body)
	}
	if resp, body = c.HTTP(t, tok, "POST", base+"/shares", map[string]any{"share": map[string]any{"share_proto": "NFS", "size": 0}}); resp.StatusCode != 400 ||
		!strings.Contains(string(body), "Share size '0' must be an integer and greater than 0") {
		t.Errorf("size 0: %d %s", resp.StatusCode, body)
	}
	act := base + "/shares/" + sh.Share.ID + "/action"
	resp, body = c.HTTP(t, tok, "POST", act, map[string]any{"allow_access": map[string]any{"access_type": "cert", "access_to": "client.example.com",
		"access_level": "ro", "metadata": map[string]any{"k": "v"}}}, v("2.45")...)
	if resp.StatusCode != 200 || !strings.Contains(string(body), `"metadata":{"k":"v"}`) || !strings.Contains(string(body), `"state":"active"`) {
		t.Errorf("allow_access at 2.45: %d %s", resp.StatusCode, body)
	}
	if resp, body = c.HTTP(t, tok, "POST", act, map[string]any{"access_list": nil}, v("2.45")...); resp.StatusCode != 404 {
		t.Errorf("access_list at 2.45: %d %s", resp.StatusCode, body)
	}
	if resp, body = c.HTTP(t, tok, "POST", act, map[string]any{"os-access_list": nil}, v("2.7")...); resp.StatusCode != 404 {
		t.Errorf("os-access_list at 2.7: %d %s", resp.StatusCode, body)
	}
	if resp, body = c.HTTP(t, tok, "POST", act, map[string]any{"allow_access": map[string]any{"access_type": "cephx", "access_to": "alice"}}, v("2.7")...); resp.StatusCode != 400 ||
		!strings.Contains(string(body), "Only 'ip', 'user' or 'cert' access types are supported.") {
		t.Errorf("cephx at 2.7: %d %s", resp.StatusCode, body)
	}
	if resp, body = c.HTTP(t, tok, "POST", act, map[string]any{"allow_access": map[string]any{"access_type": "ip", "access_to": "10.0.0.1", "access_level": "rx"}}, v("2.7")...); resp.StatusCode != 400 ||
		!strings.Contains(string(body), "Invalid share access level: rx.") {
		t.Errorf("bad level: %d %s", resp.StatusCode, body)
	}
	if resp, body = c.HTTP(t, tok, "GET", base+"/share-access-rules", nil, v("2.45")...); resp.StatusCode != 400 ||
		!strings.Contains(string(body), "The field 'share_id' has to be specified.") {
		t.Errorf("rules without share_id: %d %s", resp.StatusCode, body)
	}
	if resp, body = c.HTTP(t, tok, "POST", act, map[string]any{"deny_access": map[string]any{"access_id": "nope"}}, v("2.7")...); resp.StatusCode != 404 {
		t.Errorf("deny unknown rule: %d %s", resp.StatusCode, body)
	}
	if resp, body = c.HTTP(t, tok, "POST", act, map[string]any{"shrink": map[string]any{"new_size": 1}}, v("2.7")...); resp.StatusCode != 400 ||
		!strings.Contains(string(body), "New size for shrink must be less than current size") {
		t.Errorf("shrink to the same size: %d %s", resp.StatusCode, body)
	}
	if resp, body = c.HTTP(t, tok, "POST", act, map[string]any{"force_delete": nil}, v("2.7")...); resp.StatusCode != 403 {
		t.Errorf("member force_delete: %d %s", resp.StatusCode, body)
	}
	admin := c.Token(t, "admin")
	resp, body = c.HTTP(t, admin, "PUT", "/share/v2/"+projectOf(t, c, admin)+"/quota-sets/"+project, map[string]any{"quota_set": map[string]any{"gigabytes": 1}}, v("2.7")...)
	if resp.StatusCode != 200 || !strings.Contains(string(body), `"gigabytes":1`) {
		t.Fatalf("quota update: %d %s", resp.StatusCode, body)
	}
	resp, body = c.HTTP(t, tok, "POST", base+"/shares", map[string]any{"share": map[string]any{"share_proto": "CIFS", "size": 1}})
	if resp.StatusCode != 413 || !strings.Contains(string(body), `"overLimit"`) || !strings.Contains(string(body), `"retryAfter":"0"`) {
		t.Errorf("413: %d %s", resp.StatusCode, body)
	}
	if resp, body = c.HTTP(t, tok, "GET", base+"/quota-sets/"+project+"/detail", nil, v("2.25")...); resp.StatusCode != 200 ||
		!strings.Contains(string(body), `"gigabytes":{"in_use":1,"limit":1,"reserved":0}`) {
		t.Errorf("quota detail: %d %s", resp.StatusCode, body)
	}
}
