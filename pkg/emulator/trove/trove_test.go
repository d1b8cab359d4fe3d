package trove

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/openstack-service-broker/openstack-service-broker/pkg/emulator/core"
)

// The emulator's real-client tests (test/emulator) run Trove alone; these
// tests put fake Nova and Neutron beside it to check what Trove does with
// them: Nova's flavors, a port per instance on the network asked for,
// ERROR when Neutron refuses the port, the port deleted with the instance.

type fakeTokens struct{}

func (fakeTokens) ValidateToken(_ context.Context, tok string) (*core.Identity, error) {
	return &core.Identity{Token: tok, UserID: "u1", ProjectID: "p1", Roles: []string{"member", "reader"}}, nil
}

// fakeCloud routes /database to Trove and /compute, /networking to fakes
// that record what they were asked.
type fakeCloud struct {
	tr    *Trove
	trove http.Handler
	mu    sync.Mutex
	calls []string
	nova  http.HandlerFunc
}

func (f *fakeCloud) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	f.calls = append(f.calls, r.Method+" "+r.URL.Path)
	f.mu.Unlock()
	switch {
	case strings.HasPrefix(r.URL.Path, "/database"):
		full := r.URL.Path
		r2 := r.WithContext(core.WithPaths(r.Context(), full, "/database"))
		u := *r.URL
		u.Path = strings.TrimPrefix(full, "/database")
		r2.URL = &u
		f.trove.ServeHTTP(w, r2)
	case strings.HasPrefix(r.URL.Path, "/compute"):
		f.nova(w, r)
	case r.Method == "POST" && r.URL.Path == "/networking/v2.0/ports":
		var body struct {
			Port map[string]any `json:"port"`
		}
		_ = json.NewDecoder(r.Body).Decode(&body)
		if body.Port["network_id"] == "00000000-0000-0000-0000-00000000dead" {
			core.WriteJSON(w, 404, map[string]any{"NeutronError": map[string]any{"type": "NetworkNotFound", "message": "Network dead could not be found.", "detail": ""}})
			return
		}
		if !strings.HasPrefix(body.Port["name"].(string), "trove-") {
			core.WriteJSON(w, 400, map[string]any{"NeutronError": map[string]any{"message": "bad name"}})
			return
		}
		core.WriteJSON(w, 201, map[string]any{"port": map[string]any{"id": "port-1", "network_id": body.Port["network_id"],
			"fixed_ips": []any{map[string]any{"subnet_id": "s1", "ip_address": "192.168.7.20"}}}})
	case r.Method == "DELETE" && strings.HasPrefix(r.URL.Path, "/networking/v2.0/ports/"):
		w.WriteHeader(204)
	default:
		http.NotFound(w, r)
	}
}

func (f *fakeCloud) called(call string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, c := range f.calls {
		if c == call {
			return true
		}
	}
	return false
}

func newFake(t *testing.T, delay time.Duration) (*fakeCloud, *[]string) {
	t.Helper()
	var problems []string
	env := core.NewEnv(core.EnvConfig{Delay: delay, OnProblem: func(p string) { problems = append(problems, p) }})
	tr := New(env)
	rt := core.NewRouter(env, tr.Spec())
	tr.Routes(rt)
	f := &fakeCloud{tr: tr, trove: rt, nova: func(w http.ResponseWriter, r *http.Request) {
		core.WriteJSON(w, 200, map[string]any{"flavors": []any{
			map[string]any{"id": "42", "name": "m1.db", "ram": 2048, "vcpus": 2, "disk": 20, "OS-FLV-EXT-DATA:ephemeral": 0},
			map[string]any{"id": "e1", "name": "m1.eph", "ram": 2048, "vcpus": 2, "disk": 20, "OS-FLV-EXT-DATA:ephemeral": 10},
		}})
	}}
	env.Bind(f, "127.0.0.1:1", []core.Spec{tr.Spec(), {Name: "nova", Type: "compute", Prefix: "/compute"},
		{Name: "neutron", Type: "network", Prefix: "/networking"}}, fakeTokens{})
	t.Cleanup(func() {
		if len(problems) > 0 {
			t.Errorf("internal errors: %v", problems)
		}
	})
	return f, &problems
}

