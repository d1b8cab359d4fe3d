package docker

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/moby/moby/client"

	"github.com/openstack-service-broker/openstack-service-broker/pkg/runtime"
	dockerruntime "github.com/openstack-service-broker/openstack-service-broker/pkg/runtime/docker"
	"github.com/openstack-service-broker/openstack-service-broker/test/runtimecontract"
)

// provisionAction is the test bundle's provision in e.
func provisionAction(t *testing.T, e *env, params map[string]any) runtime.Action {
	instance := runtimecontract.NewID(t)
	return runtime.Action{Name: runtime.ActionProvision, OperationID: runtimecontract.NewID(t), Image: e.bundle, Runtime: 2,
		Mounts: runtimecontract.Mounts(), FQName: runtimecontract.FQName, InstanceID: instance, Target: e.Target(),
		ExtraVars: runtimecontract.ExtraVars(instance, e.Target(), params)}
}

// The container the runtime makes, kept for inspection: host network,
// the limits, the mounts (sources read-only, results writable), bundle-lib's
// labels, and no secret value anywhere in its configuration.
func TestContainerSettings(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.extra = func(c *dockerruntime.Config) { c.Memory, c.CPUs = 512<<20, 1.5 }
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	log, _ := runtimecontract.NewLogger(t)
	rt := e.NewRuntime(t, runtimecontract.Options{Log: log, Keep: true})
	a := provisionAction(t, e, nil)
	if _, err := rt.Run(ctx, a, nil); err != nil {
		t.Fatal(err)
	}
	if err := rt.Release(ctx, a, false); err != nil {
		t.Fatal(err)
	}
	cs := e.containers(t, ctx, a.OperationID)
	if len(cs) != 1 || !strings.HasSuffix(cs[0].Name, dockerruntime.KeptSuffix) || !strings.HasPrefix(cs[0].Name, runtimecontract.FQName+"-prov-") {
		t.Fatalf("kept containers = %+v", cs)
	}
	in, err := e.c.ContainerInspect(ctx, cs[0].ID, client.ContainerInspectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	hc, cfg := in.Container.HostConfig, in.Container.Config
	if hc.NetworkMode != "host" || hc.Memory != 512<<20 || hc.MemorySwap != 512<<20 || hc.NanoCPUs != 1.5e9 || hc.RestartPolicy.Name != "no" {
		t.Errorf("host config: network %s memory %d swap %d cpus %d restart %s", hc.NetworkMode, hc.Memory, hc.MemorySwap, hc.NanoCPUs, hc.RestartPolicy.Name)
	}
	mounts := map[string]bool{}
	for _, m := range in.Container.Mounts {
		mounts[m.Destination] = m.RW
	}
	want := map[string]bool{dockerruntime.ResultsPath: true, "/etc/apb-secrets/apb-" + runtimecontract.CredsSource: false, "/etc/apb-secrets/apb-" + runtimecontract.CloudsSource: false}
	if !reflect.DeepEqual(mounts, want) {
		t.Errorf("mounts (destination: writable) = %v, want %v", mounts, want)
	}
	for k, v := range map[string]string{"bundle-fqname": runtimecontract.FQName, "bundle-action": "provision", dockerruntime.LabelOperation: a.OperationID,
		dockerruntime.LabelInstance: a.InstanceID, dockerruntime.LabelBroker: e.id, dockerruntime.LabelManagedBy: dockerruntime.ManagedBy} {
		if cfg.Labels[k] != v {
			t.Errorf("label %s = %q, want %q", k, cfg.Labels[k], v)
		}
	}
	if len(cfg.Cmd) != 3 || cfg.Cmd[0] != "provision" || cfg.Cmd[1] != "--extra-vars" {
		t.Errorf("cmd = %q", cfg.Cmd)
	}
	raw, _ := json.Marshal(in.Container)
	runtimecontract.CheckNoSecrets(t, "the container's configuration", string(raw))
	// The janitor leaves a kept container alone, and so does Release.
	if n, err := rt.Reap(ctx, func(string) bool { return false }); err != nil || n != 0 {
		t.Errorf("Reap = %d, %v; want 0", n, err)
	}
}

// Config.Output gets the playbook's lines as they come, redacted, all of
// them before Run returns: what `apb run` prints.
func TestOutputStreamed(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	type line struct {
		at   time.Time
		text string
	}
	var mu sync.Mutex
	var lines []line
	e.extra = func(c *dockerruntime.Config) {
		c.Output = func(_, l string) { mu.Lock(); lines = append(lines, line{time.Now(), l}); mu.Unlock() }
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	rt := e.NewRuntime(t, runtimecontract.Options{}) // the broker's log at info: Output alone
	a := provisionAction(t, e, map[string]any{"echo_secret": true, "sleep_seconds": 3})
	if _, err := rt.Run(ctx, a, nil); err != nil {
		t.Fatal(err)
	}
	returned := time.Now()
	defer rt.Release(ctx, a, false)
	mu.Lock()
	defer mu.Unlock()
	var all []string
	for _, l := range lines {
		all = append(all, l.text)
	}
	text := strings.Join(all, "\n")
	for _, want := range []string{"TASK [asb_last_operation]", "the mounted password is ****", "PLAY RECAP"} {
		if !strings.Contains(text, want) {
			t.Errorf("output lacks %q:\n%s", want, text)
		}
	}
	runtimecontract.CheckNoSecrets(t, "output", text)
	// Streamed: the first task's line came before the 3 s sleep ended.
	if len(lines) == 0 || returned.Sub(lines[0].at) < 3*time.Second {
		t.Errorf("the first line came %s before Run returned, want it while the bundle ran", returned.Sub(lines[0].at))
	}
}

// The test action's records come back in the result, and the container
// does not wait for test-retrieval (300 s) first.
func TestTestAction(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	log, _ := runtimecontract.NewLogger(t)
	rt := e.NewRuntime(t, runtimecontract.Options{Log: log})
	for _, fail := range []bool{false, true} {
		a := provisionAction(t, e, map[string]any{"fail": fail})
		a.Name = runtime.ActionTest
		t0 := time.Now()
		res, err := rt.Run(ctx, a, nil)
		if err != nil {
			t.Fatalf("test action (fail %v): %v", fail, err)
		}
		if d := time.Since(t0); d > 2*time.Minute {
			t.Errorf("the test action took %s: it waited for test-retrieval", d)
		}
		second := "second check passed"
		if fail {
			second = "second check failed"
		}
		if want := (&runtime.TestResult{Failed: fail, Messages: []string{"first check passed", second}}); !reflect.DeepEqual(res.Test, want) {
			t.Errorf("test result = %+v, want %+v", res.Test, want)
		}
		if err := rt.Release(ctx, a, false); err != nil {
			t.Fatal(err)
		}
	}
}

// A bundle that outgrows its memory limit fails saying so.
func TestOutOfMemory(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.extra = func(c *dockerruntime.Config) { c.Memory = 24 << 20 }
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	log, _ := runtimecontract.NewLogger(t)
	rt := e.NewRuntime(t, runtimecontract.Options{Log: log})
	a := provisionAction(t, e, nil)
	_, err := rt.Run(ctx, a, nil)
	var ae *runtime.ActionError
	if !errors.As(err, &ae) || !strings.Contains(ae.Message, "the bundle ran out of memory (limit 24 MiB)") {
		t.Errorf("err = %v, want one saying the bundle ran out of memory", err)
	}
	if err := rt.Release(ctx, a, true); err != nil {
		t.Fatal(err)
	}
}

// Bad input before anything runs: a source that is not there, an image
// that cannot be pulled. Nothing is left behind.
func TestNothingStarts(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cases := []struct {
		name  string
		cfg   func(*dockerruntime.Config)
		image string
		want  string
	}{
		{"missing source", func(c *dockerruntime.Config) { c.SecretsDir = "/nonexistent/osb-secrets" }, "",
			`source "test-creds" for local-testbundle-apb: open /nonexistent/osb-secrets/test-creds: no such file or directory`},
		{"no directory for a source", func(c *dockerruntime.Config) { c.SecretsDir = "" }, "",
			`local-testbundle-apb needs no directory for source "test-creds": neither sources nor secrets_dir names one`},
		// A registry nobody listens on: the pull fails at once.
		{"image cannot be pulled", func(c *dockerruntime.Config) { c.PullPolicy = dockerruntime.PullIfNotPresent }, "127.0.0.1:9/osb-absent/bundle:1",
			"bundle image 127.0.0.1:9/osb-absent/bundle:1 is not on the Docker engine and cannot be pulled"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := newEnv(t)
			e.extra = c.cfg
			rt := e.NewRuntime(t, runtimecontract.Options{})
			a := provisionAction(t, e, nil)
			if c.image != "" {
				a.Image = c.image
			}
			_, err := rt.Run(ctx, a, nil)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("err = %v, want one saying %q", err, c.want)
			}
			if cs := e.containers(t, ctx, a.OperationID); len(cs) != 0 {
				t.Errorf("containers left: %+v", cs)
			}
			if entries, _ := os.ReadDir(filepath.Join(e.work, e.id)); len(entries) != 0 {
				t.Errorf("action directories left: %v", entries)
			}
		})
	}
}

// The work dir holds nothing once actions are released: sources copies
// and results (with the credentials) go with the container.
func TestWorkDirCleaned(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	rt := e.NewRuntime(t, runtimecontract.Options{})
	a := provisionAction(t, e, nil)
	if _, err := rt.Run(ctx, a, nil); err != nil {
		t.Fatal(err)
	}
	dirs, _ := os.ReadDir(filepath.Join(e.work, e.id))
	if len(dirs) != 1 {
		t.Fatalf("action directories after Run: %v", dirs)
	}
	creds := filepath.Join(e.work, e.id, dirs[0].Name(), "results", "fields")
	if _, err := os.Stat(creds); err != nil {
		t.Errorf("the credentials file while the outcome is not stored: %v", err)
	}
	if err := rt.Release(ctx, a, false); err != nil {
		t.Fatal(err)
	}
	if dirs, _ := os.ReadDir(filepath.Join(e.work, e.id)); len(dirs) != 0 {
		t.Errorf("action directories after Release: %v", dirs)
	}
}
