package keystone

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/openstack-service-broker/openstack-service-broker/pkg/emulator/core"
)

// rig is Keystone behind its router, as the Cloud mounts it.
type rig struct {
	t   *testing.T
	k   *Keystone
	rt  *core.Router
	now time.Time
}

func newRig(t *testing.T) *rig {
	r := &rig{t: t, now: time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)}
	env := core.NewEnv(core.EnvConfig{Now: func() time.Time { return r.now },
		OnProblem: func(p string) { t.Errorf("internal error: %s", p) }})
	r.k = New(env, Options{TokenTTL: time.Hour})
	r.rt = core.NewRouter(env, r.k.Spec())
	r.k.Routes(r.rt)
	env.Bind(r.rt, "keystone.test", []core.Spec{r.k.Spec()}, r.k)
	return r
}

func (r *rig) do(token, method, path string, body any, hdr ...string) (int, map[string]any, http.Header) {
	r.t.Helper()
	var b []byte
	if body != nil {
		b, _ = json.Marshal(body)
	}
	req := httptest.NewRequest(method, path, bytes.NewReader(b))
	req.Host = "keystone.test"
	if token != "" {
		req.Header.Set("X-Auth-Token", token)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	w := httptest.NewRecorder()
	r.rt.ServeHTTP(w, req)
	var out map[string]any
	_ = json.Unmarshal(w.Body.Bytes(), &out)
	return w.Code, out, w.Header()
}

func (r *rig) login(user, password string) string {
	r.t.Helper()
	code, body, h := r.do("", "POST", "/v3/auth/tokens", map[string]any{"auth": map[string]any{
		"identity": map[string]any{"methods": []string{"password"}, "password": map[string]any{"user": map[string]any{
			"name": user, "domain": map[string]any{"id": "default"}, "password": password}}},
		"scope": map[string]any{"project": map[string]any{"name": user, "domain": map[string]any{"name": "Default"}}}}})
	if code != 201 {
		r.t.Fatalf("login %s: %d %v", user, code, body)
	}
	return h.Get("X-Subject-Token")
}

func TestTokensFollowTheState(t *testing.T) {
	r := newRig(t)
	c := r.k.Clouds()
	admin, demo := r.login("admin", c.AdminPassword), r.login("demo", c.DemoPassword)
	id, err := r.k.ValidateToken(context.Background(), demo)
	if err != nil || id.ProjectName != "demo" || !id.HasRole("member") || !id.HasRole("reader") || id.IsAdmin() {
		t.Fatalf("demo's identity: %+v %v", id, err)
	}
	// The start application credential authenticates, scoped to demo, restricted.
	code, body, h := r.do("", "POST", "/v3/auth/tokens", map[string]any{"auth": map[string]any{"identity": map[string]any{
		"methods": []string{"application_credential"}, "application_credential": map[string]any{"id": c.AppCredID, "secret": c.AppCredSecret}}}})
	if code != 201 {
		t.Fatalf("application credential auth: %d %v", code, body)
	}
	acTok := h.Get("X-Subject-Token")
	if ac := body["token"].(map[string]any)["application_credential"].(map[string]any); ac["restricted"] != true {
		t.Errorf("token's application_credential: %v", ac)
	}
	// Removing demo's member role revokes both tokens.
	var member, project, user string
	_ = r.k.state.View(func(s *state) error {
		member = s.roleByName("member")
		for _, a := range s.Assignments {
			if s.Users[a.UserID].Name == "demo" {
				project, user = a.ProjectID, a.UserID
			}
		}
		return nil
	})
	if code, body, _ := r.do(admin, "DELETE", "/v3/projects/"+project+"/users/"+user+"/roles/"+member, nil); code != 204 {
		t.Fatalf("revoke grant: %d %v", code, body)
	}
	for name, tok := range map[string]string{"password": demo, "application credential": acTok} {
		if _, err := r.k.ValidateToken(context.Background(), tok); err == nil {
			t.Errorf("%s token still valid after the role was removed", name)
		}
	}
	// Expiry.
	r.now = r.now.Add(time.Hour)
	if _, err := r.k.ValidateToken(context.Background(), admin); err == nil {
		t.Error("a token past its expiry is valid")
	}
}

func TestAuthErrors(t *testing.T) {
	r := newRig(t)
	for _, tc := range []struct {
		body any
		code int
	}{
		{map[string]any{}, 400},
		{map[string]any{"auth": map[string]any{"identity": map[string]any{"methods": []string{}}}}, 400},
		{map[string]any{"auth": map[string]any{"identity": map[string]any{"methods": []string{"password"},
			"password": map[string]any{"user": map[string]any{"name": "demo", "domain": map[string]any{"id": "default"}, "password": "wrong"}}}}}, 401},
		{map[string]any{"auth": map[string]any{"identity": map[string]any{"methods": []string{"password"},
			"password": map[string]any{"user": map[string]any{"name": "demo", "domain": map[string]any{"id": "default"}, "password": r.k.Clouds().DemoPassword}}},
			"scope": map[string]any{"project": map[string]any{"name": "alt", "domain": map[string]any{"id": "default"}}}}}, 401},
		{map[string]any{"auth": map[string]any{"identity": map[string]any{"methods": []string{"totp"}}}}, 401},
	} {
		if code, body, _ := r.do("", "POST", "/v3/auth/tokens", tc.body); code != tc.code || body["error"] == nil {
			t.Errorf("%v: %d %v, want %d", tc.body, code, body, tc.code)
		}
	}
}

// TestResetKeepsTheBuiltins: a reset rebuilds the start state with the
// built-in identities' ids and credentials, also when a built-in project
// was deleted or a password changed, and drops what was made since; a
// state saved before the ids were recorded finds them by name.
func TestResetKeepsTheBuiltins(t *testing.T) {
	r := newRig(t)
	c := r.k.Clouds()
	admin := r.login("admin", c.AdminPassword)
	demoID := r.k.ProjectID("demo")
	if code, body, _ := r.do(admin, "DELETE", "/v3/projects/"+demoID, nil); code != 204 {
		t.Fatalf("delete demo: %d %v", code, body)
	}
	if code, body, _ := r.do(admin, "POST", "/v3/users", map[string]any{"user": map[string]any{"name": "extra", "password": "x"}}); code != 201 {
		t.Fatalf("create user: %d %v", code, body)
	}
	if err := r.k.Reset(nil); err != nil {
		t.Fatal(err)
	}
	if r.k.Clouds() != c || r.k.ProjectID("demo") != demoID {
		t.Errorf("after a reset: credentials or the demo project's id changed")
	}
	r.login("demo", c.DemoPassword)
	if code, body, _ := r.do(admin, "GET", "/v3/users?name=extra", nil); code != 200 || len(body["users"].([]any)) != 0 {
		t.Errorf("a user made before the reset: %d %v", code, body)
	}
	// A state from before Builtin was recorded.
	_ = r.k.state.Update(func(s *state) error { s.Builtin = Builtin{}; return nil })
	if err := r.k.Reset(nil); err != nil {
		t.Fatal(err)
	}
	if r.k.Clouds() != c || r.k.ProjectID("demo") != demoID {
		t.Errorf("after a reset of a state without its built-in ids: credentials or the demo project's id changed")
	}
}
