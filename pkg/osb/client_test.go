package osb

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"
)

// captured is what a raw test server saw of one request.
type captured struct {
	method, uri string
	hdr         http.Header
	body        string
}

// captureServer answers every request with status and body, and records it.
func captureServer(t *testing.T, status int, body string, extra http.Header) (string, func() captured) {
	t.Helper()
	var mu sync.Mutex
	var last captured
	base := serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		data, _ := io.ReadAll(r.Body)
		mu.Lock()
		last = captured{r.Method, r.RequestURI, r.Header.Clone(), string(data)}
		mu.Unlock()
		for k, vs := range extra {
			w.Header()[k] = vs
		}
		w.WriteHeader(status)
		io.WriteString(w, body)
	}))
	return base, func() captured {
		mu.Lock()
		defer mu.Unlock()
		return last
	}
}

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func TestClientDo(t *testing.T) {
	basic := "Basic " + base64.StdEncoding.EncodeToString([]byte("admin:s3cret"))
	cases := []struct {
		name     string
		o        ClientOptions
		method   string
		body     any
		hdr      http.Header
		wantHdr  map[string]string // "" means absent
		wantBody string
	}{
		{name: "defaults", method: "GET",
			wantHdr: map[string]string{"X-Broker-Api-Version": "2.17", "Authorization": "", "Content-Type": "",
				"X-Broker-Api-Originating-Identity": "", "X-Broker-Api-Request-Identity": ""}},
		{name: "basic auth", o: ClientOptions{Username: "admin", Password: "s3cret"}, method: "GET",
			wantHdr: map[string]string{"Authorization": basic}},
		{name: "bearer wins", o: ClientOptions{Username: "admin", Password: "s3cret", BearerToken: "tok"}, method: "GET",
			wantHdr: map[string]string{"Authorization": "Bearer tok"}},
		{name: "version and identities", o: ClientOptions{APIVersion: "2.14", OriginatingIdentity: "kubernetes e30=", RequestIdentity: "rid-9"}, method: "GET",
			wantHdr: map[string]string{"X-Broker-Api-Version": "2.14", "X-Broker-Api-Originating-Identity": "kubernetes e30=", "X-Broker-Api-Request-Identity": "rid-9"}},
		{name: "value encoded", method: "PUT", body: map[string]any{"b": 1, "a": "x"},
			wantHdr: map[string]string{"Content-Type": "application/json"}, wantBody: `{"a":"x","b":1}`},
		{name: "raw message verbatim", method: "PATCH", body: json.RawMessage(`{ "service_id" : `),
			wantHdr: map[string]string{"Content-Type": "application/json"}, wantBody: `{ "service_id" : `},
		{name: "headers overridden", o: ClientOptions{Username: "admin", Password: "s3cret"}, method: "PUT", body: json.RawMessage(`x=1`),
			hdr:      http.Header{"content-type": {"text/plain"}, "X-Broker-API-Version": {"2.13"}, "Authorization": {"Bearer other"}},
			wantHdr:  map[string]string{"Content-Type": "text/plain", "X-Broker-Api-Version": "2.13", "Authorization": "Bearer other"},
			wantBody: "x=1"},
		{name: "empty value removes", o: ClientOptions{Username: "admin", Password: "s3cret"}, method: "GET",
			hdr:     http.Header{"X-Broker-Api-Version": {""}, "Authorization": {}},
			wantHdr: map[string]string{"X-Broker-Api-Version": "", "Authorization": ""}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			base, last := captureServer(t, 207, `{"x":1}`, http.Header{"X-Reply": {"yes"}})
			c.o.URL = base + "/osb/"
			status, body, hdr, err := NewClient(c.o).Do(testCtx(t), c.method, "/v2/thing?q=1", c.body, c.hdr)
			if err != nil {
				t.Fatal(err)
			}
			if status != 207 || string(body) != `{"x":1}` || hdr.Get("X-Reply") != "yes" {
				t.Errorf("Do returned %d %q %v", status, body, hdr)
			}
			got := last()
			if got.method != c.method || got.uri != "/osb/v2/thing?q=1" {
				t.Errorf("request %s %s", got.method, got.uri)
			}
			for k, want := range c.wantHdr {
				if vs := got.hdr.Values(k); want == "" && len(vs) > 0 {
					t.Errorf("header %s = %q, want it absent", k, vs)
				} else if v := got.hdr.Get(k); v != want {
					t.Errorf("header %s = %q, want %q", k, v, want)
				}
			}
			if got.body != c.wantBody {
				t.Errorf("body %q, want %q", got.body, c.wantBody)
			}
		})
	}
}

