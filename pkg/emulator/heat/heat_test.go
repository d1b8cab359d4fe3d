package heat

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/openstack-service-broker/openstack-service-broker/pkg/emulator/core"
)

func mustTemplate(t *testing.T, text string) *tmpl {
	t.Helper()
	raw, err := parseDocument(text)
	if err != nil {
		t.Fatal(err)
	}
	tp, err := checkTemplate(raw)
	if err != nil {
		t.Fatal(err)
	}
	return tp
}

func TestFunctions(t *testing.T) {
	tp := mustTemplate(t, `heat_template_version: 2018-08-31
parameters:
  env: {type: string, default: prod}
conditions:
  is_prod: {equals: [{get_param: env}, prod]}
  not_prod: {not: is_prod}
resources:
  a: {type: OS::Heat::None}
`)
	ev := &evalCtx{t: tp, params: map[string]any{"env": "prod", "list": []any{"x", "y"}, "m": map[string]any{"k": []any{int64(1), int64(2)}}},
		files: map[string]string{"f.txt": "content"},
		ref:   func(name string) (any, error) { return "id-" + name, nil },
		attr:  func(name, attr string) (any, error) { return map[string]any{"nested": []any{"first"}}, nil }}
	for _, c := range []struct {
		in   string
		want string
	}{
		{`{"str_replace": {"template": "host:port", "params": {"host": "h", "port": 80}}}`, "h:80"},
		{`{"str_replace": {"template": "$ab$a", "params": {"$a": "1", "$ab": "2"}}}`, "21"},
		{`{"list_join": [",", ["a", "b"], ["c"]]}`, "a,b,c"},
		{`{"list_join": ["-", [{"k": 1}]]}`, `{"k":1}`},
		{`{"str_split": [":", "a:b:c", 1]}`, "b"},
		{`{"get_param": ["m", "k", 1]}`, "2"},
		{`{"get_resource": "a"}`, "id-a"},
		{`{"get_attr": ["a", "x", "nested", 0]}`, "first"},
		{`{"get_file": "f.txt"}`, "content"},
		{`{"map_merge": [{"a": 1}, {"a": 2, "b": 3}]}`, "map[a:2 b:3]"},
		{`{"map_replace": [{"k1": "v1"}, {"keys": {"k1": "K1"}, "values": {"v1": "V1"}}]}`, "map[K1:V1]"},
		{`{"repeat": {"for_each": {"%p%": [80, 443]}, "template": {"port": "%p%"}}}`, "[map[port:80] map[port:443]]"},
		{`{"if": ["is_prod", "big", "small"]}`, "big"},
		{`{"if": ["not_prod", "big", "small"]}`, "small"},
		{`{"digest": ["sha256", "x"]}`, "2d711642b726b04401627ca9fbac32f5c8530fb1903cc4db02258717921a4881"},
		{`{"list_concat_unique": [["a", "b"], ["b", "c"]]}`, "[a b c]"},
		{`{"filter": [["b"], ["a", "b", "c"]]}`, "[a c]"},
		{`{"contains": ["x", {"get_param": "list"}]}`, "true"},
		{`{"make_url": {"scheme": "https", "host": "h", "port": 8443, "path": "/p"}}`, "https://h:8443/p"},
		{`{"not_a_function": 1}`, "map[not_a_function:1]"},
	} {
		var in any
		if err := decodeJSON([]byte(c.in), &in); err != nil {
			t.Fatal(err)
		}
		got, err := ev.eval(in)
		if err != nil {
			t.Errorf("%s: %v", c.in, err)
			continue
		}
		if fmt.Sprint(got) != c.want {
			t.Errorf("%s = %v, want %s", c.in, got, c.want)
		}
	}
	for _, c := range []struct{ in, want string }{
		{`{"get_param": "nope"}`, "The Parameter (nope) was not provided."},
		{`{"get_resource": "nope"}`, `The specified reference "nope" (in unknown) is incorrect.`},
		{`{"str_replace_strict": {"template": "x", "params": {"y": "1"}}}`, "The following params were not found in the template: y"},
		{`{"Fn::Join": ["", []]}`, "The function Fn::Join is not supported in this version of HOT."},
		{`{"get_file": "missing"}`, `No content found in the "files" section for get_file path: missing`},
	} {
		var in any
		_ = decodeJSON([]byte(c.in), &in)
		_, err := ev.eval(in)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want %q", c.in, err, c.want)
		}
	}
}

