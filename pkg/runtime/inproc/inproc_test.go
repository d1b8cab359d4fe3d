package inproc

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/openstack-service-broker/openstack-service-broker/pkg/runtime"
)

func TestAttachToRunning(t *testing.T) {
	release := make(chan struct{})
	rt := New(func(ctx context.Context, a runtime.Action, p runtime.Progress) (*runtime.Result, error) {
		<-release
		return &runtime.Result{}, nil
	})
	// Start the action directly in the runtime, as if a pod were running.
	a := runtime.Action{Name: "provision", OperationID: "op-running"}
	go rt.Run(context.Background(), a, func(string) {})
	deadline := time.Now().Add(5 * time.Second)
	for len(rt.Started()) == 0 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	done := make(chan error, 1)
	go func() { _, err := rt.Attach(context.Background(), a, func(string) {}); done <- err }()
	close(release)
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("attach: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("attach did not return")
	}
	if len(rt.Started()) != 1 {
		t.Fatalf("attach started the action again")
	}
	if _, err := rt.Attach(context.Background(), runtime.Action{OperationID: "never"}, nil); !errors.Is(err, runtime.ErrNotStarted) {
		t.Fatalf("attach to unknown operation: %v", err)
	}
}
