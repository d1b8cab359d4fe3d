package osb

// Attacks on the HTTP layer: each case is the request that tries it, and
// the answer must be a 4xx OSB error body that says why, with the broker
// never called.

import (
	"bufio"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf16"

	"github.com/openstack-service-broker/openstack-service-broker/pkg/osb/osbapi"
)

// noRedirect sends requests as written and never follows a redirect.
var noRedirect = &http.Client{
	Timeout:       10 * time.Second,
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
}

// sendRaw is send without following redirects.
func sendRaw(t *testing.T, base, method, path, body string, hdr map[string]string) response {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, base+path, rd)
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
	resp, err := noRedirect.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return response{resp.StatusCode, string(data), resp.Header}
}

// refused checks a refusal: the status, an OSB error body whose
// description has want, no redirect, and no call to the broker.
func refused(t *testing.T, f *fake, r response, status int, want string) {
	t.Helper()
	if r.status != status {
		t.Fatalf("status %d, want %d: %s", r.status, status, r.body)
	}
	e := osbError(t, r)
	if !strings.Contains(strings.ToLower(e.Description), strings.ToLower(want)) {
		t.Errorf("description %q does not say %q", e.Description, want)
	}
	if loc := r.hdr.Get("Location"); loc != "" {
		t.Errorf("Location %q: a refusal must not redirect", loc)
	}
	if f != nil && f.count() != 0 {
		t.Errorf("broker called %d times for a refused request", f.count())
	}
}

func TestAttackDotSegments(t *testing.T) {
	paths := []string{
		"/v2/service_instances/../catalog",
		"/v2/./catalog",
		"/osb/v2/../../etc/passwd",
		"/ansible-service-broker/v2/service_instances/a/../b",
		"/v2/service_instances/i/service_bindings/..",
		"/v2/service_instances/.",
		"/v2/service_instances//last_operation",
		"/v2/catalog/..",
		"/..",
	}
	for _, p := range paths {
		for _, m := range []string{"GET", "PUT", "DELETE"} {
			t.Run(m+" "+p, func(t *testing.T) {
				f := &fake{}
				base, _ := newTestServer(t, f, Options{})
				body := ""
				if m == "PUT" {
					body = provBody
				}
				refused(t, f, sendRaw(t, base, m, p, body, nil), http.StatusBadRequest, "path")
			})
		}
	}
	// The prefixes without their slash are routes that do not exist, not
	// redirects to the prefix.
	for _, p := range []string{"/osb", "/ansible-service-broker"} {
		t.Run("GET "+p, func(t *testing.T) {
			f := &fake{}
			base, _ := newTestServer(t, f, Options{})
			refused(t, f, sendRaw(t, base, "GET", p, "", nil), http.StatusNotFound, "no such route")
		})
	}
}

// A platform registered with a base URL ending in "/" sends "//v2/...":
// the doubled slash before v2 is unambiguous and served as if single.
func TestDoubledSlashAfterPrefixServed(t *testing.T) {
	for _, p := range []string{"//v2/catalog", "/osb//v2/catalog", "/ansible-service-broker//v2/catalog"} {
		t.Run(p, func(t *testing.T) {
			f := &fake{}
			base, _ := newTestServer(t, f, Options{})
			r := sendRaw(t, base, "GET", p, "", nil)
			if r.status != 200 || f.count() != 1 || f.last(t).method != "Catalog" {
				t.Fatalf("status %d, broker calls %d: %s", r.status, f.count(), r.body)
			}
		})
	}
}

func TestAttackAcceptsIncomplete(t *testing.T) {
	for _, q := range []string{"maybe", "yes", "2", "tru", "true,false", "%00"} {
		for _, route := range []struct{ method, path, body string }{
			{"PUT", "/v2/service_instances/i", provBody},
			{"PATCH", "/v2/service_instances/i", updBody},
			{"DELETE", "/v2/service_instances/i?service_id=s&plan_id=p", ""},
			{"PUT", "/v2/service_instances/i/service_bindings/b", bindBody},
			{"DELETE", "/v2/service_instances/i/service_bindings/b?service_id=s&plan_id=p", ""},
		} {
			t.Run(route.method+" "+route.path+" "+q, func(t *testing.T) {
				f := &fake{}
				base, _ := newTestServer(t, f, Options{})
				sep := "?"
				if strings.Contains(route.path, "?") {
					sep = "&"
				}
				r := sendRaw(t, base, route.method, route.path+sep+"accepts_incomplete="+q, route.body, nil)
				refused(t, f, r, http.StatusBadRequest, "accepts_incomplete")
			})
		}
	}
}

func utf16LE(s string) string {
	var b strings.Builder
	b.WriteString("\xff\xfe")
	for _, u := range utf16.Encode([]rune(s)) {
		b.WriteByte(byte(u))
		b.WriteByte(byte(u >> 8))
	}
	return b.String()
}

