package docker

import (
	"archive/tar"
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/moby/moby/client"

	"github.com/openstack-service-broker/openstack-service-broker/pkg/runtime"
	dockerruntime "github.com/openstack-service-broker/openstack-service-broker/pkg/runtime/docker"
	"github.com/openstack-service-broker/openstack-service-broker/test/runtimecontract"
)

// privateEngine is a dockerd of the test's own (socket, data root, exec
// root and containerd under dir), so that killing it leaves the shared
// engine alone. It runs no bridge and touches no iptables; bundles use the
// host network.
type privateEngine struct {
	dir, sock string
	cmd       *exec.Cmd
	done      chan error
	c         *client.Client
}

// startPrivateEngine starts a dockerd on dir (reusing its state when it
// held one before: a restarted engine) and waits until it answers. A
// dockerd that gives up waiting for its containerd (a loaded machine) is
// started again, at most three times.
func startPrivateEngine(t *testing.T, dir string) *privateEngine {
	t.Helper()
	for attempt := 1; ; attempt++ {
		p, err := tryPrivateEngine(t, dir)
		if err == nil {
			return p
		}
		if attempt == 3 {
			t.Fatal(err)
		}
		t.Logf("the private dockerd did not start (attempt %d): %v", attempt, err)
	}
}

func tryPrivateEngine(t *testing.T, dir string) (*privateEngine, error) {
	t.Helper()
	dockerd, err := exec.LookPath("dockerd")
	if err != nil {
		t.Fatal("no dockerd: install Debian's docker.io (apt-get install docker.io), or OSB_SKIP=docker")
	}
	if os.Getuid() != 0 {
		t.Fatal("starting a private dockerd needs root; run the suite as root, or OSB_SKIP=docker")
	}
	p := &privateEngine{dir: dir, sock: filepath.Join(dir, "docker.sock"), done: make(chan error, 1)}
	// The pid file of a killed engine would stop the new one; its
	// containerd (killed with it) must be gone before a new one starts on
	// the same state.
	os.Remove(filepath.Join(dir, "docker.pid"))
	waitGone(t, filepath.Join(dir, "exec", "containerd", "containerd.pid"))
	logf, err := os.OpenFile(filepath.Join(dir, "dockerd.log"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		return nil, err
	}
	p.cmd = exec.Command(dockerd, "--host", "unix://"+p.sock, "--data-root", filepath.Join(dir, "data"), "--exec-root", filepath.Join(dir, "exec"),
		"--pidfile", filepath.Join(dir, "docker.pid"), "--bridge", "none", "--iptables=false", "--cgroup-parent", "osb-test-private-dockerd")
	p.cmd.Stdout, p.cmd.Stderr = logf, logf
	// Its own process group: a signal meant for the test run does not reach it.
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := p.cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting dockerd: %v", err)
	}
	go func() { p.done <- p.cmd.Wait(); logf.Close() }()
	if p.c, err = dockerruntime.NewClient("unix://" + p.sock); err != nil {
		return nil, err
	}
	deadline := time.Now().Add(90 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		_, err := p.c.ServerVersion(ctx, client.ServerVersionOptions{})
		cancel()
		if err == nil {
			return p, nil
		}
		select {
		case werr := <-p.done:
			return nil, fmt.Errorf("the private dockerd exited (%v); its log:\n%s", werr, p.log())
		default:
		}
		if time.Now().After(deadline) {
			p.cmd.Process.Signal(syscall.SIGKILL)
			<-p.done
			return nil, fmt.Errorf("the private dockerd did not answer within 90 s: %v\n%s", err, p.log())
		}
		time.Sleep(500 * time.Millisecond)
	}
}

// waitGone waits (bounded) until the process of a pid file is gone.
func waitGone(t *testing.T, pidFile string) {
	b, err := os.ReadFile(pidFile)
	if err != nil {
		return
	}
	pid := strings.TrimSpace(string(b))
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if _, err := os.Stat(filepath.Join("/proc", pid)); err != nil {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Logf("process %s of %s still there after 30 s", pid, pidFile)
}

// killLeftovers kills, by pid, what the test's engines started and a
// failed test may leave: the containers' shims (their command line names
// the engine's directory) and the bundles (marked).
func killLeftovers(t *testing.T, dir string, markers []string) {
	for _, m := range append([]string{dir + "/"}, markers...) {
		for _, p := range processesWith(m) {
			pid, _, _ := strings.Cut(p, ":")
			t.Logf("killing leftover process %s", p)
			if n, err := strconv.Atoi(pid); err == nil && n != os.Getpid() {
				syscall.Kill(n, syscall.SIGKILL)
			}
		}
	}
}

func (p *privateEngine) log() string {
	b, _ := os.ReadFile(filepath.Join(p.dir, "dockerd.log"))
	if len(b) > 4000 {
		b = b[len(b)-4000:]
	}
	return string(b)
}

// kill ends the engine as a crash would (SIGKILL): its containerd goes
// with it, the containers' processes stay under their shims.
func (p *privateEngine) kill(t *testing.T) {
	t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-p.done
}

// stop ends the engine as an operator would (SIGTERM, bounded): it stops
// its containers and its containerd.
func (p *privateEngine) stop(t *testing.T) {
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		return // gone already
	}
	select {
	case <-p.done:
	case <-time.After(60 * time.Second):
		t.Errorf("the private dockerd did not stop within 60 s; killing it")
		p.cmd.Process.Signal(syscall.SIGKILL)
		<-p.done
	}
}

