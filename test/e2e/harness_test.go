// Package e2e drives the whole broker (config file, embedded etcd, local
// registry, OSB HTTP API) through its Go OSB client, with an in-process
// runtime standing in for bundle pods. The Kubernetes runtime has its own
// end-to-end tests under test/kube.
package e2e

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"maps"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/openstack-service-broker/openstack-service-broker/pkg/daemon"
	"github.com/openstack-service-broker/openstack-service-broker/pkg/osb/osbapi"
	"github.com/openstack-service-broker/openstack-service-broker/pkg/osb/osbclient"
	"github.com/openstack-service-broker/openstack-service-broker/pkg/runtime"
	"github.com/openstack-service-broker/openstack-service-broker/pkg/runtime/inproc"
)

const (
	user     = "admin"
	password = "e2e-secret-pw"
)

// Test bundles, served from a local registry named "local".
var bundles = map[string]string{
	"db-apb": `version: '1.0'
name: db-apb
description: A test database
bindable: true
async: optional
tags: [database]
metadata:
  displayName: Test DB
plans:
  - name: small
    description: small database
    free: true
    metadata:
      maintenance_info:
        version: 1.2.0
    updates_to: [large]
    parameters:
      - name: db_name
        type: string
        required: true
        pattern: "^[a-z][a-z0-9_]*$"
        max_length: 30
      - name: size
        type: int
        default: 1
        minimum: 1
        maximum: 100
        updatable: true
      - name: sleep_ms
        type: int
        updatable: true
      - name: fail
        type: string
        enum: ["", provision, update, deprovision, bind, unbind]
        updatable: true
      - name: block
        type: bool
        updatable: true
    bind_parameters:
      - name: readonly
        type: bool
      - name: sleep_ms
        type: int
      - name: block
        type: bool
  - name: large
    description: large database
    free: false
    updates_to: []
    parameters:
      - name: db_name
        type: string
        required: true
`,
	"plain-apb": `version: 1.0.0
name: plain-apb
description: not bindable
bindable: "False"
async: optional
plans:
  - name: default
    description: the only plan
    free: "True"
    parameters: []
`,
}

const (
	dbService = "local-db-apb"
	dbSmall   = "small"
	dbLarge   = "large"
)

// controller lets a test hold operations open and observe runs.
type controller struct {
	mu      sync.Mutex
	release map[string]chan struct{} // instance or binding id -> release
}

func (c *controller) gate(id string) chan struct{} {
	c.mu.Lock()
	defer c.mu.Unlock()
	ch, ok := c.release[id]
	if !ok {
		ch = make(chan struct{})
		c.release[id] = ch
	}
	return ch
}

// Release lets a blocked operation on id finish.
func (c *controller) Release(id string) {
	ch := c.gate(id)
	select {
	case <-ch:
	default:
		close(ch)
	}
}

func asInt(v any) int {
	switch n := v.(type) {
	case float64:
		return int(n)
	case int:
		return n
	case json.Number:
		i, _ := n.Int64()
		return int(i)
	}
	return 0
}

