// Package images runs the apb-base and openstack-apb images the way the
// broker's runtimes do (`docker run IMAGE <action> --extra-vars '<json>'`)
// and checks the bundle contract: exit codes, the extra vars a playbook
// sees, mounted secrets and state, the files and errors of the asb modules.
//
// The images come from `make images` (hack/images.sh); hack/test.d/10-images.sh
// builds them before `go test`. Without Docker or the images these tests fail
// with how to get them, unless OSB_SKIP names "images".
package images

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// The images under test. OSB_IMAGE_PREFIX selects a checkout's own build
// (`OSB_IMAGE_PREFIX=P hack/images.sh` tags P/apb-base,
// P/ansibleplaybookbundle/apb-base, P/openstack-apb), and the images these
// tests build go under P-test: testing them never re-tags the machine's
// shared images.
var (
	prefix       = os.Getenv("OSB_IMAGE_PREFIX")
	baseRepo     = repo("openstack-service-broker/apb-base", "apb-base")
	upstreamRepo = repo("ansibleplaybookbundle/apb-base", "ansibleplaybookbundle/apb-base")
	apbBase      = baseRepo + ":latest"
	upstreamBase = upstreamRepo + ":latest"
	openstackAPB = repo("openstack-service-broker/openstack-apb", "openstack-apb") + ":latest"
	testRepo     = repo("osb-test", "")
	bundleImage  = testRepo + "/images-test-apb:latest"
	legacyImage  = testRepo + "/images-legacy-apb:latest"
)

// repo is shared, or under OSB_IMAGE_PREFIX the prefixed name (the test
// images' own namespace, P-test, when prefixed is empty).
func repo(shared, prefixed string) string {
	switch {
	case prefix == "":
		return shared
	case prefixed == "":
		return prefix + "-test"
	}
	return prefix + "/" + prefixed
}

const (
	runTimeout     = 3 * time.Minute
	installHint    = "run `make images` (hack/images.sh builds them; hack/docker.sh starts dockerd), or set OSB_SKIP=images"
	dockerMissHint = "Docker is not available: install Debian's docker.io and start it with hack/docker.sh, or set OSB_SKIP=images"
)

func skipped(name string) bool {
	for _, s := range strings.Fields(os.Getenv("OSB_SKIP")) {
		if s == name {
			return true
		}
	}
	return false
}

// dockerBin prefers Debian's client, which matches Debian's engine.
func dockerBin() string {
	if _, err := os.Stat("/usr/bin/docker"); err == nil {
		return "/usr/bin/docker"
	}
	return "docker"
}

type result struct {
	code int
	out  string
}

func docker(t *testing.T, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), runTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, dockerBin(), args...)
	cmd.Env = append(os.Environ(), "DOCKER_BUILDKIT=0")
	var buf bytes.Buffer
	cmd.Stdout, cmd.Stderr = &buf, &buf
	err := cmd.Run()
	if ctx.Err() != nil {
		t.Fatalf("docker %s: timed out after %s\n%s", strings.Join(args, " "), runTimeout, buf.String())
	}
	code := 0
	if err != nil {
		ee, ok := err.(*exec.ExitError)
		if !ok {
			t.Fatalf("docker %s: %v", strings.Join(args, " "), err)
		}
		code = ee.ExitCode()
	}
	return result{code: code, out: buf.String()}
}

var (
	setupOnce sync.Once
	setupErr  string
)

