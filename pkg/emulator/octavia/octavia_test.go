package octavia

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/openstack-service-broker/openstack-service-broker/pkg/emulator/core"
)

type fakeTokens struct{}

func (fakeTokens) ValidateToken(_ context.Context, tok string) (*core.Identity, error) {
	roles := []string{"member", "reader"}
	if tok == "admin" {
		roles = append(roles, "admin")
	}
	return &core.Identity{Token: tok, UserID: "u-" + tok, ProjectID: "p-" + tok, Roles: roles,
		ExpiresAt: time.Now().Add(time.Hour)}, nil
}

// fixture is Octavia alone (no Neutron: VIPs are made up) on a clock the
// test moves.
type fixture struct {
	o        *Octavia
	rt       *core.Router
	now      time.Time
	problems []string
}

func newFixture(t *testing.T, delay time.Duration) *fixture {
	f := &fixture{now: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
	env := core.NewEnv(core.EnvConfig{Delay: delay, Now: func() time.Time { return f.now },
		OnProblem: func(p string) { f.problems = append(f.problems, p) }})
	f.o = New(env)
	f.rt = core.NewRouter(env, f.o.Spec())
	f.o.Routes(f.rt)
	env.Bind(f.rt, "127.0.0.1:1", []core.Spec{f.o.Spec()}, fakeTokens{})
	t.Cleanup(func() {
		if len(f.problems) > 0 {
			t.Errorf("internal errors: %v", f.problems)
		}
	})
	return f
}

func (f *fixture) do(tok, method, path, body string) (int, map[string]any) {
	req := httptest.NewRequest(method, "http://127.0.0.1:1"+path, strings.NewReader(body))
	req = req.WithContext(core.WithPaths(req.Context(), "/load-balancer"+path, "/load-balancer"))
	req.Header.Set("X-Auth-Token", tok)
	req.Header.Set("Content-Type", "application/json")
	rec := httptest.NewRecorder()
	f.rt.ServeHTTP(rec, req)
	var out map[string]any
	_ = json.Unmarshal(rec.Body.Bytes(), &out)
	return rec.Code, out
}

func TestWSMEMessages(t *testing.T) {
	f := newFixture(t, 0)
	for _, c := range []struct {
		body, want string
	}{
		{`{"loadbalancer": {"vip_subnet_id": "HI"}}`, "Invalid input for field/attribute vip_subnet_id. Value: 'HI'. Value should be UUID format"},
		{`{"loadbalancer": {"name": 5, "vip_subnet_id": "` + core.NewUUID() + `"}}`, "Invalid input for field/attribute name. Value: '5'. Value should be string"},
		{`{"loadbalancer": {"name": "` + strings.Repeat("n", 256) + `"}}`, "Value should have a maximum character requirement of 255"},
		{`{"loadbalancer": {"foo": 1, "bar": 2}}`, "Unknown attributes for argument load_balancer.loadbalancer: bar, foo"},
		{`{"lb": {}}`, "Unknown attribute for argument load_balancer: lb"},
		{`{"loadbalancer": {"admin_state_up": "maybe"}}`, "Value not an unambiguous boolean: maybe"},
		{`{"loadbalancer": {"vip_address": "300.1.1.1"}}`, "Value should be IPv4 or IPv6 format"},
		{`{"loadbalancer": {"listeners": [{"protocol": "HTTP"}]}}`, "Invalid input for field/attribute protocol_port. Value: 'None'. Mandatory field missing."},
		{`{"loadbalancer": {"tags": "x"}}`, "Value not a valid list: x"},
		{`[]`, "Invalid input for field/attribute load_balancer. Value: '[]'. Value not a valid dict"},
		{`{`, "Request is not in valid JSON format"},
		{``, `Missing argument: "load_balancer"`},
	} {
		code, out := f.do("demo", "POST", "/v2/lbaas/loadbalancers", c.body)
		if code != 400 || !strings.Contains(out["faultstring"].(string), c.want) || out["faultcode"] != "Client" {
			t.Errorf("%s: %d %v, want %q", c.body, code, out, c.want)
		}
	}
	code, out := f.do("demo", "POST", "/v2/lbaas/listeners", `{"listener": {"protocol": "FTP", "protocol_port": 1, "loadbalancer_id": "`+core.NewUUID()+`"}}`)
	if code != 400 || !strings.Contains(out["faultstring"].(string), "Value should be one of: HTTP, HTTPS, PROMETHEUS, SCTP, TCP, TERMINATED_HTTPS, UDP") {
		t.Errorf("enum: %d %v", code, out)
	}
}

// TestLifecycle: PENDING_CREATE -> ACTIVE after the delay; a child
// makes the load balancer PENDING_UPDATE; 409s while pending; cascade
// delete PENDING_DELETE -> gone.
func TestLifecycle(t *testing.T) {
	f := newFixture(t, 2*time.Second)
	code, out := f.do("demo", "POST", "/v2/lbaas/loadbalancers", `{"loadbalancer": {"name": "lb", "vip_subnet_id": "`+core.NewUUID()+`"}}`)
	if code != 201 {
		t.Fatalf("create: %d %v", code, out)
	}
	lb := out["loadbalancer"].(map[string]any)
	id := lb["id"].(string)
	if lb["provisioning_status"] != "PENDING_CREATE" || lb["operating_status"] != "OFFLINE" || lb["provider"] != "amphora" {
		t.Errorf("created: %v", lb)
	}
	listener := `{"listener": {"protocol": "HTTP", "protocol_port": 80, "loadbalancer_id": "` + id + `"}}`
	if code, out := f.do("demo", "POST", "/v2/lbaas/listeners", listener); code != 409 ||
		out["faultstring"] != "Load Balancer "+id+" is immutable and cannot be updated." {
		t.Errorf("listener on a pending lb: %d %v", code, out)
	}
	if code, out := f.do("demo", "DELETE", "/v2/lbaas/loadbalancers/"+id, ""); code != 409 ||
		out["faultstring"] != "Invalid state PENDING_CREATE of loadbalancer resource "+id {
		t.Errorf("delete of a pending lb: %d %v", code, out)
	}
	f.now = f.now.Add(2 * time.Second)
	_, out = f.do("demo", "GET", "/v2/lbaas/loadbalancers/"+id, "")
	if lb := out["loadbalancer"].(map[string]any); lb["provisioning_status"] != "ACTIVE" || lb["operating_status"] != "ONLINE" {
		t.Errorf("after the delay: %v", lb)
	}
	if code, out := f.do("demo", "POST", "/v2/lbaas/listeners", listener); code != 201 {
		t.Fatalf("listener: %d %v", code, out)
	}
	_, out = f.do("demo", "GET", "/v2/lbaas/loadbalancers/"+id, "")
	if lb := out["loadbalancer"].(map[string]any); lb["provisioning_status"] != "PENDING_UPDATE" {
		t.Errorf("a child makes the lb PENDING_UPDATE: %v", lb)
	}
	if code, _ := f.do("other", "GET", "/v2/lbaas/loadbalancers/"+id, ""); code != 403 {
		t.Errorf("another project: %d", code)
	}
	f.now = f.now.Add(2 * time.Second)
	if code, _ := f.do("demo", "DELETE", "/v2/lbaas/loadbalancers/"+id+"?cascade=true", ""); code != 204 {
		t.Fatalf("cascade delete: %d", code)
	}
	_, out = f.do("demo", "GET", "/v2/lbaas/loadbalancers/"+id, "")
	if lb := out["loadbalancer"].(map[string]any); lb["provisioning_status"] != "PENDING_DELETE" {
		t.Errorf("deleting: %v", lb)
	}
	f.now = f.now.Add(2 * time.Second)
	if code, _ := f.do("demo", "GET", "/v2/lbaas/loadbalancers/"+id, ""); code != 404 {
		t.Errorf("deleted: %d", code)
	}
	if _, out := f.do("demo", "GET", "/v2/lbaas/listeners", ""); len(out["listeners"].([]any)) != 0 {
		t.Errorf("listeners after the cascade: %v", out)
	}
}

// TestGarbageNeverFails sends malformed bodies, ids and queries to every
// route: never a 500.
func TestGarbageNeverFails(t *testing.T) {
	f := newFixture(t, 0)
	// A full tree to aim at.
	_, out := f.do("demo", "POST", "/v2/lbaas/loadbalancers", `{"loadbalancer": {"vip_subnet_id": "`+core.NewUUID()+`",
		"listeners": [{"protocol": "HTTP", "protocol_port": 80, "default_pool": {"name": "p", "protocol": "HTTP", "lb_algorithm": "ROUND_ROBIN",
		"members": [{"address": "10.0.0.5", "protocol_port": 80}], "healthmonitor": {"type": "HTTP", "delay": 1, "timeout": 1, "max_retries": 1}}}]}}`)
	lb, _ := out["loadbalancer"].(map[string]any)
	if lb == nil {
		t.Fatalf("graph create: %v", out)
	}
	lbID := lb["id"].(string)
	l := lb["listeners"].([]any)[0].(map[string]any)
	p := lb["pools"].([]any)[0].(map[string]any)
	m := p["members"].([]any)[0].(map[string]any)
	hm := p["healthmonitor"].(map[string]any)
	_, out = f.do("demo", "POST", "/v2/lbaas/l7policies", `{"l7policy": {"listener_id": "`+l["id"].(string)+`", "action": "REJECT",
		"rules": [{"type": "PATH", "compare_type": "STARTS_WITH", "value": "/x"}]}}`)
	pol, _ := out["l7policy"].(map[string]any)
	if pol == nil {
		t.Fatalf("l7policy: %v", out)
	}
	rule := pol["rules"].([]any)[0].(map[string]any)["id"].(string)
	ids := strings.NewReplacer("{lb}", lbID, "{l}", l["id"].(string), "{p}", p["id"].(string), "{m}", m["id"].(string),
		"{hm}", hm["id"].(string), "{pol}", pol["id"].(string), "{rule}", rule)
	bodies := []string{"", "{", "[]", "null", "1", `"x"`, `{"x": 1}`, `{"loadbalancer": 5}`, `{"loadbalancer": {"vip_port_id": "` + core.NewUUID() + `"}}`,
		`{"listener": {"protocol_port": "abc"}}`, `{"listener": {"protocol": "HTTP", "protocol_port": 81, "loadbalancer_id": "{lb}", "insert_headers": {"X-Bogus": "1"}}}`,
		`{"pool": {"protocol": "HTTP", "lb_algorithm": "ROUND_ROBIN", "loadbalancer_id": "{lb}", "session_persistence": {"type": "APP_COOKIE"}}}`,
		`{"pool": {"protocol": "UDP", "lb_algorithm": "ROUND_ROBIN", "listener_id": "{l}"}}`, `{"member": {"address": "169.254.169.254", "protocol_port": 80}}`,
		`{"members": [{"address": "10.0.0.9", "protocol_port": 80}, {"address": "10.0.0.9", "protocol_port": 80}]}`, `{"members": null}`,
		`{"healthmonitor": {"pool_id": "{p}", "type": "PING", "delay": 1, "timeout": 1, "max_retries": 1, "url_path": "/x"}}`,
		`{"healthmonitor": {"delay": null}}`, `{"l7policy": {"listener_id": "{l}", "action": "REDIRECT_TO_POOL"}}`,
		`{"l7policy": {"position": 0}}`, `{"rule": {"type": "HEADER", "compare_type": "REGEX", "value": "("}}`,
		`{"quota": {"load_balancer": -2}}`, `{"quota": {"pool": null, "listener": 3}}`, `{"flavor": {"name": "f", "flavor_profile_id": "x"}}`,
		`{"flavorprofile": {"name": "n", "provider_name": "nope", "flavor_data": "{}"}}`}
	paths := []string{"/v2/lbaas/loadbalancers", "/v2/lbaas/loadbalancers/{lb}", "/v2/lbaas/loadbalancers/nope",
		"/v2/lbaas/loadbalancers/{lb}/status", "/v2/lbaas/loadbalancers/{lb}/stats", "/v2/lbaas/loadbalancers/{lb}/failover",
		"/v2/lbaas/listeners", "/v2/lbaas/listeners/{l}", "/v2/lbaas/listeners/{l}/stats", "/v2/lbaas/pools", "/v2/lbaas/pools/{p}",
		"/v2/lbaas/pools/{p}/members", "/v2/lbaas/pools/{p}/members/{m}", "/v2/lbaas/pools/nope/members", "/v2/lbaas/healthmonitors",
		"/v2/lbaas/healthmonitors/{hm}", "/v2/lbaas/l7policies", "/v2/lbaas/l7policies/{pol}", "/v2/lbaas/l7policies/{pol}/rules",
		"/v2/lbaas/l7policies/{pol}/rules/{rule}", "/v2/lbaas/quotas", "/v2/lbaas/quotas/p-demo", "/v2/lbaas/quotas/p-demo/default",
		"/v2/lbaas/providers", "/v2/lbaas/providers/amphora/flavor_capabilities", "/v2/lbaas/flavors", "/v2/lbaas/flavors/nope",
		"/v2/lbaas/flavorprofiles", "/v2/lbaas/availabilityzones", "/v2/octavia/amphorae", "/v2.0/loadbalancers?limit=x",
		"/v2/lbaas/loadbalancers?marker=nope", "/v2/lbaas/loadbalancers?sort=name:sideways", "/v2/lbaas/pools?sort_key=nope",
		"/v2/lbaas/listeners?fields=id&fields=name&protocol=HTTP"}
	for _, tmpl := range paths {
		path := ids.Replace(tmpl)
		for _, method := range []string{"GET", "POST", "PUT", "DELETE"} {
			for _, b := range bodies {
				for _, tok := range []string{"demo", "admin", "other"} {
					if code, out := f.do(tok, method, path, ids.Replace(b)); code >= 500 {
						t.Errorf("%s %s %s: %d %v", method, path, b, code, out)
					}
				}
			}
		}
	}
}

func TestListHelpers(t *testing.T) {
	if pyStr(map[string]any{"b": []any{"x", nil, true}, "a": json.Number("1")}) != "{'a': 1, 'b': ['x', None, True]}" {
		t.Errorf("pyStr: %s", pyStr(map[string]any{"b": []any{"x", nil, true}, "a": json.Number("1")}))
	}
	if canonicalUUID("{ABCDEF01-2345-6789-ABCD-EF0123456789}") != "abcdef01-2345-6789-abcd-ef0123456789" || !uuidLike("abcdef0123456789abcdef0123456789") || uuidLike("nope") {
		t.Error("uuid")
	}
	for _, c := range []struct {
		v    any
		want int64
		err  bool
	}{{json.Number("80"), 80, false}, {"80", 80, false}, {json.Number("8.9"), 8, false}, {true, 1, false}, {"abc", 0, true}, {[]any{}, 0, true}} {
		n, err := pyInt(c.v)
		if n != c.want || (err != nil) != c.err {
			t.Errorf("pyInt(%v) = %d, %v", c.v, n, err)
		}
	}
}