func (f *fakeCloud) do(t *testing.T, method, path string, body any) (int, map[string]any) {
	t.Helper()
	var rd *strings.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = strings.NewReader(string(b))
	} else {
		rd = strings.NewReader("")
	}
	req := httptest.NewRequest(method, "http://127.0.0.1:1/database/v1.0/p1"+path, rd)
	req.Header.Set("X-Auth-Token", "tok")
	req.Header.Set("Content-Type", "application/json")
	rec := httptest.NewRecorder()
	f.ServeHTTP(rec, req)
	var out map[string]any
	_ = json.Unmarshal(rec.Body.Bytes(), &out)
	return rec.Code, out
}

func TestFlavorsComeFromNova(t *testing.T) {
	f, _ := newFake(t, 0)
	code, out := f.do(t, "GET", "/flavors", nil)
	if code != 200 || len(out["flavors"].([]any)) != 2 {
		t.Fatalf("flavors: %d %v", code, out)
	}
	fl := out["flavors"].([]any)[0].(map[string]any)
	if fl["id"] != float64(42) || fl["str_id"] != "42" || fl["name"] != "m1.db" || fl["ram"] != float64(2048) {
		t.Errorf("flavor: %v", fl)
	}
	if !f.called("GET /compute/v2.1/flavors/detail") {
		t.Error("Nova was not asked")
	}
	code, out = f.do(t, "GET", "/flavors/e1", nil)
	if code != 200 || out["flavor"].(map[string]any)["id"] != nil || out["flavor"].(map[string]any)["ephemeral"] != float64(10) {
		t.Errorf("a flavor with a non-integer id: %d %v", code, out)
	}
	// Nova failing is a 4xx from Trove, never a 500.
	f.nova = func(w http.ResponseWriter, r *http.Request) {
		core.WriteJSON(w, 503, map[string]any{"computeFault": map[string]any{}})
	}
	if code, out = f.do(t, "GET", "/flavors", nil); code != 400 {
		t.Errorf("Nova down: %d %v", code, out)
	}
}

func TestInstanceGetsAPortAndLosesIt(t *testing.T) {
	f, _ := newFake(t, 0)
	code, out := f.do(t, "POST", "/instances", map[string]any{"instance": map[string]any{"name": "db", "flavorRef": "42",
		"volume": map[string]any{"size": 1}, "nics": []any{map[string]any{"net-id": "11111111-2222-3333-4444-555555555555"}}}})
	if code != 200 {
		t.Fatalf("create: %d %v", code, out)
	}
	id := out["instance"].(map[string]any)["id"].(string)
	if !f.called("POST /networking/v2.0/ports") {
		t.Error("no port was created")
	}
	code, out = f.do(t, "GET", "/instances/"+id, nil)
	inst := out["instance"].(map[string]any)
	if code != 200 || inst["status"] != "ACTIVE" || len(inst["ip"].([]any)) != 1 || inst["ip"].([]any)[0] != "192.168.7.20" {
		t.Errorf("show: %d %v", code, inst)
	}
	addr := inst["addresses"].([]any)[0].(map[string]any)
	if addr["network"] != "11111111-2222-3333-4444-555555555555" || addr["type"] != "private" {
		t.Errorf("address: %v", addr)
	}
	// An ephemeral flavor cannot be resized to (volume support).
	if code, out = f.do(t, "POST", "/instances/"+id+"/action", map[string]any{"resize": map[string]any{"flavorRef": "e1"}}); code != 400 {
		t.Errorf("resize to an ephemeral flavor: %d %v", code, out)
	}
	if code, _ = f.do(t, "DELETE", "/instances/"+id, nil); code != 202 {
		t.Fatalf("delete: %d", code)
	}
	if !f.called("DELETE /networking/v2.0/ports/port-1") {
		t.Error("the port was not deleted with the instance")
	}
	if code, _ = f.do(t, "GET", "/instances/"+id, nil); code != 404 {
		t.Errorf("after delete: %d", code)
	}
}

