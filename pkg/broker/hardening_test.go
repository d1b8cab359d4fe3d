package broker

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/openstack-service-broker/openstack-service-broker/pkg/apb"
	"github.com/openstack-service-broker/openstack-service-broker/pkg/osb/osbapi"
	"github.com/openstack-service-broker/openstack-service-broker/pkg/runtime"
	"github.com/openstack-service-broker/openstack-service-broker/pkg/runtime/inproc"
	"github.com/openstack-service-broker/openstack-service-broker/pkg/store"
)

// failing is a runtime whose actions succeed, except those named in fail
// ("provision", "deprovision") for instances whose id starts with "fail-".
func failing(fail ...string) *inproc.Runtime {
	return inproc.New(func(_ context.Context, a runtime.Action, _ runtime.Progress) (*runtime.Result, error) {
		if strings.HasPrefix(a.InstanceID, "fail-") {
			for _, f := range fail {
				if a.Name == f {
					return nil, &runtime.ActionError{ExitCode: 2, Message: a.Name + " failed on purpose"}
				}
			}
		}
		return &runtime.Result{Credentials: map[string]any{"user": "u"}}, nil
	})
}

func brokerWith(t *testing.T, ctx context.Context, st *store.Store, rt runtime.Runtime, sp *apb.Spec, set func(*Options)) *Broker {
	t.Helper()
	o := Options{Store: st, Runtime: rt, Discover: func(context.Context) ([]*apb.Spec, error) { return []*apb.Spec{sp}, nil }}
	set(&o)
	b, err := New(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	go b.Start(ctx)
	if _, err := b.Bootstrap(ctx); err != nil {
		t.Fatal(err)
	}
	return b
}

func wantHTTP(t *testing.T, what string, err error, status int, says string) {
	t.Helper()
	e, ok := osbapi.AsError(err)
	if !ok || e.Status != status || !strings.Contains(e.Description, says) {
		t.Errorf("%s: %v, want %d saying %q", what, err, status, says)
	}
}

// The ids a hostile or careless platform sends: refused with a 400 naming
// the rule, before anything is read or stored (a 300 kB id used to get a
// 503 "retry later", which a platform retries forever). What the rule
// allows, "col/job/zz" included, is stored apart from every other id.
func TestIDRule(t *testing.T) {
	st := openStore(t, t.TempDir())
	defer st.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	sp := testSpec(t)
	b := brokerWith(t, ctx, st, failing(), sp, func(o *Options) { o.LaunchAPBOnBind = true })
	ri := osbapi.RequestInfo{AcceptsIncomplete: true}
	dep := &osbapi.DeprovisionRequest{ServiceID: sp.ID, PlanID: sp.Plans[0].ID}
	bind := &osbapi.BindRequest{ServiceID: sp.ID, PlanID: sp.Plans[0].ID}

	bad := map[string]string{
		"empty":       "",
		"NUL":         "abc\x00def",
		"newline":     "abc\ndef",
		"CR LF":       "abc\r\nX-Injected: 1",
		"tab":         "a\tb",
		"DEL":         "a\x7fb",
		"C1 NEL":      "a\u0085b",
		"not UTF-8":   "a\xffb",
		"cut UTF-8":   "a\xc3",
		"256 bytes":   strings.Repeat("a", 256),
		"200 kB":      strings.Repeat("x", 200<<10),
		"300 kB":      strings.Repeat("x", 300<<10),
		"300 kB UUID": strings.Repeat("2f0c7c4e-6d2b-4d5a-9c1e-0f6c1b3a9e21", 300<<10/36),
	}
	for name, id := range bad {
		_, err := b.Provision(ctx, ri, id, provisionReq(sp, nil))
		wantHTTP(t, "provision with id "+name, err, http.StatusBadRequest, IDRule)
		_, err = b.Deprovision(ctx, ri, id, dep)
		wantHTTP(t, "deprovision with id "+name, err, http.StatusBadRequest, IDRule)
		_, err = b.LastOperation(ctx, ri, id, &osbapi.LastOperationRequest{})
		wantHTTP(t, "last_operation with id "+name, err, http.StatusBadRequest, IDRule)
		_, err = b.GetInstance(ctx, ri, id, nil)
		wantHTTP(t, "get instance with id "+name, err, http.StatusBadRequest, IDRule)
		_, err = b.Update(ctx, ri, id, &osbapi.UpdateRequest{ServiceID: sp.ID})
		wantHTTP(t, "update with id "+name, err, http.StatusBadRequest, IDRule)
		_, err = b.Bind(ctx, ri, "ok", id, bind)
		wantHTTP(t, "bind with binding id "+name, err, http.StatusBadRequest, "binding_id")
		_, err = b.Unbind(ctx, ri, "ok", id, &osbapi.UnbindRequest{ServiceID: sp.ID, PlanID: sp.Plans[0].ID})
		wantHTTP(t, "unbind with binding id "+name, err, http.StatusBadRequest, IDRule)
		_, err = b.GetBinding(ctx, ri, "ok", id, nil)
		wantHTTP(t, "get binding with binding id "+name, err, http.StatusBadRequest, IDRule)
		_, err = b.BindingLastOperation(ctx, ri, "ok", id, &osbapi.LastOperationRequest{})
		wantHTTP(t, "binding last_operation with binding id "+name, err, http.StatusBadRequest, IDRule)
	}
	if ix, err := st.ReadIndex(ctx); err != nil || len(ix.Jobs)+len(ix.Instances)+len(ix.Bindings) != 0 {
		t.Fatalf("refused requests stored something: %+v, %v", ix, err)
	}

	// Allowed, and kept apart: the "col/job/zz" showed up in
	// instance col's operations, and its deprovision in col's
	// last_operation.
	good := []string{"col", "col/job/zz", "col/", "col%2Fjob%2Fzz", "urn:uuid:2f0c7c4e-6d2b-4d5a-9c1e-0f6c1b3a9e21",
		strings.Repeat("z", MaxIDLength), "with space", "ünïcode-✓", "\uFFFD-literal"}
	for _, id := range good {
		if _, err := b.Provision(ctx, ri, id, provisionReq(sp, nil)); err != nil {
			t.Fatalf("provision %q: %v", id, err)
		}
		waitJob(t, b, id, osbapi.StateSucceeded)
	}
	if _, err := b.Deprovision(ctx, ri, "col/job/zz", dep); err != nil {
		t.Fatal(err)
	}
	waitGone(t, b, "col/job/zz")
	for _, id := range []string{"col", "col/", "col%2Fjob%2Fzz"} {
		lo, err := b.LastOperation(ctx, ri, id, &osbapi.LastOperationRequest{})
		if err != nil || lo.State != osbapi.StateSucceeded || lo.Description != "provision job completed" {
			t.Errorf("last_operation of %q after deprovisioning col/job/zz: %+v, %v; want its own provision", id, lo, err)
		}
		if _, err := b.GetInstance(ctx, ri, id, nil); err != nil {
			t.Errorf("instance %q after deprovisioning col/job/zz: %v", id, err)
		}
	}
	// An operation token outside the rule is no token: the latest
	// operation answers, and the store is not asked for it.
	lo, err := b.LastOperation(ctx, ri, "col", &osbapi.LastOperationRequest{Operation: strings.Repeat("t", 300<<10)})
	if err != nil || lo.State != osbapi.StateSucceeded {
		t.Errorf("last_operation with a 300 kB operation: %+v, %v", lo, err)
	}
}

// An instance and a binding with the same id (the original's layout files
// both under /state/<id>/): neither's last_operation shows the other's
// operation, and neither's cleanup removes the other's records.
func TestInstanceAndBindingShareAnID(t *testing.T) {
	st := openStore(t, t.TempDir())
	defer st.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	sp := testSpec(t)
	b := brokerWith(t, ctx, st, failing(), sp, func(o *Options) { o.LaunchAPBOnBind = true })
	ri := osbapi.RequestInfo{AcceptsIncomplete: true}
	for _, id := range []string{"owner", "x"} {
		if _, err := b.Provision(ctx, ri, id, provisionReq(sp, nil)); err != nil {
			t.Fatal(err)
		}
		waitJob(t, b, id, osbapi.StateSucceeded)
	}
	// Binding "x" of instance "owner".
	resp, err := b.Bind(ctx, ri, "owner", "x", &osbapi.BindRequest{ServiceID: sp.ID, PlanID: sp.Plans[0].ID})
	if err != nil {
		t.Fatal(err)
	}
	waitFor := func(what string, cond func() bool) {
		t.Helper()
		for deadline := time.Now().Add(20 * time.Second); !cond(); time.Sleep(20 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("timed out waiting for %s", what)
			}
		}
	}
	waitFor("the bind", func() bool {
		lo, err := b.BindingLastOperation(ctx, ri, "owner", "x", &osbapi.LastOperationRequest{Operation: resp.Operation})
		return err == nil && lo.State == osbapi.StateSucceeded
	})
	// Instance x's last operation is its provision, not binding x's bind.
	lo, err := b.LastOperation(ctx, ri, "x", &osbapi.LastOperationRequest{})
	if err != nil || lo.Description != "provision job completed" {
		t.Fatalf("instance x's last operation: %+v, %v; want its provision", lo, err)
	}
	// Polling instance x with binding x's token does not answer the bind.
	lo, err = b.LastOperation(ctx, ri, "x", &osbapi.LastOperationRequest{Operation: resp.Operation})
	if err != nil || lo.Description != "provision job completed" {
		t.Fatalf("instance x polled with binding x's token: %+v, %v", lo, err)
	}
	// Deprovisioning instance x leaves binding x's records.
	if _, err := b.Deprovision(ctx, ri, "x", &osbapi.DeprovisionRequest{ServiceID: sp.ID, PlanID: sp.Plans[0].ID}); err != nil {
		t.Fatal(err)
	}
	waitGone(t, b, "x")
	if js, _ := st.BindingJobs(ctx, "x"); len(js) != 1 {
		t.Fatalf("binding x's jobs after instance x went: %+v", js)
	}
	if _, err := b.GetBinding(ctx, ri, "owner", "x", nil); err != nil {
		t.Fatalf("binding x after instance x went: %v", err)
	}
	if _, err := b.Prune(ctx); err != nil {
		t.Fatal(err)
	}
	if js, _ := st.BindingJobs(ctx, "x"); len(js) != 1 {
		t.Fatalf("binding x's jobs after a prune: %+v", js)
	}
}

