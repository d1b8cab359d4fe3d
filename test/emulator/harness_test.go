// Package emulator_test drives the OpenStack emulator with the real
// clients: Debian's python3-openstacksdk (0.101), the `openstack` CLI from
// python3-openstackclient (6.0), and the openstack.cloud Ansible modules
// inside the openstack-apb image. Each test starts its own emulator
// in-process on 127.0.0.1:0 and writes clouds.yaml to a temp dir.
//
// The CLI and the SDK scripts run in processes forked from one warm
// Python process (clients_test.go: the same entry points, a second of
// interpreter and import start-up saved per call);
// OSB_EMULATOR_CLIENTS=exec runs /usr/bin/openstack and python3 instead.
//
// Every helper fails the test when the emulator logged a 500 nobody
// injected or a panic. OSB_SKIP=emulator skips the suite; OSB_SKIP=images
// skips only the Ansible parts (they need the images `make images` builds).
// hack/test.d/20-emulator.sh installs the Debian packages.
package emulator_test

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
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/openstack-service-broker/openstack-service-broker/pkg/emulator"
)

const (
	python3      = "/usr/bin/python3" // Debian's, which has python3-openstacksdk (not a pyenv shim)
	openstackCLI = "/usr/bin/openstack"
	clientTime   = 3 * time.Minute // one CLI call or SDK script
	// ansibleTime bounds one ansible-playbook run: a dozen module runs,
	// each a Python process importing openstacksdk, in a new container;
	// up to two minutes were measured on this 2-core machine at a load
	// average of 15.
	ansibleTime = 5 * time.Minute
	installHint = "install the Debian packages python3-openstacksdk and python3-openstackclient (make test does it: hack/test.d/20-emulator.sh), or set OSB_SKIP=emulator"
)

// openstackAPB is the image the Ansible tests run in: hack/images.sh's tag,
// or OSB_OPENSTACK_APB_IMAGE (a tree building its own, e.g. with
// OSB_IMAGE_PREFIX, so parallel checkouts do not overwrite each other's).
var openstackAPB = func() string {
	if img := os.Getenv("OSB_OPENSTACK_APB_IMAGE"); img != "" {
		return img
	}
	return "openstack-service-broker/openstack-apb:latest"
}()

func skipped(name string) bool {
	for _, s := range strings.Fields(os.Getenv("OSB_SKIP")) {
		if s == name {
			return true
		}
	}
	return false
}

// logBuffer collects the emulator's log for failure reports.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// Cloud is one in-process emulator with a clouds.yaml for it.
type Cloud struct {
	*emulator.Cloud
	Dir        string // temp dir holding clouds.yaml
	CloudsYAML string // path of clouds.yaml
	log        *logBuffer
}