// requireImages checks Docker and the images, and builds the two test
// bundles once (they are FROM ansibleplaybookbundle/apb-base).
func requireImages(t *testing.T) {
	t.Helper()
	if skipped("images") {
		t.Skip("OSB_SKIP names images")
	}
	setupOnce.Do(func() {
		if _, err := exec.LookPath(dockerBin()); err != nil {
			setupErr = dockerMissHint
			return
		}
		if out, err := exec.Command(dockerBin(), "info").CombinedOutput(); err != nil {
			setupErr = dockerMissHint + ": " + strings.TrimSpace(string(out))
			return
		}
		for _, img := range []string{apbBase, upstreamBase, openstackAPB} {
			if err := exec.Command(dockerBin(), "image", "inspect", img).Run(); err != nil {
				setupErr = "image " + img + " is missing: " + installHint
				return
			}
		}
		spec, err := os.ReadFile("testdata/bundle/apb.yml")
		if err != nil {
			setupErr = err.Error()
			return
		}
		for _, b := range []struct{ tag, dir string }{{bundleImage, "testdata/bundle"}, {legacyImage, "testdata/legacy"}} {
			dir, err := buildContext(b.dir)
			if err != nil {
				setupErr = err.Error()
				return
			}
			cmd := exec.Command(dockerBin(), "build", "-q", "--build-arg", "SPEC="+base64.StdEncoding.EncodeToString(spec), "-t", b.tag, dir)
			cmd.Env = append(os.Environ(), "DOCKER_BUILDKIT=0")
			out, err := cmd.CombinedOutput()
			if dir != b.dir {
				os.RemoveAll(dir)
			}
			if err != nil {
				setupErr = "building " + b.tag + ": " + err.Error() + "\n" + string(out)
				return
			}
		}
	})
	if setupErr != "" {
		t.Fatal(setupErr)
	}
}

// outDir is a directory the container's user 1001 can write to.
func outDir(t *testing.T) string {
	t.Helper()
	d := t.TempDir()
	if err := os.Chmod(d, 0o777); err != nil {
		t.Fatal(err)
	}
	return d
}

func readJSON(t *testing.T, path string) map[string]any {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("the playbook did not write %s: %v", filepath.Base(path), err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("%s: %v: %s", path, err, b)
	}
	return m
}

func TestImageMetadata(t *testing.T) {
	requireImages(t)
	r := docker(t, "image", "inspect", apbBase, upstreamBase)
	if r.code != 0 {
		t.Fatalf("inspect: %s", r.out)
	}
	var imgs []struct {
		ID     string `json:"Id"`
		Config struct {
			User       string
			Env        []string
			Entrypoint []string
			Shell      []string
			WorkingDir string
			Labels     map[string]string
		}
	}
	if err := json.Unmarshal([]byte(r.out), &imgs); err != nil || len(imgs) != 2 {
		t.Fatalf("inspect output: %v %s", err, r.out)
	}
	if imgs[0].ID != imgs[1].ID {
		t.Errorf("%s is %s, %s is %s: want the same image", apbBase, imgs[0].ID, upstreamBase, imgs[1].ID)
	}
	c := imgs[0].Config
	if got := c.Labels["com.redhat.apb.runtime"]; got != "2" {
		t.Errorf("label com.redhat.apb.runtime = %q, want 2", got)
	}
	// Root builds child images (their RUN chmod of what they COPY), as
	// in the original; the entrypoint drops to apb at run time.
	if c.User != "" && c.User != "root" && c.User != "0" {
		t.Errorf("user = %q, want root (unset) as the build user", c.User)
	}
	if strings.Join(c.Shell, " ") != "/bin/bash -c" {
		t.Errorf("shell = %q, want [/bin/bash -c] for child images' RUN", c.Shell)
	}
	if !containsStr(c.Env, "HOME=/opt/apb") {
		t.Errorf("env %v lacks HOME=/opt/apb", c.Env)
	}
	if strings.Join(c.Entrypoint, " ") != "entrypoint.sh" || c.WorkingDir != "/opt/apb" {
		t.Errorf("entrypoint %v workdir %q", c.Entrypoint, c.WorkingDir)
	}
	r = docker(t, "run", "--rm", "--network", "none", "--entrypoint", "sh", apbBase, "-c",
		"id apb; readlink /bin/sh; cat /opt/apb/.kube/config; ansible-galaxy collection list kubernetes.core 2>/dev/null | grep kubernetes.core; python3 -c 'import kubernetes; print(\"k8s-client\", kubernetes.__version__)'")
	for _, want := range []string{"uid=1001(apb) gid=0(root)", "\nbash\n", "tokenFile: /var/run/secrets/kubernetes.io/serviceaccount/token", "kubernetes.core", "k8s-client 22."} {
		if !strings.Contains(r.out, want) {
			t.Errorf("image check output lacks %q:\n%s", want, r.out)
		}
	}
}

