package kubernetes

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/kubernetes"

	"github.com/openstack-service-broker/openstack-service-broker/pkg/redact"
	"github.com/openstack-service-broker/openstack-service-broker/pkg/runtime"
)

// exitNotImplemented is apb-base's exit code for a missing playbook.
const exitNotImplemented = 8

// cleanupTimeout bounds the API calls that remove a sandbox, which run
// even when the action's own deadline has passed.
const cleanupTimeout = 30 * time.Second

var errTimeout = errors.New("action timed out")

// Runtime runs actions as pods through client.
type Runtime struct {
	cfg    Config
	client kubernetes.Interface
	log    *slog.Logger

	execEvery time.Duration // execPollInterval; shorter in unit tests
}

var (
	_ runtime.Runtime = (*Runtime)(nil)
	_ runtime.Janitor = (*Runtime)(nil)
)

// New checks cfg and returns a Runtime using client.
func New(cfg Config, client kubernetes.Interface, log *slog.Logger) (*Runtime, error) {
	c, err := cfg.withDefaults()
	if err != nil {
		return nil, fmt.Errorf("kubernetes runtime: %w", err)
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Runtime{cfg: c, client: client, log: log.With("runtime", "kubernetes"), execEvery: execPollInterval}, nil
}

func (r *Runtime) Name() string { return "kubernetes" }

// sandbox is what one action created.
type sandbox struct {
	op        string // operation id
	namespace string
	target    string // target namespace ("" when the action has none)
	pod       string
	secrets   []string // Secrets copied in and mounted
	red       *redact.Text

	// started is closed once the watch sees the container running or
	// finished: before that the API server serves an empty log.
	started   chan struct{}
	startOnce sync.Once
}

func (sb *sandbox) markStarted() {
	sb.startOnce.Do(func() { close(sb.started) })
}

func (r *Runtime) trace(op string, p Phase) {
	if r.cfg.Trace != nil {
		r.cfg.Trace(op, p, time.Now())
	}
}

// Run creates the sandbox and the pod, waits for it and reads the result;
// the sandbox stays until Release. When ctx is cancelled (the broker stops)
// the pod is left running for Attach after the restart.
func (r *Runtime) Run(ctx context.Context, a runtime.Action, progress runtime.Progress) (*runtime.Result, error) {
	r.trace(a.OperationID, PhaseStart)
	if a.OperationID == "" {
		return nil, errors.New("kubernetes runtime: action has no operation id")
	}
	runCtx, cancel := context.WithTimeoutCause(ctx, r.cfg.Timeout, errTimeout)
	defer cancel()
	log := r.log.With("operation", a.OperationID, "action", a.Name, "bundle", a.FQName)

	sb, pod, err := r.create(runCtx, a)
	if err != nil {
		if sb != nil && ctx.Err() == nil {
			r.cleanup(ctx, sb, true, log)
		}
		return nil, err
	}
	r.trace(a.OperationID, PhasePodCreated)
	log.Info("bundle pod created", "namespace", sb.namespace, "pod", sb.pod)
	return r.follow(ctx, runCtx, a, sb, pod, progress, log)
}

// Attach finds the sandbox of an operation started before a restart by its
// label and waits for its pod as Run would have.
func (r *Runtime) Attach(ctx context.Context, a runtime.Action, progress runtime.Progress) (*runtime.Result, error) {
	log := r.log.With("operation", a.OperationID, "action", a.Name, "bundle", a.FQName)
	sel := labels.Set{LabelOperation: labelValue(a.OperationID)}.String()
	nss, err := r.client.CoreV1().Namespaces().List(ctx, metav1.ListOptions{LabelSelector: sel})
	if err != nil {
		return nil, fmt.Errorf("looking for the sandbox of operation %s: %w", a.OperationID, err)
	}
	if len(nss.Items) == 0 {
		return nil, runtime.ErrNotStarted
	}
	// Newest first: an earlier attempt may have left a sandbox behind.
	sort.Slice(nss.Items, func(i, j int) bool {
		return nss.Items[j].CreationTimestamp.Before(&nss.Items[i].CreationTimestamp)
	})
	ns := nss.Items[0]
	sb := &sandbox{op: a.OperationID, namespace: ns.Name, target: ns.Annotations[AnnotationTargetNamespace], red: &redact.Text{}, started: make(chan struct{})}
	// The credentials are under _apb_provision_creds and _apb_bind_creds,
	// names that look secret: all of them count.
	sb.red.AddUnder(a.ExtraVars, redact.Names(a.SecretVars...))
	secrets, err := r.client.CoreV1().Secrets(ns.Name).List(ctx, metav1.ListOptions{LabelSelector: LabelCopiedSecret})
	if err == nil {
		for _, s := range secrets.Items {
			sb.secrets = append(sb.secrets, s.Name)
			sb.red.Add(s.Data)
		}
	}
	pods, err := r.client.CoreV1().Pods(ns.Name).List(ctx, metav1.ListOptions{LabelSelector: sel})
	if err != nil {
		return nil, fmt.Errorf("looking for the pod of operation %s: %w", a.OperationID, err)
	}
	if len(pods.Items) == 0 {
		// The broker stopped between the sandbox and the pod: nothing ran.
		log.Info("sandbox without a pod: removing it", "namespace", ns.Name)
		r.cleanup(ctx, sb, false, log)
		return nil, runtime.ErrNotStarted
	}
	pod := &pods.Items[0]
	sb.pod = pod.Name
	log.Info("re-attached to bundle pod", "namespace", sb.namespace, "pod", sb.pod, "phase", pod.Status.Phase)
	runCtx, cancel := context.WithTimeoutCause(ctx, r.cfg.Timeout, errTimeout)
	defer cancel()
	return r.follow(ctx, runCtx, a, sb, pod, progress, log)
}

// follow waits for the pod and reads its result. The sandbox stays for
// Release.
func (r *Runtime) follow(ctx, runCtx context.Context, a runtime.Action, sb *sandbox, pod *corev1.Pod, progress runtime.Progress, log *slog.Logger) (*runtime.Result, error) {
	if log.Enabled(ctx, slog.LevelDebug) {
		// The stream ends by itself when the container exits, which the
		// kubelet notices a little after the pod's phase changes: it gets a
		// context of its own so the action's result never waits for it.
		logCtx, stop := context.WithTimeout(context.WithoutCancel(ctx), r.cfg.Timeout+time.Minute)
		go func() {
			defer stop()
			r.streamLogs(logCtx, sb, log)
		}()
	}

	// Runtime 1 bundles wait for the broker to exec the credentials out;
	// when that cannot be done the wait for the pod ends with the reason.
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
	final, err := r.wait(waitCtx, sb, pod, res, progress)
	r.trace(a.OperationID, PhasePodFinished)
	if err != nil {
		if ctx.Err() != nil {
			// The broker is stopping: leave the pod to Attach.
			return nil, ctx.Err()
		}
		switch cause := context.Cause(waitCtx); {
		case errors.Is(cause, errTimeout):
			err = fmt.Errorf("%s did not finish within %s", a.Name, r.cfg.Timeout)
		case waitCtx.Err() != nil && runCtx.Err() == nil && cause != nil:
			err = cause
		}
		return nil, err
	}

	res.DashboardURL = final.Annotations[AnnotationDashboardURL]
	if d := final.Annotations[AnnotationLastOperation]; d != "" {
		res.LastDescription = d
	}
	var actErr error
	if final.Status.Phase == corev1.PodSucceeded {
		var creds map[string]any
		var err error
		if execDone != nil {
			stopExec()
			o := <-execDone
			creds, err = o.creds, o.err
		} else {
			creds, err = r.credentials(ctx, sb)
		}
		if err != nil {
			actErr = err
		} else {
			res.Credentials = creds
		}
	} else {
		actErr = r.failure(a, sb, final, res, log)
	}
	r.trace(a.OperationID, PhaseDone)
	if actErr != nil {
		log.Info("bundle action failed", "namespace", sb.namespace, "err", actErr)
		return nil, actErr
	}
	log.Info("bundle action succeeded", "namespace", sb.namespace, "credentials", res.Credentials != nil)
	return res, nil
}

type execOutcome struct {
	creds map[string]any
	err   error
}

// failure turns a failed pod into the error the user sees.
func (r *Runtime) failure(a runtime.Action, sb *sandbox, pod *corev1.Pod, res *runtime.Result, log *slog.Logger) error {
	code := -1
	msg := ""
	for _, cs := range pod.Status.ContainerStatuses {
		if cs.Name == containerName && cs.State.Terminated != nil {
			code = int(cs.State.Terminated.ExitCode)
			msg = cs.State.Terminated.Message
		}
	}
	if msg != "" {
		log.Debug("bundle termination message", "message", sb.red.String(msg))
	}
	if code == exitNotImplemented {
		return runtime.ErrActionNotFound
	}
	// The bundle's own last description tells the user more than an exit
	// code; the termination message (its log tail) may hold anything, so it
	// stays in the broker's log only.
	text := fmt.Sprintf("%s failed (exit code %d)", a.Name, code)
	if res.LastDescription != "" {
		text += ": " + sb.red.String(res.LastDescription)
	}
	return &runtime.ActionError{ExitCode: code, Message: text}
}

// credentials reads what asb_encode_binding stored: the Secret named after
// the pod, key fields, a JSON object.
func (r *Runtime) credentials(ctx context.Context, sb *sandbox) (map[string]any, error) {
	s, err := r.client.CoreV1().Secrets(sb.namespace).Get(ctx, sb.pod, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading the bundle's credentials secret %s/%s: %w", sb.namespace, sb.pod, err)
	}
	raw, ok := s.Data["fields"]
	if !ok {
		return nil, nil
	}
	var creds map[string]any
	if err := json.Unmarshal(raw, &creds); err != nil {
		// Never quote the value: it is the credentials.
		return nil, fmt.Errorf("the bundle's credentials secret %s/%s: key fields is not a JSON object", sb.namespace, sb.pod)
	}
	return creds, nil
}

// Release removes the sandbox of a finished action, or marks it kept. It
// finds the sandbox by its operation label, whether this process or one
// before a restart made it.
func (r *Runtime) Release(ctx context.Context, a runtime.Action, failed bool) error {
	log := r.log.With("operation", a.OperationID, "action", a.Name, "bundle", a.FQName)
	sel := r.ownSelector() + "," + LabelOperation + "=" + labelValue(a.OperationID)
	nss, err := r.client.CoreV1().Namespaces().List(ctx, metav1.ListOptions{LabelSelector: sel})
	if err != nil {
		return fmt.Errorf("looking for the sandbox of operation %s: %w", a.OperationID, err)
	}
	for _, ns := range nss.Items {
		if ns.DeletionTimestamp != nil || ns.Annotations[AnnotationKept] == "true" {
			continue
		}
		r.cleanup(ctx, &sandbox{op: a.OperationID, namespace: ns.Name, target: ns.Annotations[AnnotationTargetNamespace], pod: ns.Labels[LabelPodName]}, failed, log)
	}
	r.trace(a.OperationID, PhaseReleased)
	return nil
}

// cleanup removes the sandbox, or marks it kept; the role binding in the
// target namespace goes in both cases, since it grants rights there.
func (r *Runtime) cleanup(ctx context.Context, sb *sandbox, failed bool, log *slog.Logger) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cleanupTimeout)
	defer cancel()
	if sb.target != "" && sb.pod != "" {
		err := r.client.RbacV1().RoleBindings(sb.target).Delete(ctx, sb.pod, metav1.DeleteOptions{})
		if err != nil && !apierrors.IsNotFound(err) {
			log.Warn("cannot delete the sandbox role binding", "namespace", sb.target, "name", sb.pod, "err", err)
		}
	}
	if r.keeps(failed) {
		if err := r.markKept(ctx, sb.namespace); err != nil {
			log.Warn("cannot mark the sandbox kept", "namespace", sb.namespace, "err", err)
		}
		log.Info("sandbox kept", "namespace", sb.namespace)
		return
	}
	bg := metav1.DeletePropagationBackground
	err := r.client.CoreV1().Namespaces().Delete(ctx, sb.namespace, metav1.DeleteOptions{PropagationPolicy: &bg})
	if err != nil && !apierrors.IsNotFound(err) {
		log.Warn("cannot delete the sandbox namespace", "namespace", sb.namespace, "err", err)
	}
}