// unmountUnder detaches what a dockerd left mounted under dir (its data
// root bound on itself, its network namespace file), deepest first, so
// that dir can be removed.
func unmountUnder(t *testing.T, dir string) {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		t.Logf("reading mounts: %v", err)
		return
	}
	defer f.Close()
	var points []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) > 4 && (fields[4] == dir || strings.HasPrefix(fields[4], dir+"/")) {
			points = append(points, fields[4])
		}
	}
	sort.Slice(points, func(i, j int) bool { return len(points[i]) > len(points[j]) })
	for _, mp := range points {
		if err := syscall.Unmount(mp, syscall.MNT_DETACH); err != nil && !errors.Is(err, syscall.EINVAL) {
			t.Logf("unmounting %s: %v", mp, err)
		}
	}
}

// fakeBundleImage builds test/docker/fakebundle (static) and imports it
// into the engine as the only file of an image: the private engine has no
// apb-base, and copying 400 MB into it would cost more than the test.
func fakeBundleImage(t *testing.T, c *client.Client) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "fakebundle")
	build := exec.Command("go", "build", "-o", bin, "./fakebundle")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build ./fakebundle: %v\n%s", err, out)
	}
	data, err := os.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	tw.WriteHeader(&tar.Header{Name: "fakebundle", Mode: 0o755, Size: int64(len(data))})
	tw.Write(data)
	tw.WriteHeader(&tar.Header{Name: "tmp/", Mode: 0o1777, Typeflag: tar.TypeDir})
	tw.Close()
	const ref = "osb-test/fakebundle:1"
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	r, err := c.ImageImport(ctx, client.ImageImportSource{Source: &buf, SourceName: "-"}, ref,
		client.ImageImportOptions{Changes: []string{`ENTRYPOINT ["/fakebundle"]`}})
	if err != nil {
		t.Fatalf("importing the fake bundle: %v", err)
	}
	defer r.Close()
	var out bytes.Buffer
	out.ReadFrom(r)
	if strings.Contains(out.String(), `"error"`) {
		t.Fatalf("importing the fake bundle: %s", out.String())
	}
	return ref
}

// processesWith lists the processes whose command line holds marker.
func processesWith(marker string) []string {
	var out []string
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err == nil && bytes.Contains(b, []byte(marker)) {
			out = append(out, e.Name()+": "+strings.ReplaceAll(string(b), "\x00", " "))
		}
	}
	return out
}

