package emulator

import (
	"encoding/json"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
)

// TestCinderManilaGarbageNeverAnswers500 sends malformed and mistyped
// bodies to every Cinder and Manila route shape, on real resources so
// the handlers get past their lookups, at the lowest and highest
// microversions: none may answer 500 (start's cleanup fails the test on
// any internal error).
func TestCinderManilaGarbageNeverAnswers500(t *testing.T) {
	c := start(t, Options{})
	cr := c.Credentials()
	demo := token(t, c, "demo", cr.DemoPassword)
	admin := token(t, c, "admin", cr.AdminPassword)
	project := func(tok string) string {
		_, body := call(t, c, tok, "GET", "/v3/auth/tokens", nil, "X-Subject-Token", tok)
		var v struct {
			Token struct{ Project struct{ ID string } }
		}
		_ = json.Unmarshal([]byte(body), &v)
		return v.Token.Project.ID
	}
	pid := project(demo)
	vol, share := "/volume/v3/"+pid, "/share/v2/"+pid
	idOf := func(body, key string) string {
		var v map[string]struct{ ID string }
		_ = json.Unmarshal([]byte(body), &v)
		return v[key].ID
	}
	_, body := call(t, c, demo, "POST", vol+"/volumes", map[string]any{"volume": map[string]any{"size": 1}})
	volID := idOf(body, "volume")
	_, body = call(t, c, demo, "POST", vol+"/snapshots", map[string]any{"snapshot": map[string]any{"volume_id": volID}})
	snapID := idOf(body, "snapshot")
	_, body = call(t, c, demo, "POST", vol+"/backups", map[string]any{"backup": map[string]any{"volume_id": volID, "force": true}})
	backupID := idOf(body, "backup")
	_, body = call(t, c, demo, "POST", vol+"/attachments", map[string]any{"attachment": map[string]any{"volume_uuid": volID}}, "OpenStack-API-Version", "volume 3.27")
	attID := idOf(body, "attachment")
	_, body = call(t, c, demo, "GET", vol+"/types/default", nil)
	typeID := idOf(body, "volume_type")
	_, body = call(t, c, demo, "POST", share+"/shares", map[string]any{"share": map[string]any{"share_proto": "NFS", "size": 1}})
	shareID := idOf(body, "share")
	_, body = call(t, c, demo, "POST", share+"/shares/"+shareID+"/action", map[string]any{"allow_access": map[string]any{"access_type": "ip", "access_to": "10.0.0.1"}},
		"X-OpenStack-Manila-API-Version", "2.45")
	ruleID := idOf(body, "access")
	_, body = call(t, c, demo, "POST", share+"/share-networks", map[string]any{"share_network": map[string]any{"name": "n"}})
	netID := idOf(body, "share_network")
	_, body = call(t, c, demo, "GET", share+"/types/default", nil)
	shareTypeID := idOf(body, "share_type")
	for _, id := range []string{volID, snapID, attID, backupID, typeID, shareID, ruleID, netID, shareTypeID} {
		if id == "" {
			t.Fatal("could not create the resources to send garbage to")
		}
	}

	bodies := []string{"", "{", "[]", "null", `"x"`, "1", "{}", `{"a": 1, "b": 2}`,
		`{"volume": 1}`, `{"volume": {"size": "x", "name": 1, "metadata": {"a": 1}, "volume_type": 2, "snapshot_id": 3, "imageRef": 4, "availability_zone": 5, "multiattach": "maybe"}}`,
		`{"volume": {"size": 1.5, "source_volid": "nope", "backup_id": 1, "metadata": []}}`, `{"snapshot": {"volume_id": 1, "force": "x", "metadata": 1}}`,
		`{"backup": {"volume_id": "x", "incremental": 3, "snapshot_id": []}}`, `{"restore": {"volume_id": 1, "name": 2}}`, `{"restore": 1}`,
		`{"metadata": {"": "x"}}`, `{"metadata": {"a": {"b": 1}}}`, `{"meta": {"a": "b", "c": "d"}}`, `{"meta": []}`,
		`{"os-extend": null}`, `{"os-extend": {"new_size": "x"}}`, `{"os-extend": {"new_size": 1e30}}`, `{"os-retype": {"new_type": 1, "migration_policy": 2}}`,
		`{"os-attach": {"mountpoint": 1, "instance_uuid": 2, "mode": 3}}`, `{"os-attach": {"mountpoint": "/dev/vdb", "host_name": "h", "mode": "rw"}}`,
		`{"os-detach": {"attachment_id": 1}}`, `{"os-detach": "x"}`, `{"os-initialize_connection": {"connector": 1}}`, `{"os-terminate_connection": {}}`,
		`{"os-reset_status": {"status": 1, "attach_status": 2}}`, `{"os-reset_status": null}`, `{"os-set_bootable": {"bootable": []}}`,
		`{"os-update_readonly_flag": {"readonly": "x"}}`, `{"revert": {"snapshot_id": 1}}`, `{"os-set_image_metadata": {"metadata": 1}}`,
		`{"os-unset_image_metadata": {"key": 1}}`, `{"os-show_image_metadata": null}`, `{"os-force_delete": {}}`, `{"os-force_detach": 1}`,
		`{"os-complete": 1}`, `{"os-update_snapshot_status": {"status": []}}`,
		`{"attachment": {"volume_uuid": 1, "instance_uuid": [], "connector": "x", "mode": 1}}`, `{"attachment": {"connector": {}}}`,
		`{"volume_type": {"name": 1, "extra_specs": {"a b!": 1}, "os-volume-type-access:is_public": "x"}}`, `{"volume_type": {"name": "", "is_public": 1}}`,
		`{"extra_specs": {"a": 1}}`, `{"extra_specs": []}`, `{"a": null}`, `{"addProjectAccess": {"project": 1}}`, `{"removeProjectAccess": null}`,
		`{"quota_set": {"volumes": "x", "nope": 1}}`, `{"quota_set": {"shares": -5, "force": "x"}}`, `{"quota_set": 1}`,
		`{"share": 1}`, `{"share": {"share_proto": 1, "size": "x", "metadata": 1, "is_public": "maybe", "share_type": 2, "share_network_id": 3}}`,
		`{"share": {"share_proto": "NFS", "size": 1, "availability_zone": 1, "snapshot_id": 2, "share_group_id": 3}}`,
		`{"share": {"display_name": 1, "is_public": []}}`, `{"allow_access": null}`, `{"allow_access": {"access_type": 1, "access_to": 2, "access_level": 3, "metadata": 4}}`,
		`{"allow_access": {"access_type": "ip", "access_to": "::1/200"}}`, `{"os-allow_access": {"access_type": "user", "access_to": "a"}}`,
		`{"deny_access": {"access_id": 1}}`, `{"access_list": 1}`, `{"extend": {"new_size": "x", "force": "y"}}`, `{"shrink": {"new_size": []}}`,
		`{"reset_status": {"status": 1}}`, `{"force_delete": 1}`, `{"share_type": {"name": 1, "extra_specs": 2}}`,
		`{"share_type": {"name": "t", "extra_specs": {"driver_handles_share_servers": "maybe"}, "share_type_access:is_public": "x"}}`,
		`{"share_network": {"name": 1, "neutron_net_id": [], "availability_zone": 2}}`, `{"share_network": {"nova_net_id": "x"}}`}
	paths := []string{
		"/volume/", "/volume/v3/", vol + "/volumes", vol + "/volumes/detail", vol + "/volumes/summary", vol + "/volumes/" + volID,
		vol + "/volumes/nope", vol + "/volumes/" + volID + "/action", vol + "/volumes/" + volID + "/metadata", vol + "/volumes/" + volID + "/metadata/a",
		vol + "/snapshots", vol + "/snapshots/" + snapID, vol + "/snapshots/" + snapID + "/action", vol + "/snapshots/" + snapID + "/metadata",
		vol + "/snapshots/" + snapID + "/metadata/a", vol + "/types", vol + "/types/" + typeID, vol + "/types/" + typeID + "/action",
		vol + "/types/" + typeID + "/extra_specs", vol + "/types/" + typeID + "/extra_specs/a", vol + "/types/" + typeID + "/os-volume-type-access",
		vol + "/attachments", vol + "/attachments/" + attID, vol + "/attachments/" + attID + "/action", vol + "/backups", vol + "/backups/" + backupID,
		vol + "/backups/" + backupID + "/restore", vol + "/backups/" + backupID + "/action", vol + "/os-quota-sets/" + pid,
		vol + "/os-quota-sets/" + pid + "/defaults", vol + "/limits", vol + "/os-availability-zone", vol + "/extensions", vol + "/volumes?limit=x&sort=a:b",
		vol + "/volumes?marker=nope&offset=-1", vol + "/volumes/detail?metadata={x", "/volume/v3/other/volumes",
		"/share/", "/share/v2/", share + "/shares", share + "/shares/detail?limit=x", share + "/shares/" + shareID, share + "/shares/nope",
		share + "/shares/" + shareID + "/action", share + "/shares/" + shareID + "/metadata", share + "/shares/" + shareID + "/metadata/a",
		share + "/shares/" + shareID + "/export_locations", share + "/shares/" + shareID + "/export_locations/nope",
		share + "/share-access-rules?share_id=" + shareID + "&metadata={x", share + "/share-access-rules/" + ruleID,
		share + "/share-access-rules/" + ruleID + "/metadata", share + "/share-access-rules/" + ruleID + "/metadata/a",
		share + "/types", share + "/types/default", share + "/types/" + shareTypeID, share + "/types/" + shareTypeID + "/action",
		share + "/types/" + shareTypeID + "/extra_specs", share + "/types/" + shareTypeID + "/extra_specs/a",
		share + "/types/" + shareTypeID + "/share_type_access", share + "/share-networks", share + "/share-networks/" + netID,
		share + "/quota-sets/" + pid, share + "/quota-sets/" + pid + "/detail", share + "/os-quota-sets/" + pid, share + "/limits",
		share + "/availability-zones", share + "/shares?sort_dir=x&offset=y",
	}
	headers := [][]string{
		{"OpenStack-API-Version", "volume 3.0", "X-OpenStack-Manila-API-Version", "2.0"},
		{"OpenStack-API-Version", "volume 3.70", "X-OpenStack-Manila-API-Version", "2.73"},
	}
	for _, p := range paths {
		resp, _ := call(t, c, demo, "POST", p, "{}", "OpenStack-API-Version", "volume x", "X-OpenStack-Manila-API-Version", "x.y")
		if resp.StatusCode >= http.StatusInternalServerError {
			t.Errorf("POST %s with a malformed version: %d", p, resp.StatusCode)
		}
	}
	// Deletes last, so the other methods find the resources.
	for _, m := range []string{"GET", "POST", "PUT", "DELETE"} {
		for _, tok := range []string{demo, admin} {
			for _, p := range paths {
				p = strings.Replace(p, "/"+pid+"/", "/"+project(tok)+"/", 1)
				for _, b := range bodies {
					for _, h := range headers {
						resp, _ := call(t, c, tok, m, p, b, h...)
						if resp.StatusCode >= http.StatusInternalServerError {
							t.Errorf("%s %s %q %v: %d", m, p, b, h, resp.StatusCode)
						}
					}
				}
			}
		}
	}
}

