package docker

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"

	"github.com/openstack-service-broker/openstack-service-broker/pkg/redact"
	"github.com/openstack-service-broker/openstack-service-broker/pkg/runtime"
)

// Engine is what the runtime needs of a Docker engine: *client.Client
// (NewClient) implements it.
type Engine interface {
	ContainerCreate(ctx context.Context, options client.ContainerCreateOptions) (client.ContainerCreateResult, error)
	ContainerStart(ctx context.Context, id string, options client.ContainerStartOptions) (client.ContainerStartResult, error)
	ContainerWait(ctx context.Context, id string, options client.ContainerWaitOptions) client.ContainerWaitResult
	ContainerInspect(ctx context.Context, id string, options client.ContainerInspectOptions) (client.ContainerInspectResult, error)
	ContainerList(ctx context.Context, options client.ContainerListOptions) (client.ContainerListResult, error)
	ContainerLogs(ctx context.Context, id string, options client.ContainerLogsOptions) (client.ContainerLogsResult, error)
	ContainerKill(ctx context.Context, id string, options client.ContainerKillOptions) (client.ContainerKillResult, error)
	ContainerRemove(ctx context.Context, id string, options client.ContainerRemoveOptions) (client.ContainerRemoveResult, error)
	ContainerRename(ctx context.Context, id string, options client.ContainerRenameOptions) (client.ContainerRenameResult, error)
	ExecCreate(ctx context.Context, id string, options client.ExecCreateOptions) (client.ExecCreateResult, error)
	ExecAttach(ctx context.Context, execID string, options client.ExecAttachOptions) (client.ExecAttachResult, error)
	ExecInspect(ctx context.Context, execID string, options client.ExecInspectOptions) (client.ExecInspectResult, error)
	ImageInspect(ctx context.Context, image string, options ...client.ImageInspectOption) (client.ImageInspectResult, error)
	ImagePull(ctx context.Context, ref string, options client.ImagePullOptions) (client.ImagePullResponse, error)
	DaemonHost() string
}

// NewClient connects to the engine at host (unix:///var/run/docker.sock,
// tcp://...), or where DOCKER_HOST (and DOCKER_TLS_VERIFY,
// DOCKER_CERT_PATH) say when host is empty. The API version is negotiated
// with the engine on the first call.
func NewClient(host string) (*client.Client, error) {
	opts := []client.Opt{client.FromEnv}
	if host != "" {
		opts = append(opts, client.WithHost(host))
	}
	c, err := client.New(opts...)
	if err != nil {
		return nil, fmt.Errorf("docker client for %q: %w", host, err)
	}
	return c, nil
}

// exitNotImplemented is apb-base's exit code for a missing playbook.
const exitNotImplemented = 8

// cleanupTimeout bounds the engine calls that remove or stop a container,
// which run even when the action's own deadline has passed.
const cleanupTimeout = 30 * time.Second

var errTimeout = errors.New("action timed out")

// Runtime runs actions as containers on an engine.
type Runtime struct {
	cfg    Config
	engine Engine
	log    *slog.Logger

	execEvery time.Duration // execPollInterval; shorter in unit tests
}

var (
	_ runtime.Runtime = (*Runtime)(nil)
	_ runtime.Janitor = (*Runtime)(nil)
)

