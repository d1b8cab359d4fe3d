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

// Action is one run of one bundle action. It says what the bundle gets
// in terms every runtime understands; each runtime decides how (a pod
// with Secret volumes, a container with bind mounts).
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
	// Target is where the request asked the bundle's work to go, as the
	// platform named it (the OSB context's namespace on Kubernetes and
	// OpenShift); empty when the request named none. A runtime that
	// scopes the bundle's rights grants them there.
	Target string
	// ExtraVars is the whole --extra-vars JSON object: _apb_* vars,
	// namespace, cluster and the user's parameters.
	ExtraVars map[string]any
	// SecretVars names the extra vars the bundle declares secret (its
	// password parameters). Their values, those under secret-looking
	// names and the credentials never reach a log or a description.
	SecretVars []string
	// Mounts are the files the broker gives the bundle (Automation
	// Broker's secrets: rules, OpenStack credentials), each read-only.
	Mounts []Mount
	// Env are environment variables for the bundle. They hold paths and
	// names only, never secret values: those stay in mounted files.
	Env []EnvVar
}

// Mount makes the files of a named source appear read-only in the sandbox.
type Mount struct {
	// Source is the logical name of a set of files, which each runtime
	// resolves its own way within Scope (Kubernetes: the Secret of that
	// name in the broker namespace, or in the action's Target namespace,
	// copied into the sandbox).
	Source string
	// Scope says whose sources Source names: the broker's own (the
	// default) or the action's Target's.
	Scope MountScope
	// Path is the directory in the sandbox where the source's files
	// appear, one file per key of the source.
	Path string
	// Env, when set, derives environment variables from the source's
	// files (file name to content) once the runtime has read them, for
	// variables that depend on what the source holds (which files, which
	// entries). What it returns goes into the sandbox's environment, so it
	// returns paths and names only, never file content.
	Env func(files map[string][]byte) []EnvVar
}

// MountScope says where a runtime looks a Mount's Source up.
type MountScope string

const (
	// ScopeBroker: among the broker's own sources (Kubernetes: Secrets in
	// the broker namespace, openshift.namespace).
	ScopeBroker MountScope = ""
	// ScopeTarget: among the sources of the action's Target, and nowhere
	// else (Kubernetes: a Secret in the namespace the request named), for
	// credentials a tenant brings itself: a tenant names only its own
	// sources, never the broker's or another tenant's. An action without a
	// Target cannot have such a mount and fails.
	ScopeTarget MountScope = "target"
)

// EnvVar is one environment variable of the bundle.
type EnvVar struct {
	Name, Value string
}

// Result is what a finished action produced.
type Result struct {
	// Credentials are what asb_encode_binding stored (nil if none).
	Credentials map[string]any
	// DashboardURL from the apb_dashboard_url annotation.
	DashboardURL string
	// LastDescription is the last apb_last_operation annotation seen.
	LastDescription string
	// Test is what the test action recorded with asb_save_test_result
	// (nil when nothing was, or the runtime cannot read it back).
	Test *TestResult
}

// TestResult is the outcome of a bundle's test action.
type TestResult struct {
	// Failed is set when any record said the test failed.
	Failed bool
	// Messages are the records' messages, in order.
	Messages []string
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
