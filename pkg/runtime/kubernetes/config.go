package kubernetes

import (
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
)

// Config tunes the runtime. The zero value works: edit role, IfNotPresent,
// sandboxes deleted, one hour per action.
type Config struct {
	// SandboxRole is the ClusterRole the bundle's service account gets in
	// the sandbox and in the target namespace (openshift.sandbox_role).
	SandboxRole string
	// ImagePullPolicy of the bundle pod (openshift.image_pull_policy).
	ImagePullPolicy corev1.PullPolicy
	// KeepNamespace keeps every sandbox; KeepNamespaceOnError keeps those of
	// failed actions (for debugging).
	KeepNamespace        bool
	KeepNamespaceOnError bool
	// BrokerNamespace holds the Secrets an action's mounts name (their
	// Source): openshift.namespace.
	BrokerNamespace string
	// BrokerID labels every sandbox; Reap touches only sandboxes of the
	// same id, so brokers with stores of their own can share a cluster
	// (replicas sharing one etcd share the id).
	BrokerID string
	// Cluster is the `cluster` extra var when the action has none:
	// "kubernetes" (default) or "openshift".
	Cluster string
	// Resources of the bundle container.
	Resources corev1.ResourceRequirements
	// Timeout bounds one action from sandbox creation to pod completion.
	Timeout time.Duration
	// ExtraEnv is added to the bundle container (test clusters without
	// kube-proxy need KUBERNETES_SERVICE_HOST/PORT here).
	ExtraEnv []corev1.EnvVar
	// Proxy values reach the bundle as HTTP_PROXY/HTTPS_PROXY/NO_PROXY and
	// their lowercase twins, as bundle-lib did with the broker's own.
	HTTPProxy, HTTPSProxy, NoProxy string
	// HostNetwork runs bundle pods in the node's network (one-node test
	// clusters without a pod network).
	HostNetwork bool
	// Exec runs commands in bundle containers: runtime 1 bundles hand
	// their bind credentials over that way (NewExecutor). Without it such
	// bundles' provision and bind fail with a clear error.
	Exec Executor
	// Trace, when set, is told when each phase of an action is reached
	// (bench/runtime measures the broker's overhead with it).
	Trace func(operationID string, phase Phase, at time.Time)
}

// Phase names a point in an action's life, for Config.Trace.
type Phase string

const (
	PhaseStart       Phase = "start"        // Run called
	PhasePodCreated  Phase = "pod-created"  // the API server accepted the pod
	PhasePodFinished Phase = "pod-finished" // the watch saw Succeeded/Failed
	PhaseDone        Phase = "done"         // result read (the sandbox waits for Release)
	PhaseReleased    Phase = "released"     // Release returned (after the outcome was stored)
)

func (c *Config) withDefaults() (Config, error) {
	d := *c
	if d.SandboxRole == "" {
		d.SandboxRole = "edit"
	}
	switch d.ImagePullPolicy {
	case "":
		d.ImagePullPolicy = corev1.PullIfNotPresent
	case corev1.PullAlways, corev1.PullIfNotPresent, corev1.PullNever:
	default:
		return d, fmt.Errorf("image pull policy %q: want Always, IfNotPresent or Never", d.ImagePullPolicy)
	}
	switch d.Cluster {
	case "":
		d.Cluster = "kubernetes"
	case "kubernetes", "openshift":
	default:
		return d, fmt.Errorf("cluster %q: want kubernetes or openshift", d.Cluster)
	}
	if d.Timeout <= 0 {
		d.Timeout = time.Hour
	}
	return d, nil
}
