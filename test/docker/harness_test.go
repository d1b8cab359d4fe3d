// Package docker runs the Docker runtime against Debian's Docker engine
// (hack/docker.sh starts it): the runtime contract shared with the
// Kubernetes runtime (test/runtimecontract), then what only a Docker
// engine shows (resource limits, the results directory, streamed output,
// an engine that dies mid-action, on a private dockerd of its own).
// hack/test.d/25-docker.sh builds the test bundles and exports
// OSB_TEST_BUNDLE_IMAGE and OSB_TEST_RUNTIME1_IMAGE.
package docker

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/moby/moby/client"

	"github.com/openstack-service-broker/openstack-service-broker/pkg/runtime"
	dockerruntime "github.com/openstack-service-broker/openstack-service-broker/pkg/runtime/docker"
	"github.com/openstack-service-broker/openstack-service-broker/test/runtimecontract"
)

// brokerPrefix starts the broker id of every runtime the suite makes:
// TestMain finds what the suite left by it.
const brokerPrefix = "osb-test-docker-"

func skipped() bool {
	return strings.Contains(" "+os.Getenv("OSB_SKIP")+" ", " docker ")
}

var (
	engineOnce sync.Once
	engine     *client.Client
	engineErr  error
)

// connect returns the shared engine, or fails t saying how to get it.
func connect(t testing.TB) *client.Client {
	t.Helper()
	if skipped() {
		t.Skip("OSB_SKIP names docker")
	}
	engineOnce.Do(func() {
		engine, engineErr = dockerruntime.NewClient("")
		if engineErr != nil {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_, engineErr = engine.ServerVersion(ctx, client.ServerVersionOptions{})
	})
	if engineErr != nil {
		t.Fatalf("no Docker engine answers (%v): install Debian's docker.io and start it with hack/docker.sh, or OSB_SKIP=docker", engineErr)
	}
	return engine
}

// images are the test bundles, or t fails saying how to build them.
func images(t testing.TB) (bundle, runtime1 string) {
	t.Helper()
	bundle, runtime1 = os.Getenv("OSB_TEST_BUNDLE_IMAGE"), os.Getenv("OSB_TEST_RUNTIME1_IMAGE")
	if bundle == "" || runtime1 == "" {
		t.Fatal("OSB_TEST_BUNDLE_IMAGE/OSB_TEST_RUNTIME1_IMAGE not set: run `make test` (hack/test.d/25-docker.sh builds them), " +
			"or export them from test/bundles/build.sh testbundle and test/bundles/build.sh runtime1, or OSB_SKIP=docker")
	}
	return bundle, runtime1
}

// env is one case's broker on the shared engine: its own id, sources
// (directories of mode 0600 files, which the runtime's copies make
// readable to the bundle) and work dir.
type env struct {
	c                *client.Client
	id               string
	secretsDir, work string
	bundle, runtime1 string
	extra            func(*dockerruntime.Config)
}

func newEnv(t *testing.T) *env {
	c := connect(t)
	bundle, r1 := images(t)
	dir := t.TempDir()
	e := &env{c: c, id: brokerPrefix + runtimecontract.NewID(t)[:8], secretsDir: filepath.Join(dir, "secrets"), work: filepath.Join(dir, "work"),
		bundle: bundle, runtime1: r1}
	for source, files := range runtimecontract.Sources() {
		d := filepath.Join(e.secretsDir, source)
		if err := os.MkdirAll(d, 0o700); err != nil {
			t.Fatal(err)
		}
		for name, content := range files {
			if err := os.WriteFile(filepath.Join(d, name), []byte(content), 0o600); err != nil {
				t.Fatal(err)
			}
		}
	}
	// After the case: nothing of its broker stays on the engine.
	t.Cleanup(func() { removeAll(t, c, e.id) })
	return e
}

// removeAll removes the containers of a broker id.
func removeAll(t testing.TB, c *client.Client, id string) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	l, err := c.ContainerList(ctx, client.ContainerListOptions{All: true, Filters: client.Filters{}.Add("label", dockerruntime.LabelBroker+"="+id)})
	if err != nil {
		t.Logf("listing the containers of %s: %v", id, err)
		return
	}
	for _, ct := range l.Items {
		if _, err := c.ContainerRemove(ctx, ct.ID, client.ContainerRemoveOptions{Force: true}); err != nil {
			t.Logf("removing container %s: %v", ct.Names, err)
		}
	}
}

