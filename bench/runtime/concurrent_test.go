package runtime

import (
	"context"
	"fmt"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/openstack-service-broker/openstack-service-broker/pkg/apb"
	"github.com/openstack-service-broker/openstack-service-broker/pkg/osb"
	"github.com/openstack-service-broker/openstack-service-broker/test/kube/kubetest"
)

// concurrent is how many provisions BenchmarkConcurrentProvisions sends at
// once (DESIGN.md: 100 with nothing lost).
const concurrent = 100

// BenchmarkConcurrentProvisions sends 100 provisions at once through the
// OSB API and waits for all of them, then deprovisions them all. It reports
// the wall time against one provision alone in the same run (the
// baseline), and how many operations did not end succeeded ("lost": the
// figure should be 0). Each provision is a real ansible-playbook pod, so on
// 2 cores the figure is mostly the node's CPU.
func BenchmarkConcurrentProvisions(b *testing.B) {
	c := kubetest.Connect(b)
	ctx := context.Background()
	nss := []string{c.TempNamespace(b, ctx, "osb-bench-broker-"), c.TempNamespace(b, ctx, "osb-bench-target-")}
	spec, err := os.ReadFile("../../test/bundles/testbundle/apb.yml")
	if err != nil {
		b.Fatal(err)
	}
	br := c.StartBroker(b, b.TempDir(), spec, kubetest.BrokerOptions{Namespace: nss[0], LogLevel: "info"})
	sid, pid := apb.ServiceID(kubetest.FQName), apb.PlanID(kubetest.FQName, "default")
	octx := map[string]any{"platform": "kubernetes", "namespace": nss[1]}

	// wait polls an operation to its end; "" means it never ended.
	wait := func(id, op string, gone bool) string {
		for deadline := time.Now().Add(20 * time.Minute); time.Now().Before(deadline); time.Sleep(250 * time.Millisecond) {
			lo, err := br.Client.LastOperation(ctx, id, &osb.LastOperationRequest{Operation: op})
			if e, ok := osb.AsError(err); ok && e.Status == 410 && gone {
				return osb.StateSucceeded
			}
			if err != nil {
				return "error: " + err.Error()
			}
			if lo.State != osb.StateInProgress {
				return lo.State
			}
		}
		return ""
	}
	// run provisions (or deprovisions) ids at once and counts the outcomes.
	run := func(ids []string, deprovision bool) (time.Duration, map[string]int) {
		t0 := time.Now()
		var mu sync.Mutex
		states := map[string]int{}
		var wg sync.WaitGroup
		for _, id := range ids {
			wg.Add(1)
			go func() {
				defer wg.Done()
				var op string
				var err error
				if deprovision {
					var r *osb.DeprovisionResponse
					if r, err = br.Client.Deprovision(ctx, id, &osb.DeprovisionRequest{ServiceID: sid, PlanID: pid}, true); err == nil {
						op = r.Operation
					}
				} else {
					var r *osb.ProvisionResponse
					if r, err = br.Client.Provision(ctx, id, &osb.ProvisionRequest{ServiceID: sid, PlanID: pid, OrganizationGUID: "o", SpaceGUID: "s", Context: octx}, true); err == nil {
						op = r.Operation
					}
				}
				state := "request refused"
				if err == nil {
					state = wait(id, op, deprovision)
				}
				mu.Lock()
				states[state]++
				mu.Unlock()
			}()
		}
		wg.Wait()
		return time.Since(t0), states
	}
	ids := func(prefix string, n int) []string {
		out := make([]string, n)
		for i := range out {
			out[i] = fmt.Sprintf("%s-%08x-%04d", prefix, time.Now().UnixNano()&0xffffffff, i)
		}
		return out
	}
	lost := func(states map[string]int) int { return len(statesNot(states, osb.StateSucceeded)) }

	for i := 0; i < b.N; i++ {
		one := ids("single", 1)
		single, s1 := run(one, false)
		if lost(s1) > 0 {
			b.Fatalf("the baseline provision did not succeed: %v", s1)
		}
		run(one, true)
		many := ids("burst", concurrent)
		wall, sp := run(many, false)
		dwall, sd := run(many, true)
		b.ReportMetric(single.Seconds(), "single-provision-s")
		b.ReportMetric(wall.Seconds(), "100-provisions-s")
		b.ReportMetric(wall.Seconds()/single.Seconds(), "100-provisions/single")
		b.ReportMetric(dwall.Seconds(), "100-deprovisions-s")
		b.ReportMetric(float64(concurrent-sp[osb.StateSucceeded]), "provisions-lost")
		b.ReportMetric(float64(concurrent-sd[osb.StateSucceeded]), "deprovisions-lost")
		if lost(sp)+lost(sd) > 0 {
			b.Logf("outcomes: provisions %v, deprovisions %v", sp, sd)
		}
	}
}

// statesNot lists the outcomes other than want that occurred.
func statesNot(states map[string]int, want string) []string {
	var out []string
	for s, n := range states {
		if s != want && n > 0 {
			out = append(out, s)
		}
	}
	return out
}
