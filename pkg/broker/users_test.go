package broker

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/openstack-service-broker/openstack-service-broker/pkg/apb"
	"github.com/openstack-service-broker/openstack-service-broker/pkg/osb/osbapi"
	"github.com/openstack-service-broker/openstack-service-broker/pkg/runtime"
	"github.com/openstack-service-broker/openstack-service-broker/pkg/runtime/inproc"
)

// users allows the users it lists, in any namespace, and records what it
// was asked.
type users struct {
	mu      sync.Mutex
	allowed map[string]bool
	down    bool
	asked   []string // "user namespace removing"
}

func (u *users) MayAct(_ context.Context, oi *osbapi.OriginatingIdentity, ns string, removing bool) (bool, error) {
	u.mu.Lock()
	defer u.mu.Unlock()
	r := "create"
	if removing {
		r = "remove"
	}
	u.asked = append(u.asked, oi.Username()+" "+ns+" "+r)
	if u.down {
		return false, errors.New("cluster unreachable")
	}
	return u.allowed[oi.Username()], nil
}

func identity(user string) *osbapi.OriginatingIdentity {
	return &osbapi.OriginatingIdentity{Platform: "kubernetes", Value: map[string]any{"username": user, "groups": []any{"g"}}}
}

// With auto_escalate false every changing request names a platform user
// who may act in the instance's namespace: 400 without one, 403 when
// refused, 503 when the cluster cannot say; nothing is stored then.
func TestUserAuthorization(t *testing.T) {
	st := openStore(t, t.TempDir())
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	sp := testSpec(t)
	u := &users{allowed: map[string]bool{"alice": true}}
	rt := inproc.New(func(context.Context, runtime.Action, runtime.Progress) (*runtime.Result, error) {
		return &runtime.Result{Credentials: map[string]any{"k": "v"}}, nil
	})
	b, err := New(ctx, Options{Store: st, Runtime: rt, Users: u, LaunchAPBOnBind: true,
		Discover: func(context.Context) ([]*apb.Spec, error) { return []*apb.Spec{sp}, nil }})
	if err != nil {
		t.Fatal(err)
	}
	go b.Start(ctx)
	if _, err := b.Bootstrap(ctx); err != nil {
		t.Fatal(err)
	}
	status := func(err error) int {
		if err == nil {
			return 0
		}
		if e, ok := osbapi.AsError(err); ok {
			return e.Status
		}
		return 500
	}
	ri := func(user string) osbapi.RequestInfo {
		r := osbapi.RequestInfo{AcceptsIncomplete: true, Principal: "platform"}
		if user != "" {
			r.OriginatingIdentity = identity(user)
		}
		return r
	}
	for _, tc := range []struct {
		user string
		down bool
		want int
	}{
		{"", false, http.StatusBadRequest},
		{"mallory", false, http.StatusForbidden},
		{"alice", true, http.StatusServiceUnavailable},
	} {
		u.down = tc.down
		_, err := b.Provision(ctx, ri(tc.user), "i1", provisionReq(sp, nil))
		if got := status(err); got != tc.want {
			t.Errorf("provision as %q (cluster down %v): %d (%v), want %d", tc.user, tc.down, got, err, tc.want)
		}
	}
	u.down = false
	if _, err := b.GetInstance(ctx, ri(""), "i1", nil); status(err) != http.StatusNotFound {
		t.Fatalf("a refused provision stored the instance: %v", err)
	}
	if _, err := b.Provision(ctx, ri("alice"), "i1", provisionReq(sp, nil)); err != nil {
		t.Fatalf("provision as alice: %v", err)
	}
	waitJob(t, b, "i1", osbapi.StateSucceeded)

	bindReq := &osbapi.BindRequest{ServiceID: sp.ID, PlanID: sp.Plans[0].ID}
	if _, err := b.Bind(ctx, ri("mallory"), "i1", "b1", bindReq); status(err) != http.StatusForbidden {
		t.Errorf("bind as mallory: %v, want 403", err)
	}
	if _, err := b.Bind(ctx, ri("alice"), "i1", "b1", bindReq); err != nil {
		t.Fatalf("bind as alice: %v", err)
	}
	waitBinding(t, b, "i1", "b1")
	if _, err := b.Unbind(ctx, ri(""), "i1", "b1", &osbapi.UnbindRequest{ServiceID: sp.ID, PlanID: sp.Plans[0].ID}); status(err) != http.StatusBadRequest {
		t.Errorf("unbind without identity: %v, want 400", err)
	}
	upd := &osbapi.UpdateRequest{ServiceID: sp.ID, Context: map[string]any{"platform": "kubernetes", "namespace": "unit"}}
	if _, err := b.Update(ctx, ri("mallory"), "i1", upd); status(err) != http.StatusForbidden {
		t.Errorf("update as mallory: %v, want 403", err)
	}
	dep := &osbapi.DeprovisionRequest{ServiceID: sp.ID, PlanID: sp.Plans[0].ID}
	if _, err := b.Deprovision(ctx, ri("mallory"), "i1", dep); status(err) != http.StatusForbidden {
		t.Errorf("deprovision as mallory: %v, want 403", err)
	}
	// Reads are the platform's business, not the user's.
	if _, err := b.GetInstance(ctx, ri(""), "i1", nil); err != nil {
		t.Errorf("GET instance without identity: %v", err)
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	want := map[string]bool{"alice unit create": true, "mallory unit create": true, "mallory unit remove": true}
	for _, a := range u.asked {
		delete(want, a)
	}
	if len(want) > 0 {
		t.Errorf("not asked %v; asked %v", want, u.asked)
	}
}

func waitBinding(t *testing.T, b *Broker, iid, bid string) {
	t.Helper()
	for range 1500 {
		lo, err := b.BindingLastOperation(context.Background(), osbapi.RequestInfo{}, iid, bid, &osbapi.LastOperationRequest{})
		if err == nil && lo.State == osbapi.StateSucceeded {
			return
		}
		if err == nil && lo.State == osbapi.StateFailed {
			t.Fatalf("bind failed: %s", lo.Description)
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatal("bind did not finish")
}
