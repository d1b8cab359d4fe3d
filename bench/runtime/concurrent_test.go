package runtime

import (
	"context"
	"fmt"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/openstack-service-broker/openstack-service-broker/pkg/apb"
	"github.com/openstack-service-broker/openstack-service-broker/pkg/osb/osbapi"
	"github.com/openstack-service-broker/openstack-service-broker/test/kube/kubetest"
)

// concurrent is how many provisions BenchmarkConcurrentProvisions sends at
// once (DESIGN.md: 100 with nothing lost).
const concurrent = 100

// BenchmarkConcurrentProvisions sends 100 provisions at once through the
// OSB API and waits for all of them, then deprovisions them all. It reports
// the wall time against one provision alone in the same run (the
// baseline), how many operations failed, and how many were lost (never
// ended, or vanished: the figure must be 0). Each provision is a real
// ansible-playbook pod, so on 2 cores the figure is mostly the node's CPU;
// the descriptions of failures are logged.
func BenchmarkConcurrentProvisions(b *testing.B) {
	c := kubetest.Connect(b)
	ctx := context.Background()
	nss := []string{c.TempNamespace(b, ctx, "osb-bench-broker-"), c.TempNamespace(b, ctx, "osb-bench-target-")}
	spec, err := os.ReadFile("../../test/bundles/testbundle/apb.yml")
	if err != nil {
		b.Fatal(err)
	}
	// 100 ansible-playbook pods on 2 cores take minutes each when 32 run
	// at once: the test clusters' 3 min action timeout would fail them.
	br := c.StartBroker(b, b.TempDir(), spec, kubetest.BrokerOptions{Namespace: nss[0], LogLevel: "info",
		OpenShift: map[string]any{"sandbox_timeout": "30m"}})
	sid, pid := apb.ServiceID(kubetest.FQName), apb.PlanID(kubetest.FQName, "default")
	octx := map[string]any{"platform": "kubernetes", "namespace": nss[1]}

	// wait polls an operation to its end: its state and description;
	// "" means it never ended (lost).
	wait := func(id, op string, gone bool) (string, string) {
		for deadline := time.Now().Add(30 * time.Minute); time.Now().Before(deadline); time.Sleep(250 * time.Millisecond) {
			lo, err := br.Client.LastOperation(ctx, id, &osbapi.LastOperationRequest{Operation: op})
			if e, ok := osbapi.AsError(err); ok && e.Status == 410 && gone {
				return osbapi.StateSucceeded, ""
			}
			if err != nil {
				return "", err.Error()
			}
			if lo.State != osbapi.StateInProgress {
				return lo.State, lo.Description
			}
		}
		return "", "still in progress after 30 min"
	}
	// run provisions (or deprovisions) ids at once; it returns the wall
	// time and the outcomes: state -> description -> count.
	run := func(ids []string, deprovision bool) (time.Duration, outcomes) {
		t0 := time.Now()
		var mu sync.Mutex
		out := outcomes{}
		var wg sync.WaitGroup
		for _, id := range ids {
			wg.Add(1)
			go func() {
				defer wg.Done()
				var op string
				var err error
				if deprovision {
					var r *osbapi.DeprovisionResponse
					if r, err = br.Client.Deprovision(ctx, id, &osbapi.DeprovisionRequest{ServiceID: sid, PlanID: pid}, true); err == nil {
						op = r.Operation
					}
				} else {
					var r *osbapi.ProvisionResponse
					if r, err = br.Client.Provision(ctx, id, &osbapi.ProvisionRequest{ServiceID: sid, PlanID: pid, OrganizationGUID: "o", SpaceGUID: "s", Context: octx}, true); err == nil {
						op = r.Operation
					}
				}
				state, desc := "", ""
				if err != nil {
					desc = "request refused: " + err.Error()
				} else {
					state, desc = wait(id, op, deprovision)
				}
				mu.Lock()
				out.add(state, desc)
				mu.Unlock()
			}()
		}
		wg.Wait()
		return time.Since(t0), out
	}
	ids := func(prefix string, n int) []string {
		out := make([]string, n)
		for i := range out {
			out[i] = fmt.Sprintf("%s-%08x-%04d", prefix, time.Now().UnixNano()&0xffffffff, i)
		}
		return out
	}
	for i := 0; i < b.N; i++ {
		one := ids("single", 1)
		single, s1 := run(one, false)
		if s1.count(osbapi.StateSucceeded) != 1 {
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
		b.ReportMetric(float64(sp.count(osbapi.StateFailed)), "provisions-failed")
		b.ReportMetric(float64(sp.count("")), "provisions-lost")
		b.ReportMetric(float64(sd.count(osbapi.StateFailed)), "deprovisions-failed")
		b.ReportMetric(float64(sd.count("")), "deprovisions-lost")
		b.Logf("outcomes: provisions %v; deprovisions %v", sp, sd)
	}
}

// outcomes counts operations by final state ("" for lost) and description.
type outcomes map[string]map[string]int

func (o outcomes) add(state, desc string) {
	if o[state] == nil {
		o[state] = map[string]int{}
	}
	if state == osbapi.StateSucceeded {
		desc = ""
	}
	o[state][desc]++
}

func (o outcomes) count(state string) int {
	n := 0
	for _, c := range o[state] {
		n += c
	}
	return n
}