// New checks cfg and returns a Runtime using engine (NewClient).
func New(cfg Config, engine Engine, log *slog.Logger) (*Runtime, error) {
	c, err := cfg.withDefaults()
	if err != nil {
		return nil, fmt.Errorf("docker runtime: %w", err)
	}
	if engine == nil {
		return nil, errors.New("docker runtime: no engine")
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Runtime{cfg: c, engine: engine, log: log.With("runtime", "docker"), execEvery: execPollInterval}, nil
}

func (r *Runtime) Name() string { return "docker" }

// sandbox is what one action made: its container and directory.
type sandbox struct {
	op     string
	id     string // container id
	name   string // container name (POD_NAME)
	work   string // the action's directory
	target string
	red    *redact.Text
}

func (r *Runtime) trace(op string, p Phase) {
	if r.cfg.Trace != nil {
		r.cfg.Trace(op, p, time.Now())
	}
}

// Run creates and starts the container, waits for it and reads the
// result; the container stays until Release. When ctx is cancelled (the
// broker stops) the container is left running for Attach after the
// restart.
func (r *Runtime) Run(ctx context.Context, a runtime.Action, progress runtime.Progress) (*runtime.Result, error) {
	r.trace(a.OperationID, PhaseStart)
	if a.OperationID == "" {
		return nil, errors.New("docker runtime: action has no operation id")
	}
	runCtx, cancel := context.WithTimeoutCause(ctx, r.cfg.Timeout, errTimeout)
	defer cancel()
	log := r.log.With("operation", a.OperationID, "action", a.Name, "bundle", a.FQName)

	sb, err := r.create(runCtx, a, log)
	if err != nil {
		if sb != nil && ctx.Err() == nil {
			r.cleanup(ctx, sb, true, log)
		}
		if errors.Is(context.Cause(runCtx), errTimeout) {
			return nil, fmt.Errorf("%s did not start within %s: %w", a.Name, r.cfg.Timeout, err)
		}
		return nil, err
	}
	log.Info("bundle container started", "container", sb.name, "id", shortID(sb.id))
	return r.follow(ctx, runCtx, a, sb, progress, log)
}

// create checks the image, copies the sources, and creates and starts the
// container. On error the returned sandbox (if any) holds what exists so
// the caller can remove it.
func (r *Runtime) create(ctx context.Context, a runtime.Action, log *slog.Logger) (*sandbox, error) {
	// The sources first: a missing one fails before anything exists.
	sources, err := r.readSources(a)
	if err != nil {
		return nil, err
	}
	if err := r.ensureImage(ctx, a.Image, log); err != nil {
		return nil, err
	}
	name := containerName(a.FQName, a.Name)
	sb := &sandbox{op: a.OperationID, name: name, work: filepath.Join(r.brokerDir(), name), target: a.Target, red: &redact.Text{}}
	// The credentials are under _apb_provision_creds and _apb_bind_creds,
	// names that look secret: all of them count.
	sb.red.AddUnder(a.ExtraVars, redact.Names(a.SecretVars...))
	files := map[string]map[string][]byte{}
	for _, s := range sources {
		sb.red.Add(s.files)
		files[s.name] = s.files
	}

	mounts, err := prepareWork(sb.work, a, sources)
	if err != nil {
		if !errors.Is(err, os.ErrExist) {
			return sb, err
		}
		return nil, err // another action's directory: not ours to remove
	}
	cfg, err := r.containerConfig(a, sb, files)
	if err != nil {
		return sb, err
	}
	host := &container.HostConfig{
		NetworkMode:   container.NetworkMode(r.cfg.Network),
		Mounts:        mounts,
		RestartPolicy: container.RestartPolicy{Name: container.RestartPolicyDisabled},
		Resources: container.Resources{
			Memory: r.cfg.Memory,
			// No swap beyond the limit, as on Kubernetes.
			MemorySwap: r.cfg.Memory,
			NanoCPUs:   int64(r.cfg.CPUs * 1e9),
		},
	}
	created, err := r.engine.ContainerCreate(ctx, client.ContainerCreateOptions{Name: name, Config: cfg, HostConfig: host})
	if err != nil {
		if cerrdefs.IsNotFound(err) {
			// The image went between the check and the create.
			return sb, &runtime.ActionError{ExitCode: -1, Message: fmt.Sprintf("bundle image %s is not on the Docker engine", a.Image)}
		}
		return sb, fmt.Errorf("creating the bundle container: %w", engineError(r.engine, err))
	}
	sb.id = created.ID
	for _, w := range created.Warnings {
		log.Warn("docker: "+w, "container", name)
	}
	r.trace(a.OperationID, PhaseContainerCreated)
	if _, err := r.engine.ContainerStart(ctx, sb.id, client.ContainerStartOptions{}); err != nil {
		return sb, fmt.Errorf("starting the bundle container %s: %w", name, engineError(r.engine, err))
	}
	r.trace(a.OperationID, PhaseContainerStarted)
	return sb, nil
}

// containerConfig is bundle-lib's pod as a container: args <action>
// --extra-vars <json>, POD_NAME (the container's name) and POD_NAMESPACE
// (the target, when there is one), the results directory, the mounts'
// environment, labels that find it again.
func (r *Runtime) containerConfig(a runtime.Action, sb *sandbox, files map[string]map[string][]byte) (*container.Config, error) {
	vars := make(map[string]any, len(a.ExtraVars)+2)
	for k, v := range a.ExtraVars {
		vars[k] = v
	}
	if _, ok := vars["cluster"]; !ok {
		vars["cluster"] = r.cfg.Cluster
	}
	if _, ok := vars["namespace"]; !ok && a.Target != "" {
		vars["namespace"] = a.Target
	}
	extra, err := json.Marshal(vars)
	if err != nil {
		// The message names no value: extra vars may hold passwords.
		return nil, fmt.Errorf("encoding the extra vars of %s: %v", a.Name, err)
	}
	env := []string{"POD_NAME=" + sb.name, ResultsEnv + "=" + ResultsPath}
	if a.Target != "" {
		env = append(env, "POD_NAMESPACE="+a.Target)
	}
	for _, p := range []struct{ name, value string }{
		{"HTTP_PROXY", r.cfg.HTTPProxy}, {"HTTPS_PROXY", r.cfg.HTTPSProxy}, {"NO_PROXY", r.cfg.NoProxy},
	} {
		if p.value != "" {
			env = append(env, p.name+"="+p.value, strings.ToLower(p.name)+"="+p.value)
		}
	}
	for _, m := range a.Mounts {
		if m.Env != nil {
			for _, e := range m.Env(files[m.Source]) {
				env = append(env, e.Name+"="+e.Value)
			}
		}
	}
	for _, e := range a.Env {
		env = append(env, e.Name+"="+e.Value)
	}
	for _, e := range r.cfg.ExtraEnv {
		env = append(env, e.Name+"="+e.Value)
	}
	return &container.Config{
		Image:  a.Image,
		Cmd:    []string{a.Name, "--extra-vars", string(extra)},
		Env:    env,
		Labels: r.labels(a, sb),
	}, nil
}

func (r *Runtime) labels(a runtime.Action, sb *sandbox) map[string]string {
	l := map[string]string{
		LabelFQName:    a.FQName,
		LabelAction:    a.Name,
		LabelPodName:   sb.name,
		LabelManagedBy: ManagedBy,
		LabelBroker:    r.cfg.BrokerID,
		LabelOperation: a.OperationID,
		LabelInstance:  a.InstanceID,
		LabelWorkDir:   sb.work,
	}
	if a.BindingID != "" {
		l[LabelBinding] = a.BindingID
	}
	if a.Target != "" {
		l[LabelTargetNamespace] = a.Target
	}
	return l
}

// ownFilters select this broker's containers.
func (r *Runtime) ownFilters() client.Filters {
	return client.Filters{}.Add("label", LabelManagedBy+"="+ManagedBy, LabelBroker+"="+r.cfg.BrokerID)
}

// opContainers lists the containers of an operation, newest first,
// without the kept ones.
func (r *Runtime) opContainers(ctx context.Context, op string) ([]container.Summary, error) {
	l, err := r.engine.ContainerList(ctx, client.ContainerListOptions{All: true, Filters: r.ownFilters().Add("label", LabelOperation+"="+op)})
	if err != nil {
		return nil, fmt.Errorf("looking for the container of operation %s: %w", op, engineError(r.engine, err))
	}
	out := l.Items[:0]
	for _, c := range l.Items {
		if !strings.HasSuffix(summaryName(c), KeptSuffix) {
			out = append(out, c)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Created > out[j].Created })
	return out, nil
}

func summaryName(c container.Summary) string {
	if len(c.Names) == 0 {
		return ""
	}
	return strings.TrimPrefix(c.Names[0], "/")
}

// sandboxOf is the sandbox a listed container stands for.
func sandboxOf(c container.Summary) *sandbox {
	return &sandbox{op: c.Labels[LabelOperation], id: c.ID, name: summaryName(c), work: c.Labels[LabelWorkDir], target: c.Labels[LabelTargetNamespace]}
}

// Attach finds the container of an operation started before a restart by
// its label and waits for it as Run would have.
func (r *Runtime) Attach(ctx context.Context, a runtime.Action, progress runtime.Progress) (*runtime.Result, error) {
	log := r.log.With("operation", a.OperationID, "action", a.Name, "bundle", a.FQName)
	cs, err := r.opContainers(ctx, a.OperationID)
	if err != nil {
		return nil, err
	}
	if len(cs) == 0 {
		return nil, runtime.ErrNotStarted
	}
	// Newest first: an earlier attempt may have left one behind.
	c := cs[0]
	sb := sandboxOf(c)
	if c.State == container.StateCreated {
		// The broker stopped between creating and starting it: nothing ran.
		log.Info("container never started: removing it", "container", sb.name)
		r.remove(ctx, sb, log)
		return nil, runtime.ErrNotStarted
	}
	sb.red = &redact.Text{}
	// The credentials are under _apb_provision_creds and _apb_bind_creds,
	// names that look secret: all of them count.
	sb.red.AddUnder(a.ExtraVars, redact.Names(a.SecretVars...))
	for _, files := range readCopies(sb.work) {
		sb.red.Add(files)
	}
	log.Info("re-attached to bundle container", "container", sb.name, "state", c.State)
	// The timeout counts from the container's creation, as it would have
	// without the restart; one that finished meanwhile is read as it is.
	left := r.cfg.Timeout - time.Since(time.Unix(c.Created, 0))
	if c.State != container.StateRunning {
		left = r.cfg.Timeout
	}
	runCtx, cancel := context.WithTimeoutCause(ctx, max(left, time.Second), errTimeout)
	defer cancel()
	return r.follow(ctx, runCtx, a, sb, progress, log)
}

// follow waits for the container and reads its result. The container
// stays for Release.
func (r *Runtime) follow(ctx, runCtx context.Context, a runtime.Action, sb *sandbox, progress runtime.Progress, log *slog.Logger) (*runtime.Result, error) {
	logsDone := make(chan struct{})
	if r.cfg.Output != nil || log.Enabled(ctx, slog.LevelDebug) {
		// The stream ends by itself when the container exits; it gets a
		// context of its own so that a broker stopping does not cut the
		// last lines, bounded so that it never outlives the action long.
		logCtx, stop := context.WithTimeout(context.WithoutCancel(ctx), r.cfg.Timeout+time.Minute)
		go func() {
			defer close(logsDone)
			defer stop()
			r.streamLogs(logCtx, sb, log)
		}()
	} else {
		close(logsDone)
	}

	// Runtime 1 bundles wait in bind-init for the broker to exec the
	// credentials out; when that cannot be done the wait ends with the reason.
	waitCtx, stopWait := context.WithCancelCause(runCtx)
	defer stopWait(nil)
	var execDone chan execOutcome
	stopExec := func() {}
	if wantsExecCredentials(a.Runtime, a.Name) {
		var execCtx context.Context
		execCtx, stopExec = context.WithCancel(runCtx)
		defer stopExec()
		execDone = make(chan execOutcome, 1)
		go func() {
			creds, err := r.execCredentials(execCtx, sb, log)
			execDone <- execOutcome{creds, err}
			if err != nil {
				stopWait(err)
			}
		}()
	}

	res := &runtime.Result{}
	state, lost, err := r.wait(waitCtx, sb, res, progress, log)
	r.trace(a.OperationID, PhaseContainerExited)
	if err != nil {
		if ctx.Err() != nil {
			// The broker is stopping: leave the container to Attach.
			return nil, ctx.Err()
		}
		switch cause := context.Cause(waitCtx); {
		case errors.Is(cause, errTimeout):
			err = fmt.Errorf("%s did not finish within %s; the container was stopped", a.Name, r.cfg.Timeout)
		case waitCtx.Err() != nil && runCtx.Err() == nil && cause != nil:
			err = cause
		}
		// Nothing stays running for an action that is over: the
		// container is killed (kept stopped, or removed, at Release).
		r.kill(ctx, sb, log)
		log.Info("bundle action failed", "container", sb.name, "err", err)
		return nil, err
	}
	// The last lines before the result, for Output's reader: the stream
	// ends with the container.
	select {
	case <-logsDone:
	case <-time.After(2 * time.Second):
	}

	r.readResults(sb, res, progress)
	var actErr error
	if state.ExitCode == 0 && !state.OOMKilled {
		var creds map[string]any
		var err error
		if execDone != nil {
			stopExec()
			o := <-execDone
			creds, err = o.creds, o.err
		} else {
			creds, err = readCredentials(sb.work)
		}
		if err != nil {
			actErr = err
		} else {
			res.Credentials = creds
		}
	} else {
		actErr = r.failure(a, sb, state, res, log)
		if ae := (*runtime.ActionError)(nil); lost && errors.As(actErr, &ae) {
			// The exit code of a container the engine stopped at its
			// restart says nothing; the restart does.
			ae.Message += fmt.Sprintf(" (the Docker engine at %s stopped answering while it ran)", r.engine.DaemonHost())
		}
	}
	r.trace(a.OperationID, PhaseDone)
	if actErr != nil {
		log.Info("bundle action failed", "container", sb.name, "err", actErr)
		return nil, actErr
	}
	log.Info("bundle action succeeded", "container", sb.name, "credentials", res.Credentials != nil)
	return res, nil
}

type execOutcome struct {
	creds map[string]any
	err   error
}

// readResults reads the results directory once the container has exited.
func (r *Runtime) readResults(sb *sandbox, res *runtime.Result, progress runtime.Progress) {
	r.pollProgress(sb, res, progress)
	if u, err := readResult(sb.work, fileDashboardURL); err == nil {
		res.DashboardURL = strings.TrimSpace(u)
	}
	if t, err := readResult(sb.work, fileTestResult); err == nil && t != "" {
		res.Test = parseTestResult(t)
	}
}

// pollProgress reports a new last_operation description.
func (r *Runtime) pollProgress(sb *sandbox, res *runtime.Result, progress runtime.Progress) {
	d, err := readResult(sb.work, fileLastOperation)
	if err != nil || d == "" || d == res.LastDescription {
		return
	}
	res.LastDescription = d
	if progress != nil {
		progress(sb.red.String(d))
	}
}

// parseTestResult reads asb_save_test_result's records: "0" or "1" (failed)
// on one line, the message on the next.
func parseTestResult(s string) *runtime.TestResult {
	t := &runtime.TestResult{}
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	for i := 0; i+1 < len(lines); i += 2 {
		if strings.TrimSpace(lines[i]) != "0" {
			t.Failed = true
		}
		t.Messages = append(t.Messages, lines[i+1])
	}
	return t
}

// failure turns a container that did not succeed into the error the user sees.
func (r *Runtime) failure(a runtime.Action, sb *sandbox, st *container.State, res *runtime.Result, log *slog.Logger) error {
	if st.ExitCode == exitNotImplemented && !st.OOMKilled {
		return runtime.ErrActionNotFound
	}
	text := fmt.Sprintf("%s failed (exit code %d)", a.Name, st.ExitCode)
	switch {
	case st.OOMKilled:
		text = fmt.Sprintf("%s failed: the bundle ran out of memory (limit %s)", a.Name, formatBytes(r.cfg.Memory))
	case st.ExitCode == 137:
		text = fmt.Sprintf("%s failed: the bundle's container was killed (exit code 137, SIGKILL)", a.Name)
	case st.ExitCode == 143:
		text = fmt.Sprintf("%s failed: the bundle's container was stopped (exit code 143, SIGTERM)", a.Name)
	}
	if st.Error != "" {
		log.Info("docker reports a container error", "container", sb.name, "error", sb.red.String(st.Error))
	}
	// The bundle's own last description tells the user more than an exit
	// code; its log may hold anything, so it stays in the broker's log.
	if res.LastDescription != "" {
		text += ": " + sb.red.String(res.LastDescription)
	}
	return &runtime.ActionError{ExitCode: st.ExitCode, Message: text}
}

func formatBytes(n int64) string {
	switch {
	case n <= 0:
		return "none"
	case n%(1<<30) == 0:
		return fmt.Sprintf("%d GiB", n>>30)
	case n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	}
	return fmt.Sprintf("%d bytes", n)
}

// Release removes the container and directory of a finished action, or
// keeps them. It finds them by the operation label, whether this process
// or one before a restart made them.
func (r *Runtime) Release(ctx context.Context, a runtime.Action, failed bool) error {
	log := r.log.With("operation", a.OperationID, "action", a.Name, "bundle", a.FQName)
	cs, err := r.opContainers(ctx, a.OperationID)
	if err != nil {
		return err
	}
	for _, c := range cs {
		r.cleanup(ctx, sandboxOf(c), failed, log)
	}
	return nil
}

// keeps is keep_container and keep_container_on_error, for Release and
// the janitor alike.
func (r *Runtime) keeps(failed bool) bool {
	return r.cfg.KeepContainer || (failed && r.cfg.KeepContainerOnError)
}

// cleanup removes the sandbox, or keeps it: stopped (nothing of a
// finished action keeps running) and renamed <name>-kept, its directory
// left for inspection.
func (r *Runtime) cleanup(ctx context.Context, sb *sandbox, failed bool, log *slog.Logger) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cleanupTimeout)
	defer cancel()
	if sb.id == "" || !r.keeps(failed) {
		r.remove(ctx, sb, log)
		return
	}
	r.kill(ctx, sb, log)
	if _, err := r.engine.ContainerRename(ctx, sb.id, client.ContainerRenameOptions{NewName: sb.name + KeptSuffix}); err != nil && !cerrdefs.IsNotFound(err) {
		log.Warn("cannot mark the bundle container kept", "container", sb.name, "err", engineError(r.engine, err))
	}
	log.Info("bundle container kept", "container", sb.name+KeptSuffix, "dir", sb.work)
}

