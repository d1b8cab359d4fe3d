package inproc

import (
	"context"
	"sync"

	"github.com/openstack-service-broker/openstack-service-broker/pkg/runtime"
)

// Func plays one bundle action.
type Func func(ctx context.Context, a runtime.Action, progress runtime.Progress) (*runtime.Result, error)

// Runtime runs Funcs and remembers which operations it started, so that
// Attach can wait for one still running in this process.
type Runtime struct {
	fn Func

	mu      sync.Mutex
	running map[string]chan struct{}
	results map[string]outcome
	started []runtime.Action
}

type outcome struct {
	res *runtime.Result
	err error
}

// New makes a Runtime playing fn.
func New(fn Func) *Runtime {
	return &Runtime{fn: fn, running: map[string]chan struct{}{}, results: map[string]outcome{}}
}

func (r *Runtime) Name() string { return "inproc" }

// Run plays the action.
func (r *Runtime) Run(ctx context.Context, a runtime.Action, progress runtime.Progress) (*runtime.Result, error) {
	done := make(chan struct{})
	r.mu.Lock()
	r.running[a.OperationID] = done
	r.started = append(r.started, a)
	r.mu.Unlock()
	res, err := r.fn(ctx, a, progress)
	r.mu.Lock()
	// A run cut off by cancellation is what a killed broker leaves
	// behind: no outcome, so Attach reports it as not started.
	if ctx.Err() == nil {
		r.results[a.OperationID] = outcome{res, err}
	}
	delete(r.running, a.OperationID)
	r.mu.Unlock()
	close(done)
	return res, err
}

// Attach waits for an operation this process is running, or returns its
// outcome if it already ended; runtime.ErrNotStarted otherwise.
func (r *Runtime) Attach(ctx context.Context, a runtime.Action, _ runtime.Progress) (*runtime.Result, error) {
	r.mu.Lock()
	done, running := r.running[a.OperationID]
	out, ended := r.results[a.OperationID]
	r.mu.Unlock()
	switch {
	case ended:
		return out.res, out.err
	case !running:
		return nil, runtime.ErrNotStarted
	}
	select {
	case <-done:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	out, ended = r.results[a.OperationID]
	if !ended {
		return nil, runtime.ErrNotStarted
	}
	return out.res, out.err
}

// Release forgets the outcome, as a real runtime removes the sandbox that
// held it.
func (r *Runtime) Release(_ context.Context, a runtime.Action, _ bool) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.results, a.OperationID)
	return nil
}

// Started returns the actions Run was called with, in order.
func (r *Runtime) Started() []runtime.Action {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]runtime.Action(nil), r.started...)
}