func TestAttackCharsets(t *testing.T) {
	cases := []struct {
		name, ct, body string
		status         int
		want           string
	}{
		{"utf-16 declared", "application/json; charset=utf-16", utf16LE(provBody), 415, "charset"},
		{"utf-16le declared", "application/json; charset=UTF-16LE", utf16LE(provBody), 415, "charset"},
		{"latin1 declared", "application/json; charset=iso-8859-1", provBody, 415, "charset"},
		{"utf-16 undeclared", "application/json", utf16LE(provBody), 400, "UTF-8"},
		{"invalid utf-8", "application/json", strings.Replace(provBody, `"o"`, "\"o\xff\xfe\"", 1), 400, "UTF-8"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := &fake{}
			base, _ := newTestServer(t, f, Options{})
			r := sendRaw(t, base, "PUT", "/v2/service_instances/i", c.body, map[string]string{"Content-Type": c.ct})
			refused(t, f, r, c.status, c.want)
		})
	}
	for _, ok := range []struct{ name, ct, body string }{
		{"utf-8 upper case", "application/json; charset=UTF-8", provBody},
		{"utf-8 quoted", `application/json; charset="utf-8"`, provBody},
		{"utf-8 BOM", "application/json", "\xef\xbb\xbf" + provBody},
	} {
		t.Run(ok.name, func(t *testing.T) {
			f := &fake{}
			base, _ := newTestServer(t, f, Options{})
			if r := sendRaw(t, base, "PUT", "/v2/service_instances/i", ok.body, map[string]string{"Content-Type": ok.ct}); r.status != 201 {
				t.Fatalf("status %d: %s", r.status, r.body)
			}
		})
	}
}

func TestAttackOriginatingIdentity(t *testing.T) {
	b64 := func(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }
	for _, h := range []string{
		"kubernetes !!!not-base64",
		"kubernetes " + b64(`["x"]`),
		"kubernetes " + b64(`"a string"`),
		"kubernetes " + b64(`{"username":`),
		"kubernetes",
		" " + b64(`{"username":"bob"}`),
		"kubernetes " + b64(`{"username":"bob"}`) + " extra",
	} {
		t.Run(h, func(t *testing.T) {
			f := &fake{}
			base, _ := newTestServer(t, f, Options{})
			r := sendRaw(t, base, "PUT", "/v2/service_instances/i", provBody, map[string]string{"X-Broker-API-Originating-Identity": h})
			refused(t, f, r, http.StatusBadRequest, "X-Broker-API-Originating-Identity")
		})
	}
}

func TestAttackAuthorityDown(t *testing.T) {
	f := &fake{}
	base, logs := newTestServer(t, f, Options{Auth: staticAuth{err: fmt.Errorf("%w: dial tcp 10.0.0.1:6443: connection refused", ErrUnavailable)}})
	r := sendRaw(t, base, "GET", "/v2/catalog", "", nil)
	refused(t, f, r, http.StatusServiceUnavailable, "retry")
	if r.hdr.Get("Retry-After") == "" {
		t.Errorf("503 without Retry-After")
	}
	if strings.Contains(r.body, "10.0.0.1") {
		t.Errorf("the body names the cluster's address: %s", r.body)
	}
	if !strings.Contains(logs.String(), "10.0.0.1") {
		t.Errorf("the cause is not in the log: %s", logs)
	}
}

// goroutinesServing counts the HTTP server's connection goroutines.
func goroutinesServing() int {
	buf := make([]byte, 1<<22)
	n := runtime.Stack(buf, true)
	return strings.Count(string(buf[:n]), "net/http.(*conn).serve(")
}

// slowWriter sends a request whose body trickles in one byte per every;
// it reports what the server answered (status line) and when the
// connection ended.
func slowWriter(addr string, every time.Duration, stop <-chan struct{}) (string, error) {
	c, err := net.Dial("tcp", addr)
	if err != nil {
		return "", err
	}
	defer c.Close()
	fmt.Fprintf(c, "PUT /v2/service_instances/slow HTTP/1.1\r\nHost: x\r\nX-Broker-API-Version: 2.17\r\n"+
		"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n", len(provBody))
	answered := make(chan string, 1)
	go func() {
		line, _ := bufio.NewReader(c).ReadString('\n')
		answered <- strings.TrimSpace(line)
	}()
	t := time.NewTicker(every)
	defer t.Stop()
	for i := 0; ; i++ {
		select {
		case line := <-answered:
			return line, nil
		case <-stop:
			return "", errors.New("still connected when the test gave up")
		case <-t.C:
			if i < len(provBody) {
				if _, err := c.Write([]byte{provBody[i]}); err != nil {
					// The server closed the connection: wait for what it said.
					return <-answered, nil
				}
			}
		}
	}
}

