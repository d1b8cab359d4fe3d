package runtimecontract

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/openstack-service-broker/openstack-service-broker/pkg/broker"
	"github.com/openstack-service-broker/openstack-service-broker/pkg/runtime"
)

// The test bundle's catalog name and the sources both runtimes give it
// (a secrets: rule's and openstack.clouds_secret's): each harness makes
// them from Sources, as Secrets or as directories.
const (
	FQName       = "local-testbundle-apb"
	CredsSource  = "test-creds"
	CloudsSource = "openstack-clouds"
	// Values that must never show in logs, progress or errors.
	SecretPassword = "S3cret-Pa55word-from-secret"
	CloudPassword  = "Cl0uds-Pa55word-in-clouds-yaml"
)

// Sources are the files of each source, file name to content.
func Sources() map[string]map[string]string {
	return map[string]map[string]string{
		CredsSource: {"username": "svc-user", "password": SecretPassword},
		CloudsSource: {
			"clouds.yaml": "clouds:\n  devstack:\n    auth:\n      auth_url: http://127.0.0.1:5000/v3\n      username: admin\n      password: " + CloudPassword + "\n      project_name: admin\n    region_name: RegionOne\n",
			"secure.yaml": "clouds:\n  devstack:\n    auth:\n      password: " + CloudPassword + "\n",
		},
	}
}

// Mounts are what the broker's rules give the test bundle.
func Mounts() []runtime.Mount {
	return []runtime.Mount{broker.SecretMount(CredsSource), broker.CloudsMount(CloudsSource, "")}
}

// Runtime is a runtime under test: it runs actions and reaps.
type Runtime interface {
	runtime.Runtime
	runtime.Janitor
}

// Options configure a runtime for a case.
type Options struct {
	// Log receives the runtime's log at debug level (the bundle's output).
	Log *slog.Logger
	// Keep and KeepOnError are keep_namespace / keep_container and their
	// _on_error twins.
	Keep, KeepOnError bool
	// Timeout bounds one action (default 3 minutes).
	Timeout time.Duration
}

// Sandbox is what a harness sees of an operation's sandbox (a namespace
// with its pod, a container).
type Sandbox struct {
	// Exists: there is one, not being deleted.
	Exists bool
	// Running: the bundle's process still runs.
	Running bool
	// Kept: marked kept by keep_*(_on_error); the janitor leaves it.
	Kept bool
	// PodName and PodNamespace are what POD_NAME and POD_NAMESPACE say
	// in the bundle.
	PodName, PodNamespace string
}

// Env is one runtime and the world around it for one case: its own broker
// (identity, sources, target) so that cases run side by side.
type Env interface {
	// Name is the runtime's: docker, kubernetes.
	Name() string
	// NewRuntime returns a runtime of this case's broker: every call is
	// the same broker (id, sources) started anew, as after a restart.
	NewRuntime(t *testing.T, o Options) Runtime
	// Target is the namespace the actions name (Action.Target).
	Target() string
	// Image and Runtime1Image are test/bundles' testbundle and runtime1;
	// AbsentImage names an image the runtime cannot have.
	Image() string
	Runtime1Image() string
	AbsentImage() string
	// Sandbox looks at what is there for an operation now.
	Sandbox(t *testing.T, ctx context.Context, op string) Sandbox
	// Kill ends the bundle's process from outside, as an operator or the
	// machine would (docker kill; the pod deleted).
	Kill(t *testing.T, ctx context.Context, op string)
	// KilledWords are in the error of an action whose bundle was killed.
	KilledWords() string
}

// Harness makes the Env of one case (t.Cleanup removes what it made).
type Harness func(t *testing.T) Env

// Case is one row of the contract.
type Case struct {
	Name string
	Run  func(t *testing.T, ctx context.Context, e Env)
}

// Run runs every case of the contract against the runtime of h, in
// parallel.
func Run(t *testing.T, h Harness) {
	for _, c := range Cases {
		t.Run(c.Name, func(t *testing.T) {
			t.Parallel()
			// Each case has its own deadline from when it starts: parallel
			// cases may wait long for a slot.
			ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
			defer cancel()
			c.Run(t, ctx, h(t))
		})
	}
}

