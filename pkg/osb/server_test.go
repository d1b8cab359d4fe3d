package osb

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/openstack-service-broker/openstack-service-broker/pkg/osb/osbapi"
	"github.com/openstack-service-broker/openstack-service-broker/pkg/osb/osbclient"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

const (
	provBody = `{"service_id":"sid","plan_id":"pid","organization_guid":"o","space_guid":"x"}`
	bindBody = `{"service_id":"sid","plan_id":"pid"}`
	updBody  = `{"service_id":"sid"}`
)

func TestRoutesUnderEveryPrefix(t *testing.T) {
	routes := []struct {
		method, path, body string
		want               int
		call               string
		iid, bid           string
	}{
		{"GET", "/v2/catalog", "", 200, "Catalog", "", ""},
		{"PUT", "/v2/service_instances/i1", provBody, 201, "Provision", "i1", ""},
		{"PATCH", "/v2/service_instances/i1", updBody, 200, "Update", "i1", ""},
		{"DELETE", "/v2/service_instances/i1?service_id=sid&plan_id=pid", "", 200, "Deprovision", "i1", ""},
		{"GET", "/v2/service_instances/i1", "", 200, "GetInstance", "i1", ""},
		{"GET", "/v2/service_instances/i1/last_operation", "", 200, "LastOperation", "i1", ""},
		{"PUT", "/v2/service_instances/i1/service_bindings/b1", bindBody, 201, "Bind", "i1", "b1"},
		{"DELETE", "/v2/service_instances/i1/service_bindings/b1?service_id=sid&plan_id=pid", "", 200, "Unbind", "i1", "b1"},
		{"GET", "/v2/service_instances/i1/service_bindings/b1", "", 200, "GetBinding", "i1", "b1"},
		{"GET", "/v2/service_instances/i1/service_bindings/b1/last_operation", "", 200, "BindingLastOperation", "i1", "b1"},
	}
	f := &fake{}
	base, _ := newTestServer(t, f, Options{})
	for _, prefix := range []string{"", "/osb", "/ansible-service-broker"} {
		for _, r := range routes {
			t.Run(prefix+" "+r.method+" "+r.path, func(t *testing.T) {
				before := f.count()
				got := send(t, base, r.method, prefix+r.path, r.body, nil)
				if got.status != r.want {
					t.Fatalf("status %d, want %d: %s", got.status, r.want, got.body)
				}
				if ct := got.hdr.Get("Content-Type"); ct != "application/json" {
					t.Errorf("Content-Type %q", ct)
				}
				if !json.Valid([]byte(got.body)) {
					t.Errorf("body is not JSON: %q", got.body)
				}
				if f.count() != before+1 {
					t.Fatalf("broker called %d times, want once", f.count()-before)
				}
				c := f.last(t)
				if c.method != r.call || c.iid != r.iid || c.bid != r.bid {
					t.Errorf("broker got %s(%q, %q), want %s(%q, %q)", c.method, c.iid, c.bid, r.call, r.iid, r.bid)
				}
				if c.ri.APIVersion != "2.17" {
					t.Errorf("RequestInfo.APIVersion %q", c.ri.APIVersion)
				}
			})
		}
	}
}

func TestOpaqueIDs(t *testing.T) {
	ids := []string{"slash/inside", "with space", "ünïcode-✓", "notAnId", "percent%25sign", "q?mark#hash"}
	f := &fake{}
	base, _ := newTestServer(t, f, Options{})
	c := osbclient.New(osbclient.Options{URL: base + "/osb"})
	ctx := context.Background()
	for _, iid := range ids {
		bid := "b-" + iid
		t.Run(iid, func(t *testing.T) {
			steps := []struct {
				call string
				bind bool
				do   func() error
			}{
				{"Provision", false, func() error {
					_, err := c.Provision(ctx, iid, &osbapi.ProvisionRequest{ServiceID: "s", PlanID: "p", OrganizationGUID: "o", SpaceGUID: "x"}, true)
					return err
				}},
				{"Update", false, func() error { _, err := c.Update(ctx, iid, &osbapi.UpdateRequest{ServiceID: "s"}, true); return err }},
				{"GetInstance", false, func() error { _, err := c.GetInstance(ctx, iid, nil); return err }},
				{"LastOperation", false, func() error { _, err := c.LastOperation(ctx, iid, nil); return err }},
				{"Deprovision", false, func() error {
					_, err := c.Deprovision(ctx, iid, &osbapi.DeprovisionRequest{ServiceID: "s", PlanID: "p"}, true)
					return err
				}},
				{"Bind", true, func() error {
					_, err := c.Bind(ctx, iid, bid, &osbapi.BindRequest{ServiceID: "s", PlanID: "p"}, true)
					return err
				}},
				{"GetBinding", true, func() error { _, err := c.GetBinding(ctx, iid, bid, nil); return err }},
				{"BindingLastOperation", true, func() error { _, err := c.BindingLastOperation(ctx, iid, bid, nil); return err }},
				{"Unbind", true, func() error {
					_, err := c.Unbind(ctx, iid, bid, &osbapi.UnbindRequest{ServiceID: "s", PlanID: "p"}, true)
					return err
				}},
			}
			for _, s := range steps {
				if err := s.do(); err != nil {
					t.Fatalf("%s: %v", s.call, err)
				}
				got := f.last(t)
				wantBid := ""
				if s.bind {
					wantBid = bid
				}
				if got.method != s.call || got.iid != iid || got.bid != wantBid {
					t.Errorf("broker got %s(%q, %q), want %s(%q, %q)", got.method, got.iid, got.bid, s.call, iid, wantBid)
				}
			}
		})
	}
	// A raw %2F arrives as a slash inside one id, not as a path separator.
	if r := send(t, base, "GET", "/v2/service_instances/a%2Fb/service_bindings/c%2Fd%20e", "", nil); r.status != 200 {
		t.Fatalf("raw escaped ids: %d %s", r.status, r.body)
	}
	if got := f.last(t); got.iid != "a/b" || got.bid != "c/d e" {
		t.Errorf("raw escaped ids decoded as %q, %q", got.iid, got.bid)
	}
}

