package docker

import (
	"context"
	"encoding/base64"
	"errors"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/mount"
	"github.com/moby/moby/client"

	"github.com/openstack-service-broker/openstack-service-broker/pkg/redact"
	"github.com/openstack-service-broker/openstack-service-broker/pkg/runtime"
)

func TestConfigDefaults(t *testing.T) {
	c, err := (&Config{}).withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	if c.Network != "host" || c.PullPolicy != PullIfNotPresent || c.Timeout != time.Hour || c.BrokerID != "default" ||
		c.Cluster != "kubernetes" || !filepath.IsAbs(c.WorkDir) {
		t.Errorf("defaults = %+v", c)
	}
	for _, bad := range []Config{
		{PullPolicy: "Sometimes"}, {Cluster: "nomad"}, {Memory: -1}, {CPUs: -0.5},
		{WorkDir: "relative"}, {SecretsDir: "rel"}, {Sources: map[string]string{"s": "rel"}},
	} {
		if _, err := bad.withDefaults(); err == nil {
			t.Errorf("%+v accepted", bad)
		}
	}
}

func TestSourceDir(t *testing.T) {
	c := Config{Sources: map[string]string{"clouds": "/etc/osb/clouds"}, SecretsDir: "/srv/secrets"}
	for src, want := range map[string]string{"clouds": "/etc/osb/clouds", "db-creds": "/srv/secrets/db-creds"} {
		if got, err := c.sourceDir(src); err != nil || got != want {
			t.Errorf("sourceDir(%q) = %q, %v; want %q", src, got, err, want)
		}
	}
	for _, bad := range []string{"", "..", "a/b", "."} {
		if _, err := c.sourceDir(bad); err == nil {
			t.Errorf("sourceDir(%q) accepted", bad)
		}
	}
	if _, err := (&Config{}).sourceDir("x"); err == nil || !strings.Contains(err.Error(), "secrets_dir") {
		t.Errorf("no directories configured: err = %v", err)
	}
}

func TestContainerName(t *testing.T) {
	n := containerName("dh-PostgreSQL_apb", "provision")
	if !strings.HasPrefix(n, "dh-postgresql_apb-prov-") || len(n) != len("dh-postgresql_apb-prov-")+5 {
		t.Errorf("name %q", n)
	}
	if n2 := containerName("dh-PostgreSQL_apb", "provision"); n2 == n {
		t.Errorf("two names alike: %q", n)
	}
	if n := containerName("///", "bind"); !strings.HasPrefix(n, "bundle-bind-") {
		t.Errorf("name %q", n)
	}
}

func TestReadSource(t *testing.T) {
	dir := t.TempDir()
	write(t, filepath.Join(dir, "password"), "pw", 0o600)
	write(t, filepath.Join(dir, ".hidden"), "x", 0o600)
	os.Mkdir(filepath.Join(dir, "..data"), 0o755)
	write(t, filepath.Join(dir, "..data", "real"), "linked", 0o600)
	os.Symlink("..data/real", filepath.Join(dir, "linked"))
	files, err := readSource(dir)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string][]byte{"password": []byte("pw"), "linked": []byte("linked")}
	if !reflect.DeepEqual(files, want) {
		t.Errorf("files = %q, want %q", files, want)
	}
	if _, err := readSource(filepath.Join(dir, "missing")); err == nil {
		t.Error("a missing source read")
	}
	write(t, filepath.Join(dir, "big"), strings.Repeat("x", maxSourceFile+1), 0o600)
	if _, err := readSource(dir); err == nil || !strings.Contains(err.Error(), "larger than") {
		t.Errorf("a file too large: err = %v", err)
	}
}

// A tenant's own credentials (runtime.ScopeTarget, the instance's
// credentials_secret) have no namespace to come from on a Docker engine:
// reading a broker source of that name would hand a tenant the broker's,
// or another tenant's, files. The action fails naming why.
func TestReadSourcesRefusesTargetScope(t *testing.T) {
	dir := t.TempDir()
	write(t, filepath.Join(dir, "clouds.yaml"), "clouds: {}", 0o600)
	r := &Runtime{cfg: Config{Sources: map[string]string{"openstack-clouds": dir}}}
	a := runtime.Action{FQName: "local-openstack-keypair-apb", Target: "team-a",
		Mounts: []runtime.Mount{{Source: "openstack-clouds", Scope: runtime.ScopeTarget, Path: "/etc/apb-secrets/namespace-openstack-clouds"}}}
	if _, err := r.readSources(a); err == nil || !strings.Contains(err.Error(), "namespace") || !strings.Contains(err.Error(), "openstack-clouds") {
		t.Errorf("a target-scoped mount on the Docker runtime: err = %v, want a refusal naming the source", err)
	}
	a.Mounts[0].Scope = runtime.ScopeBroker
	if got, err := r.readSources(a); err != nil || len(got) != 1 {
		t.Errorf("the broker's own source: %v, %v", got, err)
	}
}

