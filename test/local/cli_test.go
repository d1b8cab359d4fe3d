package local

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/openstack-service-broker/openstack-service-broker/pkg/emulator"
	dockerruntime "github.com/openstack-service-broker/openstack-service-broker/pkg/runtime/docker"
	"github.com/openstack-service-broker/openstack-service-broker/test/registry/regtest"
)

var (
	binOnce sync.Once
	binDir  string
	binErr  error
)

// binaries builds apb and the broker once for the suite.
func binaries(t *testing.T) string {
	t.Helper()
	binOnce.Do(func() {
		binDir, binErr = os.MkdirTemp("", "osb-local-bin-")
		if binErr != nil {
			return
		}
		out, err := exec.Command("go", "build", "-o", binDir+"/", "../../cmd/apb", "../../cmd/broker").CombinedOutput()
		if err != nil {
			binErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if binErr != nil {
		t.Fatal(binErr)
	}
	return binDir
}

func TestMain(m *testing.M) {
	code := m.Run()
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	os.Exit(code)
}

// cliBroker is the broker binary on the Docker runtime, as a developer
// runs one to push bundles to: dev routes, no registry, the emulator's
// clouds.yaml mounted into OpenStack bundles.
func cliBroker(t *testing.T, bin, cloudsDir string) string {
	t.Helper()
	return cliBrokerWith(t, bin, cloudsDir, "")
}

// cliBrokerWith is cliBroker with more top-level config (e.g. registry:).
func cliBrokerWith(t *testing.T, bin, cloudsDir, extra string) string {
	t.Helper()
	dir := t.TempDir()
	listen := freeAddr(t)
	auth := filepath.Join(dir, "auth")
	os.MkdirAll(auth, 0o700)
	os.WriteFile(filepath.Join(auth, "username"), []byte("dev"), 0o600)
	os.WriteFile(filepath.Join(auth, "password"), []byte("dev-pw"), 0o600)
	cfg := fmt.Sprintf(`dao:
  etcd_data_dir: %s/etcd
log: {stdout: true, level: info}
broker:
  listen_address: %s
  plain_http: true
  basic_auth_dir: %s
  auth: [{type: basic, enabled: true}]
  dev_broker: true
  launch_apb_on_bind: true
  auto_escalate: true
  runtime: docker
docker:
  work_dir: %s/docker
  image_pull_policy: Never
  sources: {emulator-clouds: %s}
openstack:
  clouds_secret: emulator-clouds
  cloud: emulator
%s`, dir, listen, auth, dir, cloudsDir, extra)
	cfgPath := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	logf, err := os.Create(filepath.Join(dir, "broker.log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(filepath.Join(bin, "broker"), "-c", cfgPath)
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Signal(os.Interrupt)
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			cmd.Process.Kill()
			<-done
		}
		logf.Close()
		if t.Failed() {
			t.Logf("broker log:\n%s", tail(logf.Name(), 60))
		}
	})
	url := "http://" + listen
	for i := 0; ; i++ {
		if resp, err := http.Get(url + "/healthz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				break
			}
		}
		if i > 300 {
			t.Fatalf("the broker did not answer within 60 s:\n%s", tail(logf.Name(), 40))
		}
		time.Sleep(200 * time.Millisecond)
	}
	return url
}

type apbRunner struct {
	t    *testing.T
	bin  string
	dir  string
	env  []string
	logs *strings.Builder
}

// apbResult is one apb run: stdout (the result) and stderr (progress).
type apbResult struct {
	stdout, stderr string
	code           int
}

func (r apbResult) all() string { return r.stderr + r.stdout }

func (a *apbRunner) run(args ...string) apbResult {
	a.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, filepath.Join(a.bin, "apb"), args...)
	cmd.Dir, cmd.Env = a.dir, a.env
	var out, errb strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errb
	start := time.Now()
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		a.t.Fatalf("apb %s: %v", strings.Join(args, " "), err)
	}
	fmt.Fprintf(a.logs, "$ apb %s   (exit %d, %s)\n%s%s", strings.Join(args, " "), code, time.Since(start).Round(100*time.Millisecond), errb.String(), out.String())
	return apbResult{stdout: out.String(), stderr: errb.String(), code: code}
}

func (a *apbRunner) ok(args ...string) apbResult {
	a.t.Helper()
	r := a.run(args...)
	if r.code != 0 {
		a.t.Fatalf("apb %s: exit %d\n%s", strings.Join(args, " "), r.code, r.all())
	}
	return r
}

