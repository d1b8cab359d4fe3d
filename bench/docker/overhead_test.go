// Package docker measures what the broker adds to a trivial bundle action
// on the Docker runtime: an unbind of the test bundle (one
// asb_last_operation task) through the OSB API, from the request to the
// first last_operation answering succeeded (polled every 10 ms), against
// `docker run --rm` of the same image doing the same action with the same
// extra vars and a results directory, measured in the same run and
// interleaved with it so that both see the same load. Target (DESIGN.md):
// within 10% of the bare run. Figures are reported, never asserted. Needs
// Debian's Docker engine and the test bundle (hack/test.d/25-docker.sh):
//
//	OSB_TEST_BUNDLE_IMAGE=... go test -run '^$' -bench . -benchtime 1x ./bench/docker/
package docker

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/openstack-service-broker/openstack-service-broker/pkg/apb"
	"github.com/openstack-service-broker/openstack-service-broker/pkg/osb/osbapi"
	dockerruntime "github.com/openstack-service-broker/openstack-service-broker/pkg/runtime/docker"
	"github.com/openstack-service-broker/openstack-service-broker/test/docker/dockertest"
)

// rounds of (broker unbind, bare docker run) per benchmark iteration.
const rounds = 5

func BenchmarkTrivialActionOverhead(b *testing.B) {
	if strings.Contains(" "+os.Getenv("OSB_SKIP")+" ", " docker ") {
		b.Skip("OSB_SKIP names docker")
	}
	image := os.Getenv("OSB_TEST_BUNDLE_IMAGE")
	if image == "" {
		b.Fatal("OSB_TEST_BUNDLE_IMAGE not set: hack/bench.sh builds it (hack/test.d/25-docker.sh), or test/bundles/build.sh testbundle")
	}
	c, err := dockerruntime.NewClient("")
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	spec, err := os.ReadFile("../../test/bundles/testbundle/apb.yml")
	if err != nil {
		b.Fatal(err)
	}
	// Info: the bundle's output is not streamed into the log (debug), as
	// in a production broker.
	br := dockertest.StartBroker(b, c, b.TempDir(), dockertest.Options{Image: image, APBYML: spec, LogLevel: "info"})
	sid, pid := apb.ServiceID(dockertest.FQName), apb.PlanID(dockertest.FQName, "default")
	instance := newID(0)
	pr, err := br.Client.Provision(ctx, instance, &osbapi.ProvisionRequest{ServiceID: sid, PlanID: pid, OrganizationGUID: "o", SpaceGUID: "s"}, true)
	if err != nil {
		b.Fatal(err)
	}
	wait(b, func() (*osbapi.LastOperationResponse, error) {
		return br.Client.LastOperation(ctx, instance, &osbapi.LastOperationRequest{Operation: pr.Operation})
	})

	docker := "docker"
	if _, err := os.Stat("/usr/bin/docker"); err == nil {
		docker = "/usr/bin/docker" // Debian's client, matching Debian's engine
	}
	results := b.TempDir()
	os.Chmod(results, 0o777)

	var viaBroker, bare []time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for r := 0; r < rounds; r++ {
			binding := newID(i*rounds + r + 1)
			// The binding exists first (not timed).
			bres, err := br.Client.Bind(ctx, instance, binding, &osbapi.BindRequest{ServiceID: sid, PlanID: pid}, true)
			if err != nil {
				b.Fatal(err)
			}
			wait(b, func() (*osbapi.LastOperationResponse, error) {
				return br.Client.BindingLastOperation(ctx, instance, binding, &osbapi.LastOperationRequest{Operation: bres.Operation})
			})

			t0 := time.Now()
			ures, err := br.Client.Unbind(ctx, instance, binding, &osbapi.UnbindRequest{ServiceID: sid, PlanID: pid}, true)
			if err != nil {
				b.Fatal(err)
			}
			wait(b, func() (*osbapi.LastOperationResponse, error) {
				return br.Client.BindingLastOperation(ctx, instance, binding, &osbapi.LastOperationRequest{Operation: ures.Operation})
			})
			viaBroker = append(viaBroker, time.Since(t0))

			// The same action, bare: the extra vars the broker gives it.
			vars, _ := json.Marshal(map[string]any{
				"_apb_plan_id": "default", "_apb_service_class_id": sid, "_apb_service_instance_id": instance,
				"_apb_service_binding_id": binding, "_apb_last_requesting_user": "bench", "cluster": "kubernetes", "namespace": "osb-docker-e2e",
			})
			t0 = time.Now()
			out, err := exec.Command(docker, "run", "--rm", "--network", "host", "-v", results+":"+dockerruntime.ResultsPath,
				"-e", dockerruntime.ResultsEnv+"="+dockerruntime.ResultsPath, image, "unbind", "--extra-vars", string(vars)).CombinedOutput()
			if err != nil {
				b.Fatalf("docker run: %v\n%s", err, out)
			}
			bare = append(bare, time.Since(t0))
			if d, _ := os.ReadFile(filepath.Join(results, "last_operation")); string(d) != "unbound "+binding {
				b.Fatalf("the bare run left %q", d)
			}
		}
	}
	b.StopTimer()
	vb, bb := median(viaBroker), median(bare)
	b.ReportMetric(ms(vb), "broker-p50-ms")
	b.ReportMetric(ms(bb), "bare-docker-run-p50-ms")
	b.ReportMetric(float64(vb)/float64(bb), "broker/bare")
	b.Logf("unbind through the broker: %v; bare docker run: %v", viaBroker, bare)
}

// wait polls an operation every 10 ms until it ends; it must succeed (410
// Gone after an unbind says it did).
func wait(b *testing.B, f func() (*osbapi.LastOperationResponse, error)) {
	b.Helper()
	for deadline := time.Now().Add(5 * time.Minute); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		lo, err := f()
		if e, ok := osbapi.AsError(err); ok && e.Status == 410 {
			return
		}
		if err != nil {
			b.Fatal(err)
		}
		switch lo.State {
		case osbapi.StateSucceeded:
			return
		case osbapi.StateFailed:
			b.Fatalf("operation failed: %s", lo.Description)
		}
	}
	b.Fatal("operation still in progress after 5 minutes")
}

func newID(i int) string {
	return fmt.Sprintf("%08x-0000-4000-8000-%012d", time.Now().Unix()&0xffffffff, i)
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func median(d []time.Duration) time.Duration {
	s := append([]time.Duration(nil), d...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[len(s)/2]
}