// play is the in-process "bundle": its parameters steer it.
func (c *controller) play(ctx context.Context, a runtime.Action, progress runtime.Progress) (*runtime.Result, error) {
	if a.FQName == vaultService {
		return vaultPlay(ctx, a, progress)
	}
	progress("50%: " + a.Name + " running")
	id := a.InstanceID
	if a.BindingID != "" {
		id = a.BindingID
	}
	if b, _ := a.ExtraVars["block"].(bool); b {
		select {
		case <-c.gate(id):
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	if ms := asInt(a.ExtraVars["sleep_ms"]); ms > 0 {
		select {
		case <-time.After(time.Duration(ms) * time.Millisecond):
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	if f, _ := a.ExtraVars["fail"].(string); f == a.Name {
		return nil, &runtime.ActionError{ExitCode: 2, Message: "bundle failed on purpose during " + a.Name}
	}
	switch a.Name {
	case runtime.ActionProvision, runtime.ActionUpdate:
		return &runtime.Result{Credentials: map[string]any{
			"DB_HOST": "db-" + a.InstanceID + ".example", "DB_PASSWORD": "pw-" + a.InstanceID,
		}}, nil
	case runtime.ActionBind:
		return &runtime.Result{Credentials: map[string]any{"DB_USER": "u-" + a.BindingID}}, nil
	}
	return &runtime.Result{}, nil
}

type broker struct {
	t      *testing.T
	url    string
	dir    string
	rt     *inproc.Runtime
	ctl    *controller
	client *osbclient.Client
	http   *http.Client
	logs   *lockedBuffer
	stop   func()
	cat    *osbapi.Catalog
}

type lockedBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

type options struct {
	launchOnBind bool
	// defaultNamespace is broker.default_namespace.
	defaultNamespace string
	extraBundles     int // generated bundles added to the registry
	genDir           string
	// logLevel is log.level (default debug); outputRequest is
	// broker.output_request.
	logLevel      string
	outputRequest bool
	// brokerYAML is added to the broker: section as it is (indented by
	// two spaces per key).
	brokerYAML string
	// tls serves HTTPS with a self-signed certificate (no plain_http).
	tls bool
	// more are bundles (name to apb.yml) added to the local registry.
	more map[string]string
	// apiserver, when set, is openshift.host and basic auth is off: the
	// broker checks bearer tokens with that cluster. The catalog is not
	// fetched at start.
	apiserver string
	// dao is more of the dao: section, indented by two spaces.
	dao string
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// writeConfig lays out a registry directory, auth files and a config file.
func writeConfig(t *testing.T, dir string, o options, port int) string {
	t.Helper()
	reg := filepath.Join(dir, "registry")
	all := maps.Clone(bundles)
	maps.Copy(all, o.more)
	for name, y := range all {
		if err := os.MkdirAll(filepath.Join(reg, name), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(reg, name, "apb.yml"), []byte(y), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	authDir := filepath.Join(dir, "auth")
	os.MkdirAll(authDir, 0o700)
	os.WriteFile(filepath.Join(authDir, "username"), []byte(user+"\n"), 0o600)
	os.WriteFile(filepath.Join(authDir, "password"), []byte(password+"\n"), 0o600)
	regs := fmt.Sprintf(`  - type: local
    name: local
    path: %s
    white_list: [".*"]
`, reg)
	if o.genDir != "" {
		regs += fmt.Sprintf(`  - type: local
    name: gen
    path: %s
    white_list: [".*"]
`, o.genDir)
	}
	level := o.logLevel
	if level == "" {
		level = "debug"
	}
	cfg := fmt.Sprintf(`registry:
%sdao:
  etcd_data_dir: %s
%slog:
  stdout: true
  level: %s
openshift:
  namespace: osb-e2e
broker:
  listen_address: 127.0.0.1:%d
  plain_http: %v
  basic_auth_dir: %s
  auto_escalate: true
  bootstrap_on_startup: true
  dev_broker: true
  launch_apb_on_bind: %v
  output_request: %v
  auth:
    - type: basic
      enabled: %v
`, regs, filepath.Join(dir, "etcd"), o.dao, level, port, !o.tls, authDir, o.launchOnBind, o.outputRequest, o.apiserver == "")
	if o.apiserver != "" {
		cfg = strings.Replace(cfg, "openshift:\n", "openshift:\n  host: "+o.apiserver+"\n", 1)
	}
	if o.defaultNamespace != "" {
		cfg += "  default_namespace: " + o.defaultNamespace + "\n"
	}
	cfg += o.brokerYAML
	p := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(p, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// startBroker runs the daemon in this process on a fresh data directory.
func startBroker(t *testing.T, o options) *broker {
	t.Helper()
	dir := t.TempDir()
	port := freePort(t)
	cfgPath := writeConfig(t, dir, o, port)
	ctl := &controller{release: map[string]chan struct{}{}}
	b := &broker{t: t, dir: dir, ctl: ctl, rt: inproc.New(ctl.play), logs: &lockedBuffer{}}
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan string, 1)
	done := make(chan error, 1)
	go func() {
		done <- daemon.Run(ctx, cfgPath, b.logs, daemon.Options{
			Runtime: b.rt, Version: "e2e", Ready: func(u string) { ready <- u },
		})
	}()
	select {
	case b.url = <-ready:
	case err := <-done:
		cancel()
		t.Fatalf("broker did not start: %v\nlogs:\n%s", err, b.logs)
	case <-time.After(90 * time.Second):
		cancel()
		t.Fatalf("broker did not start within 90 s\nlogs:\n%s", b.logs)
	}
	b.stop = func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("broker stopped with %v", err)
			}
		case <-time.After(30 * time.Second):
			t.Errorf("broker did not stop within 30 s")
		}
	}
	t.Cleanup(func() {
		// Unblock anything still held so the broker can stop.
		ctl.mu.Lock()
		for _, ch := range ctl.release {
			select {
			case <-ch:
			default:
				close(ch)
			}
		}
		ctl.mu.Unlock()
		b.stop()
		if t.Failed() {
			t.Logf("broker logs:\n%s", tail(b.logs.String(), 60))
		}
		if strings.Contains(b.logs.String(), password) {
			t.Errorf("the basic-auth password appears in the broker's logs")
		}
	})
	b.http = &http.Client{Timeout: 60 * time.Second}
	if o.tls {
		// The broker's certificate is self-signed.
		b.http.Transport = &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}
	}
	b.client = osbclient.New(osbclient.Options{URL: b.url, Username: user, Password: password, HTTPClient: b.http})
	if o.apiserver != "" {
		return b
	}
	cat, err := b.client.Catalog(context.Background())
	if err != nil {
		t.Fatalf("catalog: %v", err)
	}
	b.cat = cat
	return b
}

func tail(s string, n int) string {
	lines := strings.Split(s, "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// ids returns service and plan ids of a catalog entry.
func (b *broker) ids(service, plan string) (string, string) {
	b.t.Helper()
	for _, s := range b.cat.Services {
		if s.Name != service {
			continue
		}
		for _, p := range s.Plans {
			if p.Name == plan {
				return s.ID, p.ID
			}
		}
	}
	b.t.Fatalf("no plan %s/%s in the catalog", service, plan)
	return "", ""
}

func (b *broker) provisionReq(plan string, params map[string]any) *osbapi.ProvisionRequest {
	sid, pid := b.ids(dbService, plan)
	return &osbapi.ProvisionRequest{
		ServiceID: sid, PlanID: pid, OrganizationGUID: "org", SpaceGUID: "space",
		Context:    map[string]any{"platform": "kubernetes", "namespace": "team-a"},
		Parameters: params,
	}
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return c
}

// wantStatus asserts err is an OSB error with the status (and code, if set).
func wantStatus(t *testing.T, err error, status int, code string) *osbapi.Error {
	t.Helper()
	e, ok := osbapi.AsError(err)
	if !ok {
		t.Fatalf("got %v, want an OSB error %d %s", err, status, code)
	}
	if e.Status != status || (code != "" && e.Code != code) {
		t.Fatalf("got %d %s (%s), want %d %s", e.Status, e.Code, e.Description, status, code)
	}
	return e
}

// provisioned provisions and waits for success.
func (b *broker) provisioned(t *testing.T, id, plan string, params map[string]any) *osbapi.ProvisionRequest {
	t.Helper()
	req := b.provisionReq(plan, params)
	resp, err := b.client.Provision(ctx(t), id, req, true)
	if err != nil {
		t.Fatalf("provision %s: %v", id, err)
	}
	b.waitInstance(t, id, resp.Operation, osbapi.StateSucceeded)
	return req
}

func (b *broker) waitInstance(t *testing.T, id, op, want string) *osbapi.LastOperationResponse {
	t.Helper()
	lo, err := b.client.PollLastOperation(ctx(t), id, &osbapi.LastOperationRequest{Operation: op}, 50*time.Millisecond)
	if err != nil {
		t.Fatalf("polling %s: %v", id, err)
	}
	if lo.State != want {
		t.Fatalf("operation on %s ended %q (%s), want %q", id, lo.State, lo.Description, want)
	}
	return lo
}

func (b *broker) waitBinding(t *testing.T, iid, bid, op, want string) *osbapi.LastOperationResponse {
	t.Helper()
	lo, err := b.client.PollBindingLastOperation(ctx(t), iid, bid, &osbapi.LastOperationRequest{Operation: op}, 50*time.Millisecond)
	if err != nil {
		t.Fatalf("polling binding %s: %v", bid, err)
	}
	if lo.State != want {
		t.Fatalf("operation on binding %s ended %q (%s), want %q", bid, lo.State, lo.Description, want)
	}
	return lo
}

// raw sends a request with full control over headers.
func (b *broker) raw(t *testing.T, method, path string, body any, hdr map[string]string) (int, []byte, http.Header) {
	t.Helper()
	h := http.Header{}
	for k, v := range hdr {
		h.Set(k, v)
	}
	status, data, rh, err := b.client.Do(ctx(t), method, path, body, h)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	return status, data, rh
}

// waitFor polls cond for up to d.
func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", d, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