func TestClientDoErrors(t *testing.T) {
	// An address nothing listens on: take a port and close it.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	c := NewClient(ClientOptions{URL: "http://" + addr})
	if _, _, _, err := c.Do(testCtx(t), "GET", "/v2/catalog", nil, nil); err == nil {
		t.Error("no error from a closed port")
	}
	if _, err := c.Catalog(testCtx(t)); err == nil {
		t.Error("Catalog: no error from a closed port")
	} else if _, ok := AsError(err); ok {
		t.Errorf("a transport error became an OSB error: %v", err)
	}
	if _, _, _, err := c.Do(testCtx(t), "PUT", "/x", map[string]any{"f": func() {}}, nil); err == nil {
		t.Error("no error for an unencodable body")
	}
}

func TestClientErrors(t *testing.T) {
	cases := []struct {
		name, body string
		status     int
		want       Error
		osb        bool
	}{
		{name: "osb body", status: 410, body: `{"description":"gone"}`, want: Error{Status: 410, Description: "gone"}, osb: true},
		{name: "code", status: 422, body: `{"error":"ConcurrencyError","description":"busy","instance_usable":true}`,
			want: Error{Status: 422, Code: "ConcurrencyError", Description: "busy", InstanceUsable: ptr(true)}, osb: true},
		{name: "not json", status: 502, body: "<html>bad gateway</html>\n", want: Error{Status: 502, Description: "<html>bad gateway</html>"}, osb: true},
		{name: "json without description", status: 500, body: `{"other":1}`, want: Error{Status: 500, Description: `{"other":1}`}, osb: true},
		{name: "long body cut", status: 503, body: strings.Repeat("z", 2000), want: Error{Status: 503, Description: strings.Repeat("z", 512) + "..."}, osb: true},
		{name: "2xx not json", status: 200, body: "not json", osb: false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			base, _ := captureServer(t, c.status, c.body, nil)
			_, err := NewClient(ClientOptions{URL: base}).GetInstance(testCtx(t), "i", nil)
			if err == nil {
				t.Fatal("no error")
			}
			e, ok := AsError(err)
			if ok != c.osb {
				t.Fatalf("OSB error %v, want %v: %v", ok, c.osb, err)
			}
			if ok && !reflect.DeepEqual(*e, c.want) {
				t.Errorf("error %+v, want %+v", *e, c.want)
			}
		})
	}
}

func ptr[T any](v T) *T { return &v }