func TestRefusedPortLeavesInstanceInError(t *testing.T) {
	f, _ := newFake(t, 20*time.Millisecond)
	code, out := f.do(t, "POST", "/instances", map[string]any{"instance": map[string]any{"name": "db", "flavorRef": "42",
		"volume": map[string]any{"size": 1}, "nics": []any{map[string]any{"network_id": "00000000-0000-0000-0000-00000000dead"}}}})
	if code != 200 || out["instance"].(map[string]any)["status"] != "BUILD" {
		t.Fatalf("create: %d %v", code, out)
	}
	id := out["instance"].(map[string]any)["id"].(string)
	time.Sleep(30 * time.Millisecond)
	_, out = f.do(t, "GET", "/instances/"+id, nil)
	inst := out["instance"].(map[string]any)
	fault, _ := inst["fault"].(map[string]any)
	if inst["status"] != "ERROR" || fault == nil || !strings.Contains(fault["message"].(string), "Failed to create User port for instance "+id) ||
		!strings.Contains(fault["message"].(string), ": Network dead could not be found.") {
		t.Errorf("instance after a refused port: %v", inst)
	}
	// An instance in ERROR can be deleted.
	if code, _ = f.do(t, "DELETE", "/instances/"+id, nil); code != 202 {
		t.Errorf("delete in ERROR: %d", code)
	}
}

func TestValidationMessages(t *testing.T) {
	f, _ := newFake(t, 0)
	for _, c := range []struct {
		body any
		code int
		msg  string
	}{
		{map[string]any{}, 400, "Validation error: 'instance' is a required property"},
		{map[string]any{"instance": map[string]any{"flavorRef": "42"}}, 400, "Validation error: instance 'name' is a required property"},
		{map[string]any{"instance": map[string]any{"name": "x", "flavorRef": "42", "volume": map[string]any{"size": 0}}}, 400,
			"Validation error: instance['volume']['size'] 0 is not valid under any of the given schemas"},
		{map[string]any{"instance": map[string]any{"name": "x", "flavorRef": "42", "volume": map[string]any{"size": 11}}}, 413,
			"Volume 'size' cannot exceed maximum of 10 GB, 11 cannot be accepted."},
		{map[string]any{"instance": map[string]any{"name": "x", "flavorRef": "99", "volume": map[string]any{"size": 1}}}, 400,
			"Resource 99 cannot be found."},
		{map[string]any{"instance": map[string]any{"name": "x", "flavorRef": "42", "volume": map[string]any{"size": 1},
			"nics": []any{map[string]any{"net-id": "nope"}}}}, 400, "Validation error: instance['nics'][0]['net-id'] 'nope' does not match"},
		{map[string]any{"instance": map[string]any{"name": "x", "flavorRef": "42", "volume": map[string]any{"size": 1},
			"datastore": map[string]any{"type": "mysql", "version": "9.9"}}}, 400, "Datastore version '9.9' cannot be found."},
		{map[string]any{"instance": map[string]any{"name": "x", "flavorRef": "42", "volume": map[string]any{"size": 1},
			"users": []any{map[string]any{"name": "root", "password": "x"}}}}, 400, "is on the reserved list: ['os_admin', 'root']."},
		{map[string]any{"instance": map[string]any{"name": "x", "flavorRef": "42", "volume": map[string]any{"size": 1},
			"databases": []any{map[string]any{"name": "ab", "collate": "nope"}}}}, 400, "'nope' not a valid collation."},
	} {
		code, out := f.do(t, "POST", "/instances", c.body)
		b, _ := json.Marshal(out)
		if code != c.code || !strings.Contains(string(b), c.msg) {
			t.Errorf("%v: %d %s, want %d %q", c.body, code, b, c.code, c.msg)
		}
	}
}

func TestUserNamesAndHosts(t *testing.T) {
	for _, c := range []struct {
		name string
		ok   bool
	}{{"app", true}, {"a-b_c.d", true}, {"has space", true}, {" lead", false}, {"semi;colon", false},
		{"seventeen-chars-x", false}, {"quote'", false}} {
		if got := userName(c.name) == nil; got != c.ok {
			t.Errorf("userName(%q) ok=%v, want %v", c.name, got, c.ok)
		}
	}
	for _, c := range []struct {
		host string
		ok   bool
	}{{"%", true}, {"192.168.%", true}, {"10.0.0.1", true}, {"10.0.0.0/8", true}, {"example.com", false}} {
		if got := validHost(c.host); got != c.ok {
			t.Errorf("validHost(%q) = %v, want %v", c.host, got, c.ok)
		}
	}
	if n, h := splitUser("bob%40192.168.%25"); n != "bob" || h != "192.168.%" {
		t.Errorf("splitUser: %q %q", n, h)
	}
}

