package e2e

// Attacks on the daemon's HTTP server, each written as the request (or
// the client) that tries it.

import (
	"bufio"
	"crypto/tls"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/openstack-service-broker/openstack-service-broker/pkg/apb"
	"github.com/openstack-service-broker/openstack-service-broker/pkg/osb/osbapi"
)

// connGoroutines counts the goroutines net/http runs per connection.
func connGoroutines() int {
	buf := make([]byte, 8<<20)
	n := runtime.Stack(buf, true)
	return strings.Count(string(buf[:n]), "net/http.(*conn).serve(")
}

// trickle opens a connection and sends head (a request line and headers)
// then body, one byte per every, until the server answers or closes. It
// returns the status line (empty when the server just closed) and when
// the connection ended.
func trickle(addr, head, body string, every time.Duration, giveUp time.Duration) (string, time.Duration, error) {
	start := time.Now()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		return "", 0, err
	}
	defer c.Close()
	ended := make(chan string, 1)
	go func() {
		line, _ := bufio.NewReader(c).ReadString('\n')
		ended <- strings.TrimSpace(line)
	}()
	data := head + body
	t := time.NewTicker(every)
	defer t.Stop()
	timeout := time.After(giveUp)
	for i := 0; ; {
		select {
		case line := <-ended:
			return line, time.Since(start), nil
		case <-timeout:
			return "", time.Since(start), fmt.Errorf("still connected after %s", giveUp)
		case <-t.C:
			if i < len(data) {
				if _, err := c.Write([]byte{data[i]}); err != nil {
					return <-ended, time.Since(start), nil
				}
				i++
			}
		}
	}
}

// TestAttackSlowClients: 16 clients trickle their headers and 16 their
// bodies, one byte every 3 s. Each is cut off at its deadline, the broker
// keeps answering others meanwhile, and every connection goroutine and
// socket is released.
func TestAttackSlowClients(t *testing.T) {
	b := startBroker(t, options{brokerYAML: "  read_header_timeout: 2s\n  read_body_timeout: 4s\n"})
	u, _ := url.Parse(b.url)
	before := connGoroutines()
	auth := "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+password))
	body := `{"service_id":"x","plan_id":"y","organization_guid":"o","space_guid":"s"}`
	fullHead := fmt.Sprintf("PUT /v2/service_instances/slow?accepts_incomplete=true HTTP/1.1\r\nHost: %s\r\nAuthorization: %s\r\n"+
		"X-Broker-API-Version: 2.17\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n", u.Host, auth, len(body))
	const writers = 16
	type result struct {
		line string
		took time.Duration
		err  error
	}
	heads, bodies := make([]result, writers), make([]result, writers)
	var wg sync.WaitGroup
	for i := range writers {
		wg.Add(2)
		go func() {
			defer wg.Done()
			// The head trickles in: it never completes.
			r := &heads[i]
			r.line, r.took, r.err = trickle(u.Host, fullHead, "", 3*time.Second, 30*time.Second)
		}()
		go func() {
			defer wg.Done()
			// The head at once, then the body trickles in.
			r := &bodies[i]
			r.line, r.took, r.err = trickleAfterHead(u.Host, fullHead, body, 3*time.Second, 30*time.Second)
		}()
	}
	// Meanwhile the broker serves others at once.
	time.Sleep(500 * time.Millisecond)
	during := connGoroutines()
	for range 3 {
		start := time.Now()
		if _, err := b.client.Catalog(ctx(t)); err != nil {
			t.Fatalf("catalog during the attack: %v", err)
		}
		if d := time.Since(start); d > 2*time.Second {
			t.Errorf("catalog took %s during the attack", d)
		}
	}
	wg.Wait()
	for i := range writers {
		if r := heads[i]; r.err != nil || r.took > 8*time.Second {
			t.Errorf("slow head %d: %v after %s (%q): want cut off at about 2 s", i, r.err, r.took, r.line)
		}
		if r := bodies[i]; r.err != nil || r.took > 10*time.Second || !strings.Contains(r.line, " 408 ") {
			t.Errorf("slow body %d: %v after %s (%q): want 408 at about 4 s", i, r.err, r.took, r.line)
		}
	}
	var maxHead, maxBody time.Duration
	for i := range writers {
		maxHead, maxBody = max(maxHead, heads[i].took), max(maxBody, bodies[i].took)
	}
	waitFor(t, 10*time.Second, "the connection goroutines to end", func() bool { return connGoroutines() <= before })
	t.Logf("connection goroutines: %d before, %d during the attack, %d after; slow heads cut off within %s, slow bodies within %s",
		before, during, connGoroutines(), maxHead.Round(time.Millisecond), maxBody.Round(time.Millisecond))
	if strings.Contains(b.logs.String(), `"instance_id":"slow"`) {
		t.Errorf("an incomplete request reached the broker")
	}
}

