package emulator

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func start(t *testing.T, o Options) *Cloud {
	t.Helper()
	if o.Listen == "" {
		o.Listen = "127.0.0.1:0"
	}
	c, err := Start(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = c.Close()
		for _, p := range c.Problems() {
			t.Errorf("internal error: %s", p)
		}
	})
	return c
}

func call(t *testing.T, c *Cloud, token, method, path string, body any, hdr ...string) (*http.Response, string) {
	t.Helper()
	var rd io.Reader
	if s, ok := body.(string); ok {
		rd = strings.NewReader(s)
	} else if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, c.URL()+path, rd)
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("X-Auth-Token", token)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

func token(t *testing.T, c *Cloud, user, password string) string {
	t.Helper()
	resp, body := call(t, c, "", "POST", "/v3/auth/tokens", map[string]any{"auth": map[string]any{
		"identity": map[string]any{"methods": []string{"password"}, "password": map[string]any{"user": map[string]any{
			"name": user, "domain": map[string]any{"name": "Default"}, "password": password}}},
		"scope": map[string]any{"project": map[string]any{"name": user, "domain": map[string]any{"id": "default"}}}}})
	if resp.StatusCode != 201 {
		t.Fatalf("token: %d %s", resp.StatusCode, body)
	}
	return resp.Header.Get("X-Subject-Token")
}

func TestCheckLoopback(t *testing.T) {
	for _, tc := range []struct {
		listen string
		remote bool
		ok     bool
	}{
		{"127.0.0.1:5000", false, true},
		{"localhost:0", false, true},
		{"[::1]:5000", false, true},
		{"0.0.0.0:5000", false, false},
		{":5000", false, false},
		{"10.1.2.3:5000", false, false},
		{"0.0.0.0:5000", true, true},
		{"nonsense", false, false},
	} {
		if err := checkLoopback(tc.listen, tc.remote); (err == nil) != tc.ok {
			t.Errorf("checkLoopback(%q, %v) = %v", tc.listen, tc.remote, err)
		}
	}
}

func TestStateSurvivesRestart(t *testing.T) {
	file := filepath.Join(t.TempDir(), "state.json")
	c1, err := Start(context.Background(), Options{Listen: "127.0.0.1:0", StateFile: file})
	if err != nil {
		t.Fatal(err)
	}
	creds := c1.Credentials()
	tok := token(t, c1, "demo", creds.DemoPassword)
	resp, body := call(t, c1, tok, "POST", "/image/v2/images", map[string]any{"name": "kept", "disk_format": "raw", "container_format": "bare"})
	if resp.StatusCode != 201 {
		t.Fatalf("create: %d %s", resp.StatusCode, body)
	}
	if err := c1.Close(); err != nil {
		t.Fatal(err)
	}
	c2 := start(t, Options{StateFile: file})
	if c2.Credentials() != creds {
		t.Error("the built-in credentials changed across a restart: clouds.yaml would break")
	}
	resp, body = call(t, c2, tok, "GET", "/image/v2/images?name=kept", nil)
	if resp.StatusCode != 200 || !strings.Contains(body, `"name":"kept"`) {
		t.Errorf("after restart (same token): %d %s", resp.StatusCode, body)
	}
}