// StartCloud starts an emulator for the test (Delay 0 unless opts says
// otherwise) and stops it at cleanup, failing the test on any internal
// error the emulator recorded.
func StartCloud(t *testing.T, opts ...func(*emulator.Options)) *Cloud {
	t.Helper()
	if skipped("emulator") {
		t.Skip("OSB_SKIP names emulator")
	}
	lb := &logBuffer{}
	o := emulator.Options{Listen: "127.0.0.1:0", Logger: slog.New(slog.NewTextHandler(lb, &slog.HandlerOptions{Level: slog.LevelDebug}))}
	for _, f := range opts {
		f(&o)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := emulator.Start(ctx, o)
	if err != nil {
		t.Fatalf("starting the emulator: %v", err)
	}
	dir := t.TempDir()
	// The Ansible container runs as user 1001: the directory and
	// clouds.yaml must be readable by it.
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	cy := filepath.Join(dir, "clouds.yaml")
	if err := c.WriteCloudsYAML(cy); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(cy, 0o644); err != nil {
		t.Fatal(err)
	}
	cl := &Cloud{Cloud: c, Dir: dir, CloudsYAML: cy, log: lb}
	t.Cleanup(func() {
		if err := c.Close(); err != nil {
			t.Errorf("closing the emulator: %v", err)
		}
		cl.checkProblems(t)
		if t.Failed() {
			t.Logf("emulator log:\n%s", tail(lb.String(), 200))
		}
	})
	return cl
}

func (c *Cloud) checkProblems(t *testing.T) {
	t.Helper()
	for _, p := range c.Problems() {
		t.Errorf("the emulator had an internal error (500 or panic): %s", p)
	}
}

func tail(s string, lines int) string {
	ls := strings.Split(s, "\n")
	if len(ls) > lines {
		ls = ls[len(ls)-lines:]
	}
	return strings.Join(ls, "\n")
}

var (
	pyOnce sync.Once
	pyErr  string
)

func requirePython(t *testing.T) {
	t.Helper()
	pyOnce.Do(func() {
		out, err := exec.Command(python3, "-c", "import openstack; print(openstack.version.__version__)").CombinedOutput()
		if err != nil {
			pyErr = fmt.Sprintf("python3-openstacksdk is missing (%s: %v: %s): %s", python3, err, bytes.TrimSpace(out), installHint)
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

// pyPrelude is prepended to every Python script: `connect(cloud)` and
// `emit(value)` (the helper's return value; emit once, at the end).
const pyPrelude = `import json, sys, openstack
from openstack import exceptions
from keystoneauth1 import exceptions as ksa_exceptions
def connect(cloud, **kw):
    return openstack.connect(cloud=cloud, **kw)
def emit(v):
    sys.stdout.write("\n@@EMIT@@" + json.dumps(v, default=str) + "\n")
def http_error(fn):
    """Calls fn and returns the HTTP status of the error it raises
    ({"status": None} when it raises none)."""
    try:
        fn()
    except exceptions.HttpException as e:
        return {"status": e.status_code, "message": str(e)}
    except ksa_exceptions.HttpError as e:
        return {"status": e.http_status, "message": str(e)}
    except exceptions.ResourceNotFound as e:
        return {"status": 404, "message": str(e)}
    except exceptions.SDKException as e:
        cause = e.__cause__ or e.__context__
        if isinstance(cause, ksa_exceptions.HttpError):
            return {"status": cause.http_status, "message": str(e)}
        raise
    return {"status": None}
`

// Python runs a script with Debian's openstacksdk against this cloud and
// returns the value the script passed to emit(). A non-zero exit fails
// the test with the script's output.
func (c *Cloud) Python(t *testing.T, script string) any {
	t.Helper()
	requirePython(t)
	out, stderr, code := c.runClient(t, "python", nil, pyPrelude+script)
	defer c.checkProblems(t)
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
// parsed JSON output (nil for commands that print nothing). A non-zero
// exit fails the test.
func (c *Cloud) CLI(t *testing.T, cloud string, args ...string) any {
	t.Helper()
	out, stderr, code := c.cli(t, cloud, args, true)
	if code != 0 {
		t.Fatalf("openstack %s failed (exit %d):\n%s\n%s", strings.Join(args, " "), code, out, stderr)
	}
	if strings.TrimSpace(out) == "" {
		return nil
	}
	var v any
	if err := json.Unmarshal([]byte(out), &v); err != nil {
		t.Fatalf("openstack %s: output is not JSON: %v\n%s", strings.Join(args, " "), err, out)
	}
	return v
}

// CLINoFormat runs a command that takes no -f (delete, set, ...) and
// fails the test on a non-zero exit.
func (c *Cloud) CLINoFormat(t *testing.T, cloud string, args ...string) string {
	t.Helper()
	out, stderr, code := c.cli(t, cloud, args, false)
	if code != 0 {
		t.Fatalf("openstack %s failed (exit %d):\n%s\n%s", strings.Join(args, " "), code, out, stderr)
	}
	return out
}

// CLIFails runs a command that must fail and returns its stderr.
func (c *Cloud) CLIFails(t *testing.T, cloud string, args ...string) string {
	t.Helper()
	out, stderr, code := c.cli(t, cloud, args, false)
	if code == 0 {
		t.Fatalf("openstack %s succeeded, want a failure:\n%s", strings.Join(args, " "), out)
	}
	return stderr
}

func (c *Cloud) cli(t *testing.T, cloud string, args []string, format bool) (string, string, int) {
	t.Helper()
	requirePython(t)
	full := append([]string{"--os-cloud", cloud}, args...)
	if format {
		full = append(full, "-f", "json")
	}
	defer c.checkProblems(t)
	return c.runClient(t, "cli", full, "")
}

// run runs a client as its own program (OSB_EMULATOR_CLIENTS=exec).
func (c *Cloud) run(ctx context.Context, t *testing.T, cmd *exec.Cmd) (string, string, int) {
	t.Helper()
	cmd.Env = append(os.Environ(), "OS_CLIENT_CONFIG_FILE="+c.CloudsYAML, "PYTHONDONTWRITEBYTECODE=1")
	cmd.Dir = c.Dir
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

// dockerBin prefers Debian's client, which matches Debian's engine.
func dockerBin() string {
	if _, err := os.Stat("/usr/bin/docker"); err == nil {
		return "/usr/bin/docker"
	}
	return "docker"
}

var (
	apbOnce sync.Once
	apbErr  string
)

func requireAnsible(t *testing.T) {
	t.Helper()
	if skipped("images") {
		t.Skip("OSB_SKIP names images: the Ansible tests need the openstack-apb image")
	}
	apbOnce.Do(func() {
		if out, err := exec.Command(dockerBin(), "image", "inspect", "-f", "{{.Id}}", openstackAPB).CombinedOutput(); err != nil {
			apbErr = fmt.Sprintf("the %s image is missing (%s): run `make images` (hack/images.sh; hack/docker.sh starts dockerd), or set OSB_SKIP=images",
				openstackAPB, bytes.TrimSpace(out))
		}
	})
	if apbErr != "" {
		t.Fatal(apbErr)
	}
}

// AnsibleResult is one ansible-playbook run: the exit code and each
// task's result on localhost, by task name.
type AnsibleResult struct {
	Code   int
	Tasks  map[string]map[string]any
	Output string
}

// Ansible runs the playbook (YAML text) with ansible-playbook inside the
// openstack-apb image, as bundles run: --network host, clouds.yaml
// mounted read-only and named by OS_CLIENT_CONFIG_FILE. Task results come
// from the ansible.posix.json callback.
func (c *Cloud) Ansible(t *testing.T, playbook string) AnsibleResult {
	t.Helper()
	requireAnsible(t)
	dir := t.TempDir()
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "play.yml"), []byte(playbook), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), ansibleTime)
	defer cancel()
	cmd := exec.CommandContext(ctx, dockerBin(), "run", "--rm", "--network", "host",
		"-v", c.CloudsYAML+":/etc/openstack/clouds.yaml:ro", "-v", dir+":/work:ro",
		"-e", "OS_CLIENT_CONFIG_FILE=/etc/openstack/clouds.yaml",
		"-e", "ANSIBLE_STDOUT_CALLBACK=ansible.posix.json", "-e", "ANSIBLE_LOCALHOST_WARNING=False",
		"-e", "ANSIBLE_INVENTORY_UNPARSED_WARNING=False",
		"--entrypoint", "ansible-playbook", openstackAPB, "/work/play.yml")
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	defer c.checkProblems(t)
	if ctx.Err() != nil {
		t.Fatalf("ansible-playbook timed out after %s\n%s\n%s", ansibleTime, out.String(), errb.String())
	}
	res := AnsibleResult{Tasks: map[string]map[string]any{}, Output: out.String() + errb.String()}
	if err != nil {
		ee, ok := err.(*exec.ExitError)
		if !ok {
			t.Fatalf("docker run: %v", err)
		}
		res.Code = ee.ExitCode()
	}
	var doc struct {
		Plays []struct {
			Tasks []struct {
				Task  struct{ Name string }
				Hosts map[string]map[string]any
			}
		}
	}
	if err := json.Unmarshal(out.Bytes(), &doc); err != nil {
		t.Fatalf("ansible-playbook (exit %d) output is not the json callback's: %v\n%s\n%s", res.Code, err, out.String(), errb.String())
	}
	for _, p := range doc.Plays {
		for _, task := range p.Tasks {
			res.Tasks[task.Task.Name] = task.Hosts["localhost"]
		}
	}
	return res
}

// Task returns a task's result, failing the test when it did not run.
func (r AnsibleResult) Task(t *testing.T, name string) map[string]any {
	t.Helper()
	v, ok := r.Tasks[name]
	if !ok {
		t.Fatalf("task %q did not run (exit %d):\n%s", name, r.Code, tail(r.Output, 60))
	}
	return v
}

// OK fails the test when the task failed.
func (r AnsibleResult) OK(t *testing.T, name string) map[string]any {
	t.Helper()
	v := r.Task(t, name)
	if f, _ := v["failed"].(bool); f {
		t.Fatalf("task %q failed: %v %v", name, v["msg"], tail(fmt.Sprint(v["module_stderr"]), 15))
	}
	return v
}

// Failed returns the message of a task that must have failed.
func (r AnsibleResult) Failed(t *testing.T, name string) string {
	t.Helper()
	v := r.Task(t, name)
	if f, _ := v["failed"].(bool); !f {
		t.Fatalf("task %q succeeded, want a failure: %v", name, v)
	}
	return fmt.Sprint(v["msg"], " ", v["module_stderr"])
}

// Token gets a project-scoped token for a built-in user ("demo", "alt",
// "admin") by password, straight from Keystone, for raw HTTP checks beside
// the clients.
func (c *Cloud) Token(t *testing.T, user string) string {
	t.Helper()
	cr := c.Credentials()
	pw := map[string]string{"demo": cr.DemoPassword, "alt": cr.AltPassword, "admin": cr.AdminPassword}[user]
	if pw == "" {
		t.Fatalf("Token: no built-in user %q", user)
	}
	resp, body := c.HTTP(t, "", "POST", "/v3/auth/tokens", map[string]any{"auth": map[string]any{
		"identity": map[string]any{"methods": []string{"password"}, "password": map[string]any{"user": map[string]any{
			"name": user, "domain": map[string]any{"id": "default"}, "password": pw}}},
		"scope": map[string]any{"project": map[string]any{"name": user, "domain": map[string]any{"id": "default"}}}}})
	tok := resp.Header.Get("X-Subject-Token")
	if resp.StatusCode != http.StatusCreated || tok == "" {
		t.Fatalf("token for %s: %d %s", user, resp.StatusCode, body)
	}
	return tok
}

// HTTP sends one raw request (for headers and shapes the clients hide)
// and returns the response with its body read.
func (c *Cloud) HTTP(t *testing.T, token, method, path string, body any, header ...string) (*http.Response, []byte) {
	t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(j)
	}
	req, err := http.NewRequest(method, c.URL()+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("X-Auth-Token", token)
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json")
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	c.checkProblems(t)
	return resp, b
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

// findBy returns the element of a list of objects whose key equals value.
func findBy(t *testing.T, list any, key, value string) map[string]any {
	t.Helper()
	for _, e := range asList(t, list) {
		if m, ok := e.(map[string]any); ok && fmt.Sprint(m[key]) == value {
			return m
		}
	}
	return nil
}