// Parameters larger than etcd takes in one change are refused with a 413
// that says so: a 503 "retry later" would have the platform retry
// forever.
func TestTooLargeForTheStoreIs413(t *testing.T) {
	st := openStore(t, t.TempDir())
	defer st.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	sp := testSpec(t)
	b := newBroker(t, ctx, st, failing(), sp)
	// Under the HTTP layer's 1 MiB body limit, over etcd's 1.5 MiB per
	// change once stored with the instance and its operation.
	big := map[string]any{"notes": strings.Repeat("n", 900<<10)}
	_, err := b.Provision(ctx, osbapi.RequestInfo{AcceptsIncomplete: true}, "big", provisionReq(sp, big))
	wantHTTP(t, "provision with 900 kB of parameters", err, http.StatusRequestEntityTooLarge, "too large")
	if _, err := st.GetInstance(ctx, "big"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("the refused provision stored an instance: %v", err)
	}
}

// The records of one instance id stay bounded however often it is
// provisioned and deprovisioned (the issue: 36 deletes of one instance
// left 37 job records) or updated.
func TestHistoryBounded(t *testing.T) {
	st := openStore(t, t.TempDir())
	defer st.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	sp := testSpec(t)
	b := brokerWith(t, ctx, st, failing(), sp, func(o *Options) { o.JobHistory = 3 })
	ri := osbapi.RequestInfo{AcceptsIncomplete: true}
	dep := &osbapi.DeprovisionRequest{ServiceID: sp.ID, PlanID: sp.Plans[0].ID}
	for range 36 {
		if _, err := b.Provision(ctx, ri, "again", provisionReq(sp, nil)); err != nil {
			t.Fatal(err)
		}
		waitJob(t, b, "again", osbapi.StateSucceeded)
		if _, err := b.Deprovision(ctx, ri, "again", dep); err != nil {
			t.Fatal(err)
		}
		waitGone(t, b, "again")
	}
	js, err := st.InstanceJobs(ctx, "again")
	if err != nil || len(js) != 1 || js[0].Method != runtime.ActionDeprovision {
		t.Fatalf("after 36 provision/deprovision cycles: %d job records (%v); want the last deprovision only", len(js), err)
	}

	if _, err := b.Provision(ctx, ri, "upd", provisionReq(sp, nil)); err != nil {
		t.Fatal(err)
	}
	waitJob(t, b, "upd", osbapi.StateSucceeded)
	for i := range 12 {
		if _, err := b.Update(ctx, ri, "upd", &osbapi.UpdateRequest{ServiceID: sp.ID, Parameters: map[string]any{"sleep_ms": i + 1}}); err != nil {
			t.Fatal(err)
		}
		waitJob(t, b, "upd", osbapi.StateSucceeded)
	}
	js, _ = st.InstanceJobs(ctx, "upd")
	// The history (3) and the provision that made the instance.
	if len(js) != 4 || js[0].Method != runtime.ActionProvision || js[3].Method != runtime.ActionUpdate {
		t.Fatalf("after 12 updates with job_history 3: %d records %+v", len(js), js)
	}
	// Finished records keep no parameters; the instance has them.
	for _, j := range js {
		if j.Parameters != nil {
			t.Errorf("finished %s record keeps parameters %v", j.Method, j.Parameters)
		}
	}
	if in, err := st.GetInstance(ctx, "upd"); err != nil || in.UserParameters["sleep_ms"] != float64(12) {
		t.Errorf("instance after the updates: %+v, %v", in, err)
	}
}