func (e *env) Name() string          { return "docker" }
func (e *env) Target() string        { return "osb-target" }
func (e *env) Image() string         { return e.bundle }
func (e *env) Runtime1Image() string { return e.runtime1 }
func (e *env) AbsentImage() string   { return "osb.local/absent-bundle:1" }
func (e *env) KilledWords() string   { return "container was killed (exit code 137" }

func (e *env) config(o runtimecontract.Options) dockerruntime.Config {
	cfg := dockerruntime.Config{
		BrokerID: e.id, SecretsDir: e.secretsDir, WorkDir: e.work, PullPolicy: dockerruntime.PullNever,
		KeepContainer: o.Keep, KeepContainerOnError: o.KeepOnError, Timeout: o.Timeout, PollInterval: 200 * time.Millisecond,
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = 3 * time.Minute
	}
	if e.extra != nil {
		e.extra(&cfg)
	}
	return cfg
}

func (e *env) NewRuntime(t *testing.T, o runtimecontract.Options) runtimecontract.Runtime {
	t.Helper()
	rt, err := dockerruntime.New(e.config(o), e.c, o.Log)
	if err != nil {
		t.Fatal(err)
	}
	return rt
}

// containers lists the containers of an operation of this env's broker.
func (e *env) containers(t *testing.T, ctx context.Context, op string) []containerInfo {
	t.Helper()
	l, err := e.c.ContainerList(ctx, client.ContainerListOptions{All: true, Filters: client.Filters{}.Add("label",
		dockerruntime.LabelBroker+"="+e.id, dockerruntime.LabelOperation+"="+op)})
	if err != nil {
		t.Fatal(err)
	}
	var out []containerInfo
	for _, c := range l.Items {
		out = append(out, containerInfo{ID: c.ID, Name: strings.TrimPrefix(c.Names[0], "/"), State: string(c.State), Labels: c.Labels})
	}
	return out
}

type containerInfo struct {
	ID, Name, State string
	Labels          map[string]string
}

func (e *env) Sandbox(t *testing.T, ctx context.Context, op string) runtimecontract.Sandbox {
	t.Helper()
	cs := e.containers(t, ctx, op)
	if len(cs) == 0 {
		return runtimecontract.Sandbox{}
	}
	if len(cs) > 1 {
		t.Errorf("operation %s: %d containers", op, len(cs))
	}
	c := cs[0]
	return runtimecontract.Sandbox{
		Exists: true, Running: c.State == "running", Kept: strings.HasSuffix(c.Name, dockerruntime.KeptSuffix),
		PodName: c.Labels[dockerruntime.LabelPodName], PodNamespace: c.Labels[dockerruntime.LabelTargetNamespace],
	}
}

func (e *env) Kill(t *testing.T, ctx context.Context, op string) {
	t.Helper()
	for _, c := range e.containers(t, ctx, op) {
		if _, err := e.c.ContainerKill(ctx, c.ID, client.ContainerKillOptions{Signal: "KILL"}); err != nil {
			t.Fatalf("docker kill %s: %v", c.Name, err)
		}
	}
}

var _ runtimecontract.Env = (*env)(nil)

// The contract shared with the Kubernetes runtime.
func TestContract(t *testing.T) {
	runtimecontract.Run(t, func(t *testing.T) runtimecontract.Env { return newEnv(t) })
}

var _ runtime.Runtime = (*dockerruntime.Runtime)(nil)

// newSlog is a debug-level logger into buf.
func newSlog(buf *runtimecontract.LogBuffer) *slog.Logger {
	return slog.New(slog.NewTextHandler(buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
}
