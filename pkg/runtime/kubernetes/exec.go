package kubernetes

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/httpstream"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/remotecommand"
	utilexec "k8s.io/client-go/util/exec"

	"github.com/openstack-service-broker/openstack-service-broker/pkg/runtime"
)

// Executor runs a command in a running container (pods/exec) and returns
// its standard output and exit code; err is for failures to run it at all.
type Executor interface {
	Exec(ctx context.Context, namespace, pod, container string, cmd []string) (stdout []byte, exitCode int, err error)
}

// maxExecOutput bounds what a bundle can make the broker read.
const maxExecOutput = 1 << 20

// apiExecutor execs through the API server as kubectl does: WebSocket,
// falling back to SPDY on servers that refuse the upgrade.
type apiExecutor struct {
	rc     *rest.Config
	client kubernetes.Interface
}

// NewExecutor returns the Executor for the cluster of rc.
func NewExecutor(rc *rest.Config, client kubernetes.Interface) Executor {
	return &apiExecutor{rc: rc, client: client}
}

func (e *apiExecutor) Exec(ctx context.Context, namespace, pod, container string, cmd []string) ([]byte, int, error) {
	req := e.client.CoreV1().RESTClient().Post().Resource("pods").Namespace(namespace).Name(pod).SubResource("exec").
		VersionedParams(&corev1.PodExecOptions{Container: container, Command: cmd, Stdout: true, Stderr: true}, scheme.ParameterCodec)
	ws, err := remotecommand.NewWebSocketExecutor(e.rc, "GET", req.URL().String())
	if err != nil {
		return nil, 0, fmt.Errorf("exec %s: %w", cmd[0], err)
	}
	spdy, err := remotecommand.NewSPDYExecutor(e.rc, "POST", req.URL())
	if err != nil {
		return nil, 0, fmt.Errorf("exec %s: %w", cmd[0], err)
	}
	ex, err := remotecommand.NewFallbackExecutor(ws, spdy, func(err error) bool {
		return httpstream.IsUpgradeFailure(err) || httpstream.IsHTTPSProxyError(err)
	})
	if err != nil {
		return nil, 0, fmt.Errorf("exec %s: %w", cmd[0], err)
	}
	var stdout limitedBuffer
	err = ex.StreamWithContext(ctx, remotecommand.StreamOptions{Stdout: &stdout, Stderr: io.Discard})
	var exit utilexec.CodeExitError
	switch {
	case err == nil:
		return stdout.Bytes(), 0, nil
	case errors.As(err, &exit):
		return stdout.Bytes(), exit.ExitStatus(), nil
	}
	return nil, 0, fmt.Errorf("exec %s in %s/%s: %w", cmd[0], namespace, pod, err)
}

// limitedBuffer keeps the first maxExecOutput bytes.
type limitedBuffer struct{ bytes.Buffer }

func (b *limitedBuffer) Write(p []byte) (int, error) {
	if room := maxExecOutput - b.Len(); room > 0 {
		b.Buffer.Write(p[:min(len(p), room)])
	}
	return len(p), nil
}

// Runtime 1 bundles (apb-base release-1.0) hand bind credentials over by
// exec: the playbook leaves them base64-encoded in /var/tmp/bind-creds and
// the container waits in bind-init until the broker has exec'ed
// broker-bind-creds, which prints and removes them (exit 2: not there).
var bindCredsCmd = []string{"broker-bind-creds"}

// execPollInterval paces the broker-bind-creds attempts (bind-init
// itself looks every 2 s).
const execPollInterval = 2 * time.Second

// execMaxFailures consecutive exec errors (30 s at execPollInterval) end
// the wait for credentials.
const execMaxFailures = 15

// wantsExecCredentials: the actions whose runtime 1 bundles hand over
// credentials by exec.
func wantsExecCredentials(runtimeVersion int, action string) bool {
	return runtimeVersion == 1 && (action == runtime.ActionProvision || action == runtime.ActionBind)
}

// execCredentials polls broker-bind-creds once the container runs, until
// it answers or ctx ends (the pod finished). It returns nil credentials
// when the bundle gave none.
func (r *Runtime) execCredentials(ctx context.Context, sb *sandbox, log *slog.Logger) (map[string]any, error) {
	if r.cfg.Exec == nil {
		return nil, errors.New("the bundle is runtime 1 (credentials by exec) but the runtime has no executor")
	}
	select {
	case <-sb.started:
	case <-ctx.Done():
		return nil, nil
	}
	t := time.NewTicker(r.execEvery)
	defer t.Stop()
	failures := 0
	for {
		out, code, err := r.cfg.Exec.Exec(ctx, sb.namespace, sb.pod, containerName, bindCredsCmd)
		if err == nil {
			failures = 0
		}
		switch {
		case err != nil && ctx.Err() == nil:
			// The container may be between start and ready: retried, but
			// an exec that keeps failing (pods/exec forbidden, say) is
			// reported rather than waited on until the action times out.
			log.Debug("broker-bind-creds not available", "pod", sb.pod, "err", err)
			if failures++; failures >= execMaxFailures {
				return nil, fmt.Errorf("cannot exec broker-bind-creds for the bundle's credentials: %w", err)
			}
		case err == nil && code == 0:
			return decodeExecCredentials(out)
		case err == nil && code != 2:
			return nil, fmt.Errorf("broker-bind-creds exited %d", code)
		}
		select {
		case <-ctx.Done():
			return nil, nil
		case <-t.C:
		}
	}
}

// decodeExecCredentials reads broker-bind-creds' output: base64 of a JSON
// object. The message never quotes it: it is the credentials.
func decodeExecCredentials(out []byte) (map[string]any, error) {
	raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(string(out)))
	if err != nil {
		return nil, errors.New("broker-bind-creds printed no base64")
	}
	var creds map[string]any
	if err := json.Unmarshal(raw, &creds); err != nil {
		return nil, errors.New("broker-bind-creds printed no JSON object")
	}
	return creds, nil
}