func TestAdminAPI(t *testing.T) {
	c := start(t, Options{})
	cr := c.Credentials()
	admin, demo := token(t, c, "admin", cr.AdminPassword), token(t, c, "demo", cr.DemoPassword)
	if resp, _ := call(t, c, "", "GET", "/_emulator/resources", nil); resp.StatusCode != 401 {
		t.Errorf("no token: %d", resp.StatusCode)
	}
	if resp, _ := call(t, c, demo, "GET", "/_emulator/resources", nil); resp.StatusCode != 403 {
		t.Errorf("demo: %d", resp.StatusCode)
	}
	resp, body := call(t, c, demo, "POST", "/image/v2/images", map[string]any{"name": "mine"})
	if resp.StatusCode != 201 {
		t.Fatal(body)
	}
	resp, body = call(t, c, admin, "GET", "/_emulator/resources?type=image", nil)
	if resp.StatusCode != 200 || !strings.Contains(body, `"name":"mine"`) || !strings.Contains(body, `"service":"glance"`) {
		t.Errorf("resources: %d %s", resp.StatusCode, body)
	}

	// A fault for one request: 503 with a body, then the service again.
	resp, body = call(t, c, admin, "POST", "/_emulator/faults", map[string]any{"fault": map[string]any{
		"method": "GET", "path": "/image/v2/images", "status": 503, "body": map[string]any{"oops": true}, "count": 1}})
	if resp.StatusCode != 201 {
		t.Fatalf("add fault: %d %s", resp.StatusCode, body)
	}
	if resp, body = call(t, c, demo, "GET", "/image/v2/images", nil); resp.StatusCode != 503 || body != `{"oops":true}` {
		t.Errorf("faulted: %d %s", resp.StatusCode, body)
	}
	if resp, _ = call(t, c, demo, "GET", "/image/v2/images", nil); resp.StatusCode != 200 {
		t.Errorf("after the fault's count: %d", resp.StatusCode)
	}
	// A delay-only fault.
	call(t, c, admin, "POST", "/_emulator/faults", map[string]any{"fault": map[string]any{"path": "/image/**", "delay": "300ms"}})
	t0 := time.Now()
	if resp, _ = call(t, c, demo, "GET", "/image/v2/images", nil); resp.StatusCode != 200 || time.Since(t0) < 300*time.Millisecond {
		t.Errorf("delay fault: %d after %s", resp.StatusCode, time.Since(t0))
	}
	if resp, body = call(t, c, admin, "POST", "/_emulator/faults", map[string]any{"fault": map[string]any{"path": "x", "status": 500}}); resp.StatusCode != 400 {
		t.Errorf("bad fault: %d %s", resp.StatusCode, body)
	}
	if resp, body = call(t, c, admin, "POST", "/_emulator/faults", map[string]any{"fault": map[string]any{"path": "/x", "status": 500, "bogus": 1}}); resp.StatusCode != 400 {
		t.Errorf("unknown field in a fault: %d %s", resp.StatusCode, body)
	}

	// Reset: demo's image is gone, the cirros image and the tokens stay.
	if resp, body = call(t, c, admin, "POST", "/_emulator/reset", nil); resp.StatusCode != 204 {
		t.Fatalf("reset: %d %s", resp.StatusCode, body)
	}
	resp, body = call(t, c, demo, "GET", "/image/v2/images", nil)
	if resp.StatusCode != 200 || strings.Contains(body, `"mine"`) || !strings.Contains(body, "cirros") {
		t.Errorf("after reset: %d %s", resp.StatusCode, body)
	}
	if resp, body = call(t, c, admin, "GET", "/_emulator/faults", nil); !strings.Contains(body, `"faults":[]`) {
		t.Errorf("faults after reset: %s", body)
	}
}

// TestGarbageNeverAnswers500 sends malformed bodies, ids and headers to
// every route shape of the services: none may answer 500 (start's
// cleanup fails the test on any internal error).
func TestGarbageNeverAnswers500(t *testing.T) {
	c := start(t, Options{})
	cr := c.Credentials()
	demo := token(t, c, "demo", cr.DemoPassword)
	user := ""
	if resp, body := call(t, c, demo, "GET", "/v3/auth/tokens", nil, "X-Subject-Token", demo); resp.StatusCode == 200 {
		var v struct {
			Token struct{ User struct{ ID string } }
		}
		_ = json.Unmarshal([]byte(body), &v)
		user = v.Token.User.ID
	}
	bodies := []string{"", "{", "[]", "null", `"x"`, "1", `{"auth": 1}`, `{"auth": {"identity": {"methods": ["password"], "password": {"user": {}}}}}`,
		`{"auth": {"identity": {"methods": ["token"], "token": {}}, "scope": "x"}}`, `{"application_credential": {"name": 1}}`,
		`{"application_credential": {"name": "n", "access_rules": [{"path": "no-slash", "method": "GET", "service": "image"}]}}`,
		`{"name": {"a": 1}, "tags": "x", "min_ram": -1}`, `[{"op": "add"}]`, `[{"op": "add", "path": "/a/b", "value": 1}]`,
		`{"project": {"name": ""}}`, `{"user": {"name": "u", "domain_id": "nope"}}`, `{"role": {}}`}
	paths := []string{"/v3/auth/tokens", "/v3/projects", "/v3/users", "/v3/roles", "/v3/users/" + user + "/application_credentials",
		"/v3/projects/nope", "/v3/users/nope", "/image/v2/images", "/image/v2/images/nope", "/image/v2/images/nope/members",
		"/image/v2/images/nope/file", "/image/v2/images/nope/tags/x", "/image/v2/images/%zz", "/v3/%2e%2e/etc"}
	for _, p := range paths {
		for _, m := range []string{"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD"} {
			for _, b := range bodies {
				req, err := http.NewRequest(m, c.URL()+p, strings.NewReader(b))
				if err != nil {
					continue
				}
				req.Header.Set("X-Auth-Token", demo)
				req.Header.Set("Content-Type", "application/openstack-images-v2.1-json-patch")
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				if resp.StatusCode >= 500 {
					t.Errorf("%s %s %q: %d", m, p, b, resp.StatusCode)
				}
			}
		}
	}
}