// remove deletes the container and the action's directory.
func (r *Runtime) remove(ctx context.Context, sb *sandbox, log *slog.Logger) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cleanupTimeout)
	defer cancel()
	if sb.id != "" {
		_, err := r.engine.ContainerRemove(ctx, sb.id, client.ContainerRemoveOptions{Force: true})
		if err != nil && !cerrdefs.IsNotFound(err) {
			// The directory stays with the container: the janitor removes both.
			log.Warn("cannot remove the bundle container", "container", sb.name, "err", engineError(r.engine, err))
			return
		}
	}
	r.removeWork(sb.work, log)
}

// removeWork deletes an action's directory, if it is under this broker's
// part of the work dir (a label is no authority to delete elsewhere).
func (r *Runtime) removeWork(work string, log *slog.Logger) {
	if work == "" || filepath.Dir(work) != r.brokerDir() {
		return
	}
	if err := os.RemoveAll(work); err != nil {
		log.Warn("cannot remove the action's directory", "dir", work, "err", err)
	}
}

// kill stops a container that still runs (SIGKILL: the action is over).
func (r *Runtime) kill(ctx context.Context, sb *sandbox, log *slog.Logger) {
	if sb.id == "" {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cleanupTimeout)
	defer cancel()
	_, err := r.engine.ContainerKill(ctx, sb.id, client.ContainerKillOptions{Signal: "KILL"})
	if err != nil && !cerrdefs.IsNotFound(err) && !cerrdefs.IsConflict(err) {
		// Conflict: it is not running.
		log.Warn("cannot stop the bundle container", "container", sb.name, "err", engineError(r.engine, err))
	}
}