func (a *apbRunner) code(want int, args ...string) apbResult {
	a.t.Helper()
	r := a.run(args...)
	if r.code != want {
		a.t.Fatalf("apb %s: exit %d, want %d\n%s", strings.Join(args, " "), r.code, want, r.all())
	}
	return r
}

// openstack runs the openstack CLI against the emulator.
func openstack(t *testing.T, clouds string, args ...string) (string, error) {
	t.Helper()
	env := append(os.Environ(), "OS_CLIENT_CONFIG_FILE="+clouds, "OS_CLOUD=emulator")
	return runCmd(t, 2*time.Minute, "", env, "openstack", args...)
}

// TestCLIEndToEnd: a new OpenStack bundle from apb init to a provision
// through a broker, no cluster: init, lint, build, run (against an
// emulator, checked with the openstack CLI), push to a dev broker on the
// Docker runtime, then provision, bind, instances, unbind and
// deprovision through the broker, and the exit codes of what goes wrong.
func TestCLIEndToEnd(t *testing.T) {
	need(t)
	bin := binaries(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cloud, err := emulator.Start(ctx, emulator.Options{Listen: "127.0.0.1:0", Delay: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer cloud.Close()
	cloudsDir := t.TempDir()
	clouds := filepath.Join(cloudsDir, "clouds.yaml")
	if err := cloud.WriteCloudsYAML(clouds); err != nil {
		t.Fatal(err)
	}
	url := cliBroker(t, bin, cloudsDir)

	work := t.TempDir()
	logs := &strings.Builder{}
	a := &apbRunner{t: t, bin: bin, dir: work, logs: logs,
		env: isolatedEnv(t, "APB_BROKER_URL="+url, "APB_USER=dev", "APB_PASSWORD=dev-pw")}
	defer func() {
		if t.Failed() {
			t.Logf("apb runs:\n%s", logs)
		}
	}()
	tag := fmt.Sprintf("cli-net-apb:test-%d", time.Now().UnixNano())
	t.Cleanup(func() {
		exec.Command(docker(), "rmi", tag).Run()
		exec.Command(docker(), "rmi", "apb-push-cli-net-apb:latest").Run()
	})

	// The bundle developer's sequence, no broker involved.
	a.ok("init", "--openstack", "--base", imagePrefix()+"/openstack-apb:latest", "cli-net-apb")
	if r := a.ok("lint", "--strict", "cli-net-apb"); !strings.Contains(r.stderr, "0 errors, 0 warnings") || r.stdout != "" {
		t.Errorf("lint: %s", r.all())
	}
	a.ok("build", "-t", tag, "cli-net-apb")
	r := a.ok("run", "provision", "cli-net-apb", "-t", tag, "--clouds", clouds, "--cloud", "emulator", "-p", "network_name=cli-run-net", "-o", "json")
	var res struct {
		State       string
		Credentials map[string]any
	}
	if err := json.Unmarshal([]byte(r.stdout), &res); err != nil || res.State != "succeeded" {
		t.Fatalf("run provision result: %v %+v\n%s", err, res, r.all())
	}
	if !strings.Contains(r.stderr, "TASK [cli-net-apb : the network]") || !strings.Contains(r.stderr, "==> 100%: network cli-run-net") {
		t.Errorf("the playbook's output and progress are not streamed:\n%s", r.stderr)
	}
	if o, err := openstack(t, clouds, "network", "show", "cli-run-net", "-f", "value", "-c", "id"); err != nil || strings.TrimSpace(o) != res.Credentials["NETWORK_ID"] {
		t.Errorf("openstack network show cli-run-net: %v %q, want the id %v the bundle returned", err, o, res.Credentials["NETWORK_ID"])
	}
	// An instance apb never provisioned is refused (exit 2) rather than run
	// without its provision credentials.
	a.code(2, "run", "bind", "cli-net-apb", "-t", tag, "--clouds", clouds, "--cloud", "emulator", "--instance", "nope", "--binding", "b")
	a.ok("run", "deprovision", "cli-net-apb", "-t", tag, "--clouds", clouds, "--cloud", "emulator")
	if o, err := openstack(t, clouds, "network", "show", "cli-run-net"); err == nil {
		t.Errorf("the network is still there after apb run deprovision:\n%s", o)
	}
	a.code(2, "run", "deprovision", "cli-net-apb", "-t", tag, "--clouds", clouds, "--cloud", "emulator")

	// Through the broker: push the spec to the dev routes, then OSB.
	a.ok("push", "--broker-dev", "--no-build", "-t", tag, "cli-net-apb")
	if r := a.ok("catalog"); !strings.Contains(r.stdout, "apb-push-cli-net-apb") {
		t.Fatalf("catalog after push:\n%s", r.all())
	}
	r = a.ok("provision", "apb-push-cli-net-apb", "--id", "cli-1", "-p", "network_name=cli-broker-net")
	if !strings.Contains(r.stderr, "provision cli-1: succeeded") || !strings.Contains(r.all(), "network cli-broker-net") {
		t.Errorf("provision through the broker:\n%s", r.all())
	}
	netID, err := openstack(t, clouds, "network", "show", "cli-broker-net", "-f", "value", "-c", "id")
	if err != nil {
		t.Fatalf("openstack network show cli-broker-net: %v\n%s", err, netID)
	}
	r = a.ok("bind", "cli-1", "--id", "cli-b-1", "-o", "json")
	var bound struct{ Credentials map[string]any }
	if err := json.Unmarshal([]byte(r.stdout), &bound); err != nil {
		t.Fatalf("bind -o json: %v\n%s", err, r.stdout)
	}
	if bound.Credentials["NETWORK_ID"] != strings.TrimSpace(netID) || bound.Credentials["OS_CLOUD"] != "emulator" {
		t.Errorf("bind credentials %v, want the network %s", bound.Credentials, netID)
	}
	if r := a.ok("instances"); !strings.Contains(r.stdout, "cli-1") || !strings.Contains(r.stdout, "cli-b-1") || !strings.Contains(r.stdout, "succeeded") {
		t.Errorf("instances:\n%s", r.all())
	}
	a.ok("unbind", "cli-1", "cli-b-1")
	a.ok("deprovision", "cli-1")
	if o, err := openstack(t, clouds, "network", "show", "cli-broker-net"); err == nil {
		t.Errorf("the network is still there after deprovision:\n%s", o)
	}
	a.code(4, "deprovision", "cli-1")

	// What goes wrong, and its exit code.
	if r := a.code(1, "run", "provision", "cli-net-apb", "-t", "cli-net-apb:never-built", "--clouds", clouds, "--cloud", "emulator"); !strings.Contains(r.stderr, "run apb build") {
		t.Errorf("missing image: %s", r.all())
	}
	noEngine := &apbRunner{t: t, bin: bin, dir: work, logs: logs, env: append(isolatedEnv(t), "DOCKER_HOST=unix:///nonexistent/docker.sock")}
	if r := noEngine.code(3, "build", "-t", tag, "cli-net-apb"); !strings.Contains(r.stderr, "does not answer") {
		t.Errorf("engine unreachable: %s", r.all())
	}
	unreachable := &apbRunner{t: t, bin: bin, dir: work, logs: logs, env: isolatedEnv(t, "APB_BROKER_URL=http://"+freeAddr(t))}
	unreachable.code(3, "catalog")
}

// testBundleImage is the test bundle (test/bundles/testbundle) image:
// OSB_TEST_BUNDLE_IMAGE as make test builds it (hack/test.d/25-docker.sh),
// else built here FROM this prefix's apb-base.
func testBundleImage(t *testing.T) string {
	t.Helper()
	if img := os.Getenv("OSB_TEST_BUNDLE_IMAGE"); img != "" {
		return img
	}
	prefix := imagePrefix()
	cmd := exec.Command("../bundles/build.sh", "testbundle", prefix+"/testbundle-apb:latest")
	cmd.Env = append(os.Environ(), "APB_BASE="+prefix+"/apb-base:latest")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("test/bundles/build.sh testbundle: %v (make test builds it: hack/test.d/25-docker.sh)", err)
	}
	return strings.TrimSpace(string(out))
}

// TestRunInterrupted: Ctrl-C while `apb run` waits on a bundle ends it
// with exit 130 and a message, and leaves no container behind.
func TestRunInterrupted(t *testing.T) {
	need(t)
	bin := binaries(t)
	image := testBundleImage(t)
	bundle, err := filepath.Abs("../bundles/testbundle")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, filepath.Join(bin, "apb"), "run", "provision", bundle, "-t", image, "-p", "sleep_seconds=300", "--instance", "interrupt-1")
	cmd.Env = isolatedEnv(t)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var seen strings.Builder
	lines := make(chan string)
	go func() {
		defer close(lines)
		buf := make([]byte, 4096)
		for {
			n, err := stderr.Read(buf)
			if n > 0 {
				lines <- string(buf[:n])
			}
			if err != nil {
				return
			}
		}
	}()
	// Interrupt once the bundle is sleeping, inside its container.
	for !strings.Contains(seen.String(), "sleeping 300s") {
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatalf("apb run ended before the bundle slept:\n%s", seen.String())
			}
			seen.WriteString(l)
		case <-ctx.Done():
			t.Fatalf("the bundle did not start sleeping:\n%s", seen.String())
		}
	}
	running := func() string {
		out, err := exec.Command(docker(), "ps", "-a", "-q", "--filter", "label="+dockerruntime.LabelInstance+"=interrupt-1").CombinedOutput()
		if err != nil {
			t.Fatalf("docker ps: %v\n%s", err, out)
		}
		return strings.TrimSpace(string(out))
	}
	if running() == "" {
		t.Fatal("no container labelled with the instance while the bundle sleeps: the check below would prove nothing")
	}
	interrupted := time.Now()
	cmd.Process.Signal(os.Interrupt)
	for l := range lines {
		seen.WriteString(l)
	}
	err = cmd.Wait()
	ee, ok := err.(*exec.ExitError)
	if !ok || ee.ExitCode() != 130 {
		t.Fatalf("apb run after SIGINT: %v, want exit 130\n%s", err, seen.String())
	}
	if d := time.Since(interrupted); d > time.Minute {
		t.Errorf("apb run took %s to stop after SIGINT", d)
	}
	if !strings.Contains(seen.String(), "interrupted: the container was removed") {
		t.Errorf("no word of the interruption:\n%s", seen.String())
	}
	if left := running(); left != "" {
		t.Errorf("containers left after the interruption: %s", left)
	}
}

