package core

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestPathMatches(t *testing.T) {
	for _, tc := range []struct {
		path, pattern string
		want          bool
	}{
		{"/v2.1/servers", "/v2.1/servers", true},
		{"/v2.1/servers/abc", "/v2.1/servers/*", true},
		{"/v2.1/servers/abc/ips", "/v2.1/servers/*", false},
		{"/v2.1/servers/abc/ips", "/v2.1/servers/**", true},
		{"/v2.1/servers", "/v2.1/servers/**", false}, // "/**" needs the slash
		{"/v2.1/servers/abc/ips", "/v2.1/servers/{server_id}/ips", true},
		{"/v1/AUTH_x/c/o/p", "/v1/*/*/**", true},
		{"/v2Ximages", "/v2.images", false}, // literals are literal here
		{"/v2/images", "**", true},
	} {
		if got := PathMatches(tc.path, tc.pattern); got != tc.want {
			t.Errorf("PathMatches(%q, %q) = %v, want %v", tc.path, tc.pattern, got, tc.want)
		}
	}
}

func TestAccessAllowed(t *testing.T) {
	rules := []AccessRule{{Service: "image", Method: "GET", Path: "/v2/images"}, {Service: "image", Method: "GET", Path: "/v2/images/*"}}
	id := &Identity{AppCred: &AppCred{ID: "x", AccessRules: rules}}
	for _, tc := range []struct {
		svc, method, rel, full string
		want                   bool
	}{
		{"image", "GET", "/v2/images", "/image/v2/images", true},
		{"image", "GET", "/v2/images/abc", "/image/v2/images/abc", true},
		{"image", "HEAD", "/v2/images", "/image/v2/images", false},
		{"image", "DELETE", "/v2/images/abc", "/image/v2/images/abc", false},
		{"compute", "GET", "/v2/images", "/compute/v2/images", false},
		{"identity", "GET", "/v3/auth/tokens", "/v3/auth/tokens", true}, // always allowed
		{"identity", "GET", "/v3/users", "/v3/users", false},
	} {
		if got := AccessAllowed(id, tc.svc, tc.method, tc.rel, tc.full); got != tc.want {
			t.Errorf("AccessAllowed(%s %s %s) = %v, want %v", tc.svc, tc.method, tc.rel, got, tc.want)
		}
	}
	if !AccessAllowed(&Identity{AppCred: &AppCred{}}, "image", "DELETE", "/x", "/x") {
		t.Error("an application credential without rules must allow everything")
	}
	full := &Identity{AppCred: &AppCred{AccessRules: []AccessRule{{Service: "image", Method: "GET", Path: "/image/v2/**"}}}}
	if !AccessAllowed(full, "image", "GET", "/v2/images", "/image/v2/images") {
		t.Error("a rule written with the service's mount prefix must match too")
	}
}

func TestNegotiate(t *testing.T) {
	m := &Microversions{Service: "compute", Min: "2.1", Max: "2.90", Legacy: "X-OpenStack-Nova-API-Version"}
	for _, tc := range []struct {
		header, value string
		want          string
		status        int
	}{
		{"", "", "2.1", 0},
		{"OpenStack-API-Version", "compute 2.53", "2.53", 0},
		{"OpenStack-API-Version", "volume 3.10, compute 2.60", "2.60", 0},
		{"OpenStack-API-Version", "compute latest", "2.90", 0},
		{"X-OpenStack-Nova-API-Version", "2.10", "2.10", 0},
		{"OpenStack-API-Version", "compute 2.91", "", http.StatusNotAcceptable},
		{"OpenStack-API-Version", "compute 1.0", "", http.StatusNotAcceptable},
		{"OpenStack-API-Version", "compute two", "", http.StatusBadRequest},
	} {
		r := httptest.NewRequest("GET", "/v2.1/servers", nil)
		if tc.header != "" {
			r.Header.Set(tc.header, tc.value)
		}
		w := httptest.NewRecorder()
		v, err := m.Negotiate(w, r)
		if tc.status != 0 {
			if err == nil || err.Status != tc.status {
				t.Errorf("%s: %q: err %v, want status %d", tc.header, tc.value, err, tc.status)
			}
			continue
		}
		if err != nil || v.String() != tc.want {
			t.Errorf("%s: %q: got %v %v, want %s", tc.header, tc.value, v, err, tc.want)
		}
		if got := w.Header().Get("OpenStack-API-Version"); got != "compute "+tc.want {
			t.Errorf("response header %q", got)
		}
	}
	if !MustVersion("2.53").AtLeast("2.47") || MustVersion("2.9").AtLeast("2.10") {
		t.Error("AtLeast compares numerically")
	}
}