func TestAPIVersion(t *testing.T) {
	cases := []struct {
		version string
		want    int
	}{
		{"", 412}, {"2.12", 412}, {"3.0", 412}, {"1.17", 412}, {"latest", 412}, {"2", 412},
		{"2.x", 412}, {"2.13.1", 412}, {"v2.17", 412},
		{"2.13", 200}, {"2.14", 200}, {"2.17", 200}, {"2.99", 200}, {" 2.17 ", 200},
	}
	f := &fake{}
	base, _ := newTestServer(t, f, Options{})
	for _, c := range cases {
		t.Run(fmt.Sprintf("%q", c.version), func(t *testing.T) {
			before := f.count()
			r := send(t, base, "GET", "/v2/catalog", "", map[string]string{"X-Broker-API-Version": c.version})
			if r.status != c.want {
				t.Fatalf("status %d, want %d: %s", r.status, c.want, r.body)
			}
			if c.want == 412 {
				e := osbError(t, r)
				if !strings.Contains(e.Description, "2.13") || !strings.Contains(e.Description, "2.17") {
					t.Errorf("description %q does not name the supported versions", e.Description)
				}
				if f.count() != before {
					t.Errorf("the broker was called despite a bad version")
				}
			}
		})
	}
}

type staticAuth struct {
	principal string
	err       error
}

func (a staticAuth) Authenticate(*http.Request) (string, error) { return a.principal, a.err }

func TestAuthentication(t *testing.T) {
	cases := []struct {
		name    string
		auth    Authenticator
		hdr     map[string]string
		want    int
		notBody string
	}{
		{name: "open when nil", auth: nil, want: 200},
		{name: "principal accepted", auth: staticAuth{principal: "admin"}, want: 200},
		{name: "unauthorized", auth: staticAuth{err: ErrUnauthorized}, want: 401},
		{name: "wrapped unauthorized", auth: staticAuth{err: fmt.Errorf("%w: bad password", ErrUnauthorized)}, want: 401},
		{name: "forbidden", auth: staticAuth{err: fmt.Errorf("%w: user x may not", ErrForbidden)}, want: 403},
		{name: "authority down is 500 and hidden", auth: staticAuth{err: errors.New("token review: dial 10.0.0.1")}, want: 500, notBody: "10.0.0.1"},
		// Auth runs before the version check: strangers learn nothing.
		{name: "auth before version", auth: staticAuth{err: ErrUnauthorized}, hdr: map[string]string{"X-Broker-API-Version": ""}, want: 401},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := &fake{}
			base, _ := newTestServer(t, f, Options{Auth: c.auth})
			hdr := map[string]string{"X-Broker-API-Request-Identity": "rid-auth"}
			for k, v := range c.hdr {
				hdr[k] = v
			}
			r := send(t, base, "GET", "/v2/catalog", "", hdr)
			if r.status != c.want {
				t.Fatalf("status %d, want %d: %s", r.status, c.want, r.body)
			}
			if r.hdr.Get("X-Broker-API-Request-Identity") != "rid-auth" {
				t.Errorf("request identity not echoed on %d", r.status)
			}
			if c.want != 200 {
				osbError(t, r)
				if f.count() != 0 {
					t.Errorf("broker called without authentication")
				}
			} else if p := f.last(t).ri.Principal; c.auth != nil && p != "admin" {
				t.Errorf("principal %q, want admin", p)
			}
			if c.want == 401 && r.hdr.Get("WWW-Authenticate") == "" {
				t.Errorf("401 without WWW-Authenticate")
			}
			if c.notBody != "" && strings.Contains(r.body, c.notBody) {
				t.Errorf("body leaks %q: %s", c.notBody, r.body)
			}
		})
	}
}

func TestRequestIdentity(t *testing.T) {
	f := &fake{err: errors.New("boom")}
	base, logs := newTestServer(t, f, Options{})
	cases := []struct {
		name, method, path string
		hdr                map[string]string
		want               int
	}{
		{"500", "GET", "/v2/catalog", nil, 500},
		{"412", "GET", "/v2/catalog", map[string]string{"X-Broker-API-Version": "1.0"}, 412},
		{"404", "GET", "/v2/nothing", nil, 404},
		{"400", "DELETE", "/v2/service_instances/x", nil, 400},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			hdr := map[string]string{"X-Broker-API-Request-Identity": "rid-" + c.name}
			for k, v := range c.hdr {
				hdr[k] = v
			}
			r := send(t, base, c.method, c.path, "", hdr)
			if r.status != c.want {
				t.Fatalf("status %d, want %d", r.status, c.want)
			}
			if got := r.hdr.Get("X-Broker-API-Request-Identity"); got != "rid-"+c.name {
				t.Errorf("echoed %q", got)
			}
		})
	}
	// Without one, the log line still carries a generated id.
	r := send(t, base, "GET", "/v2/service_instances/x/last_operation", "", nil)
	if r.hdr.Get("X-Broker-API-Request-Identity") != "" {
		t.Errorf("a request identity was invented in the response: %q", r.hdr.Get("X-Broker-API-Request-Identity"))
	}
	lines := logs.lines(t, "request")
	last := lines[len(lines)-1]
	if id, _ := last["request_id"].(string); len(id) < 8 || strings.HasPrefix(id, "rid-") {
		t.Errorf("generated request_id %q", id)
	}
}

