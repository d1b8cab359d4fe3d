package openstack

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/openstack-service-broker/openstack-service-broker/pkg/emulator"
	"github.com/openstack-service-broker/openstack-service-broker/test/kube/kubetest"
)

const (
	python3      = "/usr/bin/python3" // Debian's, which has python3-openstacksdk
	openstackCLI = "/usr/bin/openstack"
	clientTime   = 2 * time.Minute
	installHint  = "install the Debian packages python3-openstacksdk and python3-openstackclient (make test does it: " +
		"hack/test.d/20-emulator.sh), or set OSB_SKIP=openstack"
)

// Cloud is the suite's emulator, one for every test (bundles of several
// tests share it as tenants share a cloud), checked only through the
// real clients: Debian's openstacksdk and the openstack CLI.
type Cloud struct {
	*emulator.Cloud
	// CloudsFile is the emulator's clouds.yaml (clouds emulator,
	// emulator-appcred, emulator-alt, emulator-admin).
	CloudsFile string
	dir        string
	log        *kubetest.Buffer
}

// startCloud starts the emulator on 127.0.0.1:0. States that take time
// (BUILD, creating, PENDING_*) last delay, so the bundles' waits are
// exercised.
func startCloud(delay time.Duration) (*Cloud, error) {
	lb := &kubetest.Buffer{}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := emulator.Start(ctx, emulator.Options{Listen: "127.0.0.1:0", Delay: delay,
		Logger: slog.New(slog.NewTextHandler(lb, &slog.HandlerOptions{Level: slog.LevelInfo}))})
	if err != nil {
		return nil, fmt.Errorf("starting the emulator: %w", err)
	}
	dir, err := os.MkdirTemp("", "osb-openstack-")
	if err != nil {
		return nil, err
	}
	cy := filepath.Join(dir, "clouds.yaml")
	if err := c.WriteCloudsYAML(cy); err != nil {
		return nil, err
	}
	return &Cloud{Cloud: c, CloudsFile: cy, dir: dir, log: lb}, nil
}

func (c *Cloud) close() error {
	defer os.RemoveAll(c.dir)
	return c.Close()
}

// Resource is one entry of the emulator's admin resource list.
type Resource struct {
	Service   string `json:"service"`
	Type      string `json:"type"`
	ID        string `json:"id"`
	Name      string `json:"name"`
	ProjectID string `json:"project_id"`
	Status    string `json:"status"`
}

func (r Resource) key() string { return r.Service + "/" + r.Type + "/" + r.ID }

func (r Resource) String() string {
	return fmt.Sprintf("%s %s %s (%s, project %s)", r.Service, r.Type, r.ID, r.Name, r.ProjectID)
}

// resources lists every resource of every project through the admin API
// (an admin token from Keystone's password method).
func (c *Cloud) resources() ([]Resource, error) {
	tok, err := c.token("admin")
	if err != nil {
		return nil, err
	}
	var out struct {
		Resources []Resource `json:"resources"`
	}
	if err := c.adminCall(tok, http.MethodGet, emulator.AdminPrefix+"/resources", nil, &out); err != nil {
		return nil, err
	}
	return out.Resources, nil
}

// leftovers are the resources in now that were not in before.
func leftovers(before, now []Resource) []Resource {
	had := map[string]bool{}
	for _, r := range before {
		had[r.key()] = true
	}
	var out []Resource
	for _, r := range now {
		if !had[r.key()] {
			out = append(out, r)
		}
	}
	return out
}

// fault is an emulator fault (pkg/emulator/README.md: Admin API) as the
// suite injects it. Faults are cloud-wide and the failed provisions run
// in parallel, so every fault names one instance: BodyContains (the name
// the instance gives what it creates is in the create request's body)
// or an id in Path.
type fault struct {
	Method, Path string
	BodyContains string
	Status       int    // 0: the request is only delayed (a hold)
	Body         any    // what the faulted request gets
	Delay        string // Go duration
}

// uuidIn finds an id in what scopes a fault.
var uuidIn = regexp.MustCompile(`[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}`)

// injectedFault is a fault in the emulator until Remove or the end of the
// test that injected it.
type injectedFault struct {
	c    *Cloud
	t    *testing.T
	tok  string
	f    fault
	id   string
	once sync.Once
}

// Fault injects f; it fails t unless f names an instance's id (Path or
// BodyContains), and, when the fault is removed, unless a request hit it:
// a fault that never fires tests nothing.
func (c *Cloud) Fault(t *testing.T, f fault) *injectedFault {
	t.Helper()
	if !uuidIn.MatchString(f.Path) && !uuidIn.MatchString(f.BodyContains) {
		t.Fatalf("fault %s %s names no instance (an id in its path or body_contains): it would fail the tests running beside this one", f.Method, f.Path)
	}
	tok, err := c.token("admin")
	if err != nil {
		t.Fatal(err)
	}
	var out struct {
		Fault struct {
			ID string `json:"id"`
		} `json:"fault"`
	}
	spec := map[string]any{"method": f.Method, "path": f.Path, "body_contains": f.BodyContains, "status": f.Status,
		"body": f.Body, "delay": f.Delay}
	if err := c.adminCall(tok, http.MethodPost, emulator.AdminPrefix+"/faults", map[string]any{"fault": spec}, &out); err != nil {
		t.Fatalf("injecting a fault: %v", err)
	}
	inj := &injectedFault{c: c, t: t, tok: tok, f: f, id: out.Fault.ID}
	t.Cleanup(inj.Remove)
	return inj
}