func write(t *testing.T, p, s string, mode os.FileMode) {
	t.Helper()
	if err := os.WriteFile(p, []byte(s), mode); err != nil {
		t.Fatal(err)
	}
}

// The action's directory: private, copies readable by the bundle's uid,
// results writable by it, each (source, path) mounted once, read-only.
func TestPrepareWork(t *testing.T) {
	work := filepath.Join(t.TempDir(), "broker", "c1")
	a := runtime.Action{Mounts: []runtime.Mount{
		{Source: "creds", Path: "/etc/apb-secrets/apb-creds"},
		{Source: "creds", Path: "/etc/apb-secrets/apb-creds"},
		{Source: "creds", Path: "/other"},
	}}
	mounts, err := prepareWork(work, a, []source{{"creds", map[string][]byte{"password": []byte("pw")}}})
	if err != nil {
		t.Fatal(err)
	}
	mode := func(p string) os.FileMode {
		st, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		return st.Mode().Perm()
	}
	copyDir := sourceCopyDir(work, "creds")
	for p, want := range map[string]os.FileMode{
		work: 0o700, filepath.Join(work, dirResults): 0o777, copyDir: 0o755, filepath.Join(copyDir, "password"): 0o644,
	} {
		if got := mode(p); got != want {
			t.Errorf("%s: mode %o, want %o", p, got, want)
		}
	}
	want := []mount.Mount{
		{Type: mount.TypeBind, Source: filepath.Join(work, dirResults), Target: ResultsPath},
		{Type: mount.TypeBind, Source: copyDir, Target: "/etc/apb-secrets/apb-creds", ReadOnly: true},
		{Type: mount.TypeBind, Source: copyDir, Target: "/other", ReadOnly: true},
	}
	if !reflect.DeepEqual(mounts, want) {
		t.Errorf("mounts = %+v\nwant %+v", mounts, want)
	}
	if got := readCopies(work); len(got) != 1 || string(got[0]["password"]) != "pw" {
		t.Errorf("readCopies = %q", got)
	}
	if _, err := prepareWork(work, a, nil); !errors.Is(err, os.ErrExist) {
		t.Errorf("a second action in the same directory: err = %v", err)
	}
}

func TestReadCredentials(t *testing.T) {
	b64 := func(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }
	cases := []struct {
		name, file string
		want       map[string]any
		err        string
	}{
		{"none", "", nil, ""},
		{"object", b64(`{"user":"u","password":"secret-pw"}`) + "\n", map[string]any{"user": "u", "password": "secret-pw"}, ""},
		{"not base64", "{oops secret-pw", nil, "not base64"},
		{"not an object", b64(`["secret-pw"]`), nil, "not a JSON object"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			work := t.TempDir()
			os.Mkdir(filepath.Join(work, dirResults), 0o777)
			if c.file != "" {
				write(t, filepath.Join(work, dirResults, fileCredentials), c.file, 0o644)
			}
			got, err := readCredentials(work)
			if c.err != "" {
				if err == nil || !strings.Contains(err.Error(), c.err) || strings.Contains(err.Error(), "secret-pw") {
					t.Fatalf("err = %v, want one saying %q without the value", err, c.err)
				}
				return
			}
			if err != nil || !reflect.DeepEqual(got, c.want) {
				t.Errorf("credentials = %v, %v; want %v", got, err, c.want)
			}
		})
	}
}

func TestParseTestResult(t *testing.T) {
	got := parseTestResult("0\nfirst ok\n1\nthen broken\n")
	if !got.Failed || !reflect.DeepEqual(got.Messages, []string{"first ok", "then broken"}) {
		t.Errorf("parse = %+v", got)
	}
	if got := parseTestResult("0\nall good\n"); got.Failed {
		t.Errorf("a passing test read as failed: %+v", got)
	}
}