func TestOriginatingIdentity(t *testing.T) {
	b64 := func(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }
	cases := []struct {
		name, header string
		wantNil      bool
		platform     string
		username     string
		decoded      bool
	}{
		{name: "absent", wantNil: true},
		{name: "kubernetes", header: "kubernetes " + b64(`{"username":"bob","uid":"1","groups":["g"]}`), platform: "kubernetes", username: "bob", decoded: true},
		{name: "cloudfoundry", header: "cloudfoundry " + b64(`{"user_id":"u-7"}`), platform: "cloudfoundry", username: "u-7", decoded: true},
		{name: "unpadded base64", header: "kubernetes " + strings.TrimRight(b64(`{"username":"al"}`), "="), platform: "kubernetes", username: "al", decoded: true},
		{name: "url-safe base64", header: "kubernetes " + base64.URLEncoding.EncodeToString([]byte(`{"username":"??>"}`)), platform: "kubernetes", username: "??>", decoded: true},
		// Garbled headers are refused: TestAttackOriginatingIdentity.
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := &fake{}
			base, _ := newTestServer(t, f, Options{})
			r := send(t, base, "PUT", "/v2/service_instances/i", provBody, map[string]string{"X-Broker-API-Originating-Identity": c.header})
			if r.status != 201 {
				t.Fatalf("status %d: %s", r.status, r.body)
			}
			oi := f.last(t).ri.OriginatingIdentity
			if c.wantNil {
				if oi != nil {
					t.Fatalf("identity %+v, want nil", oi)
				}
				return
			}
			if oi == nil {
				t.Fatal("identity not parsed")
			}
			if oi.Platform != c.platform || oi.Username() != c.username || (oi.Value != nil) != c.decoded || oi.Raw != c.header {
				t.Errorf("identity %+v (username %q), want platform %q username %q decoded %v", oi, oi.Username(), c.platform, c.username, c.decoded)
			}
		})
	}
}

func TestBodies(t *testing.T) {
	cases := []struct {
		name, method, path, body string
		hdr                      map[string]string
		max                      int64
		want                     int
		wantDesc                 string
	}{
		{name: "unknown fields ignored", method: "PUT", path: "/v2/service_instances/i",
			body: `{"service_id":"sid","plan_id":"pid","organization_guid":"o","space_guid":"x","x-vendor":{"a":[1]}}`, want: 201},
		{name: "charset param ok", method: "PUT", path: "/v2/service_instances/i", body: provBody,
			hdr: map[string]string{"Content-Type": "application/json; charset=utf-8"}, want: 201},
		{name: "no content type tolerated", method: "PUT", path: "/v2/service_instances/i", body: provBody,
			hdr: map[string]string{"Content-Type": ""}, want: 201},
		{name: "text/plain", method: "PUT", path: "/v2/service_instances/i", body: provBody,
			hdr: map[string]string{"Content-Type": "text/plain"}, want: 400, wantDesc: "Content-Type"},
		{name: "form", method: "PATCH", path: "/v2/service_instances/i", body: updBody,
			hdr: map[string]string{"Content-Type": "application/x-www-form-urlencoded"}, want: 400, wantDesc: "Content-Type"},
		{name: "unparsable content type", method: "PUT", path: "/v2/service_instances/i/service_bindings/b", body: bindBody,
			hdr: map[string]string{"Content-Type": "application/json; ="}, want: 400, wantDesc: "Content-Type"},
		{name: "malformed JSON", method: "PUT", path: "/v2/service_instances/i", body: `{"service_id": `, want: 400, wantDesc: "JSON"},
		{name: "trailing garbage", method: "PUT", path: "/v2/service_instances/i", body: provBody + `}`, want: 400, wantDesc: "JSON"},
		{name: "array body", method: "PUT", path: "/v2/service_instances/i", body: `[1]`, want: 400},
		{name: "wrong field type", method: "PUT", path: "/v2/service_instances/i", body: `{"service_id":1}`, want: 400},
		{name: "empty provision body", method: "PUT", path: "/v2/service_instances/i", want: 400, wantDesc: "empty"},
		{name: "blank provision body", method: "PUT", path: "/v2/service_instances/i", body: " \n", want: 400, wantDesc: "empty"},
		{name: "empty update body", method: "PATCH", path: "/v2/service_instances/i", want: 400, wantDesc: "empty"},
		{name: "empty bind body", method: "PUT", path: "/v2/service_instances/i/service_bindings/b", want: 400, wantDesc: "empty"},
		{name: "too large (default 1 MiB)", method: "PUT", path: "/v2/service_instances/i",
			body: `{"parameters":{"x":"` + strings.Repeat("a", 1<<20) + `"}}`, want: 413},
		{name: "too large (custom limit)", method: "PUT", path: "/v2/service_instances/i", body: provBody, max: 20, want: 413},
		{name: "under custom limit", method: "PUT", path: "/v2/service_instances/i", body: provBody, max: 200, want: 201},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := &fake{}
			base, _ := newTestServer(t, f, Options{MaxBodyBytes: c.max})
			r := send(t, base, c.method, c.path, c.body, c.hdr)
			if r.status != c.want {
				t.Fatalf("status %d, want %d: %s", r.status, c.want, r.body)
			}
			if c.want >= 400 {
				e := osbError(t, r)
				if c.wantDesc != "" && !strings.Contains(e.Description, c.wantDesc) {
					t.Errorf("description %q lacks %q", e.Description, c.wantDesc)
				}
				if f.count() != 0 {
					t.Errorf("broker called for a rejected body")
				}
			}
		})
	}
}

func TestRequiredFields(t *testing.T) {
	cases := []struct {
		name, method, path, body, field string
	}{
		{"provision service_id", "PUT", "/v2/service_instances/i", `{"plan_id":"p","organization_guid":"o","space_guid":"x"}`, "service_id"},
		{"provision plan_id", "PUT", "/v2/service_instances/i", `{"service_id":"s","organization_guid":"o","space_guid":"x"}`, "plan_id"},
		{"provision organization_guid", "PUT", "/v2/service_instances/i", `{"service_id":"s","plan_id":"p","space_guid":"x"}`, "organization_guid"},
		{"provision space_guid", "PUT", "/v2/service_instances/i", `{"service_id":"s","plan_id":"p","organization_guid":"o"}`, "space_guid"},
		{"provision null body", "PUT", "/v2/service_instances/i", `null`, "service_id"},
		{"update service_id", "PATCH", "/v2/service_instances/i", `{"plan_id":"p"}`, "service_id"},
		{"bind service_id", "PUT", "/v2/service_instances/i/service_bindings/b", `{"plan_id":"p"}`, "service_id"},
		{"bind plan_id", "PUT", "/v2/service_instances/i/service_bindings/b", `{"service_id":"s"}`, "plan_id"},
		{"deprovision service_id", "DELETE", "/v2/service_instances/i?plan_id=p", "", "service_id"},
		{"deprovision plan_id", "DELETE", "/v2/service_instances/i?service_id=s", "", "plan_id"},
		{"deprovision both", "DELETE", "/v2/service_instances/i", "", "service_id"},
		{"unbind service_id", "DELETE", "/v2/service_instances/i/service_bindings/b?plan_id=p", "", "service_id"},
		{"unbind plan_id", "DELETE", "/v2/service_instances/i/service_bindings/b?service_id=s&plan_id=", "", "plan_id"},
	}
	f := &fake{}
	base, _ := newTestServer(t, f, Options{})
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := send(t, base, c.method, c.path, c.body, nil)
			if r.status != 400 {
				t.Fatalf("status %d, want 400: %s", r.status, r.body)
			}
			if e := osbError(t, r); !strings.Contains(e.Description, c.field) {
				t.Errorf("description %q does not name %s", e.Description, c.field)
			}
		})
	}
	if f.count() != 0 {
		t.Errorf("broker called %d times for invalid requests", f.count())
	}
}

