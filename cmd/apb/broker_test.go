package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/openstack-service-broker/openstack-service-broker/pkg/daemon"
	"github.com/openstack-service-broker/openstack-service-broker/pkg/runtime"
	"github.com/openstack-service-broker/openstack-service-broker/pkg/runtime/inproc"
)

const (
	testUser     = "admin"
	testPassword = "cli-test-pw"
)

// The bundles the test broker serves (local registry "local").
var testBundles = map[string]string{
	"kv-apb": `version: '1.0'
name: kv-apb
description: A key-value store
bindable: true
async: optional
plans:
  - name: small
    description: small
    free: true
    updates_to: [large]
    parameters:
      - name: store_name
        title: Store name
        type: string
        required: true
        pattern: "^[a-z][a-z0-9-]*$"
      - name: size
        type: int
        default: 1
        minimum: 1
        maximum: 10
        updatable: true
      - name: fail
        type: string
        updatable: true
      - name: sleep_ms
        type: int
        updatable: true
    bind_parameters:
      - name: readonly
        type: bool
  - name: large
    description: large
    free: false
    parameters:
      - name: store_name
        type: string
        required: true
    bind_parameters:
      - name: readonly
        type: bool
`,
}

// fakeBundle plays a bundle in the broker's process: parameters steer it.
func fakeBundle(ctx context.Context, a runtime.Action, progress runtime.Progress) (*runtime.Result, error) {
	progress("50%: " + a.Name + " running")
	if ms, _ := a.ExtraVars["sleep_ms"].(float64); ms > 0 {
		select {
		case <-time.After(time.Duration(ms) * time.Millisecond):
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	if f, _ := a.ExtraVars["fail"].(string); f == a.Name {
		return nil, &runtime.ActionError{ExitCode: 2, Message: "failed on purpose during " + a.Name}
	}
	switch a.Name {
	case runtime.ActionProvision:
		return &runtime.Result{Credentials: map[string]any{"URL": "kv://" + a.InstanceID, "KEY": "line1\nline2"}}, nil
	case runtime.ActionBind:
		return &runtime.Result{Credentials: map[string]any{"USER": "u-" + a.BindingID, "READONLY": a.ExtraVars["readonly"]}}, nil
	}
	return &runtime.Result{}, nil
}

type testBroker struct {
	url string
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

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
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

// startBroker runs the real daemon (embedded etcd, local registry, OSB
// HTTP) in this process, with an in-process runtime playing the bundle.
func startBroker(t *testing.T) *testBroker {
	t.Helper()
	dir := t.TempDir()
	reg := filepath.Join(dir, "registry")
	for name, y := range testBundles {
		must(t, os.MkdirAll(filepath.Join(reg, name), 0o755))
		must(t, os.WriteFile(filepath.Join(reg, name, "apb.yml"), []byte(y), 0o644))
	}
	auth := filepath.Join(dir, "auth")
	must(t, os.MkdirAll(auth, 0o700))
	must(t, os.WriteFile(filepath.Join(auth, "username"), []byte(testUser), 0o600))
	must(t, os.WriteFile(filepath.Join(auth, "password"), []byte(testPassword), 0o600))
	cfg := fmt.Sprintf(`registry:
  - {type: local, name: local, path: %s, white_list: [".*"]}
dao:
  etcd_data_dir: %s
log:
  stdout: true
  level: info
broker:
  listen_address: 127.0.0.1:%d
  plain_http: true
  basic_auth_dir: %s
  bootstrap_on_startup: true
  dev_broker: true
  launch_apb_on_bind: true
  # No cluster to ask (SubjectAccessReview): act for any user.
  auto_escalate: true
  auth:
    - {type: basic, enabled: true}
`, reg, filepath.Join(dir, "etcd"), freePort(t), auth)
	cfgPath := filepath.Join(dir, "config.yaml")
	must(t, os.WriteFile(cfgPath, []byte(cfg), 0o600))
	logs := &lockedBuffer{}
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan string, 1)
	done := make(chan error, 1)
	go func() {
		done <- daemon.Run(ctx, cfgPath, logs, daemon.Options{Runtime: inproc.New(fakeBundle), Ready: func(u string) { ready <- u }})
	}()
	b := &testBroker{}
	select {
	case b.url = <-ready:
	case err := <-done:
		cancel()
		t.Fatalf("broker did not start: %v\n%s", err, logs)
	case <-time.After(90 * time.Second):
		cancel()
		t.Fatalf("broker did not start within 90 s\n%s", logs)
	}
	t.Cleanup(func() {
		cancel()
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			t.Errorf("broker did not stop within 30 s")
		}
		if t.Failed() {
			t.Logf("broker log:\n%s", logs)
		}
	})
	return b
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// apbEnv is an environment for apb runs: its own state and config dirs.
type apbEnv struct {
	t   *testing.T
	env map[string]string
}

func newEnv(t *testing.T, b *testBroker) *apbEnv {
	dir := t.TempDir()
	e := &apbEnv{t: t, env: map[string]string{
		"HOME": dir, "XDG_CONFIG_HOME": filepath.Join(dir, "config"), "XDG_STATE_HOME": filepath.Join(dir, "state"),
	}}
	if b != nil {
		e.env["APB_BROKER_URL"] = b.url
		e.env["APB_USER"] = testUser
		e.env["APB_PASSWORD"] = testPassword
	}
	return e
}

type result struct {
	code     int
	out, err string
}

func (e *apbEnv) run(stdin string, args ...string) result {
	e.t.Helper()
	var out, errb bytes.Buffer
	c := func(ctx context.Context) int {
		cl := &cli{io: stdio{in: strings.NewReader(stdin), out: &out, err: &errb},
			getenv: func(k string) string { return e.env[k] }, now: time.Now}
		root := cl.root()
		root.SetArgs(args)
		root.SetIn(cl.io.in)
		root.SetOut(&out)
		root.SetErr(&errb)
		err := root.ExecuteContext(ctx)
		code := exitCode(ctx, err)
		if err != nil && err.Error() != "" {
			fmt.Fprintf(&errb, "apb: %v\n", err)
		}
		return code
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	code := c(ctx)
	return result{code: code, out: out.String(), err: errb.String()}
}

func (e *apbEnv) ok(args ...string) result {
	e.t.Helper()
	r := e.run("", args...)
	if r.code != 0 {
		e.t.Fatalf("apb %s: exit %d\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), r.code, r.out, r.err)
	}
	return r
}

func (e *apbEnv) code(want int, args ...string) result {
	e.t.Helper()
	r := e.run("", args...)
	if r.code != want {
		e.t.Fatalf("apb %s: exit %d, want %d\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), r.code, want, r.out, r.err)
	}
	return r
}

func decode[T any](t *testing.T, s string) T {
	t.Helper()
	var v T
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, s)
	}
	return v
}

// TestBrokerLifecycle drives one instance through the CLI against the
// real daemon: catalog, provision, instances, update, bind, unbind,
// deprovision, each output format, the progress lines and the records.
func TestBrokerLifecycle(t *testing.T) {
	b := startBroker(t)
	e := newEnv(t, b)

	r := e.ok("catalog")
	if !strings.Contains(r.out, "local-kv-apb") || !strings.Contains(r.out, "small,large") || !strings.HasPrefix(r.out, "NAME") {
		t.Errorf("catalog table:\n%s", r.out)
	}
	cat := decode[map[string]any](t, e.ok("catalog", "-o", "json").out)
	if len(cat["services"].([]any)) != 1 {
		t.Errorf("catalog json: %v", cat)
	}
	if y := e.ok("catalog", "-o", "yaml").out; !strings.Contains(y, "name: local-kv-apb") {
		t.Errorf("catalog yaml:\n%s", y)
	}
	if d := e.ok("catalog", "local-kv-apb").out; !strings.Contains(d, "store_name") || !strings.Contains(d, "required") {
		t.Errorf("service detail:\n%s", d)
	}

	r = e.ok("provision", "local-kv-apb", "--plan", "small", "--id", "kv-1", "-p", "store_name=mine", "-p", "size=3", "-o", "json")
	res := decode[operationResult](t, r.out)
	if res.InstanceID != "kv-1" || res.State != "succeeded" || res.Plan != "small" {
		t.Errorf("provision result: %+v", res)
	}
	// Not a terminal: plain progress lines, one per change.
	if !strings.Contains(r.err, "provision kv-1: started") || !strings.Contains(r.err, "provision kv-1: succeeded after") {
		t.Errorf("provision progress:\n%s", r.err)
	}

	r = e.ok("instances", "-o", "json")
	list := decode[[]instanceStatus](t, r.out)
	if len(list) != 1 || list[0].ID != "kv-1" || list[0].State != "succeeded" || list[0].Service != "local-kv-apb" {
		t.Errorf("instances: %+v", list)
	}

	e.ok("update", "kv-1", "-p", "size=5")
	e.ok("update", "kv-1", "--plan", "large")
	if l := decode[[]instanceStatus](t, e.ok("instances", "-o", "json").out); l[0].Plan != "large" {
		t.Errorf("the record did not follow the plan change: %+v", l)
	}

	r = e.ok("bind", "kv-1", "--id", "bind-1", "-p", "readonly=true", "-o", "json")
	bres := decode[operationResult](t, r.out)
	if bres.Credentials["USER"] != "u-bind-1" || bres.Credentials["READONLY"] != true {
		t.Errorf("bind credentials: %+v", bres)
	}
	if tab := e.ok("bind", "kv-1", "--id", "bind-2").out; !strings.Contains(tab, "USER") || !strings.Contains(tab, "u-bind-2") {
		t.Errorf("bind table:\n%s", tab)
	}
	if l := decode[[]instanceStatus](t, e.ok("instances", "-o", "json").out); len(l[0].Bindings) != 2 {
		t.Errorf("bindings recorded: %+v", l)
	}
	e.ok("unbind", "kv-1", "bind-1")
	e.ok("unbind", "kv-1", "bind-2")
	e.code(exitNotFound, "unbind", "kv-1", "bind-2")
	e.ok("unbind", "kv-1", "bind-2", "--ignore-not-found")

	r = e.ok("deprovision", "kv-1")
	if !strings.Contains(r.out, "succeeded") {
		t.Errorf("deprovision:\n%s", r.out)
	}
	if l := decode[[]instanceStatus](t, e.ok("instances", "-o", "json").out); len(l) != 0 {
		t.Errorf("a deprovisioned instance stays in the records: %+v", l)
	}
	e.code(exitNotFound, "deprovision", "kv-1")
	e.ok("deprovision", "kv-1", "--ignore-not-found")
}

// TestBrokerExitCodes: each kind of failure ends with its documented code.
func TestBrokerExitCodes(t *testing.T) {
	b := startBroker(t)
	e := newEnv(t, b)

	// 1: the operation failed; the description is shown.
	r := e.code(exitFailed, "provision", "local-kv-apb", "-P", "small", "--id", "f-1", "-p", "store_name=x", "-p", "fail=provision")
	if !strings.Contains(r.err, "failed on purpose during provision") {
		t.Errorf("failure description missing:\n%s", r.err)
	}
	// 2: usage, nothing sent.
	e.code(exitUsage, "provision")
	e.code(exitUsage, "provision", "local-kv-apb", "--no-such-flag")
	e.code(exitUsage, "frobnicate")
	r = e.code(exitUsage, "provision", "local-kv-apb", "-P", "small", "--id", "u-1")
	if !strings.Contains(r.err, "missing required parameter(s): store_name") {
		t.Errorf("missing parameter: %s", r.err)
	}
	r = e.code(exitUsage, "provision", "local-kv-apb", "-P", "small", "-p", "store_name=x", "-p", "size=many")
	if !strings.Contains(r.err, `parameter size: "many" is not an integer`) {
		t.Errorf("bad parameter: %s", r.err)
	}
	r = e.code(exitUsage, "provision", "local-kv-apb", "-P", "small", "-p", "store_name=Bad Name")
	if !strings.Contains(r.err, "store_name") {
		t.Errorf("schema violation: %s", r.err)
	}
	r = e.code(exitUsage, "provision", "local-kv-apb")
	if !strings.Contains(r.err, "choose one with --plan") {
		t.Errorf("plan choice: %s", r.err)
	}
	e.code(exitUsage, "catalog", "-o", "xml")
	// 4: not found.
	e.code(exitNotFound, "provision", "no-such-service", "-p", "x=1")
	e.code(exitNotFound, "provision", "local-kv-apb", "-P", "huge")
	e.code(exitNotFound, "bind", "never-made")
	// 5: refused: a different plan for an existing id is a 409.
	e.ok("provision", "local-kv-apb", "-P", "small", "--id", "c-1", "-p", "store_name=x")
	e.code(exitRefused, "provision", "local-kv-apb", "-P", "large", "--id", "c-1", "-p", "store_name=y")
	// 8: timed out waiting; the operation goes on.
	r = e.code(exitTimeout, "update", "c-1", "-p", "sleep_ms=3000", "--timeout", "500ms")
	if !strings.Contains(r.err, "goes on at the broker") {
		t.Errorf("timeout message: %s", r.err)
	}
	// --no-wait returns at once with the operation in progress.
	time.Sleep(3 * time.Second)
	r = e.ok("update", "c-1", "-p", "sleep_ms=1000", "--no-wait", "-o", "json")
	if res := decode[operationResult](t, r.out); res.State != "in progress" || res.Operation == "" {
		t.Errorf("--no-wait: %+v", res)
	}
	// 6: unauthorized.
	bad := newEnv(t, b)
	bad.env["APB_PASSWORD"] = "wrong"
	bad.code(exitUnauthorized, "catalog")
	// 3: unreachable.
	gone := newEnv(t, nil)
	gone.env["APB_BROKER_URL"] = fmt.Sprintf("http://127.0.0.1:%d", freePort(t))
	r = gone.code(exitUnreachable, "catalog")
	if !strings.Contains(r.err, "connection refused") {
		t.Errorf("unreachable: %s", r.err)
	}
}

// TestSettingsPrecedence: flag over environment over config file.
func TestSettingsPrecedence(t *testing.T) {
	b := startBroker(t)
	e := newEnv(t, nil)
	cfgDir := filepath.Join(e.env["XDG_CONFIG_HOME"], "apb")
	must(t, os.MkdirAll(cfgDir, 0o700))
	cfg := fmt.Sprintf("broker:\n  url: %s\n  user: %s\n  password: %s\noutput: json\n", b.url, testUser, testPassword)
	must(t, os.WriteFile(filepath.Join(cfgDir, "config.yaml"), []byte(cfg), 0o600))
	// The config file alone.
	if r := e.ok("catalog"); !strings.HasPrefix(strings.TrimSpace(r.out), "{") {
		t.Errorf("output from the config file not used:\n%s", r.out)
	}
	// The environment wins over the file, the flag over both.
	e.env["APB_OUTPUT"] = "yaml"
	if r := e.ok("catalog"); !strings.HasPrefix(r.out, "services:") {
		t.Errorf("APB_OUTPUT not used:\n%s", r.out)
	}
	if r := e.ok("catalog", "-o", "table"); !strings.HasPrefix(r.out, "NAME") {
		t.Errorf("-o not used:\n%s", r.out)
	}
	e.env["APB_PASSWORD"] = "wrong"
	e.code(exitUnauthorized, "catalog")
	e.ok("catalog", "--password", testPassword)
	// A misspelt key is a usage error naming it and its line.
	must(t, os.WriteFile(filepath.Join(cfgDir, "config.yaml"), []byte("broker:\n  urll: x\n"), 0o600))
	r := e.code(exitUsage, "catalog")
	if !strings.Contains(r.err, "line 2") || !strings.Contains(r.err, "urll") {
		t.Errorf("config error: %s", r.err)
	}
	// A password in a file others can read is warned about.
	delete(e.env, "APB_PASSWORD")
	must(t, os.Remove(filepath.Join(cfgDir, "config.yaml")))
	must(t, os.WriteFile(filepath.Join(cfgDir, "config.yaml"), []byte(cfg), 0o644))
	if r := e.ok("catalog"); !strings.Contains(r.err, "others may read it") {
		t.Errorf("no warning for a readable password:\n%s", r.err)
	}
}

func TestCompletion(t *testing.T) {
	e := newEnv(t, nil)
	for _, sh := range []string{"bash", "zsh", "fish"} {
		if r := e.ok("completion", sh); len(r.out) < 1000 {
			t.Errorf("completion %s: %d bytes", sh, len(r.out))
		}
	}
}
