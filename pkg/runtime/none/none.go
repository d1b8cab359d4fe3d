package none

import (
	"context"
	"fmt"

	"github.com/openstack-service-broker/openstack-service-broker/pkg/runtime"
)

// Runtime fails every action.
type Runtime struct {
	// Reason completes "no runtime to run bundles: ...".
	Reason string
}

func (r Runtime) Name() string { return "none" }

func (r Runtime) err(a runtime.Action) error {
	return &runtime.ActionError{ExitCode: -1, Message: fmt.Sprintf(
		"no runtime to run bundle %s (%s): %s", a.FQName, a.Name, r.Reason)}
}

// Run fails with the reason.
func (r Runtime) Run(_ context.Context, a runtime.Action, _ runtime.Progress) (*runtime.Result, error) {
	return nil, r.err(a)
}

// Attach fails the same way: nothing could have been started.
func (r Runtime) Attach(_ context.Context, a runtime.Action, _ runtime.Progress) (*runtime.Result, error) {
	return nil, r.err(a)
}

// Release has nothing to remove.
func (r Runtime) Release(context.Context, runtime.Action, bool) error { return nil }