func TestQueryParameters(t *testing.T) {
	cases := []struct {
		query string
		want  bool
	}{
		{"", false}, {"accepts_incomplete=true", true}, {"accepts_incomplete=1", true}, {"accepts_incomplete=TRUE", true},
		{"accepts_incomplete=false", false}, {"accepts_incomplete=0", false}, {"accepts_incomplete=", false},
		// Other values are refused: TestAttackAcceptsIncomplete.
	}
	f := &fake{}
	base, _ := newTestServer(t, f, Options{})
	for _, c := range cases {
		t.Run(c.query, func(t *testing.T) {
			r := send(t, base, "DELETE", "/v2/service_instances/i?service_id=sid&plan_id=pid&"+c.query, "", nil)
			if r.status != 200 {
				t.Fatalf("status %d: %s", r.status, r.body)
			}
			got := f.last(t)
			if got.ri.AcceptsIncomplete != c.want {
				t.Errorf("AcceptsIncomplete %v, want %v", got.ri.AcceptsIncomplete, c.want)
			}
			if d := got.req.(*osbapi.DeprovisionRequest); d.ServiceID != "sid" || d.PlanID != "pid" {
				t.Errorf("deprovision request %+v", d)
			}
		})
	}
	send(t, base, "GET", "/v2/service_instances/i/service_bindings/b/last_operation?service_id=s&plan_id=p&operation=op%201%2F2", "", nil)
	if lo := f.last(t).req.(*osbapi.LastOperationRequest); *lo != (osbapi.LastOperationRequest{ServiceID: "s", PlanID: "p", Operation: "op 1/2"}) {
		t.Errorf("last operation request %+v", lo)
	}
	send(t, base, "GET", "/v2/service_instances/i?service_id=s&plan_id=p", "", nil)
	if fr := f.last(t).req.(*osbapi.FetchRequest); *fr != (osbapi.FetchRequest{ServiceID: "s", PlanID: "p"}) {
		t.Errorf("fetch request %+v", fr)
	}
	send(t, base, "GET", "/v2/service_instances/i/service_bindings/b?service_id=s", "", nil)
	if fr := f.last(t).req.(*osbapi.FetchRequest); *fr != (osbapi.FetchRequest{ServiceID: "s"}) {
		t.Errorf("binding fetch request %+v", fr)
	}
}

func TestDecodedRequests(t *testing.T) {
	f := &fake{}
	base, _ := newTestServer(t, f, Options{})
	send(t, base, "PUT", "/v2/service_instances/i", `{"service_id":"s","plan_id":"p","organization_guid":"o","space_guid":"x",
		"context":{"platform":"kubernetes"},"parameters":{"n":1},"maintenance_info":{"version":"1.0.0"}}`, nil)
	want := &osbapi.ProvisionRequest{ServiceID: "s", PlanID: "p", OrganizationGUID: "o", SpaceGUID: "x",
		Context: map[string]any{"platform": "kubernetes"}, Parameters: map[string]any{"n": 1.0}, MaintenanceInfo: &osbapi.MaintenanceInfo{Version: "1.0.0"}}
	if got := f.last(t).req; !reflect.DeepEqual(got, want) {
		t.Errorf("provision request %+v, want %+v", got, want)
	}
	send(t, base, "PATCH", "/v2/service_instances/i", `{"service_id":"s","plan_id":"p2","previous_values":{"plan_id":"p"}}`, nil)
	if got := f.last(t).req.(*osbapi.UpdateRequest); got.PlanID != "p2" || got.PreviousValues == nil || got.PreviousValues.PlanID != "p" {
		t.Errorf("update request %+v", got)
	}
	send(t, base, "PUT", "/v2/service_instances/i/service_bindings/b", `{"service_id":"s","plan_id":"p","bind_resource":{"app_guid":"a"},"predecessor_binding_id":"old"}`, nil)
	if got := f.last(t).req.(*osbapi.BindRequest); got.BindResource == nil || got.BindResource.AppGUID != "a" || got.PredecessorBindingID != "old" {
		t.Errorf("bind request %+v", got)
	}
}

