package designate

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/openstack-service-broker/openstack-service-broker/pkg/emulator/core"
)

func TestNames(t *testing.T) {
	for _, c := range []struct {
		name           string
		zone, hostname bool
	}{
		{"example.com.", true, true},
		{"example.com", false, false},
		{"*.example.com.", false, true},
		{"-bad.example.com.", false, false},
		{"bad-.example.com.", false, false},
		{"under_score.example.com.", true, true},
		{"a..example.com.", false, false},
		{strings.Repeat("a", 64) + ".com.", false, false},
	} {
		if got := domainField(c.name) == nil; got != c.zone {
			t.Errorf("domainField(%q) ok=%v, want %v", c.name, got, c.zone)
		}
		if got := hostField(c.name) == nil; got != c.hostname {
			t.Errorf("hostField(%q) ok=%v, want %v", c.name, got, c.hostname)
		}
	}
	if !srvName("_sip._tcp.example.com.") || srvName("sip._tcp.example.com.") || srvName("_sip.example.com.") {
		t.Error("srvName")
	}
	if emailField("a@example.com") != nil || emailField("a.example.com") == nil || emailField("a@b@c.com") == nil {
		t.Error("emailField")
	}
}

func TestRecords(t *testing.T) {
	for _, c := range []struct {
		typ, data string
		ok        bool
	}{
		{"A", "192.0.2.1", true}, {"A", "192.0.2", false}, {"A", "::1", false},
		{"AAAA", "2001:db8::1", true}, {"AAAA", "192.0.2.1", false},
		{"CNAME", "www.example.com.", true}, {"CNAME", "www.example.com", false},
		{"MX", "10 mail.example.com.", true}, {"MX", "010 mail.example.com.", false}, {"MX", "10 mail.example.com", false},
		{"SRV", "10 60 5060 sip.example.com.", true}, {"SRV", "10 60 sip.example.com.", false},
		{"TXT", "v=spf1", true}, {"TXT", "has space", false}, {"TXT", `"has space"`, true}, {"TXT", `"unbalanced`, false},
		{"TXT", `"in "quotes""`, false}, {"TXT", `"in \"quotes\""`, true},
		{"NS", "ns1.example.com.", true}, {"PTR", "host.example.com.", true},
		{"CAA", `0 issue "letsencrypt.org"`, true}, {"CAA", "0 nope x", false},
		{"SSHFP", "1 1 0123456789abcdef0123456789abcdef01234567", true},
		{"BOGUS", "x", false},
	} {
		if got := checkRecord(c.typ, c.data); got != c.ok {
			t.Errorf("checkRecord(%s, %q) = %v, want %v", c.typ, c.data, got, c.ok)
		}
	}
}

func TestLikeAndSerial(t *testing.T) {
	for _, c := range []struct {
		pattern, value string
		ok             bool
	}{{"www*", "www.example.com.", true}, {"*.com.", "www.example.com.", true}, {"*ample*", "www.example.com.", true},
		{"www", "www.example.com.", false}, {"*x*y", "axbxc", false}} {
		if got := likeMatch(c.pattern, c.value); got != c.ok {
			t.Errorf("likeMatch(%q, %q) = %v", c.pattern, c.value, got)
		}
	}
	now := time.Unix(1_700_000_000, 0)
	if incrementSerial(1, now) != 1_700_000_000 || incrementSerial(1_700_000_000, now) != 1_700_000_001 {
		t.Error("incrementSerial")
	}
}

type fakeTokens struct{}

func (fakeTokens) ValidateToken(_ context.Context, tok string) (*core.Identity, error) {
	roles := []string{"member", "reader"}
	if tok == "admin" {
		roles = append(roles, "admin")
	}
	return &core.Identity{Token: tok, UserID: "u-" + tok, ProjectID: "p-" + tok, Roles: roles}, nil
}