func TestClientAgainstServer(t *testing.T) {
	f := &fake{}
	base, _ := newTestServer(t, f, Options{Auth: staticAuth{principal: "p"}})
	c := NewClient(ClientOptions{URL: base + "/ansible-service-broker", Username: "u", Password: "pw",
		OriginatingIdentity: "kubernetes " + base64.StdEncoding.EncodeToString([]byte(`{"username":"carol"}`))})
	ctx := testCtx(t)
	preq := &ProvisionRequest{ServiceID: "s", PlanID: "p", OrganizationGUID: "o", SpaceGUID: "x", Parameters: map[string]any{"n": 1.0}}

	// Status codes map onto Async and Exists.
	for _, tc := range []struct {
		resp          ProvisionResponse
		async, exists bool
	}{
		{ProvisionResponse{Operation: ""}, false, false},
		{ProvisionResponse{Exists: true}, false, true},
		{ProvisionResponse{Async: true, Operation: "op-7", DashboardURL: "http://dash"}, true, false},
	} {
		f.prov = &tc.resp
		got, err := c.Provision(ctx, "i", preq, tc.async)
		if err != nil {
			t.Fatal(err)
		}
		if got.Async != tc.async || got.Exists != tc.exists || got.Operation != tc.resp.Operation || got.DashboardURL != tc.resp.DashboardURL {
			t.Errorf("provision answered %+v for %+v", got, tc.resp)
		}
		call := f.last(t)
		if call.ri.AcceptsIncomplete != tc.async || !reflect.DeepEqual(call.req, preq) {
			t.Errorf("broker saw accepts_incomplete=%v req %+v", call.ri.AcceptsIncomplete, call.req)
		}
		if call.ri.Principal != "p" || call.ri.OriginatingIdentity.Username() != "carol" {
			t.Errorf("request info %+v", call.ri)
		}
	}

	f.upd = &UpdateResponse{Async: true, Operation: "u1"}
	if got, err := c.Update(ctx, "i", &UpdateRequest{ServiceID: "s", PlanID: "p2"}, true); err != nil || !got.Async || got.Operation != "u1" {
		t.Errorf("update: %+v %v", got, err)
	}
	f.upd = &UpdateResponse{}
	if got, err := c.Update(ctx, "i", &UpdateRequest{ServiceID: "s"}, false); err != nil || got.Async {
		t.Errorf("sync update: %+v %v", got, err)
	}

	f.dep = &DeprovisionResponse{Async: true, Operation: "d1"}
	if got, err := c.Deprovision(ctx, "i", &DeprovisionRequest{ServiceID: "s", PlanID: "p"}, true); err != nil || !got.Async || got.Operation != "d1" {
		t.Errorf("deprovision: %+v %v", got, err)
	}
	if got := f.last(t).req.(*DeprovisionRequest); *got != (DeprovisionRequest{ServiceID: "s", PlanID: "p"}) {
		t.Errorf("deprovision request %+v", got)
	}
	if _, err := c.Deprovision(ctx, "i", nil, true); err == nil {
		t.Error("deprovision without ids accepted")
	} else if e, ok := AsError(err); !ok || e.Status != 400 {
		t.Errorf("deprovision without ids: %v", err)
	}

	f.inst = &GetInstanceResponse{ServiceID: "s", PlanID: "p", Parameters: map[string]any{"n": 1.0}}
	if got, err := c.GetInstance(ctx, "i", &FetchRequest{ServiceID: "s", PlanID: "p"}); err != nil || !reflect.DeepEqual(got, f.inst) {
		t.Errorf("get instance: %+v %v", got, err)
	}
	if got := f.last(t).req.(*FetchRequest); *got != (FetchRequest{ServiceID: "s", PlanID: "p"}) {
		t.Errorf("fetch request %+v", got)
	}

	f.los = []*LastOperationResponse{{State: StateInProgress, Description: "half", RetryAfter: 4}}
	lo, err := c.LastOperation(ctx, "i", &LastOperationRequest{ServiceID: "s", PlanID: "p", Operation: "op &7"})
	if err != nil || *lo != (LastOperationResponse{State: StateInProgress, Description: "half", RetryAfter: 4}) {
		t.Errorf("last operation: %+v %v", lo, err)
	}
	if got := f.last(t).req.(*LastOperationRequest); *got != (LastOperationRequest{ServiceID: "s", PlanID: "p", Operation: "op &7"}) {
		t.Errorf("last operation request %+v", got)
	}

	f.bind = &BindResponse{Async: true, Operation: "b1", Credentials: map[string]any{"x": 1}}
	if got, err := c.Bind(ctx, "i", "b", &BindRequest{ServiceID: "s", PlanID: "p"}, true); err != nil || !got.Async || got.Operation != "b1" || got.Credentials != nil {
		t.Errorf("async bind: %+v %v", got, err)
	}
	f.bind = &BindResponse{Exists: true, Credentials: map[string]any{"x": "y"}}
	if got, err := c.Bind(ctx, "i", "b", &BindRequest{ServiceID: "s", PlanID: "p"}, false); err != nil || got.Async || !got.Exists || got.Credentials["x"] != "y" {
		t.Errorf("existing bind: %+v %v", got, err)
	}
	f.bind = &BindResponse{Credentials: map[string]any{"x": "z"}}
	if got, err := c.Bind(ctx, "i", "b", &BindRequest{ServiceID: "s", PlanID: "p"}, false); err != nil || got.Async || got.Exists || got.Credentials["x"] != "z" {
		t.Errorf("new bind: %+v %v", got, err)
	}

	f.getb = &GetBindingResponse{Credentials: map[string]any{"x": "y"}}
	if got, err := c.GetBinding(ctx, "i", "b", nil); err != nil || !reflect.DeepEqual(got, f.getb) {
		t.Errorf("get binding: %+v %v", got, err)
	}
	f.los = []*LastOperationResponse{{State: StateSucceeded}}
	if lo, err := c.BindingLastOperation(ctx, "i", "b", nil); err != nil || lo.State != StateSucceeded || lo.RetryAfter != 0 {
		t.Errorf("binding last operation: %+v %v", lo, err)
	}

	f.unbind = &UnbindResponse{Async: true, Operation: "x1"}
	if got, err := c.Unbind(ctx, "i", "b", &UnbindRequest{ServiceID: "s", PlanID: "p"}, true); err != nil || !got.Async || got.Operation != "x1" {
		t.Errorf("unbind: %+v %v", got, err)
	}
	if got := f.last(t); got.method != "Unbind" || *got.req.(*UnbindRequest) != (UnbindRequest{ServiceID: "s", PlanID: "p"}) {
		t.Errorf("unbind call %+v", got)
	}

	f.catalog = &Catalog{Services: []Service{{Name: "n", ID: "i", Description: "d", Bindable: true, Plans: []Plan{{ID: "p", Name: "p", Description: "d", Free: ptr(true)}}}}}
	if got, err := c.Catalog(ctx); err != nil || !reflect.DeepEqual(got, f.catalog) {
		t.Errorf("catalog: %+v %v", got, err)
	}

	f.err = ConcurrencyError("another operation is running")
	if _, err := c.Unbind(ctx, "i", "b", &UnbindRequest{ServiceID: "s", PlanID: "p"}, true); err == nil {
		t.Error("no error")
	} else if e, ok := AsError(err); !ok || e.Status != 422 || e.Code != ErrCodeConcurrencyError || e.Description != "another operation is running" {
		t.Errorf("error %v", err)
	}
}