func TestResponses(t *testing.T) {
	creds := map[string]any{"password": "pw"}
	cases := []struct {
		name, method, path, body string
		f                        *fake
		want                     int
		wantBody                 string // exact JSON
		wantRetry                string
	}{
		{name: "provision created", method: "PUT", path: "/v2/service_instances/i", body: provBody, f: &fake{prov: &osbapi.ProvisionResponse{DashboardURL: "http://d"}},
			want: 201, wantBody: `{"dashboard_url":"http://d"}`},
		{name: "provision exists", method: "PUT", path: "/v2/service_instances/i", body: provBody, f: &fake{prov: &osbapi.ProvisionResponse{Exists: true}}, want: 200, wantBody: `{}`},
		{name: "provision async", method: "PUT", path: "/v2/service_instances/i", body: provBody, f: &fake{prov: &osbapi.ProvisionResponse{Async: true, Exists: true, Operation: "op-1"}},
			want: 202, wantBody: `{"operation":"op-1"}`},
		{name: "update sync", method: "PATCH", path: "/v2/service_instances/i", body: updBody, f: &fake{}, want: 200, wantBody: `{}`},
		{name: "update async", method: "PATCH", path: "/v2/service_instances/i", body: updBody, f: &fake{upd: &osbapi.UpdateResponse{Async: true, Operation: "u"}}, want: 202, wantBody: `{"operation":"u"}`},
		{name: "deprovision sync", method: "DELETE", path: "/v2/service_instances/i?service_id=s&plan_id=p", f: &fake{}, want: 200, wantBody: `{}`},
		{name: "deprovision async", method: "DELETE", path: "/v2/service_instances/i?service_id=s&plan_id=p", f: &fake{dep: &osbapi.DeprovisionResponse{Async: true, Operation: "d"}},
			want: 202, wantBody: `{"operation":"d"}`},
		{name: "bind created", method: "PUT", path: "/v2/service_instances/i/service_bindings/b", body: bindBody,
			f:    &fake{bind: &osbapi.BindResponse{Credentials: creds, Endpoints: []osbapi.Endpoint{{Host: "h", Ports: []string{"5432"}}}}},
			want: 201, wantBody: `{"credentials":{"password":"pw"},"endpoints":[{"host":"h","ports":["5432"]}]}`},
		{name: "bind exists", method: "PUT", path: "/v2/service_instances/i/service_bindings/b", body: bindBody, f: &fake{bind: &osbapi.BindResponse{Exists: true, Credentials: creds}},
			want: 200, wantBody: `{"credentials":{"password":"pw"}}`},
		{name: "bind async never carries credentials", method: "PUT", path: "/v2/service_instances/i/service_bindings/b", body: bindBody,
			f:    &fake{bind: &osbapi.BindResponse{Async: true, Operation: "b", Credentials: creds, Endpoints: []osbapi.Endpoint{{Host: "h"}}}},
			want: 202, wantBody: `{"operation":"b"}`},
		{name: "unbind sync", method: "DELETE", path: "/v2/service_instances/i/service_bindings/b?service_id=s&plan_id=p", f: &fake{}, want: 200, wantBody: `{}`},
		{name: "unbind async", method: "DELETE", path: "/v2/service_instances/i/service_bindings/b?service_id=s&plan_id=p", f: &fake{unbind: &osbapi.UnbindResponse{Async: true, Operation: "x"}},
			want: 202, wantBody: `{"operation":"x"}`},
		{name: "get instance", method: "GET", path: "/v2/service_instances/i", f: &fake{inst: &osbapi.GetInstanceResponse{ServiceID: "s", PlanID: "p", Parameters: map[string]any{"a": "b"}}},
			want: 200, wantBody: `{"service_id":"s","plan_id":"p","parameters":{"a":"b"}}`},
		{name: "get binding", method: "GET", path: "/v2/service_instances/i/service_bindings/b", f: &fake{getb: &osbapi.GetBindingResponse{Credentials: creds}},
			want: 200, wantBody: `{"credentials":{"password":"pw"}}`},
		{name: "last operation in progress with Retry-After", method: "GET", path: "/v2/service_instances/i/last_operation",
			f:    &fake{los: []*osbapi.LastOperationResponse{{State: osbapi.StateInProgress, Description: "running", RetryAfter: 7}}},
			want: 200, wantBody: `{"state":"in progress","description":"running"}`, wantRetry: "7"},
		{name: "last operation without Retry-After", method: "GET", path: "/v2/service_instances/i/last_operation",
			f: &fake{los: []*osbapi.LastOperationResponse{{State: osbapi.StateFailed}}}, want: 200, wantBody: `{"state":"failed"}`},
		{name: "binding last operation Retry-After", method: "GET", path: "/v2/service_instances/i/service_bindings/b/last_operation",
			f:    &fake{los: []*osbapi.LastOperationResponse{{State: osbapi.StateInProgress, RetryAfter: 3}}},
			want: 200, wantBody: `{"state":"in progress"}`, wantRetry: "3"},
		{name: "catalog", method: "GET", path: "/v2/catalog", f: &fake{catalog: &osbapi.Catalog{Services: []osbapi.Service{}}}, want: 200, wantBody: `{"services":[]}`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			base, _ := newTestServer(t, c.f, Options{})
			r := send(t, base, c.method, c.path, c.body, nil)
			if r.status != c.want {
				t.Fatalf("status %d, want %d: %s", r.status, c.want, r.body)
			}
			if r.body != c.wantBody {
				t.Errorf("body %s, want %s", r.body, c.wantBody)
			}
			if got := r.hdr.Get("Retry-After"); got != c.wantRetry {
				t.Errorf("Retry-After %q, want %q", got, c.wantRetry)
			}
		})
	}
}