// trickleAfterHead sends head at once, then body one byte per every.
func trickleAfterHead(addr, head, body string, every, giveUp time.Duration) (string, time.Duration, error) {
	start := time.Now()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		return "", 0, err
	}
	defer c.Close()
	if _, err := io.WriteString(c, head); err != nil {
		return "", 0, err
	}
	ended := make(chan string, 1)
	go func() {
		line, _ := bufio.NewReader(c).ReadString('\n')
		ended <- strings.TrimSpace(line)
	}()
	t := time.NewTicker(every)
	defer t.Stop()
	timeout := time.After(giveUp)
	for i := 0; ; {
		select {
		case line := <-ended:
			return line, time.Since(start), nil
		case <-timeout:
			return "", time.Since(start), fmt.Errorf("still connected after %s", giveUp)
		case <-t.C:
			if i < len(body) {
				if _, err := c.Write([]byte{body[i]}); err != nil {
					return <-ended, time.Since(start), nil
				}
				i++
			}
		}
	}
}

// noFollow is the broker's client without redirects followed.
func (b *broker) noFollow() *http.Client {
	c := *b.http
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &c
}

func (b *broker) send(t *testing.T, c *http.Client, method, path string, hdr map[string]string) (int, string, http.Header) {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx(t), method, b.url+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.SetBasicAuth(user, password)
	req.Header.Set("X-Broker-API-Version", "2.17")
	for k, v := range hdr {
		if v == "" {
			req.Header.Del(k)
		} else {
			req.Header.Set(k, v)
		}
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(data), resp.Header
}

// TestAttackPathsThroughDaemon: dot segments anywhere, /healthz and
// /metrics included, are 400 with an OSB error body, never a redirect.
func TestAttackPathsThroughDaemon(t *testing.T) {
	b := startBroker(t, options{})
	c := b.noFollow()
	for _, p := range []string{"/healthz/../v2/catalog", "/v2/../metrics", "/metrics/..", "/osb/v2/service_instances/../../healthz",
		"/v2/service_instances/../catalog", "/./healthz", "/v2/service_instances/x/service_bindings/../../../catalog"} {
		status, body, hdr := b.send(t, c, "GET", p, nil)
		var e osbapi.Error
		if status != 400 || hdr.Get("Location") != "" || json.Unmarshal([]byte(body), &e) != nil || !strings.Contains(e.Description, "path") {
			t.Errorf("GET %s: %d %s (Location %q), want 400 naming the path", p, status, body, hdr.Get("Location"))
		}
	}
	for _, p := range []string{"/osb", "/ansible-service-broker"} {
		if status, body, hdr := b.send(t, c, "GET", p, nil); status != 404 || hdr.Get("Location") != "" || !json.Valid([]byte(body)) {
			t.Errorf("GET %s: %d %s, want a 404 OSB error", p, status, body)
		}
	}
	// A base URL registered with a trailing slash still works.
	if status, body, _ := b.send(t, c, "GET", "/osb//v2/catalog", nil); status != 200 {
		t.Errorf("GET /osb//v2/catalog: %d %s", status, body)
	}
	// /healthz and /metrics answer only GET (and HEAD).
	for _, p := range []string{"/healthz", "/metrics"} {
		if status, _, hdr := b.send(t, c, "POST", p, nil); status != 405 || !strings.Contains(hdr.Get("Allow"), "GET") {
			t.Errorf("POST %s: %d (Allow %q), want 405", p, status, hdr.Get("Allow"))
		}
	}
}

// TestMetricsAuth: /metrics and /healthz are open by default;
// broker.metrics_auth puts /metrics behind the broker's authentication,
// /healthz (probes) stays open.
func TestMetricsAuth(t *testing.T) {
	open := startBroker(t, options{})
	if status, _, _ := open.send(t, open.http, "GET", "/metrics", map[string]string{"Authorization": ""}); status != 200 {
		t.Errorf("default /metrics without credentials: %d, want 200", status)
	}
	b := startBroker(t, options{brokerYAML: "  metrics_auth: true\n"})
	wrong := "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":nope"))
	for _, c := range []struct {
		name, auth string
		want       int
	}{{"no credentials", "", 401}, {"wrong password", wrong, 401}} {
		status, body, hdr := b.send(t, b.http, "GET", "/metrics", map[string]string{"Authorization": c.auth})
		if status != c.want || hdr.Get("WWW-Authenticate") == "" || !json.Valid([]byte(body)) || strings.Contains(body, "osb_http_requests_total") {
			t.Errorf("/metrics with %s: %d %q, want %d with an OSB error body", c.name, status, body, c.want)
		}
	}
	if status, body, _ := b.send(t, b.http, "GET", "/metrics", nil); status != 200 || !strings.Contains(body, "osb_http_requests_total") {
		t.Errorf("/metrics with credentials: %d", status)
	}
	if status, body, _ := b.send(t, b.http, "GET", "/healthz", map[string]string{"Authorization": ""}); status != 200 || body != "ok" {
		t.Errorf("/healthz without credentials: %d %q, want 200 ok", status, body)
	}
}

// TestTLSOnlyAEADSuites: TLS 1.2 clients offering only CBC suites (or
// TLS 1.1) are refused; AEAD suites and TLS 1.3 work.
func TestTLSOnlyAEADSuites(t *testing.T) {
	b := startBroker(t, options{tls: true})
	host := strings.TrimPrefix(b.url, "https://")
	cbc := []uint16{
		tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA, tls.TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA,
		tls.TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA, tls.TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA,
		tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256, tls.TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256,
		tls.TLS_RSA_WITH_AES_128_CBC_SHA, tls.TLS_RSA_WITH_AES_256_CBC_SHA, tls.TLS_RSA_WITH_AES_128_GCM_SHA256,
	}
	cases := []struct {
		name     string
		min, max uint16
		suites   []uint16
		ok       bool
	}{
		{"TLS 1.2 CBC only", tls.VersionTLS12, tls.VersionTLS12, cbc, false},
		{"TLS 1.1", tls.VersionTLS10, tls.VersionTLS11, nil, false},
		{"TLS 1.2 AES-GCM", tls.VersionTLS12, tls.VersionTLS12, []uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256}, true},
		{"TLS 1.2 ChaCha20", tls.VersionTLS12, tls.VersionTLS12, []uint16{tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256, tls.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256}, true},
		{"TLS 1.3", tls.VersionTLS13, tls.VersionTLS13, nil, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			conn, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", host,
				&tls.Config{InsecureSkipVerify: true, MinVersion: c.min, MaxVersion: c.max, CipherSuites: c.suites})
			if err == nil {
				st := conn.ConnectionState()
				conn.Close()
				if !c.ok {
					t.Fatalf("handshake succeeded with %s %s, want refused", tls.VersionName(st.Version), tls.CipherSuiteName(st.CipherSuite))
				}
				return
			}
			if c.ok {
				t.Fatalf("handshake failed: %v", err)
			}
		})
	}
}

