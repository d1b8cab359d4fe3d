package docker

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/openstack-service-broker/openstack-service-broker/pkg/runtime"
)

// PullPolicy says when the runtime pulls a bundle image, as Kubernetes'
// imagePullPolicy does.
type PullPolicy string

const (
	PullIfNotPresent PullPolicy = "IfNotPresent"
	PullAlways       PullPolicy = "Always"
	PullNever        PullPolicy = "Never"
)

// NetworkHost is the default network mode. Local use is what the Docker
// runtime is for, and there the services a bundle talks to listen on the
// host's loopback: the OpenStack emulator, a local registry, a cluster's
// API server on 127.0.0.1. In a bridge network 127.0.0.1 is the
// container's own, so a clouds.yaml saying http://127.0.0.1:5000 would
// reach nothing; in the host's network it reaches what the user's own
// `openstack` CLI reaches. Debian's engine may also run without a usable
// bridge (no iptables), where host networking is the one that works.
const NetworkHost = "host"

// Config tunes the runtime. The zero value works: host network,
// IfNotPresent, containers removed, one hour per action, no mounts
// resolvable (an action with mounts needs Sources or SecretsDir).
type Config struct {
	// BrokerID labels every container; Release and Reap touch only the
	// containers of this id, so brokers (and `apb run`) sharing an engine
	// leave each other's alone. Default "default".
	BrokerID string
	// Sources maps a mount's Source to the host directory holding its
	// files (one file per key); a source not in it is SecretsDir/<source>.
	Sources    map[string]string
	SecretsDir string
	// WorkDir holds one private directory (mode 0700) per action: the copy
	// of its sources that the container mounts read-only, and its results
	// directory. The Docker engine must see the same path (the broker runs
	// on the engine's host). Default: <os.TempDir()>/openstack-service-broker-<uid>/docker.
	WorkDir string
	// Network is the container's network mode: host (default, see
	// NetworkHost), bridge, none, or the name of a network.
	Network string
	// PullPolicy: IfNotPresent (default), Always or Never.
	PullPolicy PullPolicy
	// KeepContainer keeps every finished container and its directory;
	// KeepContainerOnError keeps those of failed actions (for debugging).
	// Kept containers are stopped and renamed <name>-kept; the janitor
	// leaves them to the operator.
	KeepContainer        bool
	KeepContainerOnError bool
	// Memory limits the container (bytes; 0: no limit); CPUs limits its
	// CPU time (cores, e.g. 0.5; 0: no limit).
	Memory int64
	CPUs   float64
	// Timeout bounds one action from container creation to its exit;
	// the container is killed then. Default one hour.
	Timeout time.Duration
	// Cluster is the `cluster` extra var when the action has none:
	// "kubernetes" (default) or "openshift", as on Kubernetes.
	Cluster string
	// ExtraEnv is added to the bundle's environment.
	ExtraEnv []runtime.EnvVar
	// Proxy values reach the bundle as HTTP_PROXY/HTTPS_PROXY/NO_PROXY and
	// their lowercase twins.
	HTTPProxy, HTTPSProxy, NoProxy string
	// Output, when set, gets every line the bundle prints, redacted, as it
	// prints it (operation id, line): `apb run` streams the playbook to a
	// terminal with it. The broker's log gets the lines at debug level
	// either way.
	Output func(operationID, line string)
	// Trace, when set, is told when each phase of an action is reached
	// (bench/docker measures the broker's overhead with it).
	Trace func(operationID string, phase Phase, at time.Time)
	// EngineGrace is how long an action waits for an engine that stopped
	// answering to come back before it fails (default 30 s).
	EngineGrace time.Duration
	// PollInterval paces the reads of the results directory for progress
	// (default 500 ms).
	PollInterval time.Duration
}

// Phase names a point in an action's life, for Config.Trace.
type Phase string

const (
	PhaseStart            Phase = "start"             // Run called
	PhaseContainerCreated Phase = "container-created" // the engine accepted the container
	PhaseContainerStarted Phase = "container-started" // the engine started it
	PhaseContainerExited  Phase = "container-exited"  // the wait returned
	PhaseDone             Phase = "done"              // result read (the container waits for Release)
)

func (c *Config) withDefaults() (Config, error) {
	d := *c
	if d.BrokerID == "" {
		d.BrokerID = "default"
	}
	if d.Network == "" {
		d.Network = NetworkHost
	}
	switch d.PullPolicy {
	case "":
		d.PullPolicy = PullIfNotPresent
	case PullIfNotPresent, PullAlways, PullNever:
	default:
		return d, fmt.Errorf("image pull policy %q: want Always, IfNotPresent or Never", d.PullPolicy)
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
	if d.EngineGrace <= 0 {
		d.EngineGrace = 30 * time.Second
	}
	if d.PollInterval <= 0 {
		d.PollInterval = 500 * time.Millisecond
	}
	if d.Memory < 0 {
		return d, fmt.Errorf("memory limit %d: must not be negative", d.Memory)
	}
	if d.CPUs < 0 {
		return d, fmt.Errorf("cpu limit %g: must not be negative", d.CPUs)
	}
	if d.WorkDir == "" {
		d.WorkDir = filepath.Join(os.TempDir(), fmt.Sprintf("openstack-service-broker-%d", os.Getuid()), "docker")
	}
	if !filepath.IsAbs(d.WorkDir) {
		return d, fmt.Errorf("work dir %q: must be an absolute path (the engine resolves bind mounts on its host)", d.WorkDir)
	}
	for name, dir := range d.Sources {
		if !filepath.IsAbs(dir) {
			return d, fmt.Errorf("source %q: directory %q must be an absolute path", name, dir)
		}
	}
	if d.SecretsDir != "" && !filepath.IsAbs(d.SecretsDir) {
		return d, fmt.Errorf("secrets dir %q: must be an absolute path", d.SecretsDir)
	}
	return d, nil
}

// sourceDir is the host directory of a mount's source.
func (c *Config) sourceDir(source string) (string, error) {
	if d, ok := c.Sources[source]; ok {
		return d, nil
	}
	if source == "" || source == "." || source == ".." || strings.ContainsAny(source, `/\`) {
		return "", fmt.Errorf("source %q is not a directory name", source)
	}
	if c.SecretsDir == "" {
		return "", fmt.Errorf("no directory for source %q: neither sources nor secrets_dir names one", source)
	}
	return filepath.Join(c.SecretsDir, source), nil
}
