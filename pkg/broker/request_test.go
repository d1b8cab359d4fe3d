package broker

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/openstack-service-broker/openstack-service-broker/pkg/apb"
	"github.com/openstack-service-broker/openstack-service-broker/pkg/osb/osbapi"
	"github.com/openstack-service-broker/openstack-service-broker/pkg/runtime"
	"github.com/openstack-service-broker/openstack-service-broker/pkg/runtime/inproc"
	"github.com/openstack-service-broker/openstack-service-broker/pkg/store"
)

// recorder is an inproc runtime that remembers the actions it ran.
type recorder struct {
	mu      sync.Mutex
	actions []runtime.Action
}

func (r *recorder) runtime() *inproc.Runtime {
	return inproc.New(func(_ context.Context, a runtime.Action, _ runtime.Progress) (*runtime.Result, error) {
		r.mu.Lock()
		r.actions = append(r.actions, a)
		r.mu.Unlock()
		return &runtime.Result{}, nil
	})
}

func (r *recorder) last(t *testing.T) runtime.Action {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.actions) == 0 {
		t.Fatal("no action ran")
	}
	return r.actions[len(r.actions)-1]
}

// A provision whose context names no namespace (none sent, or a Cloud
// Foundry context) is refused with a 400 naming context.namespace before
// anything is stored, unless broker.default_namespace says where such
// instances go; then every action of the instance runs against it.
func TestProvisionNamespace(t *testing.T) {
	contexts := map[string]map[string]any{
		"no context":         nil,
		"empty context":      {},
		"cloudfoundry":       {"platform": "cloudfoundry", "organization_guid": "o", "space_guid": "s"},
		"empty namespace":    {"platform": "kubernetes", "namespace": ""},
		"namespace not text": {"platform": "kubernetes", "namespace": 42},
	}
	st := openStore(t, t.TempDir())
	defer st.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	sp := testSpec(t)
	ri := osbapi.RequestInfo{AcceptsIncomplete: true}

	t.Run("refused without a default", func(t *testing.T) {
		rec := &recorder{}
		b := newBroker(t, ctx, st, rec.runtime(), sp)
		for name, c := range contexts {
			req := provisionReq(sp, nil)
			req.Context = c
			id := "no-ns-" + strings.ReplaceAll(name, " ", "-")
			_, err := b.Provision(ctx, ri, id, req)
			e, ok := osbapi.AsError(err)
			if !ok || e.Status != http.StatusBadRequest || !strings.Contains(e.Description, "context.namespace") {
				t.Errorf("%s: %v, want 400 naming context.namespace", name, err)
			}
			if _, err := st.GetInstance(ctx, id); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("%s: the refused provision stored an instance (%v)", name, err)
			}
		}
	})

	t.Run("default namespace", func(t *testing.T) {
		rec := &recorder{}
		b, err := New(ctx, Options{Store: st, Runtime: rec.runtime(), DefaultNamespace: "apps",
			Discover: func(context.Context) ([]*apb.Spec, error) { return []*apb.Spec{sp}, nil }})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := b.Bootstrap(ctx); err != nil {
			t.Fatal(err)
		}
		for name, c := range contexts {
			req := provisionReq(sp, nil)
			req.Context = c
			id := "default-ns-" + strings.ReplaceAll(name, " ", "-")
			if _, err := b.Provision(ctx, ri, id, req); err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			waitJob(t, b, id, osbapi.StateSucceeded)
			a := rec.last(t)
			if a.Target != "apps" || a.ExtraVars["namespace"] != "apps" {
				t.Errorf("%s: provision ran in %q (extra var %v), want apps", name, a.Target, a.ExtraVars["namespace"])
			}
			in, err := st.GetInstance(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			if in.Context["namespace"] != "apps" {
				t.Errorf("%s: stored context %v, want namespace apps", name, in.Context)
			}
			for k, v := range c {
				if k != "namespace" && in.Context[k] != v {
					t.Errorf("%s: stored context lost %s=%v: %v", name, k, v, in.Context)
				}
			}
			if _, err := b.Deprovision(ctx, ri, id, &osbapi.DeprovisionRequest{ServiceID: sp.ID, PlanID: sp.Plans[0].ID}); err != nil {
				t.Fatal(err)
			}
			waitGone(t, b, id)
			if a := rec.last(t); a.Name != runtime.ActionDeprovision || a.Target != "apps" {
				t.Errorf("%s: %s ran in %q, want deprovision in apps", name, a.Name, a.Target)
			}
		}
		// A namespace the platform sent wins over the default.
		req := provisionReq(sp, nil)
		req.Context = map[string]any{"platform": "kubernetes", "namespace": "team-b"}
		if _, err := b.Provision(ctx, ri, "own-ns", req); err != nil {
			t.Fatal(err)
		}
		waitJob(t, b, "own-ns", osbapi.StateSucceeded)
		if a := rec.last(t); a.Target != "team-b" {
			t.Errorf("provision with a namespace ran in %q, want team-b", a.Target)
		}
	})
}