// Cases are the contract every runtime keeps, one table for all.
var Cases = []Case{
	{"provision: args, extra vars, env and read-only mounts seen by the bundle; credentials, progress, dashboard; redaction; Release", provision},
	{"bind: credentials from the provision's, never in the log", bind},
	{"failure: the bundle's last description; keep_on_error keeps the sandbox stopped", failure},
	{"missing playbook: ErrActionNotFound", missingPlaybook},
	{"image absent: the action fails saying so, nothing runs", imageAbsent},
	{"restart: Attach re-attaches to the running action without running it again", restart},
	{"janitor: Reap removes the sandboxes of unknown operations only", janitor},
	{"timeout: the action fails saying so and nothing keeps running", timeout},
	{"killed: a bundle killed from outside fails the action saying so", killed},
	{"runtime 1: credentials by exec while the bundle waits", runtime1},
}

func provision(t *testing.T, ctx context.Context, e Env) {
	log, logs := NewLogger(t)
	rt := e.NewRuntime(t, Options{Log: log})
	instance, op := NewID(t), NewID(t)
	var prog Progress
	a := runtime.Action{
		Name: runtime.ActionProvision, OperationID: op, Image: e.Image(), Runtime: 2, Mounts: Mounts(),
		FQName: FQName, InstanceID: instance, Target: e.Target(),
		ExtraVars: ExtraVars(instance, e.Target(), map[string]any{"greeting": "hi there", "echo_secret": true}),
		Env:       []runtime.EnvVar{{Name: "OSB_TEST_EXTRA_ENV", Value: "from the action"}},
	}
	res, err := rt.Run(ctx, a, prog.Add)
	if err != nil {
		t.Fatalf("provision: %v", err)
	}
	sb := e.Sandbox(t, ctx, op)
	if !sb.Exists || sb.Running {
		t.Errorf("after Run: sandbox %+v, want one left for Release, not running", sb)
	}

	if res.Credentials["DB_USER"] != "user-"+instance[:8] || res.Credentials["GREETING"] != "hi there" {
		t.Errorf("credentials = %v", res.Credentials)
	}
	if pw, _ := res.Credentials["DB_PASSWORD"].(string); !strings.HasPrefix(pw, "pw-") {
		t.Errorf("DB_PASSWORD = %q", pw)
	}
	if want := "http://dashboard.example.test/" + instance; res.DashboardURL != want {
		t.Errorf("dashboard = %q, want %q", res.DashboardURL, want)
	}
	if res.LastDescription != "100%: provisioned" {
		t.Errorf("last description = %q", res.LastDescription)
	}
	// Progress while it ran, in order, the secret in it redacted.
	p := prog.All()
	want := []string{"10%: provisioning " + instance, "30%: the mounted password is ****", "50%: sleeping 0s", "100%: provisioned"}
	if !isSubsequence(want, p) {
		t.Errorf("progress = %q, want %q in that order", p, want)
	}

	seen, _ := res.Credentials["SEEN"].(map[string]any)
	for k, v := range map[string]string{
		"greeting": "hi there", "cluster": "kubernetes", "plan": "default", "instance": instance, "namespace": e.Target(),
		"pod_name": sb.PodName, "pod_namespace": sb.PodNamespace,
		"clouds_file": "/etc/apb-secrets/apb-" + CloudsSource + "/clouds.yaml", "secure_file": "/etc/apb-secrets/apb-" + CloudsSource + "/secure.yaml",
		"os_cloud": "devstack", "clouds_readable": "yes", "secret_username": "svc-user",
		"secrets_dir": "apb-" + CloudsSource + " apb-" + CredsSource, "writable_mounts": "", "extra_env": "from the action",
	} {
		if seen[k] != v {
			t.Errorf("the bundle saw %s = %q, want %q", k, seen[k], v)
		}
	}

	// The bundle's output reached the runtime's log at debug level, the
	// secrets it printed redacted.
	WaitFor(t, "the bundle's output (PLAY RECAP) in the runtime's log", 30*time.Second, func() bool {
		return strings.Contains(logs.String(), "PLAY RECAP")
	})
	if !strings.Contains(logs.String(), "the mounted password is ****") {
		t.Errorf("the line printing the mounted password is not in the log redacted")
	}
	CheckNoSecrets(t, "runtime log", logs.String())

	if err := rt.Release(ctx, a, false); err != nil {
		t.Fatalf("Release: %v", err)
	}
	if sb := e.Sandbox(t, ctx, op); sb.Exists {
		t.Errorf("after Release: sandbox %+v, want it gone", sb)
	}
	if err := rt.Release(ctx, a, false); err != nil {
		t.Errorf("a second Release: %v", err)
	}
}