func TestTemplateChecks(t *testing.T) {
	for _, c := range []struct{ text, want string }{
		{"heat_template_version: 1999-01-01\n", `"heat_template_version: 1999-01-01". "heat_template_version" should be one of:`},
		{"heat_template_version: 2018-08-31\nfoo: 1\n", "The template section is invalid: foo"},
		{"heat_template_version: 2016-04-08\nconditions: {}\n", "The template section is invalid: conditions"},
		{"heat_template_version: 2018-08-31\nresources:\n  a: {properties: {}}\n", "Resource a is missing \"type\""},
		{"heat_template_version: 2018-08-31\nresources:\n  a: {type: x, depends_on: b}\n", `The specified reference "b" (in a) is incorrect.`},
		{"heat_template_version: 2018-08-31\nparameters:\n  p: {default: 1}\n", "Missing parameter type for parameter: p"},
		{"heat_template_version: 2018-08-31\nparameters:\n  p: {type: number, default: abc}\n", "Invalid default abc"},
		{"heat_template_version: 2018-08-31\noutputs:\n  o: {description: x}\n", "Each output definition must contain a value key."},
	} {
		raw, err := parseDocument(c.text)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := checkTemplate(raw); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: %v, want %q", c.text, err, c.want)
		}
	}
	tp := mustTemplate(t, `heat_template_version: 2018-08-31
parameters:
  n: {type: number, constraints: [{range: {min: 1, max: 3}}]}
  s: {type: string, default: ab, constraints: [{allowed_values: [ab, cd]}, {allowed_pattern: "[a-z]+"}]}
  l: {type: comma_delimited_list, default: "a, b"}
  b: {type: boolean, default: "yes"}
  j: {type: json, default: {"k": 1}}
`)
	vals, err := resolveParams(tp, map[string]any{"n": "2"}, nil)
	if err != nil || fmt.Sprint(vals) != "map[b:true j:map[k:1] l:[a b] n:2 s:ab]" {
		t.Errorf("params: %v %v", vals, err)
	}
	for _, c := range []struct {
		user map[string]any
		want string
	}{
		{map[string]any{}, "The Parameter (n) was not provided."},
		{map[string]any{"n": "9"}, "Parameter 'n' is invalid: 9 is out of range (min: 1, max: 3)"},
		{map[string]any{"n": "x"}, "Parameter 'n' is invalid: could not convert string to float: 'x'"},
		{map[string]any{"n": 1, "s": "ef"}, `Parameter 's' is invalid: "ef" is not an allowed value ["ab", "cd"]`},
		{map[string]any{"n": 1, "z": 1}, "The Parameter (z) was not defined in template."},
	} {
		if _, err := resolveParams(tp, c.user, nil); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: %v, want %q", c.user, err, c.want)
		}
	}
}

type fakeTokens struct{}

func (fakeTokens) ValidateToken(_ context.Context, tok string) (*core.Identity, error) {
	roles := []string{"member", "reader"}
	if tok == "admin" {
		roles = append(roles, "admin")
	}
	return &core.Identity{Token: tok, UserID: "u-" + tok, UserName: tok, ProjectID: "p-" + tok, Roles: roles,
		ExpiresAt: time.Now().Add(time.Hour)}, nil
}

type fixture struct {
	h        *Heat
	rt       *core.Router
	env      *core.Env
	mu       sync.Mutex
	now      time.Time
	problems []string
}

