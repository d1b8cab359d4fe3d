package kube

import (
	"context"
	"errors"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/openstack-service-broker/openstack-service-broker/pkg/runtime"
	kuberuntime "github.com/openstack-service-broker/openstack-service-broker/pkg/runtime/kubernetes"
)

// runningPod waits for the bundle pod of op to run.
func (e *env) runningPod(t *testing.T, ctx context.Context, op string) *corev1.Pod {
	t.Helper()
	var pod *corev1.Pod
	waitFor(t, "bundle pod of "+op+" running", 90*time.Second, func() bool {
		l, err := e.client.CoreV1().Pods(metav1.NamespaceAll).List(ctx, metav1.ListOptions{LabelSelector: kuberuntime.LabelOperation + "=" + op})
		if err != nil || len(l.Items) != 1 || l.Items[0].Status.Phase != corev1.PodRunning {
			return false
		}
		pod = &l.Items[0]
		return true
	})
	return pod
}

// TestRestartReattaches: a broker stopped mid-action leaves the pod
// running; a new runtime re-attaches to it by the operation label and gets
// its result without starting it again.
func TestRestartReattaches(t *testing.T) {
	t.Parallel()
	e := setup(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	brokerNS, target := e.namespaces(t, ctx)
	log, _ := newLogger(t)
	instance, op := newID(t), newID(t)
	a := runtime.Action{Name: runtime.ActionProvision, OperationID: op, Image: e.image, Runtime: 2, Mounts: testMounts, FQName: fqname,
		InstanceID: instance, Target: target, ExtraVars: extraVars(instance, target, map[string]any{"sleep_seconds": 12})}

	first, err := kuberuntime.New(e.config(brokerNS), e.client, log)
	if err != nil {
		t.Fatal(err)
	}
	// Nothing exists yet for the operation.
	if _, err := first.Attach(ctx, a, nil); !errors.Is(err, runtime.ErrNotStarted) {
		t.Fatalf("Attach before Run: err = %v, want ErrNotStarted", err)
	}
	brokerCtx, stopBroker := context.WithCancel(ctx)
	runErr := make(chan error, 1)
	go func() {
		_, err := first.Run(brokerCtx, a, nil)
		runErr <- err
	}()
	pod := e.runningPod(t, ctx, op)
	stopBroker()
	if err := <-runErr; !errors.Is(err, context.Canceled) {
		t.Fatalf("Run after the broker stopped: err = %v, want context.Canceled", err)
	}
	// The pod survives the broker.
	if p, err := e.client.CoreV1().Pods(pod.Namespace).Get(ctx, pod.Name, metav1.GetOptions{}); err != nil || p.DeletionTimestamp != nil {
		t.Fatalf("bundle pod after the broker stopped: %v", err)
	}

	second, err := kuberuntime.New(e.config(brokerNS), e.client, log)
	if err != nil {
		t.Fatal(err)
	}
	var prog progressLog
	res, err := second.Attach(ctx, a, prog.add)
	if err != nil {
		t.Fatalf("Attach: %v", err)
	}
	// The sandbox waited for the outcome to be stored; now it goes.
	if err := second.Release(ctx, a, false); err != nil {
		t.Fatalf("Release: %v", err)
	}
	if res.Credentials["DB_USER"] != "user-"+instance[:8] {
		t.Errorf("credentials after re-attaching = %v", res.Credentials)
	}
	if p := prog.all(); len(p) == 0 || p[len(p)-1] != "100%: provisioned" {
		t.Errorf("progress after re-attaching = %q", p)
	}
	// Exactly one pod ever ran for the operation: its sandbox is the one.
	l, err := e.client.CoreV1().Namespaces().List(ctx, metav1.ListOptions{LabelSelector: kuberuntime.LabelOperation + "=" + op})
	if err != nil {
		t.Fatal(err)
	}
	if len(l.Items) != 1 || l.Items[0].Name != pod.Namespace || l.Items[0].DeletionTimestamp == nil {
		t.Errorf("sandboxes of the operation: %d (want only %s, being deleted)", len(l.Items), pod.Namespace)
	}
}

// TestJanitor: sandboxes whose operation the broker no longer knows are
// removed with their target-namespace role binding; known and kept ones
// stay, and so do other brokers' (the other tests' runtimes have broker ids
// of their own).
func TestJanitor(t *testing.T) {
	t.Parallel()
	e := setup(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	brokerNS, target := e.namespaces(t, ctx)
	log, _ := newLogger(t)
	rt, err := kuberuntime.New(e.config(brokerNS), e.client, log)
	if err != nil {
		t.Fatal(err)
	}
	// Two actions left behind by a broker that stopped.
	orphan, known := newID(t), newID(t)
	for _, op := range []string{orphan, known} {
		instance := newID(t)
		brokerCtx, stop := context.WithCancel(ctx)
		done := make(chan struct{})
		go func() {
			defer close(done)
			_, _ = rt.Run(brokerCtx, runtime.Action{Name: runtime.ActionProvision, OperationID: op, Image: e.image, Runtime: 2, Mounts: testMounts, FQName: fqname,
				InstanceID: instance, Target: target, ExtraVars: extraVars(instance, target, map[string]any{"sleep_seconds": 60})}, nil)
		}()
		e.runningPod(t, ctx, op)
		stop()
		<-done
	}
	n, err := rt.Reap(ctx, func(op string) bool { return op != orphan })
	if err != nil || n != 1 {
		t.Fatalf("Janitor = %d, %v; want 1 sandbox removed", n, err)
	}
	orphanNS := e.sandboxOf(t, ctx, orphan)
	if orphanNS.DeletionTimestamp == nil {
		t.Errorf("orphan sandbox %s not deleted", orphanNS.Name)
	}
	if ns := e.sandboxOf(t, ctx, known); ns.DeletionTimestamp != nil {
		t.Errorf("sandbox %s of a known operation deleted", ns.Name)
	}
	rbs, err := e.client.RbacV1().RoleBindings(target).List(ctx, metav1.ListOptions{LabelSelector: kuberuntime.LabelOperation})
	if err != nil {
		t.Fatal(err)
	}
	if len(rbs.Items) != 1 || rbs.Items[0].Labels[kuberuntime.LabelOperation] != known {
		t.Errorf("role bindings left in the target namespace: %d, want only the known operation's", len(rbs.Items))
	}
	// A second pass, the other operation forgotten too, removes the rest.
	if n, err := rt.Reap(ctx, func(op string) bool { return op != known }); err != nil || n != 1 {
		t.Errorf("second Janitor = %d, %v; want 1", n, err)
	}
}