// A Docker engine that dies mid-action (SIGKILL, on a dockerd of the
// test's own): the action ends with a description saying so, within the
// engine grace; once the engine is back (it stops the orphaned container
// as it starts), a restarted broker finds what was left: the janitor
// removes the container and its directory, and nothing of the bundle
// runs any more. Then the same with the broker restarted too: Attach
// finds the container the restarted engine stopped and reports it.
func TestEngineDiesMidAction(t *testing.T) {
	if skipped() {
		t.Skip("OSB_SKIP names docker")
	}
	t.Parallel()
	// Short: a Unix socket path must fit in 108 bytes.
	dir, err := os.MkdirTemp("", "osb-dockerd-")
	if err != nil {
		t.Fatal(err)
	}
	var eng *privateEngine
	var markers []string
	t.Cleanup(func() {
		if eng != nil {
			eng.stop(t)
			if t.Failed() {
				t.Logf("private dockerd log:\n%s", eng.log())
			}
		}
		killLeftovers(t, dir, markers)
		unmountUnder(t, dir)
		if err := os.RemoveAll(dir); err != nil {
			t.Errorf("removing the private engine's directory: %v", err)
		}
	})
	eng = startPrivateEngine(t, dir)
	image := fakeBundleImage(t, eng.c)
	work := filepath.Join(dir, "work")
	brokerID := brokerPrefix + "private"
	newRuntime := func(log *runtimecontract.LogBuffer, c *client.Client) *dockerruntime.Runtime {
		rt, err := dockerruntime.New(dockerruntime.Config{BrokerID: brokerID, WorkDir: work, PullPolicy: dockerruntime.PullNever,
			Timeout: 5 * time.Minute, EngineGrace: 5 * time.Second, PollInterval: 100 * time.Millisecond}, c, newSlog(log))
		if err != nil {
			t.Fatal(err)
		}
		return rt
	}
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	action := func() runtime.Action {
		marker := "osb-marker-" + runtimecontract.NewID(t)
		markers = append(markers, marker)
		return runtime.Action{Name: runtime.ActionProvision, OperationID: runtimecontract.NewID(t), Image: image, Runtime: 2, FQName: "local-fake-apb",
			InstanceID: runtimecontract.NewID(t), ExtraVars: map[string]any{"sleep_seconds": 300, "marker": marker}}
	}
	markerOf := func(a runtime.Action) string { return a.ExtraVars["marker"].(string) }
	running := func(rt *dockerruntime.Runtime, a runtime.Action) (chan error, *runtimecontract.Progress) {
		var prog runtimecontract.Progress
		done := make(chan error, 1)
		go func() {
			_, err := rt.Run(ctx, a, prog.Add)
			done <- err
		}()
		runtimecontract.WaitFor(t, "the fake bundle working", 2*time.Minute, func() bool {
			p := prog.All()
			return len(p) > 0 && p[len(p)-1] == "50%: working"
		})
		if len(processesWith(markerOf(a))) == 0 {
			t.Fatal("the bundle's process is not to be seen")
		}
		return done, &prog
	}

	// 1. The engine dies under a running action; the broker lives on.
	logs := &runtimecontract.LogBuffer{}
	rt := newRuntime(logs, eng.c)
	a := action()
	done, _ := running(rt, a)
	eng.kill(t)
	select {
	case err := <-done:
		want := "the Docker engine at unix://" + eng.sock + " stopped answering while bundle container local-fake-apb-prov-"
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Run: err = %v, want one saying %q", err, want)
		}
	case <-time.After(time.Minute):
		t.Fatal("Run did not return within a minute of the engine dying (grace 5 s)")
	}
	// The outcome would be stored now; the release cannot reach the engine.
	if err := rt.Release(ctx, a, true); err == nil || !strings.Contains(err.Error(), "does not answer") {
		t.Errorf("Release with the engine gone: err = %v, want one saying the engine does not answer", err)
	}

	// 2. The engine comes back and stops what it had; the janitor of a
	// restarted broker finds the container and removes it.
	eng = startPrivateEngine(t, dir)
	c := eng.c
	runtimecontract.WaitFor(t, "the bundle's process gone once the engine is back", time.Minute, func() bool {
		return len(processesWith(markerOf(a))) == 0
	})
	restarted := newRuntime(logs, c)
	if n, err := restarted.Reap(ctx, func(string) bool { return false }); err != nil || n != 1 {
		t.Errorf("Reap after the engine came back = %d, %v; want 1", n, err)
	}
	checkNothingLeft(t, ctx, c, brokerID, work)

	// 3. Broker and engine both restart mid-action: Attach finds the
	// container the engine stopped and reports it; Release removes it.
	a = action()
	brokerCtx, stopBroker := context.WithCancel(ctx)
	first := newRuntime(logs, c)
	var prog runtimecontract.Progress
	runErr := make(chan error, 1)
	go func() {
		_, err := first.Run(brokerCtx, a, prog.Add)
		runErr <- err
	}()
	runtimecontract.WaitFor(t, "the fake bundle working", 2*time.Minute, func() bool {
		p := prog.All()
		return len(p) > 0 && p[len(p)-1] == "50%: working"
	})
	stopBroker()
	if err := <-runErr; !errors.Is(err, context.Canceled) {
		t.Fatalf("Run of a stopped broker: %v", err)
	}
	eng.kill(t)
	eng = startPrivateEngine(t, dir)
	c = eng.c
	second := newRuntime(logs, c)
	_, err = second.Attach(ctx, a, nil)
	var ae *runtime.ActionError
	if !errors.As(err, &ae) || !strings.Contains(ae.Message, "provision failed (exit code") || !strings.Contains(ae.Message, "50%: working") {
		t.Errorf("Attach after both restarted: err = %v, want the failure with the bundle's last description", err)
	}
	if err := second.Release(ctx, a, true); err != nil {
		t.Errorf("Release: %v", err)
	}
	checkNothingLeft(t, ctx, c, brokerID, work)
	if p := processesWith(markerOf(a)); len(p) > 0 {
		t.Errorf("bundle processes left: %v", p)
	}
	if t.Failed() {
		t.Logf("runtime log:\n%s", logs)
	}
}

// checkNothingLeft: no container of the broker on the engine, no action
// directory in its work dir.
func checkNothingLeft(t *testing.T, ctx context.Context, c *client.Client, brokerID, work string) {
	t.Helper()
	l, err := c.ContainerList(ctx, client.ContainerListOptions{All: true, Filters: client.Filters{}.Add("label", dockerruntime.LabelBroker+"="+brokerID)})
	if err != nil {
		t.Fatal(err)
	}
	for _, ct := range l.Items {
		t.Errorf("container left: %s (%s)", ct.Names, ct.State)
	}
	entries, _ := os.ReadDir(filepath.Join(work, brokerID))
	for _, e := range entries {
		t.Errorf("action directory left: %s", e.Name())
	}
}
