// Package runtime measures the broker's own overhead around a bundle pod on
// the one-node test cluster, through the OSB HTTP API: from the provision
// (or deprovision) request to the pod created, and from the pod finished
// (the watch event) to the operation's state stored (the first
// last_operation answering succeeded, polled every millisecond). The
// runtime's share of the second (the credentials Secret read) is reported
// separately. Target (DESIGN.md): under 50 ms each. The baseline, measured
// in the same run, is the API server's own cost: the same calls made with
// bare client-go (namespace, service account, two role bindings, pod; then
// the credentials read and the deletes), with no broker around them; the
// ratios are broker figure / baseline. Figures are reported, never
// asserted. Needs the cluster of hack/test.d/30-kube.sh:
//
//	OSB_TEST_KUBECONFIG=... OSB_TEST_BUNDLE_IMAGE=... go test -run '^$' -bench . -benchtime 1x ./bench/runtime/
package runtime

import (
	"context"
	"fmt"
	"os"
	"sort"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/openstack-service-broker/openstack-service-broker/pkg/apb"
	"github.com/openstack-service-broker/openstack-service-broker/pkg/osb/osbapi"
	kuberuntime "github.com/openstack-service-broker/openstack-service-broker/pkg/runtime/kubernetes"
	"github.com/openstack-service-broker/openstack-service-broker/test/kube/kubetest"
)

// rounds of provision + deprovision per benchmark iteration.
const rounds = 5

type phases struct {
	mu sync.Mutex
	at map[kuberuntime.Phase]time.Time
	ch chan kuberuntime.Phase
}

func newID(i int) string {
	return fmt.Sprintf("%08x-0000-4000-8000-%012d", time.Now().Unix()&0xffffffff, i)
}

func BenchmarkActionOverhead(b *testing.B) {
	c := kubetest.Connect(b)
	ctx := context.Background()
	brokerNS, target := c.TempNamespace(b, ctx, "osb-bench-broker-"), c.TempNamespace(b, ctx, "osb-bench-target-")
	spec, err := os.ReadFile("../../test/bundles/testbundle/apb.yml")
	if err != nil {
		b.Fatal(err)
	}
	var cur phases
	cfg := c.RuntimeConfig(brokerNS)
	cfg.Trace = func(_ string, p kuberuntime.Phase, at time.Time) {
		cur.mu.Lock()
		if cur.at != nil {
			cur.at[p] = at
		}
		ch := cur.ch
		cur.mu.Unlock()
		if ch != nil {
			ch <- p
		}
	}
	// The runtime logs at info: the debug log stream is not part of the figure.
	rt, err := kuberuntime.New(cfg, c.Client, nil)
	if err != nil {
		b.Fatal(err)
	}
	br := c.StartBroker(b, b.TempDir(), spec, kubetest.BrokerOptions{Runtime: rt, Namespace: brokerNS})
	sid, pid := apb.ServiceID(kubetest.FQName), apb.PlanID(kubetest.FQName, "default")
	octx := map[string]any{"platform": "kubernetes", "namespace": target}

	var toPod, toState, runtimeShare []time.Duration
	// one runs a request and measures around its pod.
	one := func(send func() (string, error), lastOp func(op string) (*osbapi.LastOperationResponse, error)) {
		ch := make(chan kuberuntime.Phase, 8)
		cur.mu.Lock()
		cur.at, cur.ch = map[kuberuntime.Phase]time.Time{}, ch
		cur.mu.Unlock()
		t0 := time.Now()
		op, err := send()
		if err != nil {
			b.Fatal(err)
		}
		for p := range ch {
			if p == kuberuntime.PhasePodFinished {
				break
			}
		}
		var stored time.Time
		for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
			lo, err := lastOp(op)
			if e, ok := osbapi.AsError(err); ok && e.Status == 410 {
				stored = time.Now()
				break
			}
			if err != nil {
				b.Fatal(err)
			}
			if lo.State == osbapi.StateSucceeded {
				stored = time.Now()
				break
			}
			if lo.State == osbapi.StateFailed {
				b.Fatalf("operation failed: %s", lo.Description)
			}
		}
		if stored.IsZero() {
			b.Fatal("state not stored within a minute of the pod finishing")
		}
		cur.mu.Lock()
		at := cur.at
		cur.at, cur.ch = nil, nil
		cur.mu.Unlock()
		toPod = append(toPod, at[kuberuntime.PhasePodCreated].Sub(t0))
		toState = append(toState, stored.Sub(at[kuberuntime.PhasePodFinished]))
		runtimeShare = append(runtimeShare, at[kuberuntime.PhaseDone].Sub(at[kuberuntime.PhasePodFinished]))
	}
	baseCreate, baseTeardown := baseline(b, ctx, c, target, os.Getenv("OSB_TEST_BUNDLE_IMAGE"))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for r := 0; r < rounds; r++ {
			id := newID(i*rounds + r)
			one(func() (string, error) {
				pr, err := br.Client.Provision(ctx, id, &osbapi.ProvisionRequest{ServiceID: sid, PlanID: pid, OrganizationGUID: "o", SpaceGUID: "s", Context: octx}, true)
				if err != nil {
					return "", err
				}
				return pr.Operation, nil
			}, func(op string) (*osbapi.LastOperationResponse, error) {
				return br.Client.LastOperation(ctx, id, &osbapi.LastOperationRequest{Operation: op})
			})
			one(func() (string, error) {
				dr, err := br.Client.Deprovision(ctx, id, &osbapi.DeprovisionRequest{ServiceID: sid, PlanID: pid}, true)
				if err != nil {
					return "", err
				}
				return dr.Operation, nil
			}, func(op string) (*osbapi.LastOperationResponse, error) {
				return br.Client.LastOperation(ctx, id, &osbapi.LastOperationRequest{Operation: op})
			})
		}
	}
	b.StopTimer()
	report := func(name string, d []time.Duration) time.Duration {
		p50 := median(d)
		b.ReportMetric(ms(p50), name+"-p50-ms")
		b.ReportMetric(ms(d[len(d)-1]), name+"-max-ms")
		return p50
	}
	create := report("request-to-pod", toPod)
	stored := report("finished-to-stored", toState)
	report("runtime-share", runtimeShare)
	bc, bt := report("baseline-api-create", baseCreate), report("baseline-api-teardown", baseTeardown)
	b.ReportMetric(float64(create)/float64(bc), "request-to-pod/baseline")
	b.ReportMetric(float64(stored)/float64(bt), "finished-to-stored/baseline")
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// median sorts d and returns its middle.
func median(d []time.Duration) time.Duration {
	sort.Slice(d, func(i, j int) bool { return d[i] < d[j] })
	return d[len(d)/2]
}