func TestErrors(t *testing.T) {
	yes, no := true, false
	cases := []struct {
		name, method, path string
		f                  *fake
		want               int
		wantBody           string // exact JSON when set
		wantAllow          string
		notInBody          string
		logged             string
	}{
		{name: "osb error kept", method: "DELETE", path: "/v2/service_instances/i?service_id=s&plan_id=p", f: &fake{err: osbapi.Gone("instance i is gone")},
			want: 410, wantBody: `{"description":"instance i is gone"}`},
		{name: "code and flags kept", method: "PATCH", path: "/v2/service_instances/i",
			f:    &fake{err: &osbapi.Error{Status: 422, Code: osbapi.ErrCodeConcurrencyError, Description: "busy", InstanceUsable: &yes, UpdateRepeatable: &no}},
			want: 422, wantBody: `{"error":"ConcurrencyError","description":"busy","instance_usable":true,"update_repeatable":false}`},
		{name: "wrapped osb error kept", method: "GET", path: "/v2/service_instances/i", f: &fake{err: fmt.Errorf("loading: %w", osbapi.NotFound("no instance"))},
			want: 404, wantBody: `{"description":"no instance"}`},
		{name: "async required", method: "PUT", path: "/v2/service_instances/i/service_bindings/b", f: &fake{err: osbapi.AsyncRequired()},
			want: 422, wantBody: `{"error":"AsyncRequired","description":"This service plan requires client support for asynchronous service operations."}`},
		{name: "plain error is 500 and hidden", method: "GET", path: "/v2/catalog", f: &fake{err: errors.New("etcd at 10.1.2.3 unreachable")},
			want: 500, wantBody: `{"description":"internal error"}`, logged: "10.1.2.3"},
		{name: "panic is 500", method: "GET", path: "/v2/service_instances/i/last_operation", f: &fake{panicMsg: "nil map at 10.9.9.9"},
			want: 500, wantBody: `{"description":"internal error"}`, logged: "nil map"},
		{name: "unknown route", method: "GET", path: "/v2/nothing", f: &fake{}, want: 404},
		{name: "unknown prefix route", method: "GET", path: "/osb/v3/catalog", f: &fake{}, want: 404},
		{name: "root", method: "GET", path: "/", f: &fake{}, want: 404},
		{name: "catalog wrong method", method: "POST", path: "/v2/catalog", f: &fake{}, want: 405, wantAllow: "GET"},
		{name: "instance wrong method", method: "POST", path: "/ansible-service-broker/v2/service_instances/i", f: &fake{}, want: 405, wantAllow: "GET, PUT, PATCH, DELETE"},
		{name: "last_operation wrong method", method: "DELETE", path: "/v2/service_instances/i/last_operation", f: &fake{}, want: 405, wantAllow: "GET"},
		{name: "binding wrong method", method: "PATCH", path: "/osb/v2/service_instances/i/service_bindings/b", f: &fake{}, want: 405, wantAllow: "GET, PUT, DELETE"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			base, logs := newTestServer(t, c.f, Options{})
			body := ""
			switch c.method {
			case "PUT":
				body = bindBody
			case "PATCH":
				body = updBody
			}
			r := send(t, base, c.method, c.path, body, nil)
			if r.status != c.want {
				t.Fatalf("status %d, want %d: %s", r.status, c.want, r.body)
			}
			osbError(t, r)
			if c.wantBody != "" && r.body != c.wantBody {
				t.Errorf("body %s, want %s", r.body, c.wantBody)
			}
			if got := r.hdr.Get("Allow"); got != c.wantAllow {
				t.Errorf("Allow %q, want %q", got, c.wantAllow)
			}
			if c.logged != "" && !strings.Contains(logs.String(), c.logged) {
				t.Errorf("the real error (%s) was not logged: %s", c.logged, logs)
			}
		})
	}
}

// jsonBroker serves the catalog pre-encoded; Catalog must not be used.
type jsonBroker struct {
	*fake
	body []byte
	err  error
	gz   []byte
}

func (j jsonBroker) CatalogJSON(ctx context.Context, ri osbapi.RequestInfo) ([]byte, error) {
	return j.body, j.err
}

type gzBroker struct{ jsonBroker }

func (g gzBroker) CatalogGzip(ctx context.Context, ri osbapi.RequestInfo) ([]byte, error) {
	return g.gz, nil
}

func TestCatalogFastPath(t *testing.T) {
	// Odd spacing proves the bytes are written as given, not re-encoded.
	body := []byte(`{ "services" : [ ] }`)
	f := &fake{}
	base, _ := newTestServer(t, jsonBroker{fake: f, body: body}, Options{})
	r := send(t, base, "GET", "/osb/v2/catalog", "", nil)
	if r.status != 200 || r.body != string(body) || r.hdr.Get("Content-Type") != "application/json" {
		t.Fatalf("fast path: %d %q %v", r.status, r.body, r.hdr)
	}
	if f.count() != 0 {
		t.Errorf("Catalog was called although CatalogJSON exists")
	}
	base, _ = newTestServer(t, jsonBroker{fake: f, err: osbapi.Unavailable("etcd down")}, Options{})
	if r := send(t, base, "GET", "/v2/catalog", "", nil); r.status != 503 || r.body != `{"description":"etcd down"}` || r.hdr.Get("Retry-After") == "" {
		t.Errorf("fast path error: %d %s (Retry-After %q)", r.status, r.body, r.hdr.Get("Retry-After"))
	}
}

func TestCatalogGzipNegotiation(t *testing.T) {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write([]byte(`{"services":[]}`))
	zw.Close()
	s := NewServer(Options{Broker: gzBroker{jsonBroker{fake: &fake{}, body: []byte(`{"services":[]}`), gz: buf.Bytes()}}})
	cases := []struct {
		accept string
		gzip   bool
	}{{"gzip, deflate", true}, {"br;q=1.0, gzip;q=0.5", true}, {"gzip;q=0", false}, {"", false}, {"deflate", false}}
	for _, c := range cases {
		t.Run(c.accept, func(t *testing.T) {
			req := httptest.NewRequest("GET", "/v2/catalog", nil)
			req.Header.Set("X-Broker-API-Version", "2.17")
			if c.accept != "" {
				req.Header.Set("Accept-Encoding", c.accept)
			}
			w := httptest.NewRecorder()
			s.ServeHTTP(w, req)
			body := w.Body.Bytes()
			if got := w.Header().Get("Content-Encoding") == "gzip"; got != c.gzip {
				t.Fatalf("gzip %v, want %v", got, c.gzip)
			}
			if c.gzip {
				zr, err := gzip.NewReader(bytes.NewReader(body))
				if err != nil {
					t.Fatal(err)
				}
				if body, err = io.ReadAll(zr); err != nil {
					t.Fatal(err)
				}
			}
			if string(body) != `{"services":[]}` {
				t.Errorf("body %q", body)
			}
		})
	}
}

// devFake is a DevBroker recording what it was asked.
type devFake struct {
	mu      sync.Mutex
	pushed  []string
	deleted [][]string
	err     error
}

func (d *devFake) PushSpec(_ context.Context, enc string) (*osbapi.Service, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.pushed = append(d.pushed, enc)
	if d.err != nil {
		return nil, d.err
	}
	return &osbapi.Service{Name: "apb-push-x", ID: "x", Plans: []osbapi.Plan{}}, nil
}

func (d *devFake) DeleteSpecs(_ context.Context, ids ...string) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.deleted = append(d.deleted, ids)
	return d.err
}

