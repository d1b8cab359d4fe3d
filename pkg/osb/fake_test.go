package osb

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/openstack-service-broker/openstack-service-broker/pkg/osb/osbapi"
)

// call is one Broker invocation as the fake saw it.
type call struct {
	method   string
	ri       osbapi.RequestInfo
	iid, bid string
	req      any
}

// fake is a Broker that records what the HTTP layer handed it and answers
// what the test set. The real broker is tested end to end in test/e2e; this
// checks the HTTP layer alone.
type fake struct {
	mu    sync.Mutex
	calls []call

	err      error
	panicMsg string
	catalog  *osbapi.Catalog
	prov     *osbapi.ProvisionResponse
	upd      *osbapi.UpdateResponse
	dep      *osbapi.DeprovisionResponse
	inst     *osbapi.GetInstanceResponse
	bind     *osbapi.BindResponse
	unbind   *osbapi.UnbindResponse
	getb     *osbapi.GetBindingResponse
	// los are answered in turn by both last_operation routes; the last
	// one repeats. A state of stateGone answers 410 instead.
	los []*osbapi.LastOperationResponse
}

func (f *fake) record(method string, ri osbapi.RequestInfo, iid, bid string, req any) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, call{method, ri, iid, bid, req})
	if f.panicMsg != "" {
		panic(f.panicMsg)
	}
	return f.err
}

func (f *fake) last(t *testing.T) call {
	t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.calls) == 0 {
		t.Fatal("the broker was not called")
	}
	return f.calls[len(f.calls)-1]
}

func (f *fake) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.calls)
}

func or[T any](v *T, def *T) *T {
	if v != nil {
		return v
	}
	return def
}

func (f *fake) Catalog(ctx context.Context, ri osbapi.RequestInfo) (*osbapi.Catalog, error) {
	if err := f.record("Catalog", ri, "", "", nil); err != nil {
		return nil, err
	}
	return or(f.catalog, &osbapi.Catalog{Services: []osbapi.Service{{Name: "s", ID: "sid", Description: "d", Bindable: true,
		Plans: []osbapi.Plan{{ID: "pid", Name: "p", Description: "d"}}}}}), nil
}

func (f *fake) Provision(ctx context.Context, ri osbapi.RequestInfo, id string, req *osbapi.ProvisionRequest) (*osbapi.ProvisionResponse, error) {
	if err := f.record("Provision", ri, id, "", req); err != nil {
		return nil, err
	}
	return or(f.prov, &osbapi.ProvisionResponse{}), nil
}

func (f *fake) Update(ctx context.Context, ri osbapi.RequestInfo, id string, req *osbapi.UpdateRequest) (*osbapi.UpdateResponse, error) {
	if err := f.record("Update", ri, id, "", req); err != nil {
		return nil, err
	}
	return or(f.upd, &osbapi.UpdateResponse{}), nil
}

func (f *fake) Deprovision(ctx context.Context, ri osbapi.RequestInfo, id string, req *osbapi.DeprovisionRequest) (*osbapi.DeprovisionResponse, error) {
	if err := f.record("Deprovision", ri, id, "", req); err != nil {
		return nil, err
	}
	return or(f.dep, &osbapi.DeprovisionResponse{}), nil
}

func (f *fake) GetInstance(ctx context.Context, ri osbapi.RequestInfo, id string, req *osbapi.FetchRequest) (*osbapi.GetInstanceResponse, error) {
	if err := f.record("GetInstance", ri, id, "", req); err != nil {
		return nil, err
	}
	return or(f.inst, &osbapi.GetInstanceResponse{ServiceID: "sid", PlanID: "pid"}), nil
}

const stateGone = "gone"

func (f *fake) nextLO() (*osbapi.LastOperationResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.los) == 0 {
		return &osbapi.LastOperationResponse{State: osbapi.StateSucceeded}, nil
	}
	lo := *f.los[0]
	if len(f.los) > 1 {
		f.los = f.los[1:]
	}
	if lo.State == stateGone {
		return nil, osbapi.Gone("the operation's resource is gone")
	}
	return &lo, nil
}