func TestPaginate(t *testing.T) {
	items := []string{"a", "b", "c", "d"}
	id := func(s string) string { return s }
	for _, tc := range []struct {
		p    Page
		want string
		more bool
	}{
		{Page{}, "abcd", false},
		{Page{Limit: 2}, "ab", true},
		{Page{Limit: 2, Marker: "b"}, "cd", false},
		{Page{Marker: "d"}, "", false},
	} {
		got, more, err := Paginate(items, id, tc.p)
		if err != nil || strings.Join(got, "") != tc.want || more != tc.more {
			t.Errorf("%+v: got %v %v %v", tc.p, got, more, err)
		}
	}
	if _, _, err := Paginate(items, id, Page{Marker: "zz"}); err == nil {
		t.Error("an unknown marker must be a 400")
	}
}

func TestLifecycle(t *testing.T) {
	now := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	env := NewEnv(EnvConfig{Delay: 2 * time.Second, Now: func() time.Time { return now }})
	l := Begin(env, "BUILD", "ACTIVE")
	if l.Current(now) != "BUILD" || !l.Pending(now) {
		t.Fatalf("at start: %s", l.Current(now))
	}
	if l.Current(now.Add(2*time.Second)) != "ACTIVE" {
		t.Fatal("after the delay the status must be the final one")
	}
	if l := Begin(NewEnv(EnvConfig{}), "BUILD", "ACTIVE"); l.Current(now) != "ACTIVE" {
		t.Fatal("no delay: final at once")
	}
}

func TestDecodeJSON(t *testing.T) {
	var v struct {
		Name string `json:"name"`
	}
	for _, tc := range []struct {
		body   string
		strict bool
		want   string
	}{
		{`{"name": "x"}`, true, ""},
		{`{"name": "x", "other": 1}`, false, ""},
		{`{"name": "x", "other": 1}`, true, "Additional properties are not allowed ('other' was unexpected)"},
		{`{"name": `, false, "Malformed request body"},
		{``, false, "Malformed request body"},
		{`{"name": 3}`, false, "Invalid input for field/attribute name"},
	} {
		r := httptest.NewRequest("POST", "/", strings.NewReader(tc.body))
		var err error
		if tc.strict {
			err = DecodeJSONStrict(r, &v)
		} else {
			err = DecodeJSON(r, &v)
		}
		if tc.want == "" {
			if err != nil {
				t.Errorf("%s: %v", tc.body, err)
			}
			continue
		}
		e, ok := AsAPIError(err)
		if !ok || e.Status != 400 || !strings.Contains(e.Message, tc.want) {
			t.Errorf("%s: got %v, want 400 %q", tc.body, err, tc.want)
		}
	}
}

type fakeTokens map[string]*Identity

func (f fakeTokens) ValidateToken(_ context.Context, tok string) (*Identity, error) {
	if id, ok := f[tok]; ok {
		return id, nil
	}
	return nil, errors.New("no such token")
}

