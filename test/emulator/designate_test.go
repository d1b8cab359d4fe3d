package emulator_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/openstack-service-broker/openstack-service-broker/pkg/emulator"
)

// TestDesignateSDK: a zone's and a recordset's cycle through openstacksdk,
// the errors, and isolation from alt.
func TestDesignateSDK(t *testing.T) {
	t.Parallel()
	c := StartCloud(t)
	out := asMap(t, c.Python(t, `
demo = connect("emulator")
dns = demo.dns
z = dns.create_zone(name="sdk.example.net.", email="ops@example.net", ttl=600, description="first")
status = z.status
shown = dns.get_zone(z.id)
shown = [shown.status, shown.ttl, shown.email, shown.type, shown.description, shown.serial]
zones = [x.name for x in dns.zones()]
found = dns.find_zone("sdk.example.net.").id
dns.update_zone(z.id, ttl=900, description="second")
upd = dns.get_zone(z.id)
upd = [upd.ttl, upd.description, upd.serial]
rs = dns.create_recordset(z, name="www.sdk.example.net.", type="A", records=["192.0.2.1"], ttl=300)
rs_status = rs.status
rs_shown = dns.get_recordset(rs.id, z)
rs_vals = [rs_status, rs_shown.records, rs_shown.ttl, rs_shown.zone_name]
rss = sorted([r.name, r.type] for r in dns.recordsets(z))
dns.update_recordset(rs_shown, records=["192.0.2.2", "192.0.2.3"], ttl=120)
rs_upd = dns.get_recordset(rs.id, z)
rs_upd = [sorted(rs_upd.records), rs_upd.ttl]
found_rs = dns.find_recordset(z, "www.sdk.example.net.").id
after_serial = dns.get_zone(z.id).serial
dup = http_error(lambda: dns.create_zone(name="sdk.example.net.", email="ops@example.net"))
bad = http_error(lambda: dns.create_recordset(z, name="bad.sdk.example.net.", type="A", records=["nope"]))
nodot = http_error(lambda: dns.create_zone(name="nodot.example.net", email="ops@example.net"))
missing = http_error(lambda: dns.get_zone("00000000-0000-0000-0000-000000000000"))
alt = connect("emulator-alt")
alt_sees = [x.id for x in alt.dns.zones()]
alt_get = http_error(lambda: alt.dns.get_zone(z.id))
alt_del = http_error(lambda: alt.dns.delete_zone(z.id, ignore_missing=False))
dns.delete_recordset(rs, z)
gone_rs = http_error(lambda: dns.get_recordset(rs, z))
dns.delete_zone(z)
gone = http_error(lambda: dns.get_zone(z.id))
emit({"status": status, "shown": shown[:5], "serials": [shown[5], upd[2], after_serial], "zones": zones,
      "found": found == z.id, "upd": upd[:2], "rs": rs_vals, "rss": rss, "rs_upd": rs_upd, "found_rs": found_rs == rs.id,
      "dup": dup, "bad": bad, "nodot": nodot, "missing": missing, "alt_sees": z.id in alt_sees,
      "alt_get": alt_get, "alt_del": alt_del, "gone_rs": gone_rs, "gone": gone})
`))
	if out["status"] != "PENDING" || fmt.Sprint(out["shown"]) != "[ACTIVE 600 ops@example.net PRIMARY first]" {
		t.Errorf("zone create/show: %v %v", out["status"], out["shown"])
	}
	if fmt.Sprint(out["zones"]) != "[sdk.example.net.]" || out["found"] != true || fmt.Sprint(out["upd"]) != "[900 second]" {
		t.Errorf("zone list/find/update: %v", out)
	}
	if s := asList(t, out["serials"]); !(s[0].(float64) < s[1].(float64) && s[1].(float64) < s[2].(float64)) {
		t.Errorf("serials do not increase on change: %v", s)
	}
	if fmt.Sprint(out["rs"]) != "[PENDING [192.0.2.1] 300 sdk.example.net.]" || out["found_rs"] != true ||
		fmt.Sprint(out["rs_upd"]) != "[[192.0.2.2 192.0.2.3] 120]" {
		t.Errorf("recordset create/show/update: %v %v", out["rs"], out["rs_upd"])
	}
	if fmt.Sprint(out["rss"]) != "[[sdk.example.net. NS] [sdk.example.net. SOA] [www.sdk.example.net. A]]" {
		t.Errorf("recordsets (with the zone's NS and SOA): %v", out["rss"])
	}
	if out["alt_sees"] != false {
		t.Error("alt lists demo's zone")
	}
	for k, want := range map[string]float64{"dup": 409, "bad": 400, "nodot": 400, "missing": 404, "alt_get": 404, "alt_del": 404, "gone_rs": 404, "gone": 404} {
		if got := asMap(t, out[k])["status"]; got != want {
			t.Errorf("%s: %v, want %v", k, out[k], want)
		}
	}
}