func (inj *injectedFault) String() string {
	return fmt.Sprintf("fault %s %s (body_contains %q)", inj.f.Method, inj.f.Path, inj.f.BodyContains)
}

// hits is how many requests hit the fault so far.
func (inj *injectedFault) hits() (int, error) {
	var out struct {
		Faults []struct {
			ID   string `json:"id"`
			Hits int    `json:"hits"`
		} `json:"faults"`
	}
	if err := inj.c.adminCall(inj.tok, http.MethodGet, emulator.AdminPrefix+"/faults", nil, &out); err != nil {
		return 0, err
	}
	for _, f := range out.Faults {
		if f.ID == inj.id {
			return f.Hits, nil
		}
	}
	return 0, fmt.Errorf("%s is no longer in the emulator", inj)
}

// AwaitHit waits until a request hit the fault: with a hold (a delay
// only), that request is held there until Remove.
func (inj *injectedFault) AwaitHit(ctx context.Context) {
	inj.t.Helper()
	for {
		n, err := inj.hits()
		if err != nil {
			inj.t.Fatal(err)
		}
		if n > 0 {
			return
		}
		select {
		case <-ctx.Done():
			inj.t.Fatalf("no request hit %s: %v", inj, ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// Remove removes the fault (releasing a request it holds) and fails the
// test if no request hit it. Once; also when the test ends.
func (inj *injectedFault) Remove() {
	inj.once.Do(func() {
		if n, err := inj.hits(); err != nil {
			inj.t.Errorf("reading the hits of %s: %v", inj, err)
		} else if n == 0 {
			inj.t.Errorf("no request hit %s: the test did not test what it says", inj)
		}
		if err := inj.c.adminCall(inj.tok, http.MethodDelete, emulator.AdminPrefix+"/faults/"+inj.id, nil, nil); err != nil {
			inj.t.Errorf("removing %s: %v", inj, err)
		}
	})
}

// token is a project-scoped token of a built-in user, from Keystone.
func (c *Cloud) token(user string) (string, error) {
	cr := c.Credentials()
	pw := map[string]string{"demo": cr.DemoPassword, "alt": cr.AltPassword, "admin": cr.AdminPassword}[user]
	body := map[string]any{"auth": map[string]any{
		"identity": map[string]any{"methods": []string{"password"}, "password": map[string]any{"user": map[string]any{
			"name": user, "domain": map[string]any{"id": "default"}, "password": pw}}},
		"scope": map[string]any{"project": map[string]any{"name": user, "domain": map[string]any{"id": "default"}}}}}
	b, _ := json.Marshal(body)
	resp, err := http.Post(c.AuthURL()+"/auth/tokens", "application/json", bytes.NewReader(b))
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	if tok := resp.Header.Get("X-Subject-Token"); resp.StatusCode == http.StatusCreated && tok != "" {
		return tok, nil
	}
	return "", fmt.Errorf("token for %s: HTTP %d", user, resp.StatusCode)
}

func (c *Cloud) adminCall(tok, method, path string, body, out any) error {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, c.URL()+path, rd)
	if err != nil {
		return err
	}
	req.Header.Set("X-Auth-Token", tok)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode >= 300 {
		return fmt.Errorf("%s %s: HTTP %d: %s", method, path, resp.StatusCode, b)
	}
	if out != nil {
		return json.Unmarshal(b, out)
	}
	return nil
}

var (
	pyOnce sync.Once
	pyErr  string
)

func requireClients(t *testing.T) {
	t.Helper()
	pyOnce.Do(func() {
		out, err := exec.Command(python3, "-c", "import openstack").CombinedOutput()
		if err != nil {
			pyErr = fmt.Sprintf("python3-openstacksdk is missing (%v: %s): %s", err, bytes.TrimSpace(out), installHint)
			return
		}
		if _, err := os.Stat(openstackCLI); err != nil {
			pyErr = "the openstack CLI (python3-openstackclient) is missing: " + installHint
		}
	})
	if pyErr != "" {
		t.Fatal(pyErr)
	}
}

// pyPrelude is prepended to every script: connect(cloud), emit(value),
// status_of(fn) (the HTTP status fn's error carries, None without one).
const pyPrelude = `import json, sys, openstack
from openstack import exceptions
from keystoneauth1 import exceptions as ksa_exceptions
def connect(cloud=None, **kw):
    if cloud is None:
        return openstack.connect(**kw)
    return openstack.connect(cloud=cloud, **kw)
def emit(v):
    sys.stdout.write("\n@@EMIT@@" + json.dumps(v, default=str) + "\n")
def status_of(fn):
    try:
        fn()
    except exceptions.HttpException as e:
        return e.status_code
    except ksa_exceptions.HttpError as e:
        return e.http_status
    except exceptions.SDKException as e:
        cause = e.__cause__ or e.__context__
        if isinstance(cause, ksa_exceptions.HttpError):
            return cause.http_status
        raise
    return None
`

// Python runs script with Debian's openstacksdk (clouds.yaml of the
// emulator, plus env) and returns what it passed to emit(). A failing
// script fails the test.
func (c *Cloud) Python(t *testing.T, script string, env ...string) any {
	t.Helper()
	requireClients(t)
	out, stderr, code := c.run(t, exec.Command(python3, "-c", pyPrelude+script), env)
	if code != 0 {
		t.Fatalf("python script failed (exit %d):\n%s\n%s", code, out, stderr)
	}
	i := strings.LastIndex(out, "@@EMIT@@")
	if i < 0 {
		t.Fatalf("the python script did not call emit():\n%s\n%s", out, stderr)
	}
	var v any
	if err := json.Unmarshal([]byte(strings.TrimSpace(out[i+len("@@EMIT@@"):])), &v); err != nil {
		t.Fatalf("emit output: %v", err)
	}
	return v
}

// CLI runs `openstack --os-cloud CLOUD ARGS... -f json` and returns the
// parsed output; a non-zero exit fails the test.
func (c *Cloud) CLI(t *testing.T, cloud string, args ...string) any {
	t.Helper()
	requireClients(t)
	full := append([]string{"--os-cloud", cloud}, args...)
	full = append(full, "-f", "json")
	out, stderr, code := c.run(t, exec.Command(openstackCLI, full...), nil)
	if code != 0 {
		t.Fatalf("openstack %s failed (exit %d):\n%s\n%s", strings.Join(args, " "), code, out, stderr)
	}
	var v any
	if strings.TrimSpace(out) == "" {
		return nil
	}
	if err := json.Unmarshal([]byte(out), &v); err != nil {
		t.Fatalf("openstack %s: output is not JSON: %v\n%s", strings.Join(args, " "), err, out)
	}
	return v
}

// CLIDo runs `openstack --os-cloud CLOUD ARGS...` for commands that
// print nothing (delete, set); a non-zero exit fails the test.
func (c *Cloud) CLIDo(t *testing.T, cloud string, args ...string) {
	t.Helper()
	requireClients(t)
	out, stderr, code := c.run(t, exec.Command(openstackCLI, append([]string{"--os-cloud", cloud}, args...)...), nil)
	if code != 0 {
		t.Fatalf("openstack %s failed (exit %d):\n%s\n%s", strings.Join(args, " "), code, out, stderr)
	}
}

// execCommand is exec.Command (run re-creates it with a deadline).
func execCommand(name string, args ...string) *exec.Cmd { return exec.Command(name, args...) }

func (c *Cloud) run(t *testing.T, cmd *exec.Cmd, env []string) (string, string, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), clientTime)
	defer cancel()
	cmd = exec.CommandContext(ctx, cmd.Path, cmd.Args[1:]...)
	cmd.Env = append(os.Environ(), "OS_CLIENT_CONFIG_FILE="+c.CloudsFile, "PYTHONDONTWRITEBYTECODE=1")
	cmd.Env = append(cmd.Env, env...)
	cmd.Dir = c.dir
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	if ctx.Err() != nil {
		t.Fatalf("%s timed out after %s\n%s\n%s", cmd.Path, clientTime, out.String(), errb.String())
	}
	code := 0
	if err != nil {
		ee, ok := err.(*exec.ExitError)
		if !ok {
			t.Fatalf("%s: %v", cmd.Path, err)
		}
		code = ee.ExitCode()
	}
	return out.String(), errb.String(), code
}

// checkProblems fails the test on any 500 or panic the emulator logged.
func (c *Cloud) checkProblems(t *testing.T) {
	t.Helper()
	for _, p := range c.Problems() {
		t.Errorf("the emulator had an internal error (500 or panic): %s", p)
	}
}

// Helpers to walk decoded JSON.

func asMap(t *testing.T, v any) map[string]any {
	t.Helper()
	m, ok := v.(map[string]any)
	if !ok {
		t.Fatalf("want a JSON object, got %T: %v", v, v)
	}
	return m
}

func asList(t *testing.T, v any) []any {
	t.Helper()
	l, ok := v.([]any)
	if !ok {
		t.Fatalf("want a JSON array, got %T: %v", v, v)
	}
	return l
}

func str(v any) string {
	if v == nil {
		return ""
	}
	return fmt.Sprint(v)
}

// strings of a JSON list.
func strs(v any) []string {
	l, _ := v.([]any)
	out := make([]string, 0, len(l))
	for _, e := range l {
		out = append(out, str(e))
	}
	slices.Sort(out)
	return out
}