func bind(t *testing.T, ctx context.Context, e Env) {
	log, logs := NewLogger(t)
	rt := e.NewRuntime(t, Options{Log: log})
	instance, binding, op := NewID(t), NewID(t), NewID(t)
	provisionPW := "pw-provision-" + instance[:8]
	vars := ExtraVars(instance, e.Target(), nil)
	vars["_apb_service_binding_id"] = binding
	vars["_apb_provision_creds"] = map[string]any{"DB_USER": "user-x", "DB_PASSWORD": provisionPW}
	a := runtime.Action{Name: runtime.ActionBind, OperationID: op, Image: e.Image(), Runtime: 2, Mounts: Mounts(),
		FQName: FQName, InstanceID: instance, BindingID: binding, Target: e.Target(), ExtraVars: vars}
	res, err := runAndRelease(t, ctx, e, rt, a, nil)
	if err != nil {
		t.Fatalf("bind: %v", err)
	}
	if res.Credentials["DB_USER"] != "user-x" || res.Credentials["DB_PASSWORD"] != provisionPW || res.Credentials["BINDING_ID"] != binding {
		t.Errorf("bind credentials = %v", res.Credentials)
	}
	CheckNoSecrets(t, "runtime log", logs.String())
	if strings.Contains(logs.String(), provisionPW) {
		t.Errorf("the provision credentials' password appears in the runtime log")
	}
}

func failure(t *testing.T, ctx context.Context, e Env) {
	log, logs := NewLogger(t)
	rt := e.NewRuntime(t, Options{Log: log, KeepOnError: true})
	instance, op := NewID(t), NewID(t)
	a := runtime.Action{Name: runtime.ActionProvision, OperationID: op, Image: e.Image(), Runtime: 2, Mounts: Mounts(), FQName: FQName,
		InstanceID: instance, Target: e.Target(), ExtraVars: ExtraVars(instance, e.Target(), map[string]any{"fail": true})}
	_, err := runAndRelease(t, ctx, e, rt, a, nil)
	var ae *runtime.ActionError
	if !errors.As(err, &ae) || ae.ExitCode != 2 || !strings.Contains(ae.Message, "failing on purpose") || !strings.Contains(ae.Message, "provision failed") {
		t.Errorf("err = %v, want an ActionError (exit 2) with the bundle's last description", err)
	}
	if sb := e.Sandbox(t, ctx, op); !sb.Exists || !sb.Kept || sb.Running {
		t.Errorf("keep_on_error: sandbox %+v, want kept and stopped", sb)
	}
	// The janitor leaves kept sandboxes alone.
	if n, err := rt.Reap(ctx, func(string) bool { return false }); err != nil || n != 0 {
		t.Errorf("Reap with a kept sandbox = %d, %v; want 0", n, err)
	}
	CheckNoSecrets(t, "runtime log", logs.String())
}

func missingPlaybook(t *testing.T, ctx context.Context, e Env) {
	log, _ := NewLogger(t)
	rt := e.NewRuntime(t, Options{Log: log})
	instance, op := NewID(t), NewID(t)
	a := runtime.Action{Name: runtime.ActionUpdate, OperationID: op, Image: e.Image(), Runtime: 2, Mounts: Mounts(), FQName: FQName,
		InstanceID: instance, Target: e.Target(), ExtraVars: ExtraVars(instance, e.Target(), nil)}
	if _, err := runAndRelease(t, ctx, e, rt, a, nil); !errors.Is(err, runtime.ErrActionNotFound) {
		t.Errorf("err = %v, want ErrActionNotFound", err)
	}
	if sb := e.Sandbox(t, ctx, op); sb.Exists {
		t.Errorf("after Release: %+v, want nothing", sb)
	}
}