func newFixture(t *testing.T, delay time.Duration) *fixture {
	f := &fixture{now: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
	f.env = core.NewEnv(core.EnvConfig{Delay: delay, Now: func() time.Time { f.mu.Lock(); defer f.mu.Unlock(); return f.now },
		OnProblem: func(p string) { f.problems = append(f.problems, p) }})
	f.h = New(f.env)
	f.rt = core.NewRouter(f.env, f.h.Spec())
	f.h.Routes(f.rt)
	f.env.Bind(f.rt, "127.0.0.1:1", []core.Spec{f.h.Spec()}, fakeTokens{})
	t.Cleanup(func() {
		f.env.Close()
		if len(f.problems) > 0 {
			t.Errorf("internal errors: %v", f.problems)
		}
	})
	return f
}

func (f *fixture) tick(d time.Duration) { f.mu.Lock(); f.now = f.now.Add(d); f.mu.Unlock() }

func (f *fixture) do(tok, method, path string, body any) (int, map[string]any) {
	var b string
	switch x := body.(type) {
	case nil:
	case string:
		b = x
	default:
		j, _ := json.Marshal(x)
		b = string(j)
	}
	req := httptest.NewRequest(method, "http://127.0.0.1:1"+path, strings.NewReader(b))
	req = req.WithContext(core.WithPaths(req.Context(), "/heat-api"+path, "/heat-api"))
	req.Header.Set("X-Auth-Token", tok)
	req.Header.Set("Content-Type", "application/json")
	rec := httptest.NewRecorder()
	f.rt.ServeHTTP(rec, req)
	var out map[string]any
	_ = json.Unmarshal(rec.Body.Bytes(), &out)
	return rec.Code, out
}

const ownTemplate = `heat_template_version: 2018-08-31
parameters:
  v: {type: string, default: one}
resources:
  first: {type: OS::Heat::Value, properties: {value: {get_param: v}}}
  second:
    type: OS::Heat::Value
    properties: {value: {str_replace: {template: "x-V", params: {V: {get_attr: [first, value]}}}}}
  rnd: {type: OS::Heat::RandomString, properties: {length: 6}}
outputs:
  second: {value: {get_attr: [second, value]}}
  rnd: {value: {get_resource: rnd}}
`

// TestEngine: with Heat's own resources only, a stack moves through
// CREATE_IN_PROGRESS, CREATE_COMPLETE, UPDATE_*, DELETE_* on the clock.
func TestEngine(t *testing.T) {
	f := newFixture(t, 2*time.Second)
	code, out := f.do("demo", "POST", "/v1/p-demo/stacks", map[string]any{"stack_name": "s", "template": ownTemplate})
	if code != 201 {
		t.Fatalf("create: %d %v", code, out)
	}
	id := out["stack"].(map[string]any)["id"].(string)
	path := "/v1/p-demo/stacks/s/" + id
	_, out = f.do("demo", "GET", path, nil)
	if st := out["stack"].(map[string]any); st["stack_status"] != "CREATE_IN_PROGRESS" {
		t.Errorf("before the delay: %v", st["stack_status"])
	}
	f.tick(2 * time.Second)
	_, out = f.do("demo", "GET", path, nil)
	st := out["stack"].(map[string]any)
	if st["stack_status"] != "CREATE_COMPLETE" {
		t.Fatalf("after the delay: %v", st)
	}
	outs := map[string]any{}
	for _, o := range st["outputs"].([]any) {
		m := o.(map[string]any)
		outs[m["output_key"].(string)] = m["output_value"]
	}
	if outs["second"] != "x-one" || len(fmt.Sprint(outs["rnd"])) != 6 {
		t.Errorf("outputs: %v", outs)
	}
	code, _ = f.do("demo", "PATCH", path, map[string]any{"parameters": map[string]any{"v": "two"}})
	if code != 202 {
		t.Fatalf("update: %d", code)
	}
	if code, out := f.do("demo", "DELETE", path, nil); code != 204 {
		t.Fatalf("delete while updating: %d %v", code, out)
	}
	f.tick(2 * time.Second)
	_, out = f.do("demo", "GET", path, nil)
	if st := out["stack"].(map[string]any); st["stack_status"] != "DELETE_COMPLETE" {
		t.Errorf("deleted: %v", st["stack_status"])
	}
	if code, _ := f.do("demo", "GET", "/v1/p-demo/stacks/s", nil); code != 404 {
		t.Errorf("lookup of a deleted stack: %d", code)
	}
	if code, _ := f.do("other", "GET", path, nil); code != 403 {
		t.Errorf("another tenant: %d", code)
	}
}

// TestGarbageNeverFails sends malformed bodies and ids to every route.
func TestGarbageNeverFails(t *testing.T) {
	f := newFixture(t, 0)
	code, out := f.do("demo", "POST", "/v1/p-demo/stacks", map[string]any{"stack_name": "g", "template": ownTemplate})
	if code != 201 {
		t.Fatalf("create: %d %v", code, out)
	}
	id := out["stack"].(map[string]any)["id"].(string)
	bodies := []any{"", "{", "[]", "null", "1", map[string]any{"x": 1}, map[string]any{"stack_name": 5},
		map[string]any{"stack_name": "n", "template": 5}, map[string]any{"stack_name": "n", "template": "{"},
		map[string]any{"stack_name": "n", "template": "heat_template_version: 2018-08-31\nresources: 5\n"},
		map[string]any{"stack_name": "n", "template": "heat_template_version: 2018-08-31\nresources: {a: {type: OS::Heat::Value, properties: {value: {get_attr: []}}}}\n"},
		map[string]any{"stack_name": "n", "template": ownTemplate, "parameters": 5},
		map[string]any{"stack_name": "n", "template": ownTemplate, "environment": "- x"},
		map[string]any{"stack_name": "n", "template": ownTemplate, "files": []any{}},
		map[string]any{"stack_name": "n", "template": ownTemplate, "timeout_mins": "x"},
		map[string]any{"stack_name": "n", "template_url": "ftp://x"},
		map[string]any{"template": map[string]any{"heat_template_version": "2018-08-31", "outputs": map[string]any{"o": map[string]any{"value": map[string]any{"get_attr": "x"}}}}},
		map[string]any{"suspend": nil, "resume": nil}, map[string]any{"mark_unhealthy": "yes"}}
	paths := []string{"/v1/p-demo/stacks", "/v1/p-demo/stacks/g", "/v1/p-demo/stacks/g/" + id, "/v1/p-demo/stacks/g/nope",
		"/v1/p-demo/stacks/g/" + id + "/resources", "/v1/p-demo/stacks/g/" + id + "/resources/first",
		"/v1/p-demo/stacks/g/" + id + "/resources/nope/events", "/v1/p-demo/stacks/g/" + id + "/events?limit=x",
		"/v1/p-demo/stacks/g/" + id + "/outputs/second", "/v1/p-demo/stacks/g/" + id + "/actions",
		"/v1/p-demo/stacks/g/" + id + "/template", "/v1/p-demo/validate", "/v1/p-demo/resource_types/OS::Nope",
		"/v1/p-demo/stacks?sort_keys=x&sort_dir=y", "/v1/p-demo/stacks/preview", "/v1/p-other/stacks"}
	for _, p := range paths {
		for _, m := range []string{"GET", "POST", "PUT", "PATCH", "DELETE"} {
			for _, b := range bodies {
				if code, out := f.do("demo", m, p, b); code >= 500 {
					t.Errorf("%s %s %v: %d %v", m, p, b, code, out)
				}
			}
		}
	}
}
