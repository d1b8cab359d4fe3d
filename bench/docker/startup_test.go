package docker

import (
	"encoding/json"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	dockerruntime "github.com/openstack-service-broker/openstack-service-broker/pkg/runtime/docker"
)

// BenchmarkBundleStartup times the test bundle's provision in a bare
// `docker run` (no broker), split by the container's log timestamps
// (BUNDLE_DEBUG=true, so the entrypoint traces its commands): container
// start to the entrypoint's first line, its own checks up to
// ansible-playbook, Python and Ansible start-up to the first play, the
// playbook, and the recap to the container's exit. With
// OSB_BENCH_REF_IMAGE (the same bundle on an earlier apb-base) that image
// runs in every round as well, interleaved, as the baseline of an
// apb-base change. Figures are reported, never asserted.
//
//	OSB_TEST_BUNDLE_IMAGE=... OSB_BENCH_REF_IMAGE=... go test -run '^$' -bench BundleStartup -benchtime 1x ./bench/docker/
func BenchmarkBundleStartup(b *testing.B) {
	if strings.Contains(" "+os.Getenv("OSB_SKIP")+" ", " docker ") {
		b.Skip("OSB_SKIP names docker")
	}
	image := os.Getenv("OSB_TEST_BUNDLE_IMAGE")
	if image == "" {
		b.Fatal("OSB_TEST_BUNDLE_IMAGE not set: test/bundles/build.sh testbundle builds it")
	}
	images := []string{image}
	if ref := os.Getenv("OSB_BENCH_REF_IMAGE"); ref != "" {
		images = append(images, ref)
	}
	rounds := 5
	if n, err := strconv.Atoi(os.Getenv("OSB_BENCH_ROUNDS")); err == nil && n > 0 {
		rounds = n
	}
	docker := "docker"
	if _, err := os.Stat("/usr/bin/docker"); err == nil {
		docker = "/usr/bin/docker"
	}
	results := b.TempDir()
	os.Chmod(results, 0o777)
	vars, _ := json.Marshal(map[string]any{"_apb_plan_id": "default", "_apb_service_instance_id": "startup", "namespace": "ns", "cluster": "kubernetes"})
	names := []string{"total", "start", "entrypoint", "ansible-start", "playbook", "exit"}
	figures := map[string]map[string][]time.Duration{}
	b.ResetTimer()
	for i := 0; i < b.N*rounds; i++ {
		for _, img := range images {
			t0 := time.Now()
			out, err := exec.Command(docker, "run", "-d", "--network", "host", "-v", results+":"+dockerruntime.ResultsPath,
				"-e", dockerruntime.ResultsEnv+"="+dockerruntime.ResultsPath, "-e", "POD_NAME=startup", "-e", "POD_NAMESPACE=ns",
				"-e", "BUNDLE_DEBUG=true", img, "provision", "--extra-vars", string(vars)).Output()
			if err != nil {
				b.Fatalf("docker run %s: %v", img, err)
			}
			id := strings.TrimSpace(string(out))
			code, err := exec.Command(docker, "wait", id).Output()
			total := time.Since(t0)
			if err != nil || strings.TrimSpace(string(code)) != "0" {
				logs, _ := exec.Command(docker, "logs", id).CombinedOutput()
				b.Fatalf("%s exited %s (%v):\n%s", img, code, err, logs)
			}
			logs, _ := exec.Command(docker, "logs", "-t", id).CombinedOutput()
			state, _ := exec.Command(docker, "inspect", "-f", "{{.State.StartedAt}} {{.State.FinishedAt}}", id).Output()
			exec.Command(docker, "rm", id).Run()
			var first, ansible, play, recap time.Time
			for _, l := range strings.Split(string(logs), "\n") {
				ts, line, _ := strings.Cut(l, " ")
				at, err := time.Parse(time.RFC3339Nano, ts)
				if err != nil {
					continue
				}
				switch {
				case first.IsZero():
					first = at
				case ansible.IsZero() && strings.HasPrefix(line, "+ ansible-playbook "):
					ansible = at
				case play.IsZero() && strings.HasPrefix(line, "PLAY ["):
					play = at
				case strings.HasPrefix(line, "PLAY RECAP"):
					recap = at
				}
			}
			st := strings.Fields(string(state))
			if len(st) != 2 || first.IsZero() || ansible.IsZero() || play.IsZero() || recap.IsZero() {
				b.Fatalf("%s: cannot read the phases from its log and state %q", img, state)
			}
			started, _ := time.Parse(time.RFC3339Nano, st[0])
			finished, _ := time.Parse(time.RFC3339Nano, st[1])
			if figures[img] == nil {
				figures[img] = map[string][]time.Duration{}
			}
			f := figures[img]
			for n, d := range map[string]time.Duration{"total": total, "start": first.Sub(started), "entrypoint": ansible.Sub(first),
				"ansible-start": play.Sub(ansible), "playbook": recap.Sub(play), "exit": finished.Sub(recap)} {
				f[n] = append(f[n], d)
			}
		}
	}
	b.StopTimer()
	var sb strings.Builder
	sb.WriteString("p50 ms per phase\n")
	for _, img := range images {
		sb.WriteString(img + ":")
		for _, n := range names {
			sb.WriteString(" " + n + " " + strconv.FormatFloat(ms(median(figures[img][n])), 'f', 0, 64))
		}
		sb.WriteString("\n")
	}
	b.Log(sb.String())
	for _, n := range names {
		b.ReportMetric(ms(median(figures[image][n])), n+"-p50-ms")
	}
	if len(images) == 2 {
		for _, n := range []string{"total", "entrypoint", "ansible-start", "playbook"} {
			b.ReportMetric(float64(median(figures[image][n]))/float64(median(figures[images[1]][n])), n+"/ref")
		}
	}
}