// Prune after the retention: tombstones and failed provisions go; a
// provisioned instance keeps its newest operation and its provision, so
// that it still answers GET even when its deprovision failed; nothing
// unfinished is touched.
func TestPruneAfterRetention(t *testing.T) {
	st := openStore(t, t.TempDir())
	defer st.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	sp := testSpec(t)
	const retention = 300 * time.Millisecond
	release := make(chan struct{})
	defer close(release)
	rt := inproc.New(func(ctx context.Context, a runtime.Action, _ runtime.Progress) (*runtime.Result, error) {
		switch {
		case a.InstanceID == "running":
			select {
			case <-release:
			case <-ctx.Done():
				return nil, ctx.Err()
			}
		case a.InstanceID == "fail-prov" && a.Name == runtime.ActionProvision,
			a.InstanceID == "fail-dep" && a.Name == runtime.ActionDeprovision:
			return nil, &runtime.ActionError{ExitCode: 2, Message: "failed on purpose"}
		}
		return &runtime.Result{}, nil
	})
	b := brokerWith(t, ctx, st, rt, sp, func(o *Options) { o.JobRetention = retention })
	ri := osbapi.RequestInfo{AcceptsIncomplete: true}
	dep := &osbapi.DeprovisionRequest{ServiceID: sp.ID, PlanID: sp.Plans[0].ID}
	for _, id := range []string{"gone", "fail-prov", "fail-dep", "kept"} {
		if _, err := b.Provision(ctx, ri, id, provisionReq(sp, map[string]any{"sleep_ms": 1})); err != nil {
			t.Fatal(err)
		}
	}
	waitJob(t, b, "gone", osbapi.StateSucceeded)
	waitJob(t, b, "fail-prov", osbapi.StateFailed)
	waitJob(t, b, "fail-dep", osbapi.StateSucceeded)
	waitJob(t, b, "kept", osbapi.StateSucceeded)
	if _, err := b.Update(ctx, ri, "kept", &osbapi.UpdateRequest{ServiceID: sp.ID, Parameters: map[string]any{"sleep_ms": 2}}); err != nil {
		t.Fatal(err)
	}
	waitJob(t, b, "kept", osbapi.StateSucceeded)
	for _, id := range []string{"gone", "fail-dep"} {
		if _, err := b.Deprovision(ctx, ri, id, dep); err != nil {
			t.Fatal(err)
		}
	}
	waitGone(t, b, "gone")
	waitJob(t, b, "fail-dep", osbapi.StateFailed)

	// Within the retention nothing a platform may still ask about goes.
	if r, err := b.Prune(ctx); err != nil || r.Jobs != 0 || len(r.FailedProvisions) != 0 {
		t.Fatalf("prune within the retention: %+v, %v", r, err)
	}
	time.Sleep(retention + 50*time.Millisecond)
	// Started after the retention passed: unfinished, it stays.
	if _, err := b.Provision(ctx, ri, "running", provisionReq(sp, nil)); err != nil {
		t.Fatal(err)
	}
	r, err := b.Prune(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(r.FailedProvisions) != 1 || r.FailedProvisions[0] != "fail-prov" {
		t.Errorf("failed provisions removed: %v, want [fail-prov]", r.FailedProvisions)
	}
	// The tombstone of "gone" went; so did the failed provision with its
	// parameters.
	for _, id := range []string{"gone", "fail-prov"} {
		if js, _ := st.InstanceJobs(ctx, id); len(js) != 0 {
			t.Errorf("%s keeps %d job records", id, len(js))
		}
	}
	if _, err := st.GetInstance(ctx, "fail-prov"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("the failed provision's record survived: %v", err)
	}
	_, err = b.Deprovision(ctx, ri, "fail-prov", dep)
	wantHTTP(t, "deprovision of the pruned failed provision", err, http.StatusGone, "does not exist")
	// "kept" keeps its newest operation and its provision; "fail-dep"
	// (provisioned, deprovision failed) stays an instance.
	if js, _ := st.InstanceJobs(ctx, "kept"); len(js) != 2 {
		t.Errorf("kept has %d job records, want 2 (provision, update)", len(js))
	}
	if _, err := b.GetInstance(ctx, ri, "fail-dep", nil); err != nil {
		t.Errorf("the instance whose deprovision failed after the retention: %v", err)
	}
	if lo, err := b.LastOperation(ctx, ri, "running", &osbapi.LastOperationRequest{}); err != nil || lo.State != osbapi.StateInProgress {
		t.Errorf("the running provision after a prune: %+v, %v", lo, err)
	}
}

func TestPrunable(t *testing.T) {
	now := time.Now()
	job := func(token, method, state string, age time.Duration) *store.Job {
		return &store.Job{Token: token, Method: method, State: state, InstanceID: "i", UpdatedAt: now.Add(-age)}
	}
	r := retention{age: time.Hour, keep: 2}
	cases := []struct {
		name   string
		jobs   []*store.Job
		exists bool
		drop   []string
	}{
		{"young history beyond keep", []*store.Job{
			job("p", "provision", store.JobSucceeded, 4*time.Minute), job("u1", "update", store.JobSucceeded, 3*time.Minute),
			job("u2", "update", store.JobFailed, 2*time.Minute), job("u3", "update", store.JobSucceeded, time.Minute)},
			true, []string{"u1"}},
		{"old history", []*store.Job{
			job("p", "provision", store.JobSucceeded, 3*time.Hour), job("u1", "update", store.JobSucceeded, 2*time.Hour),
			job("u2", "update", store.JobSucceeded, 90*time.Minute)},
			true, []string{"u1"}},
		{"unfinished stay", []*store.Job{
			job("p", "provision", store.JobInProgress, 5*time.Hour), job("u", "update", store.JobNotStarted, 4*time.Hour)},
			true, nil},
		{"young tombstone", []*store.Job{
			job("p", "provision", store.JobSucceeded, 3*time.Minute), job("d", "deprovision", store.JobSucceeded, time.Minute)},
			false, []string{"p"}},
		{"old tombstone", []*store.Job{job("d", "deprovision", store.JobSucceeded, 2*time.Hour)}, false, []string{"d"}},
		{"gone without tombstone", []*store.Job{job("p", "provision", store.JobSucceeded, time.Minute)}, false, []string{"p"}},
		{"imported records without times", []*store.Job{
			{Token: "a", Method: "provision", State: store.JobSucceeded}, {Token: "b", Method: "update", State: store.JobSucceeded},
			{Token: "c", Method: "update", State: store.JobSucceeded}},
			true, []string{"b", "c"}},
	}
	for _, c := range cases {
		var got []string
		for _, j := range r.prunable(c.jobs, c.exists, now) {
			got = append(got, j.Token)
		}
		if strings.Join(got, ",") != strings.Join(c.drop, ",") {
			t.Errorf("%s: drops %v, want %v", c.name, got, c.drop)
		}
	}
}
