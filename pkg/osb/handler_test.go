package osb

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// recorder is a Broker that records what the HTTP layer handed it and
// answers what the test set. The real broker is tested end to end in
// test/e2e; this checks the HTTP layer alone.
type recorder struct {
	ri       RequestInfo
	id, bid  string
	provReq  *ProvisionRequest
	bindResp *BindResponse
	err      error
	gz       []byte
}

func (r *recorder) Catalog(ctx context.Context, ri RequestInfo) (*Catalog, error) {
	r.ri = ri
	return &Catalog{Services: []Service{{Name: "s", ID: "sid", Description: "d", Plans: []Plan{{ID: "p", Name: "p", Description: "d"}}}}}, r.err
}
func (r *recorder) Provision(ctx context.Context, ri RequestInfo, id string, req *ProvisionRequest) (*ProvisionResponse, error) {
	r.ri, r.id, r.provReq = ri, id, req
	if r.err != nil {
		return nil, r.err
	}
	return &ProvisionResponse{Async: ri.AcceptsIncomplete, Operation: "op"}, nil
}
func (r *recorder) Update(ctx context.Context, ri RequestInfo, id string, req *UpdateRequest) (*UpdateResponse, error) {
	return &UpdateResponse{}, r.err
}
func (r *recorder) Deprovision(ctx context.Context, ri RequestInfo, id string, req *DeprovisionRequest) (*DeprovisionResponse, error) {
	r.id = id
	return &DeprovisionResponse{}, r.err
}
func (r *recorder) GetInstance(ctx context.Context, ri RequestInfo, id string, req *FetchRequest) (*GetInstanceResponse, error) {
	r.id = id
	return &GetInstanceResponse{ServiceID: "sid"}, r.err
}
func (r *recorder) LastOperation(ctx context.Context, ri RequestInfo, id string, req *LastOperationRequest) (*LastOperationResponse, error) {
	return &LastOperationResponse{State: StateInProgress, RetryAfter: 7}, r.err
}
func (r *recorder) Bind(ctx context.Context, ri RequestInfo, iid, bid string, req *BindRequest) (*BindResponse, error) {
	r.id, r.bid = iid, bid
	return r.bindResp, r.err
}
func (r *recorder) Unbind(ctx context.Context, ri RequestInfo, iid, bid string, req *UnbindRequest) (*UnbindResponse, error) {
	return &UnbindResponse{}, r.err
}
func (r *recorder) GetBinding(ctx context.Context, ri RequestInfo, iid, bid string, req *FetchRequest) (*GetBindingResponse, error) {
	return &GetBindingResponse{}, r.err
}
func (r *recorder) BindingLastOperation(ctx context.Context, ri RequestInfo, iid, bid string, req *LastOperationRequest) (*LastOperationResponse, error) {
	return &LastOperationResponse{State: StateSucceeded}, r.err
}

type gzRecorder struct{ *recorder }

func (g gzRecorder) CatalogGzip(ctx context.Context, ri RequestInfo) ([]byte, error) {
	return g.gz, nil
}
func (g gzRecorder) CatalogJSON(ctx context.Context, ri RequestInfo) ([]byte, error) {
	return []byte(`{"services":[]}`), nil
}

type staticAuth struct{ err error }

func (a staticAuth) Authenticate(*http.Request) (string, error) { return "someone", a.err }

func do(t *testing.T, h http.Handler, method, path, body string, hdr map[string]string) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	req.Header.Set("X-Broker-API-Version", "2.17")
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range hdr {
		if v == "" {
			req.Header.Del(k)
		} else {
			req.Header.Set(k, v)
		}
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	return w
}

const provBody = `{"service_id":"s","plan_id":"p","organization_guid":"o","space_guid":"x"}`