// TestDesignateCLI: zone and recordset commands of the openstack CLI
// (python3-designateclient), the admin's --all-projects, errors.
func TestDesignateCLI(t *testing.T) {
	t.Parallel()
	c := StartCloud(t)
	requireCLIPlugin(t, "designateclient")
	z := asMap(t, c.CLI(t, "emulator", "zone", "create", "--email", "hostmaster@cli.example.org", "--ttl", "1200", "cli.example.org."))
	zid := fmt.Sprint(z["id"])
	if z["status"] != "PENDING" || z["action"] != "CREATE" || z["ttl"] != float64(1200) {
		t.Errorf("zone create: %v", z)
	}
	rs := asMap(t, c.CLI(t, "emulator", "recordset", "create", "cli.example.org.", "mail", "--type", "MX", "--record", "10 mx1.cli.example.org.", "--record", "20 mx2.cli.example.org."))
	rsid := fmt.Sprint(rs["id"])
	c.CLI(t, "emulator", "recordset", "set", "cli.example.org.", rsid, "--record", "5 mx.cli.example.org.", "--description", "mail")
	shown := asMap(t, c.CLI(t, "emulator", "recordset", "show", "cli.example.org.", "mail.cli.example.org."))
	if shown["records"] != "5 mx.cli.example.org." || shown["description"] != "mail" || shown["status"] != "ACTIVE" {
		t.Errorf("recordset show after set: %v", shown)
	}
	if findBy(t, c.CLI(t, "emulator", "recordset", "list", "cli.example.org."), "type", "SOA") == nil {
		t.Error("the zone has no SOA recordset")
	}
	c.CLI(t, "emulator", "zone", "set", "--description", "managed by cli", zid)
	zs := asMap(t, c.CLI(t, "emulator", "zone", "show", "cli.example.org."))
	if zs["description"] != "managed by cli" || zs["status"] != "ACTIVE" {
		t.Errorf("zone show after set: %v", zs)
	}
	if findBy(t, c.CLI(t, "emulator-admin", "zone", "list", "--all-projects"), "id", zid) == nil {
		t.Error("the admin's --all-projects list lacks demo's zone")
	}
	if e := c.CLIFails(t, "emulator", "zone", "create", "--email", "x@cli.example.org", "cli.example.org."); !strings.Contains(e, "Duplicate Zone") {
		t.Errorf("duplicate zone: %s", e)
	}
	if e := c.CLIFails(t, "emulator-alt", "zone", "show", zid); !strings.Contains(e, "Could not find Zone") {
		t.Errorf("alt zone show: %s", e)
	}
	c.CLI(t, "emulator", "recordset", "delete", "cli.example.org.", rsid)
	c.CLI(t, "emulator", "zone", "delete", zid)
	if l := c.CLI(t, "emulator", "zone", "list"); l != nil && findBy(t, l, "id", zid) != nil {
		t.Errorf("zone listed after delete: %v", l)
	}
}