// baseline times the API calls the runtime makes around one pod, made
// directly: what no broker could do faster.
func baseline(b *testing.B, ctx context.Context, c *kubetest.Cluster, target, image string) (create, teardown []time.Duration) {
	b.Helper()
	cs := c.Client
	for i := 0; i < 2*rounds; i++ {
		t0 := time.Now()
		ns, err := cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "osb-bench-base-"}}, metav1.CreateOptions{})
		if err != nil {
			b.Fatal(err)
		}
		name := fmt.Sprintf("bundle-base-%d", i)
		if _, err := cs.CoreV1().ServiceAccounts(ns.Name).Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{}); err != nil {
			b.Fatal(err)
		}
		for _, in := range []string{ns.Name, target} {
			rb := &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Name: name},
				RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "edit"},
				Subjects: []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Name: name, Namespace: ns.Name}}}
			if _, err := cs.RbacV1().RoleBindings(in).Create(ctx, rb, metav1.CreateOptions{}); err != nil {
				b.Fatal(err)
			}
		}
		// Gated: it never runs, so no container competes for the CPU with
		// the next calls, as none does between the broker's actions.
		pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: corev1.PodSpec{
			RestartPolicy: corev1.RestartPolicyNever, ServiceAccountName: name, HostNetwork: true,
			SchedulingGates: []corev1.PodSchedulingGate{{Name: "osb.openstack.org/baseline"}},
			Containers:      []corev1.Container{{Name: "apb", Image: image, ImagePullPolicy: corev1.PullNever, Args: []string{"provision"}}},
		}}
		if _, err := cs.CoreV1().Pods(ns.Name).Create(ctx, pod, metav1.CreateOptions{}); err != nil {
			b.Fatal(err)
		}
		create = append(create, time.Since(t0))

		t0 = time.Now()
		if _, err := cs.CoreV1().Secrets(ns.Name).Get(ctx, name, metav1.GetOptions{}); err == nil {
			b.Fatal("unexpected credentials secret")
		}
		if err := cs.RbacV1().RoleBindings(target).Delete(ctx, name, metav1.DeleteOptions{}); err != nil {
			b.Fatal(err)
		}
		bg := metav1.DeletePropagationBackground
		if err := cs.CoreV1().Namespaces().Delete(ctx, ns.Name, metav1.DeleteOptions{PropagationPolicy: &bg}); err != nil {
			b.Fatal(err)
		}
		teardown = append(teardown, time.Since(t0))
		// The namespace controller's work is over before the next round,
		// as it is between the broker's actions (each waits for a pod).
		for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
			if _, err := cs.CoreV1().Namespaces().Get(ctx, ns.Name, metav1.GetOptions{}); apierrors.IsNotFound(err) {
				break
			}
		}
	}
	return create, teardown
}