// TestAttackSlowBodies: 16 clients trickle their bodies; each is cut off
// after the body deadline with 408, and the server's goroutines and
// sockets are released.
func TestAttackSlowBodies(t *testing.T) {
	f := &fake{}
	srv := httptest.NewServer(NewServer(Options{Broker: f, BodyTimeout: 500 * time.Millisecond}))
	defer srv.Close()
	addr := strings.TrimPrefix(srv.URL, "http://")
	before := goroutinesServing()
	stop := make(chan struct{})
	time.AfterFunc(10*time.Second, func() { close(stop) })
	const writers = 16
	var wg sync.WaitGroup
	results := make([]string, writers)
	errs := make([]error, writers)
	start := time.Now()
	for i := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i], errs[i] = slowWriter(addr, 300*time.Millisecond, stop)
		}()
	}
	wg.Wait()
	took := time.Since(start)
	for i := range writers {
		if errs[i] != nil {
			t.Fatalf("writer %d: %v", i, errs[i])
		}
		if !strings.Contains(results[i], " 408 ") {
			t.Errorf("writer %d got %q, want 408", i, results[i])
		}
	}
	if took > 5*time.Second {
		t.Errorf("writers cut off after %s, want about the 0.5 s deadline", took)
	}
	if f.count() != 0 {
		t.Errorf("broker called %d times with incomplete bodies", f.count())
	}
	deadline := time.Now().Add(5 * time.Second)
	for goroutinesServing() > before {
		if time.Now().After(deadline) {
			t.Fatalf("%d connection goroutines still serving, %d before", goroutinesServing(), before)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// A body that arrives in time clears the deadline: a handler may take
// longer than it without its context being cancelled.
func TestBodyDeadlineClearedOnceRead(t *testing.T) {
	slow := &slowFake{delay: 700 * time.Millisecond}
	srv := httptest.NewServer(NewServer(Options{Broker: slow, BodyTimeout: 300 * time.Millisecond}))
	defer srv.Close()
	for _, c := range []struct{ method, path, body string }{
		{"PUT", "/v2/service_instances/i", provBody},
		{"GET", "/v2/catalog", ""},
	} {
		r := sendRaw(t, srv.URL, c.method, c.path, c.body, nil)
		if r.status/100 != 2 {
			t.Errorf("%s %s: status %d: %s", c.method, c.path, r.status, r.body)
		}
	}
}

// slowFake takes delay for each call and fails if its context ends first.
type slowFake struct {
	fake
	delay time.Duration
}

func (s *slowFake) wait(ctx context.Context) error {
	select {
	case <-time.After(s.delay):
		return nil
	case <-ctx.Done():
		return fmt.Errorf("context ended while handling: %w", ctx.Err())
	}
}

func (s *slowFake) Catalog(ctx context.Context, ri osbapi.RequestInfo) (*osbapi.Catalog, error) {
	if err := s.wait(ctx); err != nil {
		return nil, err
	}
	return s.fake.Catalog(ctx, ri)
}

func (s *slowFake) Provision(ctx context.Context, ri osbapi.RequestInfo, id string, req *osbapi.ProvisionRequest) (*osbapi.ProvisionResponse, error) {
	if err := s.wait(ctx); err != nil {
		return nil, err
	}
	return s.fake.Provision(ctx, ri, id, req)
}

// Authenticated puts another handler (/metrics) behind the same
// authentication, with an OSB error body when refused.
func TestAuthenticatedHandler(t *testing.T) {
	inner := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "metrics here") })
	for _, c := range []struct {
		name string
		auth Authenticator
		want int
	}{
		{"allowed", staticAuth{principal: "prometheus"}, 200},
		{"no credentials", staticAuth{err: ErrUnauthorized}, 401},
		{"forbidden", staticAuth{err: ErrForbidden}, 403},
		{"authority down", staticAuth{err: ErrUnavailable}, 503},
	} {
		t.Run(c.name, func(t *testing.T) {
			s := NewServer(Options{Broker: &fake{}, Auth: c.auth})
			r := sendRaw(t, serve(t, s.Authenticated("metrics", inner)), "GET", "/metrics", "", map[string]string{"X-Broker-API-Version": ""})
			if r.status != c.want {
				t.Fatalf("status %d, want %d: %s", r.status, c.want, r.body)
			}
			if c.want == 200 && r.body != "metrics here" {
				t.Errorf("body %q", r.body)
			}
			if c.want != 200 {
				osbError(t, r)
				if strings.Contains(r.body, "metrics here") {
					t.Errorf("refused, but served: %s", r.body)
				}
			}
		})
	}
}
