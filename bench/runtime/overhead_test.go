// Package runtime measures the broker's own overhead around a bundle pod on
// the one-node test cluster, through the OSB HTTP API: from the provision
// (or deprovision) request to the pod created, and from the pod finished
// (the watch event) to the operation's state stored (the first
// last_operation answering succeeded, polled every millisecond). The
// runtime's share of the second (result read, sandbox removed) is reported
// separately. Target (DESIGN.md): under 50 ms each. Figures are reported,
// never asserted. Needs the cluster of hack/test.d/30-kube.sh:
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
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/openstack-service-broker/openstack-service-broker/pkg/apb"
	"github.com/openstack-service-broker/openstack-service-broker/pkg/osb"
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
	mk := func(prefix string) string {
		ns, err := c.Client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: prefix}}, metav1.CreateOptions{})
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() {
			_ = c.Client.CoreV1().Namespaces().Delete(context.Background(), ns.Name, metav1.DeleteOptions{})
		})
		return ns.Name
	}
	brokerNS, target := mk("osb-bench-broker-"), mk("osb-bench-target-")
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
	one := func(send func() (string, error), lastOp func(op string) (*osb.LastOperationResponse, error)) {
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
			if e, ok := osb.AsError(err); ok && e.Status == 410 {
				stored = time.Now()
				break
			}
			if err != nil {
				b.Fatal(err)
			}
			if lo.State == osb.StateSucceeded {
				stored = time.Now()
				break
			}
			if lo.State == osb.StateFailed {
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
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for r := 0; r < rounds; r++ {
			id := newID(i*rounds + r)
			one(func() (string, error) {
				pr, err := br.Client.Provision(ctx, id, &osb.ProvisionRequest{ServiceID: sid, PlanID: pid, OrganizationGUID: "o", SpaceGUID: "s", Context: octx}, true)
				if err != nil {
					return "", err
				}
				return pr.Operation, nil
			}, func(op string) (*osb.LastOperationResponse, error) {
				return br.Client.LastOperation(ctx, id, &osb.LastOperationRequest{Operation: op})
			})
			one(func() (string, error) {
				dr, err := br.Client.Deprovision(ctx, id, &osb.DeprovisionRequest{ServiceID: sid, PlanID: pid}, true)
				if err != nil {
					return "", err
				}
				return dr.Operation, nil
			}, func(op string) (*osb.LastOperationResponse, error) {
				return br.Client.LastOperation(ctx, id, &osb.LastOperationRequest{Operation: op})
			})
		}
	}
	b.StopTimer()
	report := func(name string, d []time.Duration) {
		sort.Slice(d, func(i, j int) bool { return d[i] < d[j] })
		b.ReportMetric(float64(d[len(d)/2].Microseconds())/1000, name+"-p50-ms")
		b.ReportMetric(float64(d[len(d)-1].Microseconds())/1000, name+"-max-ms")
	}
	report("request-to-pod", toPod)
	report("finished-to-stored", toState)
	report("runtime-share", runtimeShare)
}