func imageAbsent(t *testing.T, ctx context.Context, e Env) {
	log, _ := NewLogger(t)
	rt := e.NewRuntime(t, Options{Log: log})
	instance, op := NewID(t), NewID(t)
	a := runtime.Action{Name: runtime.ActionProvision, OperationID: op, Image: e.AbsentImage(), Runtime: 2, Mounts: Mounts(), FQName: FQName,
		InstanceID: instance, Target: e.Target(), ExtraVars: ExtraVars(instance, e.Target(), nil)}
	_, err := rt.Run(ctx, a, nil)
	var ae *runtime.ActionError
	if !errors.As(err, &ae) || !strings.Contains(ae.Message, e.AbsentImage()) {
		t.Errorf("err = %v, want an ActionError naming the image", err)
	}
	if sb := e.Sandbox(t, ctx, op); sb.Running {
		t.Errorf("sandbox %+v runs", sb)
	}
	if err := rt.Release(ctx, a, true); err != nil {
		t.Errorf("Release: %v", err)
	}
	if sb := e.Sandbox(t, ctx, op); sb.Exists {
		t.Errorf("after Release: %+v, want nothing", sb)
	}
}

// started runs a in the background until the bundle runs, then stops the
// "broker" (cancels Run), and returns once Run has returned.
func started(t *testing.T, ctx context.Context, e Env, rt Runtime, a runtime.Action) {
	t.Helper()
	brokerCtx, stop := context.WithCancel(ctx)
	runErr := make(chan error, 1)
	go func() {
		_, err := rt.Run(brokerCtx, a, nil)
		runErr <- err
	}()
	WaitFor(t, "the bundle of "+a.OperationID+" running", 3*time.Minute, func() bool {
		select {
		case err := <-runErr:
			t.Fatalf("Run returned before the broker stopped: %v", err)
		default:
		}
		return e.Sandbox(t, ctx, a.OperationID).Running
	})
	stop()
	if err := <-runErr; !errors.Is(err, context.Canceled) {
		t.Fatalf("Run after the broker stopped: err = %v, want context.Canceled", err)
	}
	if sb := e.Sandbox(t, ctx, a.OperationID); !sb.Running {
		t.Fatalf("the bundle after the broker stopped: %+v, want it running", sb)
	}
}

func restart(t *testing.T, ctx context.Context, e Env) {
	log, _ := NewLogger(t)
	instance, op := NewID(t), NewID(t)
	a := runtime.Action{Name: runtime.ActionProvision, OperationID: op, Image: e.Image(), Runtime: 2, Mounts: Mounts(), FQName: FQName,
		InstanceID: instance, Target: e.Target(), ExtraVars: ExtraVars(instance, e.Target(), map[string]any{"sleep_seconds": 15})}
	first := e.NewRuntime(t, Options{Log: log})
	if _, err := first.Attach(ctx, a, nil); !errors.Is(err, runtime.ErrNotStarted) {
		t.Fatalf("Attach before Run: err = %v, want ErrNotStarted", err)
	}
	started(t, ctx, e, first, a)
	name := e.Sandbox(t, ctx, op).PodName

	second := e.NewRuntime(t, Options{Log: log})
	var prog Progress
	res, err := second.Attach(ctx, a, prog.Add)
	if err != nil {
		t.Fatalf("Attach: %v", err)
	}
	if res.Credentials["DB_USER"] != "user-"+instance[:8] {
		t.Errorf("credentials after re-attaching = %v", res.Credentials)
	}
	if p := prog.All(); len(p) == 0 || p[len(p)-1] != "100%: provisioned" {
		t.Errorf("progress after re-attaching = %q", p)
	}
	// The same sandbox: the action ran once.
	if sb := e.Sandbox(t, ctx, op); sb.PodName != name {
		t.Errorf("sandbox after Attach is %q, the action ran in %q", sb.PodName, name)
	}
	if err := second.Release(ctx, a, false); err != nil {
		t.Fatalf("Release: %v", err)
	}
	if sb := e.Sandbox(t, ctx, op); sb.Exists {
		t.Errorf("after Release: %+v, want nothing", sb)
	}
}