// TestDesignateAnsible: openstack.cloud.dns_zone and recordset in
// openstack-apb: create, idempotence, update, isolation, an error, delete.
func TestDesignateAnsible(t *testing.T) {
	t.Parallel()
	c := StartCloud(t)
	r := c.Ansible(t, `
- hosts: localhost
  gather_facts: false
  tasks:
    - name: zone
      openstack.cloud.dns_zone: {cloud: emulator, name: ans.example.org., email: ops@example.org, ttl: 600, description: first}
    - name: zone again
      openstack.cloud.dns_zone: {cloud: emulator, name: ans.example.org., email: ops@example.org, ttl: 600, description: first}
    - name: zone update
      openstack.cloud.dns_zone: {cloud: emulator, name: ans.example.org., email: ops@example.org, ttl: 900, description: first}
    - name: zone without email
      openstack.cloud.dns_zone: {cloud: emulator, name: noemail.example.org.}
      ignore_errors: true
    - name: alt zone absent
      openstack.cloud.dns_zone: {cloud: emulator-alt, name: ans.example.org., state: absent}
    - name: recordset
      openstack.cloud.recordset: {cloud: emulator, zone: ans.example.org., name: www.ans.example.org., recordset_type: a, records: [192.0.2.10], ttl: 300}
    - name: recordset again
      openstack.cloud.recordset: {cloud: emulator, zone: ans.example.org., name: www.ans.example.org., recordset_type: a, records: [192.0.2.10], ttl: 300}
    - name: recordset update
      openstack.cloud.recordset: {cloud: emulator, zone: ans.example.org., name: www.ans.example.org., recordset_type: a, records: [192.0.2.11, 192.0.2.12], ttl: 300}
    - name: txt recordset
      openstack.cloud.recordset: {cloud: emulator, zone: ans.example.org., name: spf.ans.example.org., recordset_type: txt, records: ['"v=spf1 -all"']}
    - name: bad recordset
      openstack.cloud.recordset: {cloud: emulator, zone: ans.example.org., name: bad.ans.example.org., recordset_type: aaaa, records: [192.0.2.1]}
      ignore_errors: true
    - name: recordset delete
      openstack.cloud.recordset: {cloud: emulator, zone: ans.example.org., name: www.ans.example.org., state: absent}
    - name: zone delete
      openstack.cloud.dns_zone: {cloud: emulator, name: ans.example.org., state: absent}
    - name: zone delete again
      openstack.cloud.dns_zone: {cloud: emulator, name: ans.example.org., state: absent}
`)
	zone := r.OK(t, "zone")
	if z := asMap(t, zone["zone"]); zone["changed"] != true || z["name"] != "ans.example.org." || z["ttl"] != float64(600) {
		t.Errorf("zone: %v", zone)
	}
	if again := r.OK(t, "zone again"); again["changed"] != false {
		t.Errorf("a second zone create must change nothing: %v", again)
	}
	if upd := r.OK(t, "zone update"); upd["changed"] != true || asMap(t, upd["zone"])["ttl"] != float64(900) {
		t.Errorf("zone update: %v", upd)
	}
	if msg := r.Failed(t, "zone without email"); !strings.Contains(msg, "Unable to create zone") {
		t.Errorf("zone without email: %s", msg)
	}
	if alt := r.OK(t, "alt zone absent"); alt["changed"] != false {
		t.Errorf("alt deleted demo's zone: %v", alt)
	}
	if rs := r.OK(t, "recordset"); rs["changed"] != true || fmt.Sprint(asMap(t, rs["recordset"])["records"]) != "[192.0.2.10]" {
		t.Errorf("recordset: %v", rs)
	}
	if again := r.OK(t, "recordset again"); again["changed"] != false {
		t.Errorf("a second recordset create must change nothing: %v", again)
	}
	if upd := r.OK(t, "recordset update"); upd["changed"] != true || fmt.Sprint(asMap(t, upd["recordset"])["records"]) != "[192.0.2.11 192.0.2.12]" {
		t.Errorf("recordset update: %v", upd)
	}
	r.OK(t, "txt recordset")
	if msg := r.Failed(t, "bad recordset"); !strings.Contains(msg, "400") {
		t.Errorf("bad recordset: %s", msg)
	}
	r.OK(t, "recordset delete")
	if del := r.OK(t, "zone delete"); del["changed"] != true {
		t.Errorf("zone delete: %v", del)
	}
	if again := r.OK(t, "zone delete again"); again["changed"] != false {
		t.Errorf("second zone delete: %v", again)
	}
}