// orphanAge: a directory without a container younger than this may be
// one whose container is being created; older ones are leftovers.
const orphanAge = 10 * time.Minute

// Reap removes this broker's containers (with their directories) whose
// operation known does not recognise as in flight: actions of a broker
// that died after storing their outcome but before releasing them, or
// that a failed release left. Kept containers stay, and so do other
// brokers' (another BrokerID). With keep_container(_on_error) a container
// is kept rather than removed, as Release would have. Directories left
// without a container are removed too. It returns how many containers it
// removed or kept. known is first called after the containers were
// listed, so an operation recorded before its container was made is known.
func (r *Runtime) Reap(ctx context.Context, known func(operationID string) bool) (int, error) {
	l, err := r.engine.ContainerList(ctx, client.ContainerListOptions{All: true, Filters: r.ownFilters()})
	if err != nil {
		return 0, fmt.Errorf("janitor: listing bundle containers: %w", engineError(r.engine, err))
	}
	live := map[string]bool{}
	for _, c := range l.Items {
		live[c.Labels[LabelWorkDir]] = true
	}
	n := 0
	for _, c := range l.Items {
		sb := sandboxOf(c)
		if strings.HasSuffix(sb.name, KeptSuffix) || sb.op == "" || known(sb.op) {
			continue
		}
		failed := true
		if c.State == container.StateExited {
			if in, err := r.engine.ContainerInspect(ctx, c.ID, client.ContainerInspectOptions{}); err == nil && in.Container.State != nil {
				failed = in.Container.State.ExitCode != 0 || in.Container.State.OOMKilled
			}
		}
		log := r.log.With("operation", sb.op, "container", sb.name)
		r.cleanup(ctx, sb, failed, log)
		if r.keeps(failed) {
			log.Info("janitor kept a bundle container without an operation, as configured")
		} else {
			log.Info("janitor removed a bundle container without an operation")
		}
		n++
	}
	entries, err := os.ReadDir(r.brokerDir())
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return n, fmt.Errorf("janitor: reading %s: %w", r.brokerDir(), err)
	}
	for _, e := range entries {
		dir := filepath.Join(r.brokerDir(), e.Name())
		info, err := e.Info()
		if err != nil || live[dir] || !e.IsDir() || time.Since(info.ModTime()) < orphanAge {
			continue
		}
		r.log.Info("janitor removed an action directory without a container", "dir", dir)
		r.removeWork(dir, r.log)
	}
	return n, nil
}

// engineError says which engine failed to answer, when it did not.
func engineError(e Engine, err error) error {
	if client.IsErrConnectionFailed(err) {
		return fmt.Errorf("the Docker engine at %s does not answer: %w", e.DaemonHost(), err)
	}
	return err
}

func shortID(id string) string {
	if len(id) > 12 {
		return id[:12]
	}
	return id
}
