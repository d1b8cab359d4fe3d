package osb

import (
	"context"
	"encoding/base64"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/openstack-service-broker/openstack-service-broker/pkg/osb/osbapi"
	"github.com/openstack-service-broker/openstack-service-broker/pkg/osb/osbclient"
)

func ptr[T any](v T) *T { return &v }

func TestClientAgainstServer(t *testing.T) {
	f := &fake{}
	base, _ := newTestServer(t, f, Options{Auth: staticAuth{principal: "p"}})
	c := osbclient.New(osbclient.Options{URL: base + "/ansible-service-broker", Username: "u", Password: "pw",
		OriginatingIdentity: "kubernetes " + base64.StdEncoding.EncodeToString([]byte(`{"username":"carol"}`))})
	ctx := testCtx(t)
	preq := &osbapi.ProvisionRequest{ServiceID: "s", PlanID: "p", OrganizationGUID: "o", SpaceGUID: "x", Parameters: map[string]any{"n": 1.0}}

	// Status codes map onto Async and Exists.
	for _, tc := range []struct {
		resp          osbapi.ProvisionResponse
		async, exists bool
	}{
		{osbapi.ProvisionResponse{Operation: ""}, false, false},
		{osbapi.ProvisionResponse{Exists: true}, false, true},
		{osbapi.ProvisionResponse{Async: true, Operation: "op-7", DashboardURL: "http://dash"}, true, false},
	} {
		f.prov = &tc.resp
		got, err := c.Provision(ctx, "i", preq, tc.async)
		if err != nil {
			t.Fatal(err)
		}
		if got.Async != tc.async || got.Exists != tc.exists || got.Operation != tc.resp.Operation || got.DashboardURL != tc.resp.DashboardURL {
			t.Errorf("provision answered %+v for %+v", got, tc.resp)
		}
		call := f.last(t)
		if call.ri.AcceptsIncomplete != tc.async || !reflect.DeepEqual(call.req, preq) {
			t.Errorf("broker saw accepts_incomplete=%v req %+v", call.ri.AcceptsIncomplete, call.req)
		}
		if call.ri.Principal != "p" || call.ri.OriginatingIdentity.Username() != "carol" {
			t.Errorf("request info %+v", call.ri)
		}
	}

	f.upd = &osbapi.UpdateResponse{Async: true, Operation: "u1"}
	if got, err := c.Update(ctx, "i", &osbapi.UpdateRequest{ServiceID: "s", PlanID: "p2"}, true); err != nil || !got.Async || got.Operation != "u1" {
		t.Errorf("update: %+v %v", got, err)
	}
	f.upd = &osbapi.UpdateResponse{}
	if got, err := c.Update(ctx, "i", &osbapi.UpdateRequest{ServiceID: "s"}, false); err != nil || got.Async {
		t.Errorf("sync update: %+v %v", got, err)
	}

	f.dep = &osbapi.DeprovisionResponse{Async: true, Operation: "d1"}
	if got, err := c.Deprovision(ctx, "i", &osbapi.DeprovisionRequest{ServiceID: "s", PlanID: "p"}, true); err != nil || !got.Async || got.Operation != "d1" {
		t.Errorf("deprovision: %+v %v", got, err)
	}
	if got := f.last(t).req.(*osbapi.DeprovisionRequest); *got != (osbapi.DeprovisionRequest{ServiceID: "s", PlanID: "p"}) {
		t.Errorf("deprovision request %+v", got)
	}
	if _, err := c.Deprovision(ctx, "i", nil, true); err == nil {
		t.Error("deprovision without ids accepted")
	} else if e, ok := osbapi.AsError(err); !ok || e.Status != 400 {
		t.Errorf("deprovision without ids: %v", err)
	}

	f.inst = &osbapi.GetInstanceResponse{ServiceID: "s", PlanID: "p", Parameters: map[string]any{"n": 1.0}}
	if got, err := c.GetInstance(ctx, "i", &osbapi.FetchRequest{ServiceID: "s", PlanID: "p"}); err != nil || !reflect.DeepEqual(got, f.inst) {
		t.Errorf("get instance: %+v %v", got, err)
	}
	if got := f.last(t).req.(*osbapi.FetchRequest); *got != (osbapi.FetchRequest{ServiceID: "s", PlanID: "p"}) {
		t.Errorf("fetch request %+v", got)
	}

	f.los = []*osbapi.LastOperationResponse{{State: osbapi.StateInProgress, Description: "half", RetryAfter: 4}}
	lo, err := c.LastOperation(ctx, "i", &osbapi.LastOperationRequest{ServiceID: "s", PlanID: "p", Operation: "op &7"})
	if err != nil || *lo != (osbapi.LastOperationResponse{State: osbapi.StateInProgress, Description: "half", RetryAfter: 4}) {
		t.Errorf("last operation: %+v %v", lo, err)
	}
	if got := f.last(t).req.(*osbapi.LastOperationRequest); *got != (osbapi.LastOperationRequest{ServiceID: "s", PlanID: "p", Operation: "op &7"}) {
		t.Errorf("last operation request %+v", got)
	}

	f.bind = &osbapi.BindResponse{Async: true, Operation: "b1", Credentials: map[string]any{"x": 1}}
	if got, err := c.Bind(ctx, "i", "b", &osbapi.BindRequest{ServiceID: "s", PlanID: "p"}, true); err != nil || !got.Async || got.Operation != "b1" || got.Credentials != nil {
		t.Errorf("async bind: %+v %v", got, err)
	}
	f.bind = &osbapi.BindResponse{Exists: true, Credentials: map[string]any{"x": "y"}}
	if got, err := c.Bind(ctx, "i", "b", &osbapi.BindRequest{ServiceID: "s", PlanID: "p"}, false); err != nil || got.Async || !got.Exists || got.Credentials["x"] != "y" {
		t.Errorf("existing bind: %+v %v", got, err)
	}
	f.bind = &osbapi.BindResponse{Credentials: map[string]any{"x": "z"}}
	if got, err := c.Bind(ctx, "i", "b", &osbapi.BindRequest{ServiceID: "s", PlanID: "p"}, false); err != nil || got.Async || got.Exists || got.Credentials["x"] != "z" {
		t.Errorf("new bind: %+v %v", got, err)
	}

	f.getb = &osbapi.GetBindingResponse{Credentials: map[string]any{"x": "y"}}
	if got, err := c.GetBinding(ctx, "i", "b", nil); err != nil || !reflect.DeepEqual(got, f.getb) {
		t.Errorf("get binding: %+v %v", got, err)
	}
	f.los = []*osbapi.LastOperationResponse{{State: osbapi.StateSucceeded}}
	if lo, err := c.BindingLastOperation(ctx, "i", "b", nil); err != nil || lo.State != osbapi.StateSucceeded || lo.RetryAfter != 0 {
		t.Errorf("binding last operation: %+v %v", lo, err)
	}

	f.unbind = &osbapi.UnbindResponse{Async: true, Operation: "x1"}
	if got, err := c.Unbind(ctx, "i", "b", &osbapi.UnbindRequest{ServiceID: "s", PlanID: "p"}, true); err != nil || !got.Async || got.Operation != "x1" {
		t.Errorf("unbind: %+v %v", got, err)
	}
	if got := f.last(t); got.method != "Unbind" || *got.req.(*osbapi.UnbindRequest) != (osbapi.UnbindRequest{ServiceID: "s", PlanID: "p"}) {
		t.Errorf("unbind call %+v", got)
	}

	f.catalog = &osbapi.Catalog{Services: []osbapi.Service{{Name: "n", ID: "i", Description: "d", Bindable: true, Plans: []osbapi.Plan{{ID: "p", Name: "p", Description: "d", Free: ptr(true)}}}}}
	if got, err := c.Catalog(ctx); err != nil || !reflect.DeepEqual(got, f.catalog) {
		t.Errorf("catalog: %+v %v", got, err)
	}

	f.err = osbapi.ConcurrencyError("another operation is running")
	if _, err := c.Unbind(ctx, "i", "b", &osbapi.UnbindRequest{ServiceID: "s", PlanID: "p"}, true); err == nil {
		t.Error("no error")
	} else if e, ok := osbapi.AsError(err); !ok || e.Status != 422 || e.Code != osbapi.ErrCodeConcurrencyError || e.Description != "another operation is running" {
		t.Errorf("error %v", err)
	}
}