// TestDesignateShapes: discovery, Designate's error shape, PENDING ->
// ACTIVE with -delay, the service's records, all-projects and sudo,
// quotas (413), pagination.
func TestDesignateShapes(t *testing.T) {
	t.Parallel()
	c := StartCloud(t, func(o *emulator.Options) { o.Delay = 300 * time.Millisecond })
	for _, p := range []string{"/dns/", "/dns/v2"} {
		resp, body := c.HTTP(t, "", "GET", p, nil)
		if resp.StatusCode != 200 || !strings.Contains(string(body), `"id":"v2.0"`) || !strings.Contains(string(body), `"href":"`+c.URL()+`/dns/v2"`) {
			t.Errorf("discovery %s: %d %s", p, resp.StatusCode, body)
		}
	}
	tok, admin, altTok := c.Token(t, "demo"), c.Token(t, "admin"), c.Token(t, "alt")
	demoProject := tokenProjectID(t, c, tok)
	resp, body := c.HTTP(t, tok, "GET", "/dns/v2/zones/00000000-0000-0000-0000-000000000000", nil)
	if resp.StatusCode != 404 || !strings.Contains(string(body), `"code":404,"message":"Could not find Zone","request_id":"req-`) ||
		!strings.Contains(string(body), `"type":"zone_not_found"`) {
		t.Errorf("404: %d %s", resp.StatusCode, body)
	}
	resp, body = c.HTTP(t, tok, "GET", "/dns/v2/zones/nope", nil)
	if resp.StatusCode != 400 || !strings.Contains(string(body), `"message":"Invalid UUID zone_id: nope"`) || !strings.Contains(string(body), `"type":"invalid_uuid"`) {
		t.Errorf("bad uuid: %d %s", resp.StatusCode, body)
	}
	resp, body = c.HTTP(t, tok, "POST", "/dns/v2/zones", map[string]any{"name": "example.org."})
	if resp.StatusCode != 400 || !strings.Contains(string(body), `"errors":{"errors":[{"message":"'email' is a required property","path":["type","email"],"validator":"required","validator_value":"email"}]}`) {
		t.Errorf("no email: %d %s", resp.StatusCode, body)
	}
	resp, body = c.HTTP(t, tok, "POST", "/dns/v2/zones", map[string]any{"name": "example.org.", "email": "a@example.org", "serial": 5})
	if resp.StatusCode != 400 || !strings.Contains(string(body), `Keys ['serial'] are not valid for zone`) {
		t.Errorf("read-only key: %d %s", resp.StatusCode, body)
	}
	resp, body = c.HTTP(t, tok, "POST", "/dns/v2/zones", map[string]any{"name": "org.", "email": "a@example.org"})
	if resp.StatusCode != 400 || !strings.Contains(string(body), `"type":"invalid_zone_name"`) {
		t.Errorf("one label: %d %s", resp.StatusCode, body)
	}
	resp, body = c.HTTP(t, tok, "POST", "/dns/v2/zones", "name=x", "Content-Type", "text/plain")
	if resp.StatusCode != 415 || !strings.Contains(string(body), `"type":"unsupported_content_type"`) {
		t.Errorf("content type: %d %s", resp.StatusCode, body)
	}
	resp, body = c.HTTP(t, tok, "POST", "/dns/v2/zones", map[string]any{"name": "example.org.", "email": "a@example.org"})
	var z struct {
		ID     string `json:"id"`
		Status string `json:"status"`
		Serial int64  `json:"serial"`
	}
	if resp.StatusCode != 202 || json.Unmarshal(body, &z) != nil || z.Status != "PENDING" || resp.Header.Get("Location") == "" {
		t.Fatalf("create: %d %s", resp.StatusCode, body)
	}
	_, body = c.HTTP(t, tok, "GET", "/dns/v2/zones/"+z.ID, nil)
	if !strings.Contains(string(body), `"status":"PENDING","action":"CREATE"`) && !strings.Contains(string(body), `"action":"CREATE"`) {
		t.Errorf("pending zone: %s", body)
	}
	waitUntil(t, func() bool {
		_, b := c.HTTP(t, tok, "GET", "/dns/v2/zones/"+z.ID, nil)
		return strings.Contains(string(b), `"status":"ACTIVE"`) && strings.Contains(string(b), `"action":"NONE"`)
	})
	// The service's recordsets: NS and SOA, which nobody may delete or change.
	_, body = c.HTTP(t, tok, "GET", "/dns/v2/zones/"+z.ID+"/recordsets?type=NS", nil)
	var list struct {
		Recordsets []struct {
			ID string `json:"id"`
		} `json:"recordsets"`
		Metadata struct {
			Total int `json:"total_count"`
		} `json:"metadata"`
	}
	if json.Unmarshal(body, &list) != nil || len(list.Recordsets) != 1 || list.Metadata.Total != 1 {
		t.Fatalf("NS recordset: %s", body)
	}
	resp, body = c.HTTP(t, tok, "DELETE", "/dns/v2/zones/"+z.ID+"/recordsets/"+list.Recordsets[0].ID, nil)
	if resp.StatusCode != 400 || !strings.Contains(string(body), "Managed records may not be deleted") {
		t.Errorf("delete the NS: %d %s", resp.StatusCode, body)
	}
	resp, body = c.HTTP(t, tok, "POST", "/dns/v2/zones/"+z.ID+"/recordsets", map[string]any{"name": "example.org.", "type": "CNAME", "records": []string{"x.example.net."}})
	if resp.StatusCode != 400 || !strings.Contains(string(body), "CNAME recordsets may not be created at the zone apex") {
		t.Errorf("CNAME at the apex: %d %s", resp.StatusCode, body)
	}
	resp, body = c.HTTP(t, tok, "POST", "/dns/v2/zones/"+z.ID+"/recordsets", map[string]any{"name": "www.example.net.", "type": "A", "records": []string{"192.0.2.1"}})
	if resp.StatusCode != 400 || !strings.Contains(string(body), "RecordSet is not contained within it's parent zone") {
		t.Errorf("outside the zone: %d %s", resp.StatusCode, body)
	}
	resp, body = c.HTTP(t, tok, "POST", "/dns/v2/zones/"+z.ID+"/recordsets", map[string]any{"name": "_sip._tcp.example.org.", "type": "SRV", "records": []string{"10 60 5060 sip.example.org."}})
	if resp.StatusCode != 202 || !strings.Contains(string(body), `"status":"PENDING"`) {
		t.Errorf("SRV: %d %s", resp.StatusCode, body)
	}
	_, body = c.HTTP(t, tok, "GET", "/dns/v2/zones/"+z.ID, nil)
	var after struct {
		Serial int64  `json:"serial"`
		Action string `json:"action"`
	}
	if json.Unmarshal(body, &after) != nil || after.Serial <= z.Serial || after.Action != "UPDATE" {
		t.Errorf("zone after a recordset: %s (serial was %d)", body, z.Serial)
	}
	// Pagination: limit=1 gives a next link and the total.
	_, body = c.HTTP(t, tok, "GET", "/dns/v2/zones/"+z.ID+"/recordsets?limit=1", nil)
	if !strings.Contains(string(body), `"next":"`+c.URL()+`/dns/v2/zones/`+z.ID+`/recordsets?limit=1\u0026marker=`) || !strings.Contains(string(body), `"total_count":3`) {
		t.Errorf("page: %s", body)
	}
	resp, body = c.HTTP(t, tok, "GET", "/dns/v2/zones?colour=red", nil)
	if resp.StatusCode != 400 || !strings.Contains(string(body), "Invalid filters colour") {
		t.Errorf("unknown filter: %d %s", resp.StatusCode, body)
	}
	// all-projects and sudo are the admin's.
	resp, body = c.HTTP(t, tok, "GET", "/dns/v2/zones", nil, "X-Auth-All-Projects", "true")
	if resp.StatusCode != 403 || !strings.Contains(string(body), `"type":"forbidden"`) {
		t.Errorf("all-projects by a member: %d %s", resp.StatusCode, body)
	}
	_, body = c.HTTP(t, admin, "GET", "/dns/v2/zones", nil)
	if strings.Contains(string(body), z.ID) {
		t.Errorf("the admin sees demo's zone without all-projects: %s", body)
	}
	_, body = c.HTTP(t, admin, "GET", "/dns/v2/zones", nil, "X-Auth-All-Projects", "true")
	if !strings.Contains(string(body), z.ID) {
		t.Errorf("the admin's all-projects list lacks demo's zone: %s", body)
	}
	resp, body = c.HTTP(t, admin, "POST", "/dns/v2/zones", map[string]any{"name": "sudo.example.com.", "email": "a@example.com"}, "X-Auth-Sudo-Project-ID", demoProject)
	if resp.StatusCode != 202 || !strings.Contains(string(body), `"project_id":"`+demoProject+`"`) {
		t.Errorf("sudo create: %d %s", resp.StatusCode, body)
	}
	resp, body = c.HTTP(t, altTok, "POST", "/dns/v2/zones", map[string]any{"name": "example.org.", "email": "a@example.org"})
	if resp.StatusCode != 409 || !strings.Contains(string(body), "Zone already exists, owned by a different tenant") {
		t.Errorf("alt takes demo's zone name: %d %s", resp.StatusCode, body)
	}
	resp, body = c.HTTP(t, altTok, "POST", "/dns/v2/zones", map[string]any{"name": "sub.example.org.", "email": "a@example.org"})
	if resp.StatusCode != 403 || !strings.Contains(string(body), `"type":"illegal_child"`) {
		t.Errorf("alt's subzone of demo's zone: %d %s", resp.StatusCode, body)
	}
	// Quotas: the admin gives demo 2 zones (it has 2); the third is 413.
	resp, body = c.HTTP(t, tok, "PATCH", "/dns/v2/quotas/"+demoProject, map[string]any{"zones": 100})
	if resp.StatusCode != 403 {
		t.Errorf("quota set by a member: %d %s", resp.StatusCode, body)
	}
	resp, body = c.HTTP(t, admin, "PATCH", "/dns/v2/quotas/"+demoProject, map[string]any{"zones": 2}, "X-Auth-All-Projects", "true")
	if resp.StatusCode != 200 || !strings.Contains(string(body), `"zones":2`) {
		t.Errorf("quota set: %d %s", resp.StatusCode, body)
	}
	resp, body = c.HTTP(t, tok, "POST", "/dns/v2/zones", map[string]any{"name": "third.example.com.", "email": "a@example.com"})
	if resp.StatusCode != 413 || !strings.Contains(string(body), `"code":413,"message":"Quota exceeded for zones."`) || !strings.Contains(string(body), `"type":"over_quota"`) {
		t.Errorf("over quota: %d %s", resp.StatusCode, body)
	}
	_, body = c.HTTP(t, tok, "GET", "/dns/v2/limits", nil)
	if !strings.Contains(string(body), `"max_zones":2`) || !strings.Contains(string(body), `"max_page_limit":1000`) {
		t.Errorf("limits: %s", body)
	}
	// Deletion: PENDING (DELETE), then gone.
	resp, body = c.HTTP(t, tok, "DELETE", "/dns/v2/zones/"+z.ID, nil)
	if resp.StatusCode != 202 || !strings.Contains(string(body), `"action":"DELETE"`) {
		t.Errorf("delete: %d %s", resp.StatusCode, body)
	}
	waitUntil(t, func() bool {
		r, _ := c.HTTP(t, tok, "GET", "/dns/v2/zones/"+z.ID, nil)
		return r.StatusCode == 404
	})
}