func containsStr(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

func TestEntrypointExitCodes(t *testing.T) {
	requireImages(t)
	for _, tc := range []struct {
		name string
		args []string
		code int
		want string
	}{
		{"no arguments", nil, 1, "Usage: entrypoint.sh ACTION --extra-vars JSONSTRING"},
		{"two arguments", []string{"provision", "--extra-vars"}, 1, "Usage:"},
		{"extra vars not JSON", []string{"provision", "--extra-vars", "a=b"}, 1, "not a JSON object"},
		{"extra vars a JSON list", []string{"provision", "--extra-vars", "[1]"}, 1, "not a JSON object"},
		{"no playbook", []string{"update", "--extra-vars", "{}"}, 8, "'update' NOT IMPLEMENTED"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := docker(t, append([]string{"run", "--rm", "--network", "none", bundleImage}, tc.args...)...)
			if r.code != tc.code || !strings.Contains(r.out, tc.want) {
				t.Errorf("exit %d, want %d with %q; output:\n%s", r.code, tc.code, tc.want, r.out)
			}
		})
	}
}

func TestProvisionSeesExtraVarsAndState(t *testing.T) {
	requireImages(t)
	out := outDir(t)
	state := t.TempDir()
	for k, v := range map[string]string{"region": "RegionOne", "volume_id": "v-1"} {
		if err := os.WriteFile(filepath.Join(state, k), []byte(v), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	vars := `{"greeting":"hi there","_apb_plan_id":"default","_apb_service_instance_id":"i-1","namespace":"ns1","cluster":"kubernetes","nested":{"a":[1,2]}}`
	r := docker(t, "run", "--rm", "--network", "none", "-v", out+":/var/tmp/out", "-v", state+":/etc/apb/state:ro",
		"-e", "BUNDLE_STATE_LOCATION=/etc/apb/state", bundleImage, "provision", "--extra-vars", vars)
	if r.code != 0 {
		t.Fatalf("provision exit %d:\n%s", r.code, r.out)
	}
	got := readJSON(t, filepath.Join(out, "provision.json"))
	want := map[string]any{
		"greeting": "hi there", "plan": "default", "instance": "i-1", "namespace": "ns1",
		"nested": map[string]any{"a": []any{1.0, 2.0}}, "state_region": "RegionOne",
		"state_all": map[string]any{"region": "RegionOne", "volume_id": "v-1"},
		"user":      "1001", "home": "/opt/apb",
	}
	for k, v := range want {
		if !jsonEqual(got[k], v) {
			t.Errorf("%s = %#v, want %#v", k, got[k], v)
		}
	}
	// asb_last_operation out of cluster: a clear error, the play goes on.
	if msg, _ := got["lastop_msg"].(string); !strings.Contains(msg, "asb_last_operation: not running in a bundle pod") {
		t.Errorf("asb_last_operation out of cluster said %q", msg)
	}
}

func jsonEqual(a, b any) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return bytes.Equal(x, y)
}

func TestBindOutOfClusterFailsClearly(t *testing.T) {
	requireImages(t)
	r := docker(t, "run", "--rm", "--network", "none", "-e", "POD_NAME=bundle-x", "-e", "POD_NAMESPACE=ns",
		bundleImage, "bind", "--extra-vars", `{"_apb_service_binding_id":"b-1"}`)
	if r.code != 2 {
		t.Errorf("bind exit %d, want 2 (ansible-playbook: task failed)", r.code)
	}
	if !strings.Contains(r.out, "asb_encode_binding: cannot reach Kubernetes out of cluster") {
		t.Errorf("no clear out-of-cluster error:\n%s", r.out)
	}
	if strings.Contains(r.out, "not-in-logs-please") {
		t.Errorf("the binding's password appears in the output:\n%s", r.out)
	}
}

func TestMountedSecretsBecomeExtraVars(t *testing.T) {
	requireImages(t)
	out := outDir(t)
	sec := t.TempDir()
	// The layout of a Kubernetes Secret volume: files behind ..data.
	data := filepath.Join(sec, "apb-creds", "..2024_01_01")
	if err := os.MkdirAll(data, 0o755); err != nil {
		t.Fatal(err)
	}
	files := map[string]string{"os_password": "p@ss w0rd'\"", "region": "RegionTwo", "clouds.yaml": "clouds: {}\n"}
	for k, v := range files {
		if err := os.WriteFile(filepath.Join(data, k), []byte(v), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink("..2024_01_01", filepath.Join(sec, "apb-creds", "..data")); err != nil {
		t.Fatal(err)
	}
	for k := range files {
		if err := os.Symlink(filepath.Join("..data", k), filepath.Join(sec, "apb-creds", k)); err != nil {
			t.Fatal(err)
		}
	}
	r := docker(t, "run", "--rm", "--network", "none", "-v", out+":/var/tmp/out", "-v", sec+":/etc/apb-secrets:ro",
		bundleImage, "deprovision", "--extra-vars", `{"namespace":"ns1"}`)
	if r.code != 0 {
		t.Fatalf("deprovision exit %d:\n%s", r.code, r.out)
	}
	got := readJSON(t, filepath.Join(out, "deprovision.json"))
	want := map[string]any{"os_password": files["os_password"], "region": "RegionTwo", "no_log": "true", "clouds_var_defined": false}
	for k, v := range want {
		if !jsonEqual(got[k], v) {
			t.Errorf("%s = %#v, want %#v", k, got[k], v)
		}
	}
	if strings.Contains(r.out, "p@ss") {
		t.Errorf("the secret appears in the output:\n%s", r.out)
	}
}

func TestTestActionResultRetrieval(t *testing.T) {
	requireImages(t)
	r := docker(t, "run", "-d", "--network", "none", bundleImage, "test", "--extra-vars", `{"namespace":"ns1"}`)
	if r.code != 0 {
		t.Fatalf("docker run -d: %s", r.out)
	}
	id := strings.TrimSpace(r.out)
	t.Cleanup(func() { docker(t, "rm", "-f", id) })
	// The container waits for someone to collect the result (bounded here).
	var got result
	for i := 0; i < 90; i++ {
		got = docker(t, "exec", id, "test-retrieval")
		if got.code == 0 {
			break
		}
		time.Sleep(time.Second)
	}
	if got.code != 0 || got.out != "0\nall good\n" {
		t.Fatalf("test-retrieval: exit %d output %q", got.code, got.out)
	}
	w := docker(t, "wait", id)
	if strings.TrimSpace(w.out) != "0" {
		t.Errorf("test action exit %q, want 0; logs:\n%s", w.out, docker(t, "logs", id).out)
	}
}

func TestLegacyActionsLayout(t *testing.T) {
	requireImages(t)
	out := outDir(t)
	r := docker(t, "run", "--rm", "--network", "none", "-v", out+":/var/tmp/out", legacyImage, "provision", "--extra-vars", `{"namespace":"legacy-ns"}`)
	if r.code != 0 || !strings.Contains(r.out, "DEPRECATED: APB playbooks should be stored at /opt/apb/project") {
		t.Fatalf("exit %d, want 0 with the deprecation warning:\n%s", r.code, r.out)
	}
	b, err := os.ReadFile(filepath.Join(out, "legacy.txt"))
	if err != nil || string(b) != "legacy-ns" {
		t.Errorf("legacy playbook output %q, %v", b, err)
	}
}

// TestOpenStackModulesPassTheSDKGate runs the openstack.cloud modules the
// OpenStack bundles use, and this project's modules, with clouds.yaml from
// a mounted Secret pointing at a closed port: each must fail on the
// connection, not on openstack.cloud 1.10's refusal of openstacksdk 0.101.
func TestOpenStackModulesPassTheSDKGate(t *testing.T) {
	requireImages(t)
	out := outDir(t)
	sec := filepath.Join(t.TempDir(), "apb-openstack")
	if err := os.MkdirAll(sec, 0o755); err != nil {
		t.Fatal(err)
	}
	clouds := "clouds:\n  fake:\n    auth:\n      auth_url: http://127.0.0.1:9/v3\n      username: u\n      password: secret-pw\n      project_name: p\n      user_domain_name: Default\n      project_domain_name: Default\n    region_name: RegionOne\n"
	if err := os.WriteFile(filepath.Join(sec, "clouds.yaml"), []byte(clouds), 0o644); err != nil {
		t.Fatal(err)
	}
	pb, err := filepath.Abs("testdata/openstack")
	if err != nil {
		t.Fatal(err)
	}
	r := docker(t, "run", "--rm", "--network", "none", "-v", out+":/var/tmp/out", "-v", filepath.Dir(sec)+":/etc/apb-secrets:ro",
		"-v", pb+":/opt/apb/project:ro", openstackAPB, "provision", "--extra-vars", `{"namespace":"ns1"}`)
	if r.code != 0 {
		t.Fatalf("exit %d:\n%s", r.code, r.out)
	}
	got := readJSON(t, filepath.Join(out, "openstack.json"))
	if got["env"] != "/etc/apb-secrets/apb-openstack/clouds.yaml" {
		t.Errorf("OS_CLIENT_CONFIG_FILE = %v", got["env"])
	}
	delete(got, "env")
	if len(got) != 14 {
		t.Errorf("%d module results, want 14: %v", len(got), got)
	}
	for mod, v := range got {
		msg, _ := v.(string)
		if strings.Contains(msg, "Incompatible openstacksdk") || strings.Contains(msg, "openstacksdk is required") {
			t.Errorf("%s: refused the SDK: %s", mod, msg)
			continue
		}
		if !strings.Contains(msg, "Unable to establish connection to http://127.0.0.1:9/v3") {
			t.Errorf("%s: did not fail on the connection to the cloud from clouds.yaml: %q", mod, msg)
		}
		if own := map[string]bool{"trove": true, "zaqar": true, "manila": true}; own[mod] && !strings.Contains(msg, ": cannot authenticate to OpenStack: ") {
			t.Errorf("%s: want a clear authentication error, got %q", mod, msg)
		}
		if strings.Contains(msg, "secret-pw") {
			t.Errorf("%s: the password appears in the error", mod)
		}
	}
}

// TestModuleUnitTests runs the Python unit tests of the asb modules and the
// OpenStack modules with Debian's pytest, ansible-core, kubernetes client
// and openstacksdk on the host.
func TestModuleUnitTests(t *testing.T) {
	if skipped("images") {
		t.Skip("OSB_SKIP names images")
	}
	for _, dir := range []string{"../../apb-base/tests", "../../apb-base/openstack-apb/tests"} {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		cmd := exec.CommandContext(ctx, "/usr/bin/python3", "-m", "pytest", "-q", "-p", "no:cacheprovider", dir)
		cmd.Env = append(os.Environ(), "PYTHONDONTWRITEBYTECODE=1")
		out, err := cmd.CombinedOutput()
		cancel()
		if err != nil {
			t.Errorf("pytest %s: %v\n%s\n(install: apt-get install python3-pytest ansible-core python3-kubernetes python3-openstacksdk)", dir, err, out)
		}
	}
}