// TestCinderManilaStateSurvivesRestart: volumes, snapshots, access rules
// and quotas come back from -state with their statuses.
func TestCinderManilaStateSurvivesRestart(t *testing.T) {
	file := filepath.Join(t.TempDir(), "state.json")
	c := start(t, Options{StateFile: file})
	cr := c.Credentials()
	demo := token(t, c, "demo", cr.DemoPassword)
	_, body := call(t, c, demo, "GET", "/v3/auth/tokens", nil, "X-Subject-Token", demo)
	var tok struct {
		Token struct{ Project struct{ ID string } }
	}
	_ = json.Unmarshal([]byte(body), &tok)
	pid := tok.Token.Project.ID
	_, body = call(t, c, demo, "POST", "/volume/v3/"+pid+"/volumes", map[string]any{"volume": map[string]any{"size": 1, "name": "kept"}})
	var v struct{ Volume struct{ ID string } }
	_ = json.Unmarshal([]byte(body), &v)
	_, body = call(t, c, demo, "POST", "/share/v2/"+pid+"/shares", map[string]any{"share": map[string]any{"share_proto": "NFS", "size": 1}})
	var sh struct{ Share struct{ ID string } }
	_ = json.Unmarshal([]byte(body), &sh)
	resp, body := call(t, c, demo, "POST", "/share/v2/"+pid+"/shares/"+sh.Share.ID+"/action",
		map[string]any{"allow_access": map[string]any{"access_type": "ip", "access_to": "10.0.0.0/8"}}, "X-OpenStack-Manila-API-Version", "2.7")
	if v.Volume.ID == "" || sh.Share.ID == "" || resp.StatusCode != 200 {
		t.Fatalf("setup: %d %s", resp.StatusCode, body)
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	c2 := start(t, Options{StateFile: file})
	demo = token(t, c2, "demo", cr.DemoPassword)
	if resp, body := call(t, c2, demo, "GET", "/volume/v3/"+pid+"/volumes/"+v.Volume.ID, nil); resp.StatusCode != 200 ||
		!strings.Contains(body, `"status":"available"`) || !strings.Contains(body, `"name":"kept"`) {
		t.Errorf("volume after restart: %d %s", resp.StatusCode, body)
	}
	resp, body = call(t, c2, demo, "POST", "/share/v2/"+pid+"/shares/"+sh.Share.ID+"/action", map[string]any{"access_list": nil},
		"X-OpenStack-Manila-API-Version", "2.7")
	if resp.StatusCode != 200 || !strings.Contains(body, `"access_to":"10.0.0.0/8"`) {
		t.Errorf("access rules after restart: %d %s", resp.StatusCode, body)
	}
}
