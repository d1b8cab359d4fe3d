// Package apbrun measures what `apb run` adds to one bundle action: `apb
// run provision` of the test bundle (the binary as a developer runs it:
// engine handshake, image check, the container through the broker's
// Docker runtime, results read back, the local record written) against
// `docker run --rm` of the same image doing the same action with the same
// kind of extra vars and a results directory, interleaved in the same run
// so that both see the same load. Figures are reported, never asserted.
// Needs Debian's Docker engine and the test bundle
// (hack/test.d/25-docker.sh):
//
//	OSB_TEST_BUNDLE_IMAGE=... go test -run '^$' -bench . -benchtime 1x ./bench/apbrun/
package apbrun

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	dockerruntime "github.com/openstack-service-broker/openstack-service-broker/pkg/runtime/docker"
)

// rounds of (apb run, bare docker run) per benchmark iteration.
const rounds = 5

func BenchmarkApbRunOverhead(b *testing.B) {
	if strings.Contains(" "+os.Getenv("OSB_SKIP")+" ", " docker ") {
		b.Skip("OSB_SKIP names docker")
	}
	image := os.Getenv("OSB_TEST_BUNDLE_IMAGE")
	if image == "" {
		b.Fatal("OSB_TEST_BUNDLE_IMAGE not set: hack/bench.sh builds it (hack/test.d/25-docker.sh), or test/bundles/build.sh testbundle")
	}
	bin := b.TempDir()
	if out, err := exec.Command("go", "build", "-o", bin+"/", "../../cmd/apb").CombinedOutput(); err != nil {
		b.Fatalf("go build apb: %v\n%s", err, out)
	}
	bundle, err := filepath.Abs("../../test/bundles/testbundle")
	if err != nil {
		b.Fatal(err)
	}
	home := b.TempDir()
	env := append(os.Environ(), "HOME="+home, "XDG_CONFIG_HOME="+filepath.Join(home, ".config"), "XDG_STATE_HOME="+filepath.Join(home, ".state"))
	docker := "docker"
	if _, err := os.Stat("/usr/bin/docker"); err == nil {
		docker = "/usr/bin/docker" // Debian's client, matching Debian's engine
	}
	results := b.TempDir()
	os.Chmod(results, 0o777)

	var viaApb, bare []time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for r := 0; r < rounds; r++ {
			t0 := time.Now()
			cmd := exec.Command(filepath.Join(bin, "apb"), "run", "provision", bundle, "-t", image, "-o", "json")
			cmd.Env = env
			out, err := cmd.CombinedOutput()
			if err != nil {
				b.Fatalf("apb run provision: %v\n%s", err, out)
			}
			viaApb = append(viaApb, time.Since(t0))

			vars, _ := json.Marshal(map[string]any{
				"_apb_plan_id": "default", "_apb_service_class_id": "0", "_apb_service_instance_id": "bench-bare",
				"_apb_last_requesting_user": "bench", "cluster": "kubernetes", "namespace": "default",
			})
			t0 = time.Now()
			out, err = exec.Command(docker, "run", "--rm", "--network", "host", "-v", results+":"+dockerruntime.ResultsPath,
				"-e", dockerruntime.ResultsEnv+"="+dockerruntime.ResultsPath, image, "provision", "--extra-vars", string(vars)).CombinedOutput()
			if err != nil {
				b.Fatalf("docker run: %v\n%s", err, out)
			}
			bare = append(bare, time.Since(t0))
		}
	}
	b.StopTimer()
	va, bb := median(viaApb), median(bare)
	b.ReportMetric(ms(va), "apb-run-p50-ms")
	b.ReportMetric(ms(bb), "bare-docker-run-p50-ms")
	b.ReportMetric(float64(va)/float64(bb), "apb/bare")
	b.Logf("apb run provision: %v; bare docker run: %v", viaApb, bare)
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func median(d []time.Duration) time.Duration {
	s := append([]time.Duration(nil), d...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[len(s)/2]
}