func (r *Runtime) markKept(ctx context.Context, namespace string) error {
	patch := fmt.Sprintf(`{"metadata":{"annotations":{%q:"true"}}}`, AnnotationKept)
	_, err := r.client.CoreV1().Namespaces().Patch(ctx, namespace, "application/merge-patch+json", []byte(patch), metav1.PatchOptions{})
	return err
}

// keeps is keep_namespace and keep_namespace_on_error, for Release and the
// janitor alike.
func (r *Runtime) keeps(failed bool) bool {
	return r.cfg.KeepNamespace || (failed && r.cfg.KeepNamespaceOnError)
}

// podFailed says whether the sandbox's action failed, for a sandbox the
// janitor found (its Release never ran: the broker was killed after storing
// the outcome). Only the pod can tell; a pod that cannot be read counts as
// failed, so keep_namespace_on_error keeps the sandbox: keeping can be
// undone and deleting cannot.
func (r *Runtime) podFailed(ctx context.Context, ns *corev1.Namespace) bool {
	pod, err := r.client.CoreV1().Pods(ns.Name).Get(ctx, ns.Labels[LabelPodName], metav1.GetOptions{})
	return err != nil || pod.Status.Phase != corev1.PodSucceeded
}

// Reap deletes this broker's sandboxes (and their role bindings in target
// namespaces) whose operation known does not recognise as in flight, e.g.
// left by a broker that died while cleaning up. Where keep_namespace (or
// keep_namespace_on_error, for a failed pod) says so, the sandbox is marked
// kept instead, and only its role binding in the target namespace goes.
// Kept sandboxes stay, and so do those of other brokers (another
// BrokerID). It returns how many sandboxes it removed or marked kept. known
// is first called after the sandboxes were listed, so an operation recorded
// before its sandbox was made is known.
func (r *Runtime) Reap(ctx context.Context, known func(operationID string) bool) (int, error) {
	managed := r.ownSelector()
	nss, err := r.client.CoreV1().Namespaces().List(ctx, metav1.ListOptions{LabelSelector: managed})
	if err != nil {
		return 0, fmt.Errorf("janitor: listing sandboxes: %w", err)
	}
	kept := map[string]bool{}
	n := 0
	for _, ns := range nss.Items {
		op := ns.Annotations[AnnotationOperation]
		if ns.Annotations[AnnotationKept] == "true" {
			kept[op] = true
			continue
		}
		if op == "" || known(op) || ns.DeletionTimestamp != nil {
			continue
		}
		if r.keeps(r.podFailed(ctx, &ns)) {
			if err := r.markKept(ctx, ns.Name); err != nil && !apierrors.IsNotFound(err) {
				return n, fmt.Errorf("janitor: marking sandbox %s kept: %w", ns.Name, err)
			}
			r.log.Info("janitor kept a sandbox without an operation, as configured", "namespace", ns.Name, "operation", op)
			n++
			continue
		}
		bg := metav1.DeletePropagationBackground
		err := r.client.CoreV1().Namespaces().Delete(ctx, ns.Name, metav1.DeleteOptions{PropagationPolicy: &bg})
		if err != nil && !apierrors.IsNotFound(err) {
			return n, fmt.Errorf("janitor: deleting sandbox %s: %w", ns.Name, err)
		}
		r.log.Info("janitor removed a sandbox without an operation", "namespace", ns.Name, "operation", op)
		n++
	}
	rbs, err := r.client.RbacV1().RoleBindings(metav1.NamespaceAll).List(ctx, metav1.ListOptions{LabelSelector: managed})
	if err != nil {
		return n, fmt.Errorf("janitor: listing sandbox role bindings: %w", err)
	}
	for _, rb := range rbs.Items {
		op := rb.Annotations[AnnotationOperation]
		if op == "" || known(op) || kept[op] || rb.Namespace == rb.Annotations[AnnotationSandbox] {
			continue
		}
		err := r.client.RbacV1().RoleBindings(rb.Namespace).Delete(ctx, rb.Name, metav1.DeleteOptions{})
		if err != nil && !apierrors.IsNotFound(err) {
			return n, fmt.Errorf("janitor: deleting role binding %s/%s: %w", rb.Namespace, rb.Name, err)
		}
	}
	return n, nil
}

// ownSelector selects the sandboxes (and role bindings) of this broker.
func (r *Runtime) ownSelector() string {
	sel := LabelManagedBy + "=" + ManagedBy
	if r.cfg.BrokerID != "" {
		return sel + "," + LabelBroker + "=" + labelValue(r.cfg.BrokerID)
	}
	return sel + ",!" + LabelBroker
}

// roleBinding grants the sandbox role to the bundle's service account.
func roleBinding(sb *sandbox, namespace, role string, lbl map[string]string) *rbacv1.RoleBinding {
	return &rbacv1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{
			Name: sb.pod, Namespace: namespace, Labels: lbl,
			Annotations: map[string]string{AnnotationOperation: sb.op, AnnotationSandbox: sb.namespace},
		},
		RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: role},
		Subjects: []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Name: sb.pod, Namespace: sb.namespace}},
	}
}
