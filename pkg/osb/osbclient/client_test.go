package osbclient

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/openstack-service-broker/openstack-service-broker/pkg/osb/osbapi"
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
		o        Options
		method   string
		body     any
		hdr      http.Header
		wantHdr  map[string]string // "" means absent
		wantBody string
	}{
		{name: "defaults", method: "GET",
			wantHdr: map[string]string{"X-Broker-Api-Version": "2.17", "Authorization": "", "Content-Type": "",
				"X-Broker-Api-Originating-Identity": "", "X-Broker-Api-Request-Identity": ""}},
		{name: "basic auth", o: Options{Username: "admin", Password: "s3cret"}, method: "GET",
			wantHdr: map[string]string{"Authorization": basic}},
		{name: "bearer wins", o: Options{Username: "admin", Password: "s3cret", BearerToken: "tok"}, method: "GET",
			wantHdr: map[string]string{"Authorization": "Bearer tok"}},
		{name: "version and identities", o: Options{APIVersion: "2.14", OriginatingIdentity: "kubernetes e30=", RequestIdentity: "rid-9"}, method: "GET",
			wantHdr: map[string]string{"X-Broker-Api-Version": "2.14", "X-Broker-Api-Originating-Identity": "kubernetes e30=", "X-Broker-Api-Request-Identity": "rid-9"}},
		{name: "value encoded", method: "PUT", body: map[string]any{"b": 1, "a": "x"},
			wantHdr: map[string]string{"Content-Type": "application/json"}, wantBody: `{"a":"x","b":1}`},
		{name: "raw message verbatim", method: "PATCH", body: json.RawMessage(`{ "service_id" : `),
			wantHdr: map[string]string{"Content-Type": "application/json"}, wantBody: `{ "service_id" : `},
		{name: "headers overridden", o: Options{Username: "admin", Password: "s3cret"}, method: "PUT", body: json.RawMessage(`x=1`),
			hdr:      http.Header{"content-type": {"text/plain"}, "X-Broker-API-Version": {"2.13"}, "Authorization": {"Bearer other"}},
			wantHdr:  map[string]string{"Content-Type": "text/plain", "X-Broker-Api-Version": "2.13", "Authorization": "Bearer other"},
			wantBody: "x=1"},
		{name: "empty value removes", o: Options{Username: "admin", Password: "s3cret"}, method: "GET",
			hdr:     http.Header{"X-Broker-Api-Version": {""}, "Authorization": {}},
			wantHdr: map[string]string{"X-Broker-Api-Version": "", "Authorization": ""}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			base, last := captureServer(t, 207, `{"x":1}`, http.Header{"X-Reply": {"yes"}})
			c.o.URL = base + "/osb/"
			status, body, hdr, err := New(c.o).Do(testCtx(t), c.method, "/v2/thing?q=1", c.body, c.hdr)
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
	c := New(Options{URL: "http://" + addr})
	if _, _, _, err := c.Do(testCtx(t), "GET", "/v2/catalog", nil, nil); err == nil {
		t.Error("no error from a closed port")
	}
	if _, err := c.Catalog(testCtx(t)); err == nil {
		t.Error("Catalog: no error from a closed port")
	} else if _, ok := osbapi.AsError(err); ok {
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
		want       osbapi.Error
		osb        bool
	}{
		{name: "osb body", status: 410, body: `{"description":"gone"}`, want: osbapi.Error{Status: 410, Description: "gone"}, osb: true},
		{name: "code", status: 422, body: `{"error":"ConcurrencyError","description":"busy","instance_usable":true}`,
			want: osbapi.Error{Status: 422, Code: "ConcurrencyError", Description: "busy", InstanceUsable: ptr(true)}, osb: true},
		{name: "not json", status: 502, body: "<html>bad gateway</html>\n", want: osbapi.Error{Status: 502, Description: "<html>bad gateway</html>"}, osb: true},
		{name: "json without description", status: 500, body: `{"other":1}`, want: osbapi.Error{Status: 500, Description: `{"other":1}`}, osb: true},
		{name: "long body cut", status: 503, body: strings.Repeat("z", 2000), want: osbapi.Error{Status: 503, Description: strings.Repeat("z", 512) + "..."}, osb: true},
		{name: "2xx not json", status: 200, body: "not json", osb: false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			base, _ := captureServer(t, c.status, c.body, nil)
			_, err := New(Options{URL: base}).GetInstance(testCtx(t), "i", nil)
			if err == nil {
				t.Fatal("no error")
			}
			e, ok := osbapi.AsError(err)
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

func serve(t *testing.T, h http.Handler) string {
	t.Helper()
	ts := httptest.NewServer(h)
	t.Cleanup(ts.Close)
	return ts.URL
}