// TestResetAfterRestore: a reset after a restart with -state brings back
// the start state of the identities the state file (and so clouds.yaml)
// holds: the same passwords, application credential and project ids, the
// tokens issued before the reset, and Neutron's private networks for those
// projects; what was made since is gone.
func TestResetAfterRestore(t *testing.T) {
	file := filepath.Join(t.TempDir(), "state.json")
	c1 := start(t, Options{StateFile: file})
	creds := c1.Credentials()
	demo := token(t, c1, "demo", creds.DemoPassword)
	if resp, body := call(t, c1, demo, "POST", "/image/v2/images", map[string]any{"name": "made"}); resp.StatusCode != 201 {
		t.Fatalf("create: %d %s", resp.StatusCode, body)
	}
	if err := c1.Close(); err != nil {
		t.Fatal(err)
	}

	c2 := start(t, Options{StateFile: file})
	admin := token(t, c2, "admin", creds.AdminPassword)
	if resp, body := call(t, c2, admin, "POST", "/_emulator/reset", nil); resp.StatusCode != 204 {
		t.Fatalf("reset: %d %s", resp.StatusCode, body)
	}
	if c2.Credentials() != creds {
		t.Errorf("the reset changed the built-in credentials: clouds.yaml would break")
	}
	for _, u := range []struct{ name, pw string }{{"demo", creds.DemoPassword}, {"alt", creds.AltPassword}, {"admin", creds.AdminPassword}} {
		token(t, c2, u.name, u.pw)
	}
	resp, body := call(t, c2, "", "POST", "/v3/auth/tokens", map[string]any{"auth": map[string]any{"identity": map[string]any{
		"methods": []string{"application_credential"}, "application_credential": map[string]any{"id": creds.AppCredID, "secret": creds.AppCredSecret}}}})
	if resp.StatusCode != 201 {
		t.Errorf("the application credential after a reset: %d %s", resp.StatusCode, body)
	}
	if resp, body := call(t, c2, demo, "GET", "/image/v2/images?name=made", nil); resp.StatusCode != 200 || strings.Contains(body, `"made"`) {
		t.Errorf("a token from before the restart and the reset, images: %d %s", resp.StatusCode, body)
	}
	if resp, body := call(t, c2, demo, "GET", "/networking/v2.0/networks?name=private", nil); resp.StatusCode != 200 || !strings.Contains(body, `"name":"private"`) {
		t.Errorf("demo's private network after the reset: %d %s", resp.StatusCode, body)
	}
}

// TestRestoreWithoutNeutron: a state file saved by an emulator without
// Neutron (no "neutron" in it) restores projects that get Neutron's start
// networks, and keep them through a reset.
func TestRestoreWithoutNeutron(t *testing.T) {
	file := filepath.Join(t.TempDir(), "state.json")
	c1 := start(t, Options{StateFile: file})
	creds := c1.Credentials()
	if err := c1.Close(); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var f map[string]any
	if err := json.Unmarshal(b, &f); err != nil {
		t.Fatal(err)
	}
	delete(f["services"].(map[string]any), "neutron")
	if b, err = json.Marshal(f); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(file, b, 0o600); err != nil {
		t.Fatal(err)
	}
	c2 := start(t, Options{StateFile: file})
	demo, admin := token(t, c2, "demo", creds.DemoPassword), token(t, c2, "admin", creds.AdminPassword)
	check := func(when string) {
		t.Helper()
		for _, tok := range []string{demo, token(t, c2, "alt", creds.AltPassword)} {
			resp, body := call(t, c2, tok, "GET", "/networking/v2.0/routers", nil)
			if resp.StatusCode != 200 || !strings.Contains(body, `"name":"router1"`) {
				t.Errorf("%s: the project's router: %d %s", when, resp.StatusCode, body)
			}
		}
		resp, body := call(t, c2, demo, "GET", "/networking/v2.0/networks?name=private", nil)
		if resp.StatusCode != 200 || !strings.Contains(body, `"name":"private"`) {
			t.Errorf("%s: demo's private network: %d %s", when, resp.StatusCode, body)
		}
	}
	check("restored")
	if resp, body := call(t, c2, admin, "POST", "/_emulator/reset", nil); resp.StatusCode != 204 {
		t.Fatalf("reset: %d %s", resp.StatusCode, body)
	}
	check("after a reset")
}