func TestRouter(t *testing.T) {
	var problems []string
	env := NewEnv(EnvConfig{OnProblem: func(s string) { problems = append(problems, s) }})
	spec := Spec{Name: "svc", Type: "thing", Prefix: "/thing", Errors: FaultErrors, RequestIDHeaders: []string{"X-Thing-Request-Id"},
		Microversions: &Microversions{Service: "thing", Min: "1.0", Max: "1.5"}}
	rt := NewRouter(env, spec)
	rt.Handle("GET /{$}", func(w http.ResponseWriter, r *http.Request) error { w.WriteHeader(300); return nil }, Public)
	rt.Handle("GET /v1/things", func(w http.ResponseWriter, r *http.Request) error {
		WriteJSON(w, 200, map[string]any{"mv": MicroversionOf(r).String(), "project": IdentityOf(r).ProjectID})
		return nil
	})
	rt.Handle("POST /v1/things", func(w http.ResponseWriter, r *http.Request) error { return Conflict("taken") })
	rt.Handle("DELETE /v1/things", func(w http.ResponseWriter, r *http.Request) error { return nil }, AdminOnly)
	rt.Handle("PUT /v1/things", func(w http.ResponseWriter, r *http.Request) error { return errors.New("boom") })
	rt.Handle("GET /v1/public/{x}", func(w http.ResponseWriter, r *http.Request) error {
		WriteJSON(w, 200, map[string]any{"anonymous": IdentityOf(r) == nil})
		return nil
	}, OptionalAuth)
	env.Bind(rt, "127.0.0.1", []Spec{spec}, fakeTokens{
		"member": {ProjectID: "p1", Roles: []string{"member", "reader"}},
		"reader": {ProjectID: "p1", Roles: []string{"reader"}},
		"nope":   {ProjectID: "", Roles: []string{}},
		"ruled":  {ProjectID: "p1", Roles: []string{"member"}, AppCred: &AppCred{AccessRules: []AccessRule{{Service: "thing", Method: "POST", Path: "/v1/things"}}}},
	})
	for _, tc := range []struct {
		method, path, token string
		status              int
		body                string
	}{
		{"GET", "/", "", 300, ""},
		{"GET", "/v1/things", "", 401, `"title":"Unauthorized"`},
		{"GET", "/v1/things", "bad", 401, ""},
		{"GET", "/v1/things", "member", 200, `"mv":"1.0"`},
		{"GET", "/v1/things", "reader", 200, `"project":"p1"`},
		{"POST", "/v1/things", "reader", 403, `"forbidden"`},
		{"POST", "/v1/things", "member", 409, `{"conflictingRequest":{"code":409,"message":"taken"}}`},
		{"DELETE", "/v1/things", "member", 403, ""},
		{"GET", "/v1/things", "nope", 403, ""},
		{"GET", "/v1/things", "ruled", 401, ""},
		{"POST", "/v1/things", "ruled", 409, ""},
		{"GET", "/v1/nothing", "", 401, ""},
		{"GET", "/v1/nothing", "member", 404, `"itemNotFound"`},
		{"PATCH", "/v1/things", "member", 405, `"badMethod"`},
		{"PUT", "/v1/things", "member", 500, `"computeFault"`},
		{"GET", "/v1/public/x", "", 200, `"anonymous":true`},
		{"GET", "/v1/public/x", "member", 200, `"anonymous":false`},
		{"GET", "/v1/public/x", "bad", 401, ""},
	} {
		r := httptest.NewRequest(tc.method, tc.path, nil)
		r = r.WithContext(WithRequestID(r.Context(), "req-1"))
		if tc.token != "" {
			r.Header.Set("X-Auth-Token", tc.token)
		}
		w := httptest.NewRecorder()
		rt.ServeHTTP(w, r)
		if w.Code != tc.status || !strings.Contains(w.Body.String(), tc.body) {
			t.Errorf("%s %s (%s): %d %s, want %d with %s", tc.method, tc.path, tc.token, w.Code, w.Body, tc.status, tc.body)
		}
		if w.Header().Get("X-Thing-Request-Id") != "req-1" {
			t.Errorf("%s %s: no X-Thing-Request-Id", tc.method, tc.path)
		}
	}
	if len(problems) != 1 || !strings.Contains(problems[0], "boom") {
		t.Errorf("problems = %q, want the one internal error", problems)
	}
	r := httptest.NewRequest("GET", "/v1/things", nil)
	r.Header.Set("X-Auth-Token", "member")
	r.Header.Set("OpenStack-API-Version", "thing 1.9")
	w := httptest.NewRecorder()
	rt.ServeHTTP(w, r)
	if w.Code != 406 {
		t.Errorf("unsupported microversion: %d %s", w.Code, w.Body)
	}
	// A service's call with its headers as a map literal (names not in
	// Go's canonical form) still negotiates the microversion it asks for.
	env.Bind(http.StripPrefix("/thing", rt), "127.0.0.1", []Spec{spec}, fakeTokens{"member": {ProjectID: "p1", Roles: []string{"member"}}})
	var got struct{ MV string }
	err := env.Do(context.Background(), Call{Identity: &Identity{Token: "member"}, Service: "thing", Method: "GET", Path: "/v1/things",
		Header: http.Header{"OpenStack-API-Version": {"thing 1.4"}}}, &got)
	if err != nil || got.MV != "1.4" {
		t.Errorf("env.Do with a map-literal header: %v, microversion %q, want 1.4", err, got.MV)
	}
}

func TestRecover(t *testing.T) {
	var problems []string
	env := NewEnv(EnvConfig{OnProblem: func(s string) { problems = append(problems, s) }})
	h := Recover(env, http.HandlerFunc(func(http.ResponseWriter, *http.Request) { panic("oops") }))
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest("GET", "/", nil))
	if w.Code != 500 || len(problems) != 1 {
		t.Fatalf("code %d problems %q", w.Code, problems)
	}
}

func TestQuotas(t *testing.T) {
	q := NewQuotas(map[string]int{"instances": 2})
	if !q.Allows("p", "instances", 1, 1) || q.Allows("p", "instances", 2, 1) {
		t.Fatal("default limit")
	}
	q.Set("p", "instances", -1)
	if !q.Allows("p", "instances", 100, 1) || q.Limit("other", "cores") != -1 {
		t.Fatal("unlimited")
	}
}