// TestGetInstanceWhileDeprovisioning: an instance whose provision failed
// was never there: GET answers 404 while its deprovision runs, as before
// it. A provisioned one still exists while its deprovision runs: 200.
func TestGetInstanceWhileDeprovisioning(t *testing.T) {
	b := startBroker(t, options{})
	sid, pid := b.ids(dbService, dbSmall)
	for _, c := range []struct {
		id, fail string
		want     int
	}{{"never-1", "provision", 404}, {"was-1", "", 200}} {
		t.Run(c.id, func(t *testing.T) {
			params := map[string]any{"db_name": "x", "fail": c.fail, "sleep_ms": 1500}
			resp, err := b.client.Provision(ctx(t), c.id, b.provisionReq(dbSmall, params), true)
			if err != nil {
				t.Fatal(err)
			}
			want := osbapi.StateSucceeded
			if c.fail != "" {
				want = osbapi.StateFailed
			}
			b.waitInstance(t, c.id, resp.Operation, want)
			if _, err := b.client.Deprovision(ctx(t), c.id, &osbapi.DeprovisionRequest{ServiceID: sid, PlanID: pid}, true); err != nil {
				t.Fatal(err)
			}
			status, body, _ := b.raw(t, "GET", "/v2/service_instances/"+c.id, nil, nil)
			if status != c.want {
				t.Errorf("GET while deprovisioning: %d %s, want %d", status, body, c.want)
			}
		})
	}
}