// The container the bundle gets: bundle-lib's args, extra vars completed
// as on Kubernetes, the environment in order, labels that find it again.
func TestContainerConfig(t *testing.T) {
	r, err := New(Config{BrokerID: "b-1", HTTPProxy: "http://proxy:3128", ExtraEnv: []runtime.EnvVar{{Name: "EXTRA", Value: "1"}}}, &fakeEngine{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	a := runtime.Action{
		Name: "bind", OperationID: "op-1", Image: "img:1", FQName: "dh-x-apb", InstanceID: "i-1", BindingID: "b-9", Target: "proj",
		ExtraVars: map[string]any{"_apb_plan_id": "default"},
		Mounts: []runtime.Mount{{Source: "clouds", Path: "/etc/apb-secrets/apb-clouds", Env: func(files map[string][]byte) []runtime.EnvVar {
			return []runtime.EnvVar{{Name: "FILES", Value: strings.Join(slices.Sorted(maps.Keys(files)), ",")}}
		}}},
		Env: []runtime.EnvVar{{Name: "ACTION_ENV", Value: "a"}},
	}
	sb := &sandbox{name: "dh-x-apb-bind-abcde", work: "/w/b-1/dh-x-apb-bind-abcde"}
	cfg, err := r.containerConfig(a, sb, map[string]map[string][]byte{"clouds": {"clouds.yaml": nil, "secure.yaml": nil}})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Image != "img:1" || len(cfg.Cmd) != 3 || cfg.Cmd[0] != "bind" || cfg.Cmd[1] != "--extra-vars" {
		t.Fatalf("image %s cmd %q", cfg.Image, cfg.Cmd)
	}
	if cfg.Cmd[2] != `{"_apb_plan_id":"default","cluster":"kubernetes","namespace":"proj"}` {
		t.Errorf("extra vars %s", cfg.Cmd[2])
	}
	wantEnv := []string{"POD_NAME=dh-x-apb-bind-abcde", "APB_RESULTS_DIR=/var/run/apb-results", "POD_NAMESPACE=proj",
		"HTTP_PROXY=http://proxy:3128", "http_proxy=http://proxy:3128", "FILES=clouds.yaml,secure.yaml", "ACTION_ENV=a", "EXTRA=1"}
	if !reflect.DeepEqual(cfg.Env, wantEnv) {
		t.Errorf("env = %q\nwant %q", cfg.Env, wantEnv)
	}
	wantLabels := map[string]string{
		LabelFQName: "dh-x-apb", LabelAction: "bind", LabelPodName: sb.name, LabelManagedBy: ManagedBy, LabelBroker: "b-1",
		LabelOperation: "op-1", LabelInstance: "i-1", LabelBinding: "b-9", LabelTargetNamespace: "proj", LabelWorkDir: sb.work,
	}
	if !reflect.DeepEqual(cfg.Labels, wantLabels) {
		t.Errorf("labels = %v\nwant %v", cfg.Labels, wantLabels)
	}
	// An action's own cluster and namespace win; no target, no POD_NAMESPACE.
	a.Target, a.ExtraVars = "", map[string]any{"cluster": "openshift", "namespace": "mine"}
	cfg, _ = r.containerConfig(a, sb, nil)
	if cfg.Cmd[2] != `{"cluster":"openshift","namespace":"mine"}` || slices.ContainsFunc(cfg.Env, func(e string) bool { return strings.HasPrefix(e, "POD_NAMESPACE=") }) {
		t.Errorf("cmd %q env %q", cfg.Cmd[2], cfg.Env)
	}
}

// What a user reads for each way a container can end badly.
func TestFailure(t *testing.T) {
	r, _ := New(Config{Memory: 256 << 20}, &fakeEngine{}, nil)
	red := &redact.Text{}
	red.Add(map[string][]byte{"password": []byte("hunter22")})
	sb := &sandbox{name: "c", red: red}
	a := runtime.Action{Name: "provision"}
	cases := []struct {
		name string
		st   container.State
		last string
		want string
	}{
		{"exit 2 with the bundle's words", container.State{ExitCode: 2}, "creating volume failed", "provision failed (exit code 2): creating volume failed"},
		{"secret in the description", container.State{ExitCode: 1}, "bad password hunter22", "provision failed (exit code 1): bad password ****"},
		{"killed", container.State{ExitCode: 137}, "", "provision failed: the bundle's container was killed (exit code 137, SIGKILL)"},
		{"stopped", container.State{ExitCode: 143}, "50%: half", "provision failed: the bundle's container was stopped (exit code 143, SIGTERM): 50%: half"},
		{"out of memory", container.State{ExitCode: 137, OOMKilled: true}, "", "provision failed: the bundle ran out of memory (limit 256 MiB)"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := r.failure(a, sb, &c.st, &runtime.Result{LastDescription: c.last}, r.log)
			var ae *runtime.ActionError
			if !errors.As(err, &ae) || ae.Message != c.want || ae.ExitCode != c.st.ExitCode {
				t.Errorf("failure = %v, want %q", err, c.want)
			}
		})
	}
	if err := r.failure(a, sb, &container.State{ExitCode: 8}, &runtime.Result{}, r.log); !errors.Is(err, runtime.ErrActionNotFound) {
		t.Errorf("exit 8: %v, want ErrActionNotFound", err)
	}
}

// fakeEngine keeps containers in memory for the tests of Release, Reap and
// Attach's choices; what those do not use fails.
type fakeEngine struct {
	mu         sync.Mutex
	containers map[string]*fakeContainer
	calls      []string
}

type fakeContainer struct {
	summary container.Summary
	state   container.State
}

func (f *fakeEngine) add(id, name string, st container.State, created int64, labels map[string]string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.containers == nil {
		f.containers = map[string]*fakeContainer{}
	}
	s := container.Summary{ID: id, Names: []string{"/" + name}, Labels: labels, Created: created, State: st.Status}
	f.containers[id] = &fakeContainer{s, st}
}

func (f *fakeEngine) record(call string) { f.calls = append(f.calls, call) }

func (f *fakeEngine) ContainerList(_ context.Context, o client.ContainerListOptions) (client.ContainerListResult, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []container.Summary
	for _, c := range f.containers {
		ok := true
		for term := range o.Filters["label"] {
			k, v, _ := strings.Cut(term, "=")
			if c.summary.Labels[k] != v {
				ok = false
			}
		}
		if ok {
			out = append(out, c.summary)
		}
	}
	slices.SortFunc(out, func(a, b container.Summary) int { return strings.Compare(a.ID, b.ID) })
	return client.ContainerListResult{Items: out}, nil
}

func (f *fakeEngine) ContainerInspect(_ context.Context, id string, _ client.ContainerInspectOptions) (client.ContainerInspectResult, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	c, ok := f.containers[id]
	if !ok {
		return client.ContainerInspectResult{}, cerrdefs.ErrNotFound
	}
	st := c.state
	return client.ContainerInspectResult{Container: container.InspectResponse{ID: id, State: &st}}, nil
}

func (f *fakeEngine) ContainerKill(_ context.Context, id string, _ client.ContainerKillOptions) (client.ContainerKillResult, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.record("kill " + id)
	c, ok := f.containers[id]
	if !ok {
		return client.ContainerKillResult{}, cerrdefs.ErrNotFound
	}
	if c.state.Status != container.StateRunning {
		return client.ContainerKillResult{}, cerrdefs.ErrConflict
	}
	c.state = container.State{Status: container.StateExited, ExitCode: 137}
	c.summary.State = container.StateExited
	return client.ContainerKillResult{}, nil
}

func (f *fakeEngine) ContainerRemove(_ context.Context, id string, _ client.ContainerRemoveOptions) (client.ContainerRemoveResult, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.record("remove " + id)
	if _, ok := f.containers[id]; !ok {
		return client.ContainerRemoveResult{}, cerrdefs.ErrNotFound
	}
	delete(f.containers, id)
	return client.ContainerRemoveResult{}, nil
}

func (f *fakeEngine) ContainerRename(_ context.Context, id string, o client.ContainerRenameOptions) (client.ContainerRenameResult, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.record("rename " + id)
	c, ok := f.containers[id]
	if !ok {
		return client.ContainerRenameResult{}, cerrdefs.ErrNotFound
	}
	c.summary.Names = []string{"/" + o.NewName}
	return client.ContainerRenameResult{}, nil
}

var errNotFaked = errors.New("not faked")

func (f *fakeEngine) ContainerCreate(context.Context, client.ContainerCreateOptions) (client.ContainerCreateResult, error) {
	return client.ContainerCreateResult{}, errNotFaked
}
func (f *fakeEngine) ContainerStart(context.Context, string, client.ContainerStartOptions) (client.ContainerStartResult, error) {
	return client.ContainerStartResult{}, errNotFaked
}
func (f *fakeEngine) ContainerWait(context.Context, string, client.ContainerWaitOptions) client.ContainerWaitResult {
	e := make(chan error, 1)
	e <- errNotFaked
	return client.ContainerWaitResult{Error: e}
}
func (f *fakeEngine) ContainerLogs(context.Context, string, client.ContainerLogsOptions) (client.ContainerLogsResult, error) {
	return nil, errNotFaked
}
func (f *fakeEngine) ExecCreate(context.Context, string, client.ExecCreateOptions) (client.ExecCreateResult, error) {
	return client.ExecCreateResult{}, errNotFaked
}
func (f *fakeEngine) ExecAttach(context.Context, string, client.ExecAttachOptions) (client.ExecAttachResult, error) {
	return client.ExecAttachResult{}, errNotFaked
}
func (f *fakeEngine) ExecInspect(context.Context, string, client.ExecInspectOptions) (client.ExecInspectResult, error) {
	return client.ExecInspectResult{}, errNotFaked
}
func (f *fakeEngine) ImageInspect(context.Context, string, ...client.ImageInspectOption) (client.ImageInspectResult, error) {
	return client.ImageInspectResult{}, errNotFaked
}
func (f *fakeEngine) ImagePull(context.Context, string, client.ImagePullOptions) (client.ImagePullResponse, error) {
	return nil, errNotFaked
}
func (f *fakeEngine) DaemonHost() string { return "unix:///fake.sock" }

// fakeBroker sets up a runtime over a fake engine holding containers of two
// brokers, with their directories.
func fakeBroker(t *testing.T, cfg Config) (*Runtime, *fakeEngine, map[string]string) {
	t.Helper()
	cfg.WorkDir, cfg.BrokerID = t.TempDir(), "b-1"
	f := &fakeEngine{}
	r, err := New(cfg, f, nil)
	if err != nil {
		t.Fatal(err)
	}
	dirs := map[string]string{}
	mk := func(id, broker, op string, st container.State) {
		dir := filepath.Join(cfg.WorkDir, broker, "c-"+id)
		if err := os.MkdirAll(filepath.Join(dir, dirResults), 0o700); err != nil {
			t.Fatal(err)
		}
		dirs[id] = dir
		f.add(id, "c-"+id, st, 100, map[string]string{LabelManagedBy: ManagedBy, LabelBroker: broker, LabelOperation: op, LabelWorkDir: dir})
	}
	mk("ok", "b-1", "o-ok", container.State{Status: container.StateExited})
	mk("failed", "b-1", "o-failed", container.State{Status: container.StateExited, ExitCode: 2})
	mk("running", "b-1", "o-running", container.State{Status: container.StateRunning, Running: true})
	mk("known", "b-1", "o-known", container.State{Status: container.StateRunning, Running: true})
	mk("other", "b-2", "o-other", container.State{Status: container.StateExited, ExitCode: 1})
	return r, f, dirs
}

func (f *fakeEngine) names() map[string]string {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := map[string]string{}
	for id, c := range f.containers {
		out[id] = strings.TrimPrefix(c.summary.Names[0], "/") + " " + string(c.state.Status)
	}
	return out
}

// Reap removes (or keeps, stopped, as configured) this broker's containers
// of unknown operations with their directories; known ones and other
// brokers' stay; a directory without a container goes once it is old.
func TestReap(t *testing.T) {
	cases := []struct {
		name string
		cfg  Config
		n    int
		want map[string]string // id -> "name state" left
		dirs []string          // ids whose directory is left
	}{
		{"remove", Config{}, 3, map[string]string{"known": "c-known running", "other": "c-other exited"}, []string{"known", "other"}},
		{"keep_container", Config{KeepContainer: true}, 3, map[string]string{
			"ok": "c-ok-kept exited", "failed": "c-failed-kept exited", "running": "c-running-kept exited",
			"known": "c-known running", "other": "c-other exited"}, []string{"ok", "failed", "running", "known", "other"}},
		{"keep_container_on_error", Config{KeepContainerOnError: true}, 3, map[string]string{
			"failed": "c-failed-kept exited", "running": "c-running-kept exited",
			"known": "c-known running", "other": "c-other exited"}, []string{"failed", "running", "known", "other"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r, f, dirs := fakeBroker(t, c.cfg)
			orphan := filepath.Join(r.brokerDir(), "orphan")
			young := filepath.Join(r.brokerDir(), "young")
			os.Mkdir(orphan, 0o700)
			os.Mkdir(young, 0o700)
			old := time.Now().Add(-time.Hour)
			os.Chtimes(orphan, old, old)
			n, err := r.Reap(context.Background(), func(op string) bool { return op == "o-known" })
			if err != nil || n != c.n {
				t.Fatalf("Reap = %d, %v; want %d", n, err, c.n)
			}
			if got := f.names(); !reflect.DeepEqual(got, c.want) {
				t.Errorf("containers left = %v\nwant %v", got, c.want)
			}
			for id, dir := range dirs {
				_, err := os.Stat(dir)
				if want := slices.Contains(c.dirs, id); (err == nil) != want {
					t.Errorf("directory of %s left: %v, want %v", id, err == nil, want)
				}
			}
			if _, err := os.Stat(orphan); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("an old directory without a container stays: %v", err)
			}
			if _, err := os.Stat(young); err != nil {
				t.Errorf("a young directory without a container went: %v", err)
			}
			// Kept containers stay kept on the next pass.
			if n, err := r.Reap(context.Background(), func(string) bool { return false }); err != nil || n != 1 {
				t.Errorf("second Reap = %d, %v; want 1 (the known operation's, forgotten now)", n, err)
			}
		})
	}
}