func TestPoll(t *testing.T) {
	inProgress := func(ra int) *LastOperationResponse {
		return &LastOperationResponse{State: StateInProgress, RetryAfter: ra}
	}
	cases := []struct {
		name      string
		los       []*LastOperationResponse
		interval  time.Duration
		timeout   time.Duration
		wantState string
		wantErr   func(error) bool
		wantCalls int
		minTime   time.Duration
		maxTime   time.Duration
	}{
		{name: "until succeeded", los: []*LastOperationResponse{inProgress(0), inProgress(0), inProgress(0), {State: StateSucceeded}},
			interval: 5 * time.Millisecond, wantState: StateSucceeded, wantCalls: 4, minTime: 15 * time.Millisecond, maxTime: 2 * time.Second},
		{name: "failed is an answer", los: []*LastOperationResponse{inProgress(0), {State: StateFailed, Description: "boom"}},
			interval: 5 * time.Millisecond, wantState: StateFailed, wantCalls: 2, maxTime: 2 * time.Second},
		{name: "410 is the error", los: []*LastOperationResponse{inProgress(0), {State: stateGone}},
			interval: 5 * time.Millisecond, wantCalls: 2, maxTime: 2 * time.Second,
			wantErr: func(err error) bool { e, ok := AsError(err); return ok && e.Status == 410 }},
		{name: "Retry-After honoured", los: []*LastOperationResponse{inProgress(1), {State: StateSucceeded}},
			interval: 10 * time.Millisecond, wantState: StateSucceeded, wantCalls: 2, minTime: 950 * time.Millisecond, maxTime: 3 * time.Second},
		{name: "Retry-After capped at 2*interval+1s", los: []*LastOperationResponse{inProgress(30), {State: StateSucceeded}},
			interval: 10 * time.Millisecond, wantState: StateSucceeded, wantCalls: 2, minTime: 1000 * time.Millisecond, maxTime: 3 * time.Second},
		{name: "bounded by ctx", los: []*LastOperationResponse{inProgress(0)},
			interval: 10 * time.Millisecond, timeout: 150 * time.Millisecond, maxTime: 2 * time.Second,
			wantErr: func(err error) bool { return errors.Is(err, context.DeadlineExceeded) }},
	}
	for _, binding := range []bool{false, true} {
		for _, c := range cases {
			name := c.name
			if binding {
				name = "binding " + name
			}
			t.Run(name, func(t *testing.T) {
				f := &fake{los: c.los}
				base, _ := newTestServer(t, f, Options{})
				cl := NewClient(ClientOptions{URL: base})
				ctx := testCtx(t)
				if c.timeout > 0 {
					var cancel context.CancelFunc
					ctx, cancel = context.WithTimeout(ctx, c.timeout)
					defer cancel()
				}
				req := &LastOperationRequest{Operation: "op-1"}
				start := time.Now()
				var lo *LastOperationResponse
				var err error
				if binding {
					lo, err = cl.PollBindingLastOperation(ctx, "i", "b", req, c.interval)
				} else {
					lo, err = cl.PollLastOperation(ctx, "i", req, c.interval)
				}
				took := time.Since(start)
				if c.wantErr != nil {
					if err == nil || !c.wantErr(err) {
						t.Fatalf("error %v (state %+v), want a different one", err, lo)
					}
				} else if err != nil || lo.State != c.wantState {
					t.Fatalf("got %+v %v, want state %q", lo, err, c.wantState)
				}
				if c.wantCalls > 0 && f.count() != c.wantCalls {
					t.Errorf("%d polls, want %d", f.count(), c.wantCalls)
				}
				if took < c.minTime || took > c.maxTime {
					t.Errorf("took %v, want between %v and %v", took, c.minTime, c.maxTime)
				}
				got := f.last(t)
				wantMethod, wantBid := "LastOperation", ""
				if binding {
					wantMethod, wantBid = "BindingLastOperation", "b"
				}
				if got.method != wantMethod || got.iid != "i" || got.bid != wantBid || got.req.(*LastOperationRequest).Operation != "op-1" {
					t.Errorf("polled %s(%q, %q) with %+v", got.method, got.iid, got.bid, got.req)
				}
			})
		}
	}
}