func TestServerStatusesAndBodies(t *testing.T) {
	cases := []struct {
		name, method, path, body string
		hdr                      map[string]string
		auth                     Authenticator
		berr                     error
		bind                     *BindResponse
		want                     int
		wantBody                 string
		notBody                  string
	}{
		{name: "provision async", method: "PUT", path: "/v2/service_instances/i?accepts_incomplete=true", body: provBody, want: 202, wantBody: `"operation":"op"`},
		{name: "provision sync created", method: "PUT", path: "/v2/service_instances/i", body: provBody, want: 201},
		{name: "bad accepts_incomplete is false", method: "PUT", path: "/v2/service_instances/i?accepts_incomplete=maybe", body: provBody, want: 201},
		{name: "empty body", method: "PUT", path: "/v2/service_instances/i", body: " ", want: 400, wantBody: "empty"},
		{name: "missing space_guid", method: "PUT", path: "/v2/service_instances/i", body: `{"service_id":"s","plan_id":"p","organization_guid":"o"}`, want: 400, wantBody: "space_guid"},
		{name: "too large", method: "PUT", path: "/v2/service_instances/i", body: `{"parameters":{"x":"` + strings.Repeat("a", 2<<20) + `"}}`, want: 413},
		{name: "deprovision without plan_id", method: "DELETE", path: "/v2/service_instances/i?service_id=s", want: 400, wantBody: "plan_id"},
		{name: "unknown route", method: "GET", path: "/v2/nothing", want: 404, wantBody: "description"},
		{name: "osb error kept", method: "DELETE", path: "/v2/service_instances/i?service_id=s&plan_id=p", berr: Gone("gone"), want: 410, wantBody: `"description":"gone"`},
		{name: "code kept", method: "DELETE", path: "/v2/service_instances/i?service_id=s&plan_id=p", berr: ConcurrencyError("busy"), want: 422, wantBody: `"error":"ConcurrencyError"`},
		{name: "internal error hidden", method: "DELETE", path: "/v2/service_instances/i?service_id=s&plan_id=p", berr: errors.New("etcd password=hunter2"), want: 500, notBody: "hunter2"},
		{name: "async bind has no credentials", method: "PUT", path: "/v2/service_instances/i/service_bindings/b?accepts_incomplete=true", body: `{"service_id":"s","plan_id":"p"}`,
			bind: &BindResponse{Async: true, Operation: "op", Credentials: map[string]any{"pw": "x"}}, want: 202, notBody: "credentials"},
		{name: "existing bind 200", method: "PUT", path: "/v2/service_instances/i/service_bindings/b", body: `{"service_id":"s","plan_id":"p"}`,
			bind: &BindResponse{Exists: true, Credentials: map[string]any{"u": "x"}}, want: 200, wantBody: "credentials"},
		{name: "forbidden", method: "GET", path: "/v2/catalog", auth: staticAuth{ErrForbidden}, want: 403},
		{name: "version on extra route not required", method: "POST", path: "/osb/v2/extra", hdr: map[string]string{"X-Broker-API-Version": ""}, want: 200},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rec := &recorder{err: c.berr, bindResp: c.bind}
			s := NewServer(Options{Broker: rec, Auth: c.auth})
			s.HandleExtra("POST /v2/extra", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { WriteJSON(w, 200, map[string]string{}) }))
			w := do(t, s, c.method, c.path, c.body, c.hdr)
			if w.Code != c.want {
				t.Fatalf("status %d, want %d: %s", w.Code, c.want, w.Body)
			}
			if ct := w.Header().Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type %q", ct)
			}
			if c.wantBody != "" && !strings.Contains(w.Body.String(), c.wantBody) {
				t.Errorf("body %s lacks %s", w.Body, c.wantBody)
			}
			if c.notBody != "" && strings.Contains(w.Body.String(), c.notBody) {
				t.Errorf("body %s contains %s", w.Body, c.notBody)
			}
		})
	}
}

