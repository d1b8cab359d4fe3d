package broker

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/openstack-service-broker/openstack-service-broker/pkg/apb"
	"github.com/openstack-service-broker/openstack-service-broker/pkg/osb/osbapi"
	"github.com/openstack-service-broker/openstack-service-broker/pkg/runtime"
	"github.com/openstack-service-broker/openstack-service-broker/pkg/runtime/inproc"
	"github.com/openstack-service-broker/openstack-service-broker/pkg/store"
)

const testBundle = `version: '1.0'
name: unit-apb
description: unit test bundle
bindable: true
async: optional
plans:
  - name: default
    description: default plan
    parameters:
      - name: sleep_ms
        type: int
        updatable: true
      - name: notes
        type: string
`

func testSpec(t *testing.T) *apb.Spec {
	t.Helper()
	sp, err := apb.Parse([]byte(testBundle), "unit")
	if err != nil {
		t.Fatal(err)
	}
	sp.Finish("local", "unit-apb:latest")
	return sp
}

func openStore(t *testing.T, dir string) *store.Store {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	// The production default: with 2 s, TestTooLargeForTheStoreIs413 once
	// got a 503 (store unavailable) instead of its 413 on a 2-core machine
	// at load 5 while its 900 kB write was in flight; not reproduced since.
	st, err := store.Open(ctx, store.Config{DataDir: dir, RequestTimeout: 5 * time.Second}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func newBroker(t *testing.T, ctx context.Context, st *store.Store, rt runtime.Runtime, sp *apb.Spec) *Broker {
	t.Helper()
	b, err := New(ctx, Options{Store: st, Runtime: rt,
		Discover: func(context.Context) ([]*apb.Spec, error) { return []*apb.Spec{sp}, nil }})
	if err != nil {
		t.Fatal(err)
	}
	// Operations run until ctx ends, as under the daemon.
	go b.Start(ctx)
	if _, err := b.Bootstrap(ctx); err != nil {
		t.Fatal(err)
	}
	return b
}

func provisionReq(sp *apb.Spec, params map[string]any) *osbapi.ProvisionRequest {
	return &osbapi.ProvisionRequest{ServiceID: sp.ID, PlanID: sp.Plans[0].ID,
		OrganizationGUID: "o", SpaceGUID: "s", Parameters: params,
		Context: map[string]any{"platform": "kubernetes", "namespace": "unit"}}
}

func waitJob(t *testing.T, b *Broker, id, want string) *osbapi.LastOperationResponse {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		lo, err := b.LastOperation(context.Background(), osbapi.RequestInfo{}, id, &osbapi.LastOperationRequest{})
		if err != nil {
			t.Fatalf("last operation: %v", err)
		}
		if lo.State == want {
			return lo
		}
		if lo.State != osbapi.StateInProgress || time.Now().After(deadline) {
			t.Fatalf("operation state %q (%s), want %q", lo.State, lo.Description, want)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// A store that stops answering turns into 503s, never 500s or crashes.
func TestStoreUnavailableIs503(t *testing.T) {
	st := openStore(t, t.TempDir())
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	sp := testSpec(t)
	b := newBroker(t, ctx, st, inproc.New(func(context.Context, runtime.Action, runtime.Progress) (*runtime.Result, error) {
		return &runtime.Result{}, nil
	}), sp)
	st.Close()
	ri := osbapi.RequestInfo{AcceptsIncomplete: true}
	calls := map[string]func() error{
		"provision": func() error { _, err := b.Provision(ctx, ri, "i", provisionReq(sp, nil)); return err },
		"deprovision": func() error {
			_, err := b.Deprovision(ctx, ri, "i", &osbapi.DeprovisionRequest{ServiceID: sp.ID, PlanID: sp.Plans[0].ID})
			return err
		},
		"last_operation": func() error { _, err := b.LastOperation(ctx, ri, "i", &osbapi.LastOperationRequest{}); return err },
		"get_instance":   func() error { _, err := b.GetInstance(ctx, ri, "i", nil); return err },
	}
	for name, call := range calls {
		e, ok := osbapi.AsError(call())
		if !ok || e.Status != http.StatusServiceUnavailable {
			t.Errorf("%s with etcd gone: %v, want 503", name, e)
		}
	}
	// The catalog is served from memory and keeps working.
	if c, err := b.Catalog(ctx, ri); err != nil || len(c.Services) != 1 {
		t.Errorf("catalog with etcd gone: %v, %v", c, err)
	}
}

// Recovery attaches to work still running in this process instead of
// starting it again, and re-runs work that nothing runs any more.
func TestRecoverAttachesOrReruns(t *testing.T) {
	dir := t.TempDir()
	st := openStore(t, dir)
	sp := testSpec(t)
	release := make(chan struct{})
	rt := inproc.New(func(ctx context.Context, a runtime.Action, p runtime.Progress) (*runtime.Result, error) {
		select {
		case <-release:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		return &runtime.Result{Credentials: map[string]any{"k": "v"}}, nil
	})
	ctx1, stop1 := context.WithCancel(context.Background())
	b1 := newBroker(t, ctx1, st, rt, sp)
	resp, err := b1.Provision(ctx1, osbapi.RequestInfo{AcceptsIncomplete: true}, "i-1", provisionReq(sp, nil))
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for len(rt.Started()) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("provision never started")
		}
		time.Sleep(10 * time.Millisecond)
	}
	// The first broker stops without recording anything.
	stop1()
	b1.engine.Wait()
	j, err := st.GetJob(context.Background(), "i-1", resp.Operation)
	if err != nil || j.Finished() {
		t.Fatalf("job after stop: %+v, %v; want unfinished", j, err)
	}

	// A second broker on the same store re-runs it (the first run was
	// cancelled, so nothing is running any more) and it completes once.
	ctx2, stop2 := context.WithCancel(context.Background())
	defer stop2()
	b2 := newBroker(t, ctx2, st, rt, sp)
	if n, err := b2.Recover(ctx2); err != nil || n != 1 {
		t.Fatalf("Recover = %d, %v; want 1", n, err)
	}
	close(release)
	waitJob(t, b2, "i-1", osbapi.StateSucceeded)
	if got := len(rt.Started()); got != 2 {
		t.Fatalf("runtime started %d times, want 2 (interrupted + resumed)", got)
	}
	j, _ = st.GetJob(context.Background(), "i-1", resp.Operation)
	if j.Attempts != 2 {
		t.Errorf("attempts = %d, want 2", j.Attempts)
	}
	c, err := st.GetCredentials(context.Background(), "i-1")
	if err != nil || c.Credentials["k"] != "v" {
		t.Errorf("credentials after recovery: %+v, %v", c, err)
	}
	stop2()
	b2.engine.Wait()
	st.Close()
}

// reaper is an inproc runtime that is also a Janitor, recording what the
// broker said about each operation it was asked about.
type reaper struct {
	*inproc.Runtime
	ask   []string
	known map[string]bool
}

func (r *reaper) Reap(_ context.Context, known func(string) bool) (int, error) {
	r.known = map[string]bool{}
	n := 0
	for _, op := range r.ask {
		r.known[op] = known(op)
		if !r.known[op] {
			n++
		}
	}
	return n, nil
}

// The broker's Reap counts an operation in flight (unfinished in the
// store) as known, and finished or unrecorded ones as not.
func TestReapKnowsOperationsInFlight(t *testing.T) {
	st := openStore(t, t.TempDir())
	defer st.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	sp := testSpec(t)
	release := make(chan struct{})
	rt := &reaper{Runtime: inproc.New(func(ctx context.Context, a runtime.Action, _ runtime.Progress) (*runtime.Result, error) {
		if a.InstanceID == "slow" {
			select {
			case <-release:
			case <-ctx.Done():
			}
		}
		return &runtime.Result{}, nil
	})}
	b := newBroker(t, ctx, st, rt, sp)
	ri := osbapi.RequestInfo{AcceptsIncomplete: true}
	done, err := b.Provision(ctx, ri, "quick", provisionReq(sp, nil))
	if err != nil {
		t.Fatal(err)
	}
	waitJob(t, b, "quick", osbapi.StateSucceeded)
	slow, err := b.Provision(ctx, ri, "slow", provisionReq(sp, nil))
	if err != nil {
		t.Fatal(err)
	}
	rt.ask = []string{done.Operation, slow.Operation, "never-recorded"}
	n, err := b.Reap(ctx)
	if err != nil || n != 2 {
		t.Fatalf("Reap = %d, %v; want 2", n, err)
	}
	if rt.known[done.Operation] || !rt.known[slow.Operation] || rt.known["never-recorded"] {
		t.Errorf("known = %v; want only the slow provision %s", rt.known, slow.Operation)
	}
	close(release)
	waitJob(t, b, "slow", osbapi.StateSucceeded)
	cancel()
	b.engine.Wait()
}

// releaseHook is an inproc runtime that calls hook when an action's
// sandbox is released.
type releaseHook struct {
	*inproc.Runtime
	hook func(ctx context.Context, a runtime.Action, failed bool)
}

func (r *releaseHook) Release(ctx context.Context, a runtime.Action, failed bool) error {
	r.hook(ctx, a, failed)
	return r.Runtime.Release(ctx, a, failed)
}

// A finished action's sandbox is released only once its outcome is
// stored, with the failed flag of that outcome.
func TestReleaseAfterOutcomeStored(t *testing.T) {
	st := openStore(t, t.TempDir())
	defer st.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	sp := testSpec(t)
	released := make(chan string, 4)
	rt := &releaseHook{Runtime: inproc.New(func(_ context.Context, a runtime.Action, _ runtime.Progress) (*runtime.Result, error) {
		if a.Name == runtime.ActionDeprovision {
			return nil, &runtime.ActionError{ExitCode: 2, Message: "deprovision failed"}
		}
		return &runtime.Result{}, nil
	}), hook: func(ctx context.Context, a runtime.Action, failed bool) {
		// The outcome must already be in the store, with the same failed flag.
		j, err := st.GetJob(ctx, a.InstanceID, a.OperationID)
		switch {
		case err != nil:
			released <- "job unreadable: " + err.Error()
		case !j.Finished():
			released <- "released before the outcome was stored"
		case failed != (j.State == store.JobFailed):
			released <- "failed flag disagrees with the stored state " + j.State
		default:
			released <- a.Name
		}
	}}
	b := newBroker(t, ctx, st, rt, sp)
	ri := osbapi.RequestInfo{AcceptsIncomplete: true}
	if _, err := b.Provision(ctx, ri, "i-1", provisionReq(sp, nil)); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{runtime.ActionProvision, runtime.ActionDeprovision} {
		if want == runtime.ActionDeprovision {
			waitJob(t, b, "i-1", osbapi.StateSucceeded)
			if _, err := b.Deprovision(ctx, ri, "i-1", &osbapi.DeprovisionRequest{ServiceID: sp.ID, PlanID: sp.Plans[0].ID}); err != nil {
				t.Fatal(err)
			}
		}
		select {
		case got := <-released:
			if got != want {
				t.Errorf("release: %s, want %s", got, want)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("%s never released", want)
		}
	}
	cancel()
	b.engine.Wait()
}

// A broker stopping once the outcome is stored still releases the sandbox:
// leaving it to the janitor would lose whether the action failed, which
// keep_namespace_on_error needs.
func TestReleaseSurvivesStop(t *testing.T) {
	st := openStore(t, t.TempDir())
	defer st.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	sp := testSpec(t)
	ctxErr := make(chan error, 1)
	rt := &releaseHook{Runtime: inproc.New(func(context.Context, runtime.Action, runtime.Progress) (*runtime.Result, error) {
		return &runtime.Result{}, nil
	}), hook: func(ctx context.Context, _ runtime.Action, _ bool) {
		cancel() // the broker stops the moment the sandbox is released
		ctxErr <- ctx.Err()
	}}
	b := newBroker(t, ctx, st, rt, sp)
	if _, err := b.Provision(ctx, osbapi.RequestInfo{AcceptsIncomplete: true}, "i-1", provisionReq(sp, nil)); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-ctxErr:
		if err != nil {
			t.Errorf("Release's context after the broker stopped: %v, want still usable", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("provision never released")
	}
	b.engine.Wait()
}

// A bootstrap that finds what is stored keeps the served catalog as it is
// (no conversion, JSON or gzip of every bundle again); one that finds a
// change serves the change.
func TestBootstrapRebuildsOnlyOnChange(t *testing.T) {
	st := openStore(t, t.TempDir())
	defer st.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	found := testSpec(t)
	b, err := New(ctx, Options{Store: st, Runtime: inproc.New(nil),
		Discover: func(context.Context) ([]*apb.Spec, error) { c := *found; return []*apb.Spec{&c}, nil }})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.Bootstrap(ctx); err != nil {
		t.Fatal(err)
	}
	before := b.cat()
	if _, err := b.Bootstrap(ctx); err != nil {
		t.Fatal(err)
	}
	if b.cat() != before {
		t.Error("a bootstrap that changed nothing rebuilt the catalog")
	}
	found.Description = "changed"
	if _, err := b.Bootstrap(ctx); err != nil {
		t.Fatal(err)
	}
	c, err := b.Catalog(ctx, osbapi.RequestInfo{})
	if err != nil || len(c.Services) != 1 || c.Services[0].Description != "changed" {
		t.Fatalf("catalog after a change: %+v, %v", c, err)
	}
}