// The Automation Broker's own routes go through the same layer as the OSB
// ones: every prefix, authentication, request identity, OSB error bodies,
// and errors logged; but no API version is required.
func TestAutomationBrokerRoutes(t *testing.T) {
	f := &fake{}
	dev := &devFake{}
	var boots atomic.Int32
	bootErr := error(nil)
	base, logs := newTestServer(t, f, Options{Auth: staticAuth{principal: "admin"}, Dev: dev,
		Bootstrap: func(context.Context) error { boots.Add(1); return bootErr }})
	noVersion := map[string]string{"X-Broker-API-Version": ""}
	form := map[string]string{"X-Broker-API-Version": "", "Content-Type": "application/x-www-form-urlencoded"}
	for _, prefix := range Prefixes {
		r := send(t, base, "POST", prefix+"/v2/bootstrap", "", map[string]string{"X-Broker-API-Version": "", "X-Broker-API-Request-Identity": "x-1"})
		if r.status != 200 || r.body != `{"msg":"Bootstrap job started"}` || r.hdr.Get("X-Broker-API-Request-Identity") != "x-1" {
			t.Errorf("%s bootstrap: %d %s %v", prefix, r.status, r.body, r.hdr)
		}
		if r := send(t, base, "DELETE", prefix+"/v2/apb/a%2Fb", "", noVersion); r.status != 204 {
			t.Errorf("%s delete apb: %d %s", prefix, r.status, r.body)
		}
		if r := send(t, base, "POST", prefix+"/v2/apb", "apbSpec=c3BlYw%3D%3D", form); r.status != 200 || !strings.Contains(r.body, `"name":"apb-push-x"`) {
			t.Errorf("%s push: %d %s", prefix, r.status, r.body)
		}
	}
	if n := boots.Load(); n != 3 {
		t.Errorf("bootstrap asked %d times, want 3", n)
	}
	if r := send(t, base, "DELETE", "/v2/apb", "", noVersion); r.status != 204 {
		t.Errorf("delete all: %d %s", r.status, r.body)
	}
	if want := [][]string{{"a/b"}, {"a/b"}, {"a/b"}, nil}; !reflect.DeepEqual(dev.deleted, want) {
		t.Errorf("deleted %q, want %q", dev.deleted, want)
	}
	if want := []string{"c3BlYw==", "c3BlYw==", "c3BlYw=="}; !reflect.DeepEqual(dev.pushed, want) {
		t.Errorf("pushed %q, want %q", dev.pushed, want)
	}
	if r := send(t, base, "POST", "/v2/apb", "other=1", form); r.status != 400 || !strings.Contains(r.body, "apbSpec") {
		t.Errorf("push without apbSpec: %d %s", r.status, r.body)
	}
	if r := send(t, base, "GET", "/v2/bootstrap", "", nil); r.status != 405 || r.hdr.Get("Allow") != "POST" {
		t.Errorf("GET bootstrap: %d Allow %q", r.status, r.hdr.Get("Allow"))
	}
	// Failures: OSB errors keep their status, others are 500, logged.
	dev.err = osbapi.NotFound("spec %q does not exist", "zz")
	if r := send(t, base, "DELETE", "/v2/apb/zz", "", noVersion); r.status != 404 || !strings.Contains(r.body, `spec \"zz\" does not exist`) {
		t.Errorf("delete unknown: %d %s", r.status, r.body)
	}
	bootErr = errors.New("registry at 10.7.7.7 refused")
	if r := send(t, base, "POST", "/v2/bootstrap", "", noVersion); r.status != 500 || strings.Contains(r.body, "10.7.7.7") {
		t.Errorf("failing bootstrap: %d %s", r.status, r.body)
	}
	if !strings.Contains(logs.String(), "10.7.7.7") {
		t.Errorf("the bootstrap failure is not in the log:\n%s", logs.String())
	}

	// Authentication applies to these routes too.
	called := false
	denied := NewServer(Options{Broker: f, Auth: staticAuth{err: ErrUnauthorized},
		Bootstrap: func(context.Context) error { called = true; return nil }})
	if r := send(t, serve(t, denied), "POST", "/osb/v2/bootstrap", "", nil); r.status != 401 || called {
		t.Errorf("unauthenticated bootstrap: %d, handler called %v", r.status, called)
	}
	// Without Dev (dev_broker false) and Bootstrap, the routes are absent.
	plain := serve(t, NewServer(Options{Broker: f}))
	if r := send(t, plain, "POST", "/v2/apb", "apbSpec=x", form); r.status != 404 {
		t.Errorf("push without dev broker: %d", r.status)
	}
	if r := send(t, plain, "POST", "/v2/bootstrap", "", noVersion); r.status != 404 {
		t.Errorf("bootstrap without Bootstrap: %d", r.status)
	}
}

func TestWriteJSON(t *testing.T) {
	w := httptest.NewRecorder()
	writeJSON(w, 418, map[string]int{"a": 1})
	if w.Code != 418 || w.Body.String() != `{"a":1}` || w.Header().Get("Content-Type") != "application/json" {
		t.Errorf("WriteJSON: %d %q %v", w.Code, w.Body, w.Header())
	}
	w = httptest.NewRecorder()
	writeJSON(w, 200, map[string]any{"f": func() {}})
	if w.Code != 500 || w.Body.String() != `{"description":"internal error"}` {
		t.Errorf("unencodable: %d %q", w.Code, w.Body)
	}
}

func counter(t *testing.T, m *Metrics, route, code string) float64 {
	t.Helper()
	var d dto.Metric
	if err := m.requests.WithLabelValues(route, code).Write(&d); err != nil {
		t.Fatal(err)
	}
	return d.GetCounter().GetValue()
}

func TestMetrics(t *testing.T) {
	reg := prometheus.NewRegistry()
	m := NewMetrics(reg)
	f := &fake{prov: &osbapi.ProvisionResponse{Async: true}}
	s := NewServer(Options{Broker: f, Metrics: m, Dev: &devFake{}})
	base := serve(t, s)
	send(t, base, "GET", "/v2/catalog", "", nil)
	send(t, base, "GET", "/osb/v2/catalog", "", nil)
	send(t, base, "GET", "/v2/catalog", "", map[string]string{"X-Broker-API-Version": ""})
	send(t, base, "PUT", "/v2/service_instances/a", provBody, nil)
	send(t, base, "PUT", "/v2/service_instances/b", provBody, nil)
	send(t, base, "GET", "/v2/service_instances/zzz/last_operation", "", nil)
	send(t, base, "DELETE", "/v2/apb/one", "", nil)
	send(t, base, "DELETE", "/v2/apb/two", "", nil)
	send(t, base, "GET", "/nope", "", nil)
	cases := []struct {
		route, code string
		want        float64
	}{
		{"catalog", "200", 2}, {"catalog", "412", 1}, {"provision", "202", 2}, {"last_operation", "200", 1},
		{"delete_apb_id", "204", 2}, {"not_found", "404", 1}, {"provision", "201", 0},
	}
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]int{}
	for _, fam := range families {
		names[fam.GetName()] = len(fam.GetMetric())
	}
	// Route labels are fixed names, so ids never multiply series.
	if names["osb_http_requests_total"] != 6 || names["osb_http_request_duration_seconds"] != 5 {
		t.Errorf("series per family: %v", names)
	}
	for _, c := range cases {
		if got := counter(t, m, c.route, c.code); got != c.want {
			t.Errorf("osb_http_requests_total{route=%q,code=%q} = %v, want %v", c.route, c.code, got, c.want)
		}
	}
}