func janitor(t *testing.T, ctx context.Context, e Env) {
	log, _ := NewLogger(t)
	rt := e.NewRuntime(t, Options{Log: log})
	orphan, known := NewID(t), NewID(t)
	for _, op := range []string{orphan, known} {
		instance := NewID(t)
		started(t, ctx, e, rt, runtime.Action{Name: runtime.ActionProvision, OperationID: op, Image: e.Image(), Runtime: 2, Mounts: Mounts(),
			FQName: FQName, InstanceID: instance, Target: e.Target(), ExtraVars: ExtraVars(instance, e.Target(), map[string]any{"sleep_seconds": 120})})
	}
	restarted := e.NewRuntime(t, Options{Log: log})
	n, err := restarted.Reap(ctx, func(op string) bool { return op == known })
	if err != nil || n != 1 {
		t.Fatalf("Reap = %d, %v; want 1 sandbox removed", n, err)
	}
	if sb := e.Sandbox(t, ctx, orphan); sb.Exists || sb.Running {
		t.Errorf("orphan's sandbox after Reap: %+v", sb)
	}
	if sb := e.Sandbox(t, ctx, known); !sb.Exists || !sb.Running {
		t.Errorf("the known operation's sandbox after Reap: %+v, want it running", sb)
	}
	if n, err := restarted.Reap(ctx, func(string) bool { return false }); err != nil || n != 1 {
		t.Errorf("second Reap = %d, %v; want 1", n, err)
	}
	if sb := e.Sandbox(t, ctx, known); sb.Exists || sb.Running {
		t.Errorf("after the second Reap: %+v", sb)
	}
}

func timeout(t *testing.T, ctx context.Context, e Env) {
	log, _ := NewLogger(t)
	limit := 45 * time.Second
	rt := e.NewRuntime(t, Options{Log: log, Timeout: limit})
	instance, op := NewID(t), NewID(t)
	a := runtime.Action{Name: runtime.ActionProvision, OperationID: op, Image: e.Image(), Runtime: 2, Mounts: Mounts(), FQName: FQName,
		InstanceID: instance, Target: e.Target(), ExtraVars: ExtraVars(instance, e.Target(), map[string]any{"sleep_seconds": 600})}
	t0 := time.Now()
	_, err := runAndRelease(t, ctx, e, rt, a, nil)
	if err == nil || !strings.Contains(err.Error(), "did not finish within "+limit.String()) {
		t.Fatalf("err = %v, want one saying it did not finish within %s", err, limit)
	}
	if d := time.Since(t0); d > limit+time.Minute {
		t.Errorf("Run returned after %s", d)
	}
	if sb := e.Sandbox(t, ctx, op); sb.Exists || sb.Running {
		t.Errorf("after Release: %+v, want nothing", sb)
	}
}

func killed(t *testing.T, ctx context.Context, e Env) {
	log, _ := NewLogger(t)
	rt := e.NewRuntime(t, Options{Log: log})
	instance, op := NewID(t), NewID(t)
	a := runtime.Action{Name: runtime.ActionProvision, OperationID: op, Image: e.Image(), Runtime: 2, Mounts: Mounts(), FQName: FQName,
		InstanceID: instance, Target: e.Target(), ExtraVars: ExtraVars(instance, e.Target(), map[string]any{"sleep_seconds": 600})}
	type out struct {
		res *runtime.Result
		err error
	}
	done := make(chan out, 1)
	go func() {
		res, err := rt.Run(ctx, a, nil)
		done <- out{res, err}
	}()
	WaitFor(t, "the bundle running", 3*time.Minute, func() bool { return e.Sandbox(t, ctx, op).Running })
	e.Kill(t, ctx, op)
	var o out
	select {
	case o = <-done:
	case <-time.After(2 * time.Minute):
		t.Fatal("Run did not return within 2 minutes of the bundle being killed")
	}
	if o.err == nil || !strings.Contains(o.err.Error(), e.KilledWords()) {
		t.Errorf("err = %v, want one saying %q", o.err, e.KilledWords())
	}
	if err := rt.Release(ctx, a, true); err != nil {
		t.Errorf("Release: %v", err)
	}
	if sb := e.Sandbox(t, ctx, op); sb.Exists || sb.Running {
		t.Errorf("after Release: %+v, want nothing", sb)
	}
}

