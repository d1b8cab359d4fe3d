package kube

import (
	"context"
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