func TestRequestInfoAndHeaders(t *testing.T) {
	rec := &recorder{}
	s := NewServer(Options{Broker: rec, Auth: staticAuth{}})
	id := "kubernetes eyJ1c2VybmFtZSI6ImJvYiJ9" // {"username":"bob"}
	w := do(t, s, "PUT", "/ansible-service-broker/v2/service_instances/a%2Fb%20c?accepts_incomplete=true",
		`{"service_id":"s","plan_id":"p","organization_guid":"o","space_guid":"x","vendor":{"x":1}}`,
		map[string]string{"X-Broker-API-Originating-Identity": id, "X-Broker-API-Request-Identity": "rid-1"})
	if w.Code != 202 || w.Header().Get("X-Broker-API-Request-Identity") != "rid-1" {
		t.Fatalf("%d, request identity %q", w.Code, w.Header().Get("X-Broker-API-Request-Identity"))
	}
	if rec.id != "a/b c" {
		t.Errorf("instance id %q, want %q", rec.id, "a/b c")
	}
	if rec.ri.OriginatingIdentity.Username() != "bob" || rec.ri.OriginatingIdentity.Platform != "kubernetes" || rec.ri.Principal != "someone" {
		t.Errorf("request info %+v", rec.ri)
	}
	w = do(t, s, "GET", "/v2/service_instances/i/last_operation", "", nil)
	if w.Header().Get("Retry-After") != "7" {
		t.Errorf("Retry-After %q", w.Header().Get("Retry-After"))
	}
}

func TestCatalogGzipNegotiation(t *testing.T) {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write([]byte(`{"services":[]}`))
	zw.Close()
	s := NewServer(Options{Broker: gzRecorder{&recorder{gz: buf.Bytes()}}})
	w := do(t, s, "GET", "/v2/catalog", "", map[string]string{"Accept-Encoding": "gzip, deflate"})
	if w.Header().Get("Content-Encoding") != "gzip" {
		t.Fatalf("no gzip: %v", w.Header())
	}
	zr, err := gzip.NewReader(w.Body)
	if err != nil {
		t.Fatal(err)
	}
	plain, _ := io.ReadAll(zr)
	if string(plain) != `{"services":[]}` {
		t.Errorf("gzip body %q", plain)
	}
	w = do(t, s, "GET", "/v2/catalog", "", nil)
	if w.Header().Get("Content-Encoding") != "" || w.Body.String() != `{"services":[]}` {
		t.Errorf("plain catalog: %v %s", w.Header(), w.Body)
	}
}

func TestMetricsAndRedactedLogs(t *testing.T) {
	reg := prometheus.NewRegistry()
	var logs bytes.Buffer
	s := NewServer(Options{Broker: &recorder{}, Metrics: NewMetrics(reg), LogRequests: true,
		Logger: slog.New(slog.NewJSONHandler(&logs, nil))})
	do(t, s, "PUT", "/v2/service_instances/i", `{"service_id":"s","plan_id":"p","organization_guid":"o","space_guid":"x","parameters":{"admin_password":"hunter2","size":1}}`, nil)
	do(t, s, "GET", "/v2/catalog", "", map[string]string{"X-Broker-API-Version": ""})
	if got := count(s.o.Metrics.requests.WithLabelValues("provision", "201")); got != 1 {
		t.Errorf("provision 201 counted %v", got)
	}
	if got := count(s.o.Metrics.requests.WithLabelValues("catalog", "412")); got != 1 {
		t.Errorf("catalog 412 counted %v", got)
	}
	if strings.Contains(logs.String(), "hunter2") {
		t.Errorf("a password reached the logs: %s", logs.String())
	}
	var line map[string]any
	for _, l := range strings.Split(strings.TrimSpace(logs.String()), "\n") {
		json.Unmarshal([]byte(l), &line)
		if line["msg"] == "request body" && !strings.Contains(l, "<redacted>") {
			t.Errorf("body logged without redaction: %s", l)
		}
	}
}

func count(c prometheus.Counter) float64 {
	var m dto.Metric
	c.Write(&m)
	return m.GetCounter().GetValue()
}