func TestPoll(t *testing.T) {
	inProgress := func(ra int) *osbapi.LastOperationResponse {
		return &osbapi.LastOperationResponse{State: osbapi.StateInProgress, RetryAfter: ra}
	}
	cases := []struct {
		name      string
		los       []*osbapi.LastOperationResponse
		interval  time.Duration
		timeout   time.Duration
		wantState string
		wantErr   func(error) bool
		wantCalls int
		minTime   time.Duration
		maxTime   time.Duration
	}{
		{name: "until succeeded", los: []*osbapi.LastOperationResponse{inProgress(0), inProgress(0), inProgress(0), {State: osbapi.StateSucceeded}},
			interval: 5 * time.Millisecond, wantState: osbapi.StateSucceeded, wantCalls: 4, minTime: 15 * time.Millisecond, maxTime: 2 * time.Second},
		{name: "failed is an answer", los: []*osbapi.LastOperationResponse{inProgress(0), {State: osbapi.StateFailed, Description: "boom"}},
			interval: 5 * time.Millisecond, wantState: osbapi.StateFailed, wantCalls: 2, maxTime: 2 * time.Second},
		{name: "410 is the error", los: []*osbapi.LastOperationResponse{inProgress(0), {State: stateGone}},
			interval: 5 * time.Millisecond, wantCalls: 2, maxTime: 2 * time.Second,
			wantErr: func(err error) bool { e, ok := osbapi.AsError(err); return ok && e.Status == 410 }},
		{name: "Retry-After honoured", los: []*osbapi.LastOperationResponse{inProgress(1), {State: osbapi.StateSucceeded}},
			interval: 10 * time.Millisecond, wantState: osbapi.StateSucceeded, wantCalls: 2, minTime: 950 * time.Millisecond, maxTime: 3 * time.Second},
		{name: "Retry-After capped at 2*interval+1s", los: []*osbapi.LastOperationResponse{inProgress(30), {State: osbapi.StateSucceeded}},
			interval: 10 * time.Millisecond, wantState: osbapi.StateSucceeded, wantCalls: 2, minTime: 1000 * time.Millisecond, maxTime: 3 * time.Second},
		{name: "bounded by ctx", los: []*osbapi.LastOperationResponse{inProgress(0)},
			interval: 10 * time.Millisecond, timeout: 150 * time.Millisecond, maxTime: 2 * time.Second,
			wantErr: func(err error) bool { return errors.Is(err, context.DeadlineExceeded) }},
	}
	for _, binding := range []bool{false, true} {
		for _, c := range cases {
			name := c.name
			if binding {
				name = "binding " + name
			}
			t.Run(name, func(t *testing.T) {
				f := &fake{los: c.los}
				base, _ := newTestServer(t, f, Options{})
				cl := osbclient.New(osbclient.Options{URL: base})
				ctx := testCtx(t)
				if c.timeout > 0 {
					var cancel context.CancelFunc
					ctx, cancel = context.WithTimeout(ctx, c.timeout)
					defer cancel()
				}
				req := &osbapi.LastOperationRequest{Operation: "op-1"}
				start := time.Now()
				var lo *osbapi.LastOperationResponse
				var err error
				if binding {
					lo, err = cl.PollBindingLastOperation(ctx, "i", "b", req, c.interval)
				} else {
					lo, err = cl.PollLastOperation(ctx, "i", req, c.interval)
				}
				took := time.Since(start)
				if c.wantErr != nil {
					if err == nil || !c.wantErr(err) {
						t.Fatalf("error %v (state %+v), want a different one", err, lo)
					}
				} else if err != nil || lo.State != c.wantState {
					t.Fatalf("got %+v %v, want state %q", lo, err, c.wantState)
				}
				if c.wantCalls > 0 && f.count() != c.wantCalls {
					t.Errorf("%d polls, want %d", f.count(), c.wantCalls)
				}
				if took < c.minTime || took > c.maxTime {
					t.Errorf("took %v, want between %v and %v", took, c.minTime, c.maxTime)
				}
				got := f.last(t)
				wantMethod, wantBid := "LastOperation", ""
				if binding {
					wantMethod, wantBid = "BindingLastOperation", "b"
				}
				if got.method != wantMethod || got.iid != "i" || got.bid != wantBid || got.req.(*osbapi.LastOperationRequest).Operation != "op-1" {
					t.Errorf("polled %s(%q, %q) with %+v", got.method, got.iid, got.bid, got.req)
				}
			})
		}
	}
}

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}