// TestPushToRegistry: apb push --registry --bootstrap puts a new bundle
// into Debian's docker-registry through the Docker engine, and a broker
// reading that registry lists it once asked to bootstrap.
func TestPushToRegistry(t *testing.T) {
	need(t)
	if skipped("registry") {
		t.Skip("OSB_SKIP names registry")
	}
	bin := binaries(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	reg, err := regtest.StartDockerRegistry(ctx, t.TempDir(), regtest.Auth{})
	if err != nil {
		t.Fatal(err)
	}
	defer reg.Close()
	version := fmt.Sprintf("test-%d", time.Now().UnixNano())
	// The registry's bundles are read at this tag (the default: latest).
	url := cliBrokerWith(t, bin, t.TempDir(), fmt.Sprintf(`registry:
  - {type: apiv2, name: reg, url: "http://%s", tag: %q, white_list: [".*"]}
`, reg.Host, version))
	work := t.TempDir()
	logs := &strings.Builder{}
	a := &apbRunner{t: t, bin: bin, dir: work, logs: logs,
		env: isolatedEnv(t, "APB_BROKER_URL="+url, "APB_USER=dev", "APB_PASSWORD=dev-pw")}
	defer func() {
		if t.Failed() {
			t.Logf("apb runs:\n%s", logs)
		}
	}()
	tag := "reg-hello-apb:" + version
	pushed := reg.Host + "/osbtest/" + tag
	t.Cleanup(func() {
		exec.Command(docker(), "rmi", pushed).Run()
		exec.Command(docker(), "rmi", tag).Run()
	})
	a.ok("init", "--base", imagePrefix()+"/apb-base:latest", "reg-hello-apb")
	r := a.ok("push", "--registry", reg.Host+"/osbtest", "--bootstrap", "-t", tag, "reg-hello-apb")
	if !strings.Contains(r.stderr, "pushed "+pushed) || !strings.Contains(r.stderr, "asked "+url+" to bootstrap") {
		t.Errorf("push --registry --bootstrap:\n%s", r.all())
	}
	// The bootstrap runs in the background: the catalog lists the bundle
	// once it is done.
	for i := 0; ; i++ {
		r = a.ok("catalog")
		if strings.Contains(r.stdout, "reg-reg-hello-apb") {
			break
		}
		if i == 60 {
			t.Fatalf("the pushed bundle is not in the catalog after a bootstrap:\n%s", r.all())
		}
		time.Sleep(time.Second)
	}
	// A registry that does not answer: exit 3.
	nowhere := freeAddr(t)
	t.Cleanup(func() { exec.Command(docker(), "rmi", nowhere+"/osbtest/"+tag).Run() })
	a.code(3, "push", "--no-build", "--registry", nowhere+"/osbtest", "-t", tag, "reg-hello-apb")
}