// An update whose context names no namespace (Cloud Foundry's) keeps the
// instance's: its later actions still know where it lives.
func TestUpdateKeepsNamespace(t *testing.T) {
	st := openStore(t, t.TempDir())
	defer st.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	sp := testSpec(t)
	b := newBroker(t, ctx, st, (&recorder{}).runtime(), sp)
	ri := osbapi.RequestInfo{AcceptsIncomplete: true}
	if _, err := b.Provision(ctx, ri, "keep-ns", provisionReq(sp, nil)); err != nil {
		t.Fatal(err)
	}
	waitJob(t, b, "keep-ns", osbapi.StateSucceeded)
	c := map[string]any{"platform": "cloudfoundry", "space_guid": "s2"}
	if _, err := b.Update(ctx, ri, "keep-ns", &osbapi.UpdateRequest{ServiceID: sp.ID, Context: c}); err != nil {
		t.Fatal(err)
	}
	in, err := st.GetInstance(ctx, "keep-ns")
	if err != nil {
		t.Fatal(err)
	}
	if in.Context["namespace"] != "unit" || in.Context["space_guid"] != "s2" {
		t.Errorf("context after update %v, want namespace unit kept and space_guid s2", in.Context)
	}
}

// waitGone waits for a deprovision to finish (last_operation 410).
func waitGone(t *testing.T, b *Broker, id string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		lo, err := b.LastOperation(context.Background(), osbapi.RequestInfo{}, id, &osbapi.LastOperationRequest{})
		if e, ok := osbapi.AsError(err); ok && e.Status == http.StatusGone {
			return
		}
		if err != nil {
			t.Fatalf("last operation: %v", err)
		}
		if lo.State == osbapi.StateFailed || time.Now().After(deadline) {
			t.Fatalf("deprovision of %s: %s (%s)", id, lo.State, lo.Description)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// "maintenance_info": {} (what generated clients send for none) is none:
// no 422 for a plan without maintenance_info, on provision and update.
func TestEmptyMaintenanceInfo(t *testing.T) {
	st := openStore(t, t.TempDir())
	defer st.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	sp := testSpec(t)
	rec := &recorder{}
	b := newBroker(t, ctx, st, rec.runtime(), sp)
	ri := osbapi.RequestInfo{AcceptsIncomplete: true}
	req := provisionReq(sp, nil)
	req.MaintenanceInfo = &osbapi.MaintenanceInfo{}
	if _, err := b.Provision(ctx, ri, "mi-empty", req); err != nil {
		t.Fatalf("provision with maintenance_info {}: %v, want accepted", err)
	}
	waitJob(t, b, "mi-empty", osbapi.StateSucceeded)
	if in, err := st.GetInstance(ctx, "mi-empty"); err != nil || in.MaintenanceVersion != "" {
		t.Errorf("stored maintenance version %q (%v), want none", in.MaintenanceVersion, err)
	}
	upd := &osbapi.UpdateRequest{ServiceID: sp.ID, MaintenanceInfo: &osbapi.MaintenanceInfo{}}
	if _, err := b.Update(ctx, ri, "mi-empty", upd); err != nil {
		t.Fatalf("update with maintenance_info {}: %v, want accepted", err)
	}
	// A version for a plan without maintenance_info is still a conflict.
	req.MaintenanceInfo = &osbapi.MaintenanceInfo{Version: "1.0.0"}
	_, err := b.Provision(ctx, ri, "mi-version", req)
	if e, ok := osbapi.AsError(err); !ok || e.Status != http.StatusUnprocessableEntity || e.Code != "MaintenanceInfoConflict" {
		t.Errorf("provision with a version the plan lacks: %v, want 422 MaintenanceInfoConflict", err)
	}
}