// Release finds an operation's container by label; unknown operations
// are no error.
func TestRelease(t *testing.T) {
	r, f, dirs := fakeBroker(t, Config{KeepContainerOnError: true})
	ctx := context.Background()
	if err := r.Release(ctx, runtime.Action{OperationID: "o-ok"}, false); err != nil {
		t.Fatal(err)
	}
	if err := r.Release(ctx, runtime.Action{OperationID: "o-failed"}, true); err != nil {
		t.Fatal(err)
	}
	if err := r.Release(ctx, runtime.Action{OperationID: "o-other"}, false); err != nil {
		t.Fatal(err)
	}
	if err := r.Release(ctx, runtime.Action{OperationID: "unknown"}, false); err != nil {
		t.Errorf("Release of an unknown operation: %v", err)
	}
	got := f.names()
	if _, ok := got["ok"]; ok {
		t.Errorf("succeeded action's container left: %v", got)
	}
	if got["failed"] != "c-failed-kept exited" || got["other"] != "c-other exited" {
		t.Errorf("containers = %v", got)
	}
	if _, err := os.Stat(dirs["ok"]); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("directory of the released action: %v", err)
	}
	if _, err := os.Stat(dirs["failed"]); err != nil {
		t.Errorf("directory of the kept action: %v", err)
	}
	// A kept container is not released again.
	f.calls = nil
	if err := r.Release(ctx, runtime.Action{OperationID: "o-failed"}, false); err != nil || len(f.calls) != 0 {
		t.Errorf("Release of a kept container: %v, calls %v", err, f.calls)
	}
}