// TestGarbageNeverFails sends malformed bodies and ids to every route:
// every answer is a 4xx or a 2xx, never a 500.
func TestGarbageNeverFails(t *testing.T) {
	f, problems := newFake(t, 0)
	_ = f.tr.state.Update(func(s *state) error {
		s.Quotas.Set("p1", "instances", -1)
		s.Quotas.Set("p1", "volumes", -1)
		return nil
	})
	create := func() string {
		code, out := f.do(t, "POST", "/instances", map[string]any{"instance": map[string]any{"name": "db", "flavorRef": "42",
			"volume": map[string]any{"size": 1}, "databases": []any{map[string]any{"name": "app"}},
			"users": []any{map[string]any{"name": "app", "password": "pw", "databases": []any{map[string]any{"name": "app"}}}}}})
		if code != 200 {
			t.Fatalf("create: %d %v", code, out)
		}
		return out["instance"].(map[string]any)["id"].(string)
	}
	bodies := []string{"", "{", "[]", "null", "1", `"x"`, `{"x": 1}`, `{"instance": []}`, `{"instance": {"name": 5}}`,
		`{"instance": {"name": "n", "flavorRef": [], "volume": "x"}}`, `{"instance": {"name": "n", "flavorRef": "42", "volume": {"size": "abc"}, "nics": [{}]}}`,
		`{"instance": {"name": "n", "flavorRef": "42", "volume": {"size": 1}, "users": [{"name": 1, "password": 2}], "databases": [{"name": []}]}}`,
		`{"instance": {"access": {"allowed_cidrs": ["x"]}}}`, `{"instance": {"name": "n2", "datastore_version": 5}}`,
		`{"resize": {"volume": {"size": -1}}}`, `{"resize": {"flavorRef": {}}}`, `{"resize": 1}`, `{"restart": []}`,
		`{"databases": [{"name": "ok_db", "character_set": "nope"}]}`, `{"databases": "x"}`, `{"databases": [{"name": "app"}]}`,
		`{"users": [{"name": "u", "password": "p", "host": "%%%"}]}`, `{"users": [{}]}`, `{"user": {}}`, `{"user": {"name": ""}}`,
		`{"user": {"host": "10.0.0.1"}}`, `{"quotas": {"instances": "x"}}`, `{"quotas": []}`, `{"password": 5}`}
	paths := []string{"/instances", "/instances/{id}", "/instances/{id}/action", "/instances/{id}/databases",
		"/instances/{id}/databases/app", "/instances/{id}/users", "/instances/{id}/users/app",
		"/instances/{id}/users/app@%25", "/instances/{id}/users/app/databases", "/instances/{id}/users/app/databases/app",
		"/instances/{id}/root", "/instances/nope", "/instances/nope/users/x", "/mgmt/quotas/p1", "/mgmt/instances",
		"/datastores/mysql/versions/8.0", "/datastores/versions/x", "/datastores/x/y", "/flavors/%00", "/limits",
		"/instances/{id}/configuration", "/instances/{id}/backups"}
	for _, tmpl := range paths {
		for _, m := range []string{"GET", "POST", "PUT", "PATCH", "DELETE"} {
			p := strings.ReplaceAll(tmpl, "{id}", create())
			for _, b := range bodies {
				req := httptest.NewRequest(m, "http://127.0.0.1:1/database/v1.0/p1"+p, strings.NewReader(b))
				req.Header.Set("X-Auth-Token", "tok")
				req.Header.Set("Content-Type", "application/json")
				rec := httptest.NewRecorder()
				f.ServeHTTP(rec, req)
				if rec.Code >= 500 {
					t.Errorf("%s %s %s: %d %s", m, p, b, rec.Code, rec.Body)
				}
			}
		}
	}
	if len(*problems) > 0 {
		t.Errorf("problems: %v", *problems)
	}
}
