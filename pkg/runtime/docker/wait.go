package docker

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/api/pkg/stdcopy"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"

	"github.com/openstack-service-broker/openstack-service-broker/pkg/runtime"
)

// wait blocks until the container has exited, reporting each new
// last_operation description the bundle writes through progress, and
// returns the container's final state, and whether the engine was lost
// meanwhile. An engine that stops answering is waited for up to
// EngineGrace: one that comes back (a restart, a network blip) tells what
// became of the container.
func (r *Runtime) wait(ctx context.Context, sb *sandbox, res *runtime.Result, progress runtime.Progress, log *slog.Logger) (*container.State, bool, error) {
	tick := time.NewTicker(r.cfg.PollInterval)
	defer tick.Stop()
	lost := false
	for {
		waitCtx, stop := context.WithCancel(ctx)
		wr := r.engine.ContainerWait(waitCtx, sb.id, client.ContainerWaitOptions{Condition: container.WaitConditionNotRunning})
		var waitErr error
	loop:
		for {
			select {
			case <-ctx.Done():
				stop()
				return nil, lost, ctx.Err()
			case <-tick.C:
				r.pollProgress(sb, res, progress)
			case <-wr.Result:
				break loop
			case waitErr = <-wr.Error:
				break loop
			}
		}
		stop()
		if waitErr != nil && ctx.Err() != nil {
			return nil, lost, ctx.Err()
		}
		if waitErr != nil {
			lost = true
			log.Warn("waiting for the bundle container failed", "container", sb.name, "err", waitErr)
		}
		st, err := r.state(ctx, sb, waitErr, log)
		if err != nil {
			return nil, lost, err
		}
		if st.Running || st.Restarting || st.Paused {
			continue // the engine came back with the container running
		}
		return st, lost, nil
	}
}

// state inspects the container after its wait ended, waiting up to
// EngineGrace for an engine that does not answer. cause is the wait's
// error, if it had one.
func (r *Runtime) state(ctx context.Context, sb *sandbox, cause error, log *slog.Logger) (*container.State, error) {
	deadline := time.Now().Add(r.cfg.EngineGrace)
	delay := 200 * time.Millisecond
	for {
		in, err := r.engine.ContainerInspect(ctx, sb.id, client.ContainerInspectOptions{})
		switch {
		case err == nil && in.Container.State != nil:
			return in.Container.State, nil
		case err == nil:
			return nil, fmt.Errorf("the Docker engine reports no state for bundle container %s", sb.name)
		case cerrdefs.IsNotFound(err):
			return nil, fmt.Errorf("bundle container %s was removed before it finished", sb.name)
		case ctx.Err() != nil:
			return nil, ctx.Err()
		}
		if cause == nil {
			cause = err
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("the Docker engine at %s stopped answering while bundle container %s ran (waited %s): %v",
				r.engine.DaemonHost(), sb.name, r.cfg.EngineGrace, cause)
		}
		log.Debug("the Docker engine does not answer; retrying", "container", sb.name, "err", err)
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(delay):
		}
		delay = min(2*delay, 2*time.Second)
	}
}

// maxLogLine bounds one line of the bundle's output.
const maxLogLine = 1 << 20

// streamLogs copies the bundle's output, redacted, into the broker's log
// at debug level and to Config.Output, line by line. The stream ends when
// the container does.
func (r *Runtime) streamLogs(ctx context.Context, sb *sandbox, log *slog.Logger) {
	rc, err := r.engine.ContainerLogs(ctx, sb.id, client.ContainerLogsOptions{ShowStdout: true, ShowStderr: true, Follow: true})
	if err != nil {
		log.Debug("bundle output not available", "container", sb.name, "err", err)
		return
	}
	defer rc.Close()
	emit := func(line string) {
		line = sb.red.String(line)
		log.Debug("bundle", "container", sb.name, "line", line)
		if r.cfg.Output != nil {
			r.cfg.Output(sb.op, line)
		}
	}
	// stdout and stderr each through a pipe of its own, so that their
	// partial lines never mix.
	outR, outW := io.Pipe()
	errR, errW := io.Pipe()
	done := make(chan struct{}, 2)
	scan := func(rd io.Reader) {
		sc := bufio.NewScanner(rd)
		sc.Buffer(make([]byte, 64*1024), maxLogLine)
		for sc.Scan() {
			emit(sc.Text())
		}
		// A line too long for the scanner: drain the rest so the copy ends.
		_, _ = io.Copy(io.Discard, rd)
		done <- struct{}{}
	}
	go scan(outR)
	go scan(errR)
	_, err = stdcopy.StdCopy(outW, errW, rc)
	outW.Close()
	errW.Close()
	<-done
	<-done
	if err != nil && ctx.Err() == nil && !errors.Is(err, io.EOF) {
		log.Debug("bundle output stream ended", "container", sb.name, "err", err)
	}
}
