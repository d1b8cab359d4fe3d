package docker

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

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/api/pkg/stdcopy"
	"github.com/moby/moby/client"

	"github.com/openstack-service-broker/openstack-service-broker/pkg/runtime"
)

// Runtime 1 bundles (apb-base release-1.0) hand bind credentials over by
// exec: the playbook leaves them base64-encoded in /var/tmp/bind-creds and
// the container waits in bind-init until the broker has exec'ed
// broker-bind-creds, which prints and removes them (exit 2: not there).
var bindCredsCmd = []string{"broker-bind-creds"}

// execPollInterval paces the broker-bind-creds attempts (bind-init
// itself looks every 2 s).
const execPollInterval = 2 * time.Second

// execMaxFailures consecutive exec errors end the wait for credentials.
const execMaxFailures = 15

// maxExecOutput bounds what a bundle can make the broker read.
const maxExecOutput = 1 << 20

// wantsExecCredentials: the actions whose runtime 1 bundles hand over
// credentials by exec.
func wantsExecCredentials(runtimeVersion int, action string) bool {
	return runtimeVersion == 1 && (action == runtime.ActionProvision || action == runtime.ActionBind)
}

// execCredentials polls broker-bind-creds until it answers or ctx ends
// (the container exited). It returns nil credentials when the bundle gave
// none.
func (r *Runtime) execCredentials(ctx context.Context, sb *sandbox, log *slog.Logger) (map[string]any, error) {
	t := time.NewTicker(r.execEvery)
	defer t.Stop()
	failures := 0
	for {
		out, code, err := r.exec(ctx, sb.id, bindCredsCmd)
		if err == nil {
			failures = 0
		}
		switch {
		case err != nil && ctx.Err() == nil && cerrdefs.IsConflict(err):
			// Not running (yet, or any more): the wait for the container
			// says which.
		case err != nil && ctx.Err() == nil:
			log.Debug("broker-bind-creds not available", "container", sb.name, "err", err)
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

// exec runs cmd in the container and returns its standard output (at most
// maxExecOutput bytes) and exit code; err is for failures to run it at all.
func (r *Runtime) exec(ctx context.Context, id string, cmd []string) ([]byte, int, error) {
	ex, err := r.engine.ExecCreate(ctx, id, client.ExecCreateOptions{Cmd: cmd, AttachStdout: true, AttachStderr: true})
	if err != nil {
		return nil, 0, err
	}
	att, err := r.engine.ExecAttach(ctx, ex.ID, client.ExecAttachOptions{})
	if err != nil {
		return nil, 0, err
	}
	var stdout limitedBuffer
	_, err = stdcopy.StdCopy(&stdout, io.Discard, att.Reader)
	att.Close()
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, 0, fmt.Errorf("exec %s: %w", cmd[0], err)
	}
	// The stream ends as the process does; its exit code follows at once.
	for i := 0; ; i++ {
		in, err := r.engine.ExecInspect(ctx, ex.ID, client.ExecInspectOptions{})
		if err != nil {
			return nil, 0, err
		}
		if !in.Running || i == 50 {
			return stdout.Bytes(), in.ExitCode, nil
		}
		select {
		case <-ctx.Done():
			return nil, 0, ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// limitedBuffer keeps the first maxExecOutput bytes.
type limitedBuffer struct{ bytes.Buffer }

func (b *limitedBuffer) Write(p []byte) (int, error) {
	if room := maxExecOutput - b.Len(); room > 0 {
		b.Buffer.Write(p[:min(len(p), room)])
	}
	return len(p), nil
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
