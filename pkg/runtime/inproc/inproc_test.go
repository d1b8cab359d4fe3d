package inproc

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/openstack-service-broker/openstack-service-broker/pkg/runtime"
)

// Attach to an action still running waits for it and returns its result,
// without playing the action a second time.
func TestAttachToRunning(t *testing.T) {
	release := make(chan struct{})
	var plays atomic.Int32
	rt := New(func(ctx context.Context, a runtime.Action, p runtime.Progress) (*runtime.Result, error) {
		plays.Add(1)
		<-release
		return &runtime.Result{DashboardURL: "http://dash/" + a.OperationID}, nil
	})
	// Start the action directly in the runtime, as if a pod were running.
	a := runtime.Action{Name: "provision", OperationID: "op-running"}
	go rt.Run(context.Background(), a, func(string) {})
	deadline := time.Now().Add(5 * time.Second)
	for plays.Load() == 0 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if plays.Load() != 1 {
		t.Fatal("the action did not start within 5 s")
	}
	type out struct {
		res *runtime.Result
		err error
	}
	done := make(chan out, 1)
	go func() {
		res, err := rt.Attach(context.Background(), a, func(string) {})
		done <- out{res, err}
	}()
	select {
	case o := <-done:
		t.Fatalf("attach returned (%+v, %v) while the action was still running", o.res, o.err)
	case <-time.After(100 * time.Millisecond):
	}
	close(release)
	var o out
	select {
	case o = <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("attach did not return")
	}
	if o.err != nil {
		t.Fatalf("attach: %v", o.err)
	}
	if o.res == nil || o.res.DashboardURL != "http://dash/op-running" {
		t.Errorf("attach result = %+v, want the running action's", o.res)
	}
	if n := plays.Load(); n != 1 {
		t.Fatalf("the action was played %d times, want once: attach started it again", n)
	}
	if _, err := rt.Attach(context.Background(), runtime.Action{OperationID: "never"}, nil); !errors.Is(err, runtime.ErrNotStarted) {
		t.Fatalf("attach to unknown operation: %v", err)
	}
}