// TestGarbageNeverFails sends malformed bodies, ids, headers and
// queries to every route: never a 500.
func TestGarbageNeverFails(t *testing.T) {
	var problems []string
	env := core.NewEnv(core.EnvConfig{OnProblem: func(p string) { problems = append(problems, p) }})
	d := New(env)
	rt := core.NewRouter(env, d.Spec())
	d.Routes(rt)
	env.Bind(rt, "127.0.0.1:1", []core.Spec{d.Spec()}, fakeTokens{})
	do := func(tok, method, path, body string, hdr ...string) (int, map[string]any) {
		req := httptest.NewRequest(method, "http://127.0.0.1:1"+path, strings.NewReader(body))
		req = req.WithContext(core.WithPaths(req.Context(), "/dns"+path, "/dns"))
		req.Header.Set("X-Auth-Token", tok)
		req.Header.Set("Content-Type", "application/json")
		for i := 0; i+1 < len(hdr); i += 2 {
			req.Header.Set(hdr[i], hdr[i+1])
		}
		rec := httptest.NewRecorder()
		rt.ServeHTTP(rec, req)
		var out map[string]any
		_ = json.Unmarshal(rec.Body.Bytes(), &out)
		return rec.Code, out
	}
	n := 0
	zone := func() (string, string) {
		n++
		_ = d.state.Update(func(s *state) error { s.Quotas.Set("p-demo", "zones", -1); return nil })
		code, out := do("demo", "POST", "/v2/zones", fmt.Sprintf(`{"name": "z%d.example.com.", "email": "a@example.com"}`, n))
		if code != 202 {
			t.Fatalf("zone: %d %v", code, out)
		}
		zid := out["id"].(string)
		code, out = do("demo", "POST", "/v2/zones/"+zid+"/recordsets", fmt.Sprintf(`{"name": "www.z%d.example.com.", "type": "A", "records": ["192.0.2.1"]}`, n))
		if code != 202 {
			t.Fatalf("recordset: %d %v", code, out)
		}
		return zid, out["id"].(string)
	}
	bodies := []string{"", "{", "[]", "null", "1", `"x"`, `{"x": 1}`, `{"name": 5}`, `{"name": "x"}`, `{"name": "a.b.", "email": 5}`,
		`{"name": "a.b.", "email": "e@x.com", "ttl": "abc"}`, `{"name": "a.b.", "email": "e@x.com", "ttl": -1}`, `{"ttl": []}`,
		`{"description": {}}`, `{"type": "BOGUS", "name": "a.b."}`, `{"type": "SECONDARY", "name": "s.b.", "masters": "x"}`,
		`{"type": "SECONDARY", "name": "s2.b.", "masters": [1]}`, `{"records": "x"}`, `{"records": [[]]}`, `{"records": ["1.2.3.4"], "type": "A"}`,
		`{"name": "www.", "type": "TXT", "records": ["a b"]}`, `{"email": null}`, `{"serial": 1}`, `{"zones": "x"}`, `{"zones": 5, "bogus": 1}`,
		`{"attributes": []}`, `{"name": "x.", "type": 5}`}
	paths := []string{"/v2/zones", "/v2/zones/{z}", "/v2/zones/nope", "/v2/zones/{z}/recordsets", "/v2/zones/{z}/recordsets/{r}",
		"/v2/zones/{z}/recordsets/nope", "/v2/zones/{z}/nameservers", "/v2/zones/{z}/tasks/abandon", "/v2/recordsets",
		"/v2/recordsets/{r}", "/v2/quotas", "/v2/quotas/p-demo", "/v2/limits", "/v2/zones?limit=x", "/v2/zones?marker=nope",
		"/v2/zones?sort_key=x", "/v2/zones?sort_dir=x", "/v2/zones/{z}/recordsets?data=*1*&limit=max"}
	for _, tmpl := range paths {
		for _, m := range []string{"GET", "POST", "PUT", "PATCH", "DELETE"} {
			z, r := zone()
			p := strings.NewReplacer("{z}", z, "{r}", r).Replace(tmpl)
			for _, b := range bodies {
				for _, tok := range []string{"demo", "admin"} {
					if code, out := do(tok, m, p, b, "X-Auth-All-Projects", "yes"); code >= 500 {
						t.Errorf("%s %s %s: %d %v", m, p, b, code, out)
					}
					if code, out := do(tok, m, p, b); code >= 500 {
						t.Errorf("%s %s %s: %d %v", m, p, b, code, out)
					}
				}
			}
		}
	}
	if len(problems) > 0 {
		t.Errorf("problems: %v", problems)
	}
}