func (f *fake) LastOperation(ctx context.Context, ri osbapi.RequestInfo, id string, req *osbapi.LastOperationRequest) (*osbapi.LastOperationResponse, error) {
	if err := f.record("LastOperation", ri, id, "", req); err != nil {
		return nil, err
	}
	return f.nextLO()
}

func (f *fake) Bind(ctx context.Context, ri osbapi.RequestInfo, iid, bid string, req *osbapi.BindRequest) (*osbapi.BindResponse, error) {
	if err := f.record("Bind", ri, iid, bid, req); err != nil {
		return nil, err
	}
	return or(f.bind, &osbapi.BindResponse{Credentials: map[string]any{"user": "u"}}), nil
}

func (f *fake) Unbind(ctx context.Context, ri osbapi.RequestInfo, iid, bid string, req *osbapi.UnbindRequest) (*osbapi.UnbindResponse, error) {
	if err := f.record("Unbind", ri, iid, bid, req); err != nil {
		return nil, err
	}
	return or(f.unbind, &osbapi.UnbindResponse{}), nil
}

func (f *fake) GetBinding(ctx context.Context, ri osbapi.RequestInfo, iid, bid string, req *osbapi.FetchRequest) (*osbapi.GetBindingResponse, error) {
	if err := f.record("GetBinding", ri, iid, bid, req); err != nil {
		return nil, err
	}
	return or(f.getb, &osbapi.GetBindingResponse{Credentials: map[string]any{"user": "u"}}), nil
}

func (f *fake) BindingLastOperation(ctx context.Context, ri osbapi.RequestInfo, iid, bid string, req *osbapi.LastOperationRequest) (*osbapi.LastOperationResponse, error) {
	if err := f.record("BindingLastOperation", ri, iid, bid, req); err != nil {
		return nil, err
	}
	return f.nextLO()
}

// syncBuffer collects log output written from server goroutines.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// lines decodes the JSON log lines whose msg is msg.
func (b *syncBuffer) lines(t *testing.T, msg string) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, l := range strings.Split(strings.TrimSpace(b.String()), "\n") {
		if l == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("log line is not JSON: %q", l)
		}
		if m["msg"] == msg {
			out = append(out, m)
		}
	}
	return out
}

// serve starts s on 127.0.0.1 (httptest's default) for the test.
func serve(t *testing.T, h http.Handler) string {
	t.Helper()
	ts := httptest.NewServer(h)
	t.Cleanup(ts.Close)
	return ts.URL
}

// newTestServer builds a Server around f with a JSON logger into logs.
func newTestServer(t *testing.T, f osbapi.Broker, o Options) (string, *syncBuffer) {
	t.Helper()
	logs := &syncBuffer{}
	o.Broker = f
	if o.Logger == nil {
		o.Logger = slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return serve(t, NewServer(o)), logs
}

type response struct {
	status int
	body   string
	hdr    http.Header
}

// send makes one raw request. The API version 2.17 is sent, and a JSON
// Content-Type when there is a body; a header in hdr with value ""
// removes it.
func send(t *testing.T, base, method, path, body string, hdr map[string]string) response {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, base+path, rd)
	if err != nil {
		t.Fatal(err)
	}
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
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return response{resp.StatusCode, string(data), resp.Header}
}

// osbError decodes an OSB error body and insists on a description.
func osbError(t *testing.T, r response) osbapi.Error {
	t.Helper()
	if ct := r.hdr.Get("Content-Type"); ct != "application/json" {
		t.Errorf("error Content-Type %q, want application/json", ct)
	}
	var e osbapi.Error
	if err := json.Unmarshal([]byte(r.body), &e); err != nil {
		t.Fatalf("error body is not JSON: %q", r.body)
	}
	if e.Description == "" {
		t.Errorf("error body without description: %s", r.body)
	}
	return e
}