// Attach: nothing for the operation is ErrNotStarted; a container created
// but never started is removed and is ErrNotStarted too.
func TestAttachNotStarted(t *testing.T) {
	r, f, _ := fakeBroker(t, Config{})
	ctx := context.Background()
	if _, err := r.Attach(ctx, runtime.Action{OperationID: "nothing"}, nil); !errors.Is(err, runtime.ErrNotStarted) {
		t.Errorf("Attach without a container: %v", err)
	}
	dir := filepath.Join(r.brokerDir(), "c-created")
	os.MkdirAll(dir, 0o700)
	f.add("created", "c-created", container.State{Status: container.StateCreated}, 200,
		map[string]string{LabelManagedBy: ManagedBy, LabelBroker: "b-1", LabelOperation: "o-created", LabelWorkDir: dir})
	if _, err := r.Attach(ctx, runtime.Action{OperationID: "o-created"}, nil); !errors.Is(err, runtime.ErrNotStarted) {
		t.Errorf("Attach to a container never started: %v", err)
	}
	if _, ok := f.names()["created"]; ok {
		t.Error("the container never started is left")
	}
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("its directory: %v", err)
	}
}

// A directory named by a label but outside this broker's work dir is not
// removed.
func TestRemoveWorkStaysInside(t *testing.T) {
	r, _, _ := fakeBroker(t, Config{})
	outside := t.TempDir()
	r.removeWork(outside, r.log)
	if _, err := os.Stat(outside); err != nil {
		t.Errorf("a directory outside the work dir was removed: %v", err)
	}
}