func runtime1(t *testing.T, ctx context.Context, e Env) {
	log, logs := NewLogger(t)
	rt := e.NewRuntime(t, Options{Log: log})
	instance, op := NewID(t), NewID(t)
	a := runtime.Action{Name: runtime.ActionProvision, OperationID: op, Image: e.Runtime1Image(), Runtime: 1, FQName: "local-runtime1-apb",
		InstanceID: instance, Target: e.Target(), ExtraVars: ExtraVars(instance, e.Target(), nil)}
	res, err := runAndRelease(t, ctx, e, rt, a, nil)
	if err != nil {
		t.Fatalf("provision: %v", err)
	}
	if res.Credentials["R1_USER"] != "r1-"+instance[:8] {
		t.Errorf("credentials = %v", res.Credentials)
	}
	pw, _ := res.Credentials["R1_PASSWORD"].(string)
	if !strings.HasPrefix(pw, "r1pw-") {
		t.Errorf("R1_PASSWORD = %q", pw)
	}
	_ = logs
}

// runAndRelease does with one action what the broker does: Run, then
// Release once the outcome would be stored. The sandbox must outlive Run.
func runAndRelease(t *testing.T, ctx context.Context, e Env, rt Runtime, a runtime.Action, progress runtime.Progress) (*runtime.Result, error) {
	t.Helper()
	res, err := rt.Run(ctx, a, progress)
	if sb := e.Sandbox(t, ctx, a.OperationID); !sb.Exists {
		t.Errorf("%s: no sandbox left for Release after Run", a.Name)
	}
	if rerr := rt.Release(ctx, a, err != nil); rerr != nil {
		t.Errorf("%s: Release: %v", a.Name, rerr)
	}
	return res, err
}

// ExtraVars are what the broker gives the test bundle.
func ExtraVars(instance, target string, params map[string]any) map[string]any {
	v := map[string]any{
		"_apb_plan_id":              "default",
		"_apb_service_class_id":     "6e7b0c4a5d0b0d2cc0e8e8b2c7d0a7c1",
		"_apb_service_instance_id":  instance,
		"_apb_last_requesting_user": "test-user",
		"cluster":                   "kubernetes",
	}
	if target != "" {
		v["namespace"] = target
	}
	for k, p := range params {
		v[k] = p
	}
	return v
}

// CheckNoSecrets fails t when s holds a source's secret value.
func CheckNoSecrets(t *testing.T, where, s string) {
	t.Helper()
	for _, p := range []string{SecretPassword, CloudPassword} {
		if strings.Contains(s, p) {
			t.Errorf("%s contains a secret value", where)
		}
	}
}

// Progress collects last_operation descriptions.
type Progress struct {
	mu   sync.Mutex
	seen []string
}

func (p *Progress) Add(d string) { p.mu.Lock(); p.seen = append(p.seen, d); p.mu.Unlock() }

func (p *Progress) All() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.seen)
}

// isSubsequence: want appears in got in order (progress may skip none of
// these but may hold more).
func isSubsequence(want, got []string) bool {
	i := 0
	for _, g := range got {
		if i < len(want) && g == want[i] {
			i++
		}
	}
	return i == len(want)
}

// LogBuffer collects a runtime's log.
type LogBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *LogBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *LogBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// NewLogger is a debug-level logger into a buffer, shown when t fails.
func NewLogger(t *testing.T) (*slog.Logger, *LogBuffer) {
	b := &LogBuffer{}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("runtime log:\n%s", b.String())
		}
	})
	return slog.New(slog.NewTextHandler(b, &slog.HandlerOptions{Level: slog.LevelDebug})), b
}

// WaitFor polls cond (bounded) until it holds.
func WaitFor(t *testing.T, what string, limit time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %s", what, limit)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// NewID is a random UUID, as platforms send.
func NewID(t *testing.T) string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatal(err)
	}
	b[6], b[8] = b[6]&0x0f|0x40, b[8]&0x3f|0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}