func TestLogging(t *testing.T) {
	body := `{"service_id":"sid","plan_id":"pid","organization_guid":"o","space_guid":"x","parameters":{
		"admin_password":"hunter2","size":1,"nested":[{"api_token":"tok-123"}],"client_secret":"sec-456",
		"credentials":{"user":"cred-789"},"region":"RegionOne"}}`
	secrets := []string{"hunter2", "tok-123", "sec-456", "cred-789"}
	for _, logBodies := range []bool{false, true} {
		t.Run(fmt.Sprintf("LogRequests=%v", logBodies), func(t *testing.T) {
			f := &fake{}
			base, logs := newTestServer(t, f, Options{LogRequests: logBodies, Auth: staticAuth{principal: "admin"}})
			send(t, base, "PUT", "/v2/service_instances/i", body, map[string]string{"X-Broker-API-Request-Identity": "rid-log"})
			send(t, base, "GET", "/v2/catalog", "", nil)
			lines := logs.lines(t, "request")
			if len(lines) != 2 {
				t.Fatalf("%d request lines, want one per request: %s", len(lines), logs)
			}
			l := lines[0]
			for k, want := range map[string]any{"method": "PUT", "route": "provision", "status": 201.0, "request_id": "rid-log", "principal": "admin"} {
				if l[k] != want {
					t.Errorf("log %s = %v, want %v", k, l[k], want)
				}
			}
			if _, ok := l["duration"]; !ok {
				t.Errorf("no duration in %v", l)
			}
			for _, s := range secrets {
				if strings.Contains(logs.String(), s) {
					t.Errorf("secret %q reached the logs", s)
				}
			}
			bodies := logs.lines(t, "request body")
			if !logBodies {
				if len(bodies) != 0 || strings.Contains(logs.String(), "RegionOne") {
					t.Errorf("bodies logged without LogRequests: %s", logs)
				}
				return
			}
			if len(bodies) != 1 {
				t.Fatalf("%d body lines, want 1: %s", len(bodies), logs)
			}
			b, _ := json.Marshal(bodies[0]["body"])
			for _, want := range []string{"RegionOne", `"admin_password":"****"`, `"credentials":"****"`, `"api_token":"****"`} {
				if !strings.Contains(string(b), want) {
					t.Errorf("logged body %s lacks %s", b, want)
				}
			}
		})
	}
}

// Generated clients send "maintenance_info": {} (or a version of "") when
// they mean none: the broker must see none, not an empty version to compare.
func TestEmptyMaintenanceInfoIsNone(t *testing.T) {
	f := &fake{}
	base, _ := newTestServer(t, f, Options{})
	for _, mi := range []string{`{}`, `{"version":""}`, `null`} {
		t.Run(mi, func(t *testing.T) {
			send(t, base, "PUT", "/v2/service_instances/i", `{"service_id":"s","plan_id":"p","organization_guid":"o","space_guid":"x",
				"maintenance_info":`+mi+`}`, nil)
			if got := f.last(t).req.(*osbapi.ProvisionRequest); got.MaintenanceInfo != nil {
				t.Errorf("provision maintenance_info %s decoded as %+v, want none", mi, got.MaintenanceInfo)
			}
			send(t, base, "PATCH", "/v2/service_instances/i", `{"service_id":"s","maintenance_info":`+mi+`,
				"previous_values":{"maintenance_info":`+mi+`}}`, nil)
			got := f.last(t).req.(*osbapi.UpdateRequest)
			if got.MaintenanceInfo != nil {
				t.Errorf("update maintenance_info %s decoded as %+v, want none", mi, got.MaintenanceInfo)
			}
			if got.PreviousValues == nil || got.PreviousValues.MaintenanceInfo != nil {
				t.Errorf("previous_values %+v, want one without maintenance_info", got.PreviousValues)
			}
		})
	}
	// A version is kept as sent.
	send(t, base, "PUT", "/v2/service_instances/i", `{"service_id":"s","plan_id":"p","organization_guid":"o","space_guid":"x",
		"maintenance_info":{"version":"1.0.0"}}`, nil)
	if got := f.last(t).req.(*osbapi.ProvisionRequest); got.MaintenanceInfo == nil || got.MaintenanceInfo.Version != "1.0.0" {
		t.Errorf("maintenance_info 1.0.0 decoded as %+v", got.MaintenanceInfo)
	}
}

// broker.cluster_url (releases before 1.3) adds its prefix to the others.
func TestClusterURLPrefix(t *testing.T) {
	f := &fake{}
	base, _ := newTestServer(t, f, Options{Prefix: "/my-broker/", Bootstrap: func(context.Context) error { return nil }})
	for _, p := range []string{"/my-broker", "/osb", ""} {
		if r := send(t, base, "GET", p+"/v2/catalog", "", nil); r.status != 200 {
			t.Errorf("%s/v2/catalog: %d %s", p, r.status, r.body)
		}
	}
	if r := send(t, base, "POST", "/my-broker/v2/bootstrap", "", map[string]string{"X-Broker-API-Version": ""}); r.status != 200 {
		t.Errorf("/my-broker/v2/bootstrap: %d %s", r.status, r.body)
	}
	if r := send(t, base, "GET", "/other/v2/catalog", "", nil); r.status != 404 {
		t.Errorf("/other/v2/catalog: %d, want 404", r.status)
	}
}