// TestDevBrokerDeleteAll: DELETE /v2/apb removes what developers pushed,
// not the bundles the registries hold (which a platform would see vanish
// from the catalog).
func TestDevBrokerDeleteAll(t *testing.T) {
	b := startBroker(t, options{})
	yml := "version: '1.0'\nname: pushed-apb\ndescription: pushed\nbindable: false\nasync: optional\nplans:\n  - name: default\n    description: d\n    parameters: []\n"
	status, body, _ := b.raw(t, "POST", "/v2/apb", json.RawMessage("apbSpec="+url.QueryEscape(apb.EncodeLabel([]byte(yml)))),
		map[string]string{"X-Broker-API-Version": "", "Content-Type": "application/x-www-form-urlencoded"})
	if status != 200 {
		t.Fatalf("push: %d %s", status, body)
	}
	if status, body, _ := b.raw(t, "DELETE", "/v2/apb", nil, map[string]string{"X-Broker-API-Version": ""}); status != 204 {
		t.Fatalf("DELETE /v2/apb: %d %s", status, body)
	}
	cat, err := b.client.Catalog(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, s := range cat.Services {
		names = append(names, s.Name)
	}
	slices.Sort(names)
	if want := []string{"local-db-apb", "local-plain-apb"}; !slices.Equal(names, want) {
		t.Errorf("catalog after DELETE /v2/apb: %v, want %v", names, want)
	}
}

// TestAttackMalformedRequests: requests that cannot succeed get a 4xx
// with an OSB error body that says why, never a 5xx.
func TestAttackMalformedRequests(t *testing.T) {
	b := startBroker(t, options{})
	b.provisioned(t, "mal-1", dbSmall, map[string]any{"db_name": "mal"})
	sid, pid := b.ids(dbService, dbSmall)
	good := fmt.Sprintf(`{"service_id":%q,"plan_id":%q,"organization_guid":"o","space_guid":"s","context":{"platform":"kubernetes","namespace":"n"}`, sid, pid)
	jsonCT := map[string]string{"Content-Type": "application/json"}
	cases := []struct {
		name, method, path, body string
		hdr                      map[string]string
		want                     int
	}{
		{"parameters not an object", "PUT", "/v2/service_instances/m1?accepts_incomplete=true", good + `,"parameters":"x"}`, jsonCT, 400},
		{"context not an object", "PUT", "/v2/service_instances/m1?accepts_incomplete=true", strings.Replace(good, `{"platform":"kubernetes","namespace":"n"}`, `[1]`, 1) + `}`, jsonCT, 400},
		{"namespace not a string", "PUT", "/v2/service_instances/m1?accepts_incomplete=true", strings.Replace(good, `"namespace":"n"`, `"namespace":{"a":1}`, 1) + `}`, jsonCT, 400},
		{"maintenance_info not an object", "PUT", "/v2/service_instances/m1?accepts_incomplete=true", good + `,"maintenance_info":"1.0"}`, jsonCT, 400},
		{"deeply nested parameters", "PUT", "/v2/service_instances/m1?accepts_incomplete=true", good + `,"parameters":{"db_name":` + strings.Repeat("[", 10000) + strings.Repeat("]", 10000) + `}}`, jsonCT, 400},
		{"duplicate keys, last not valid", "PUT", "/v2/service_instances/m1?accepts_incomplete=true", good + `,"parameters":{"db_name":"ok","db_name":7}}`, jsonCT, 400},
		{"nul in a parameter", "PUT", "/v2/service_instances/m1?accepts_incomplete=true", good + `,"parameters":{"db_name":"a\u0000b"}}`, jsonCT, 400},
		{"accepts_incomplete=maybe", "PUT", "/v2/service_instances/m1?accepts_incomplete=maybe", good + `}`, jsonCT, 400},
		{"utf-16 declared", "PUT", "/v2/service_instances/m1?accepts_incomplete=true", good + `}`, map[string]string{"Content-Type": "application/json; charset=utf-16"}, 415},
		{"xml", "PUT", "/v2/service_instances/m1?accepts_incomplete=true", `<x/>`, map[string]string{"Content-Type": "application/xml"}, 400},
		{"update of an unknown instance", "PATCH", "/v2/service_instances/nope?accepts_incomplete=true", fmt.Sprintf(`{"service_id":%q}`, sid), jsonCT, 404},
		{"update to a plan of another service", "PATCH", "/v2/service_instances/mal-1?accepts_incomplete=true", fmt.Sprintf(`{"service_id":%q,"plan_id":"nope"}`, sid), jsonCT, 400},
		{"bind to an unknown instance", "PUT", "/v2/service_instances/nope/service_bindings/b?accepts_incomplete=true", fmt.Sprintf(`{"service_id":%q,"plan_id":%q}`, sid, pid), jsonCT, 404},
		{"unbind unknown", "DELETE", "/v2/service_instances/mal-1/service_bindings/nope?service_id=" + sid + "&plan_id=" + pid, "", nil, 410},
		{"deprovision unknown", "DELETE", "/v2/service_instances/nope?accepts_incomplete=true&service_id=" + sid + "&plan_id=" + pid, "", nil, 410},
		{"last_operation unknown", "GET", "/v2/service_instances/nope/last_operation", "", nil, 404},
		{"GET binding unknown", "GET", "/v2/service_instances/mal-1/service_bindings/nope", "", nil, 404},
		{"wrong method", "POST", "/v2/catalog", "", nil, 405},
		{"unknown route", "GET", "/v2/nothing", "", nil, 404},
		{"push without a spec", "POST", "/v2/apb", "x=1", map[string]string{"Content-Type": "application/x-www-form-urlencoded"}, 400},
		{"push of a broken multipart form", "POST", "/v2/apb", "--x\r\n", map[string]string{"Content-Type": "multipart/form-data; boundary=x"}, 400},
		{"push of bad YAML", "POST", "/v2/apb", "apbSpec=" + url.QueryEscape(base64.StdEncoding.EncodeToString([]byte("name: [\n"))), map[string]string{"Content-Type": "application/x-www-form-urlencoded"}, 400},
		{"delete of an unknown spec", "DELETE", "/v2/apb/nope", "", nil, 404},
		{"body over 1 MiB", "PUT", "/v2/service_instances/m1?accepts_incomplete=true", good + `,"parameters":{"db_name":"` + strings.Repeat("a", 1<<20) + `"}}`, jsonCT, 413},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			req, err := http.NewRequestWithContext(ctx(t), c.method, b.url+c.path, strings.NewReader(c.body))
			if err != nil {
				t.Fatal(err)
			}
			req.SetBasicAuth(user, password)
			req.Header.Set("X-Broker-API-Version", "2.17")
			for k, v := range c.hdr {
				req.Header.Set(k, v)
			}
			resp, err := b.http.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			data, _ := io.ReadAll(resp.Body)
			var e osbapi.Error
			if resp.StatusCode != c.want {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, c.want, data)
			}
			if err := json.Unmarshal(data, &e); err != nil || e.Description == "" {
				t.Errorf("no OSB error body with a description: %s", data)
			}
		})
	}
}

// TestAttackBearerClusterDown: with bearer authentication and a cluster
// that does not answer, requests get 503 with Retry-After (retrying
// helps), not 500; a request without a token is still 401.
func TestAttackBearerClusterDown(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	down := "https://" + l.Addr().String()
	l.Close() // nothing listens there now
	b := startBroker(t, options{apiserver: down})
	for _, c := range []struct {
		name, auth string
		want       int
	}{{"bearer token", "Bearer some-token", 503}, {"no token", "", 401}} {
		t.Run(c.name, func(t *testing.T) {
			status, body, hdr := b.send(t, b.http, "GET", "/v2/catalog", map[string]string{"Authorization": c.auth})
			var e osbapi.Error
			if status != c.want || json.Unmarshal([]byte(body), &e) != nil || e.Description == "" {
				t.Fatalf("status %d %s, want %d with an OSB error body", status, body, c.want)
			}
			if c.want == 503 && (hdr.Get("Retry-After") == "" || strings.Contains(body, l.Addr().String())) {
				t.Errorf("503 without Retry-After, or naming the cluster: %v %s", hdr, body)
			}
		})
	}
}
