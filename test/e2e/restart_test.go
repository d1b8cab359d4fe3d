package e2e

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/openstack-service-broker/openstack-service-broker/pkg/daemon"
	"github.com/openstack-service-broker/openstack-service-broker/pkg/osb/osbapi"
	"github.com/openstack-service-broker/openstack-service-broker/pkg/osb/osbclient"
	"github.com/openstack-service-broker/openstack-service-broker/pkg/runtime"
	"github.com/openstack-service-broker/openstack-service-broker/pkg/runtime/inproc"
)

// The restart test runs the broker as a child process (this test binary,
// re-executed) so that it can really be killed with SIGKILL.
const childEnv = "OSB_E2E_BROKER_CHILD"

func TestMain(m *testing.M) {
	if cfg := os.Getenv(childEnv); cfg != "" {
		os.Exit(runChild(cfg))
	}
	os.Exit(m.Run())
}

// runChild serves a broker whose in-process bundle records every start and
// every completion as a file under <config dir>/runs, and sleeps as long
// as the parameter sleep_ms says.
func runChild(cfgPath string) int {
	runs := filepath.Join(filepath.Dir(cfgPath), "runs")
	os.MkdirAll(runs, 0o755)
	mark := func(kind string, a runtime.Action) {
		f, err := os.CreateTemp(runs, kind+"-"+a.OperationID+"-*")
		if err == nil {
			f.Close()
		}
	}
	rt := inproc.New(func(ctx context.Context, a runtime.Action, p runtime.Progress) (*runtime.Result, error) {
		mark("start", a)
		p("working")
		if ms := asInt(a.ExtraVars["sleep_ms"]); ms > 0 {
			select {
			case <-time.After(time.Duration(ms) * time.Millisecond):
			case <-ctx.Done():
				return nil, ctx.Err()
			}
		}
		mark("done", a)
		return &runtime.Result{Credentials: map[string]any{"DB_HOST": "restarted"}}, nil
	})
	ctx, stop := signalContext()
	defer stop()
	if err := daemon.Run(ctx, cfgPath, os.Stdout, daemon.Options{Runtime: rt, Version: "e2e-child"}); err != nil {
		fmt.Fprintln(os.Stderr, "child broker:", err)
		return 1
	}
	return 0
}

func signalContext() (context.Context, context.CancelFunc) {
	return signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
}

type child struct {
	cmd  *exec.Cmd
	logs *bytes.Buffer
}

func startChild(t *testing.T, cfgPath, url string) *child {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	c := &child{cmd: exec.Command(exe, "-test.run=^$"), logs: &bytes.Buffer{}}
	c.cmd.Env = append(os.Environ(), childEnv+"="+cfgPath)
	c.cmd.Stdout, c.cmd.Stderr = c.logs, c.logs
	if err := c.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(90 * time.Second)
	for {
		resp, err := http.Get(url + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return c
			}
		}
		if time.Now().After(deadline) {
			c.cmd.Process.Kill()
			c.cmd.Wait()
			t.Fatalf("child broker not healthy within 90 s:\n%s", c.logs)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func countRuns(t *testing.T, dir, kind, op string) int {
	t.Helper()
	m, _ := filepath.Glob(filepath.Join(dir, "runs", kind+"-"+op+"-*"))
	return len(m)
}

func TestRestartMidOperation(t *testing.T) {
	dir := t.TempDir()
	port := freePort(t)
	cfgPath := writeConfig(t, dir, options{}, port)
	url := fmt.Sprintf("http://127.0.0.1:%d", port)
	c := startChild(t, cfgPath, url)
	defer func() {
		if c.cmd.ProcessState == nil {
			c.cmd.Process.Signal(syscall.SIGTERM)
			c.cmd.Wait()
		}
	}()
	cl := osbclient.New(osbclient.Options{URL: url, Username: user, Password: password})
	cat, err := cl.Catalog(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	b := &broker{t: t, cat: cat}
	req := b.provisionReq(dbSmall, map[string]any{"db_name": "restart", "sleep_ms": 3000})
	resp, err := cl.Provision(ctx(t), "restart-1", req, true)
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, 20*time.Second, "the provision to start", func() bool { return countRuns(t, dir, "start", resp.Operation) == 1 })

	// Kill the broker mid-operation: no shutdown code runs.
	if err := c.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	c.cmd.Wait()
	if n := countRuns(t, dir, "done", resp.Operation); n != 0 {
		t.Fatalf("operation completed before the kill (%d); the test proves nothing", n)
	}

	c = startChild(t, cfgPath, url)
	lo, err := cl.PollLastOperation(ctx(t), "restart-1", &osbapi.LastOperationRequest{Operation: resp.Operation}, 100*time.Millisecond)
	if err != nil || lo.State != osbapi.StateSucceeded {
		t.Fatalf("after restart: %+v, %v\nchild logs:\n%s", lo, err, c.logs)
	}
	// None lost, none run twice: the interrupted run never completed, the
	// resumed one completed exactly once.
	if starts, dones := countRuns(t, dir, "start", resp.Operation), countRuns(t, dir, "done", resp.Operation); starts != 2 || dones != 1 {
		t.Fatalf("runs of the operation: %d started, %d completed; want 2 and 1", starts, dones)
	}
	got, err := cl.GetInstance(ctx(t), "restart-1", nil)
	if err != nil || got.Parameters["db_name"] != "restart" {
		t.Fatalf("instance after restart: %+v, %v", got, err)
	}
	if !strings.Contains(c.logs.String(), "recovering operation") {
		t.Errorf("the restarted broker did not log the recovery")
	}
	// A graceful stop leaves nothing running.
	c.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan error, 1)
	go func() { done <- c.cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("child exit after SIGTERM: %v\n%s", err, c.logs)
		}
	case <-time.After(30 * time.Second):
		c.cmd.Process.Kill()
		t.Errorf("child did not stop within 30 s of SIGTERM")
	}
}
