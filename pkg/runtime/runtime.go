// Package runtime defines how the broker runs one action of one bundle. The
// implementations (Kubernetes pods, Docker containers, and an in-process
// runtime for tests) live in sub-packages; the broker only sees Runtime.
package runtime

import (
	"context"
	"errors"
)

// Actions a bundle implements (playbooks of the same name).
const (
	ActionProvision   = "provision"
	ActionUpdate      = "update"
	ActionDeprovision = "deprovision"
	ActionBind        = "bind"
	ActionUnbind      = "unbind"
	ActionTest        = "test"
)

// Action is one run of one bundle action.
type Action struct {
	// Name is provision, update, deprovision, bind, unbind or test.
	Name string
	// OperationID is the broker's operation token; runtimes label what they
	// create with it so that a restarted broker can find it again.
	OperationID string
	// Image is the bundle image; Runtime the bundle's runtime label (1 or 2).
	Image   string
	Runtime int
	// FQName is the catalog name <registry>-<bundle>.
	FQName     string
	InstanceID string
	BindingID  string
	// Namespace is the target namespace from the request context.
	Namespace string
	// ExtraVars is the whole --extra-vars JSON object: _apb_* vars,
	// namespace, cluster and the user's parameters.
	ExtraVars map[string]any
	// Secrets are names of Secrets (in the broker namespace) to mount at
	// /etc/apb-secrets/apb-<name> (Automation Broker's secrets: rules).
	Secrets []string
	// Clouds, for OpenStack bundles, is the Secret holding clouds.yaml
	// (and optionally secure.yaml); it is mounted like Secrets and
	// openstacksdk is pointed at it through OS_CLIENT_CONFIG_FILE,
	// OS_CLIENT_SECURE_FILE and OS_CLOUD (paths and names only: the
	// credentials stay in the mounted files).
	Clouds *Clouds
}

// Clouds names the OpenStack credentials of an action.
type Clouds struct {
	// Secret is in the broker namespace.
	Secret string
	// Cloud is OS_CLOUD; empty means the only cloud in clouds.yaml, if it
	// holds exactly one.
	Cloud string
}

// Result is what a finished action produced.
type Result struct {
	// Credentials are what asb_encode_binding stored (nil if none).
	Credentials map[string]any
	// DashboardURL from the apb_dashboard_url annotation.
	DashboardURL string
	// LastDescription is the last apb_last_operation annotation seen.
	LastDescription string
}

// Progress receives last_operation descriptions while an action runs.
type Progress func(description string)

// Runtime runs bundle actions.
type Runtime interface {
	// Name identifies the runtime in logs and errors ("kubernetes", ...).
	Name() string
	// Run starts the action and waits for it to finish. A failed action
	// returns an error whose text is safe to show the user; a bundle without
	// the action's playbook returns ErrActionNotFound.
	Run(ctx context.Context, a Action, progress Progress) (*Result, error)
	// Attach waits for an action started before a broker restart, found by
	// a.OperationID. It returns ErrNotStarted when nothing was started for
	// that operation, so the caller may Run it.
	Attach(ctx context.Context, a Action, progress Progress) (*Result, error)
	// Release removes what a finished action left (its sandbox), called
	// once the outcome is stored: until then a restarted broker finds the
	// result again with Attach instead of running the action twice.
	// failed says whether the action failed (keep_namespace_on_error).
	// Releasing an unknown operation does nothing.
	Release(ctx context.Context, a Action, failed bool) error
}

// Janitor is implemented by runtimes that can find what actions left
// behind (a broker that died while cleaning up): Reap cleans it up as
// Release would (removed, or marked kept where the configuration keeps
// sandboxes) unless known says the operation is still in flight. It
// returns how many sandboxes it cleaned up.
type Janitor interface {
	Reap(ctx context.Context, known func(operationID string) bool) (int, error)
}

var (
	// ErrActionNotFound: the bundle has no playbook for the action (exit 8).
	ErrActionNotFound = errors.New("bundle does not implement this action")
	// ErrNotStarted: Attach found nothing running for the operation.
	ErrNotStarted = errors.New("action was never started")
)

// ActionError is a failure the bundle reported (exit code, termination
// message); its Message is shown in last_operation.
type ActionError struct {
	ExitCode int
	Message  string
}

func (e *ActionError) Error() string { return e.Message }
