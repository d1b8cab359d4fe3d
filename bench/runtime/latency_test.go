package runtime

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"

	"github.com/openstack-service-broker/openstack-service-broker/pkg/apb"
	"github.com/openstack-service-broker/openstack-service-broker/pkg/osb/osbapi"
	dockerruntime "github.com/openstack-service-broker/openstack-service-broker/pkg/runtime/docker"
	kuberuntime "github.com/openstack-service-broker/openstack-service-broker/pkg/runtime/kubernetes"
	"github.com/openstack-service-broker/openstack-service-broker/test/kube/kubetest"
)

// BenchmarkActionLatency times a provision of the test bundle from the OSB
// request to the first last_operation answering succeeded (polled every
// 500 ms while the pod runs, every 2 ms once it finished), broken down into phases, against two baselines measured in the
// same run and interleaved with it round by round (so all three see the
// same load):
//
//   - bare pod: the image the broker runs (kubetest.Image, the node's
//     local/testbundle-apb:latest, which hack/test.d/30-kube.sh tags from
//     OSB_TEST_BUNDLE_IMAGE), the same action and extra vars, created with bare
//     client-go in a namespace whose service account and role bindings
//     already exist, from the create call to the watch seeing Succeeded;
//   - bare docker run: `docker run --rm` of OSB_TEST_BUNDLE_IMAGE (the
//     same bundle in the Docker engine) and the same action
//     (no cluster around it, so the bundle's in-cluster task is skipped).
//
// Phases of the broker's action (the pod's from the bench's own watch, the
// container's from the kubelet's log timestamps, with BUNDLE_DEBUG=true in
// every run so that the entrypoint traces its commands):
//
//	store          request -> runtime Run called (job stored, worker picked it)
//	sandbox        Run -> pod created (namespace, service account, role bindings, secrets, pod)
//	scheduled      pod created -> the watch sees it bound to the node
//	started        scheduled -> the entrypoint's first line (sandbox, volumes, container start)
//	entrypoint     first line -> ansible-playbook executed (the entrypoint's own checks)
//	ansible-start  ansible-playbook executed -> its first line (Python and Ansible start-up, playbook parse)
//	playbook       first play -> PLAY RECAP
//	exit           PLAY RECAP -> the runtime's watch sees the pod finished (exit, kubelet status)
//	readback       pod finished -> result read (credentials Secret)
//	stored         result read -> last_operation answers succeeded
//	release        result read -> Release returned (after the outcome is stored: not on the path)
//	outside        end to end minus the container's own work (entrypoint to recap)
//
// Under a loaded machine the container's work (the same for the broker's
// pod and the bare one) varies most from round to round; "outside" is the
// rest, where the broker's cost is, compared with the bare pod's.
//
// The bare pod has the phases from scheduled to exit. With
// OSB_BENCH_REF_IMAGE (e.g. the same bundle on an earlier apb-base) a bare
// pod of that image runs in each round as well: a change to the base is
// measured against its predecessor under the same load. Figures are
// reported, never asserted. OSB_BENCH_ROUNDS sets the rounds (default 5).
// Needs the cluster of hack/test.d/30-kube.sh and Docker:
//
//	OSB_TEST_KUBECONFIG=... OSB_TEST_BUNDLE_IMAGE=... go test -run '^$' -bench ActionLatency -benchtime 1x ./bench/runtime/
func BenchmarkActionLatency(b *testing.B) {
	c := kubetest.Connect(b)
	ctx := context.Background()
	image := os.Getenv("OSB_TEST_BUNDLE_IMAGE")
	rounds := 5
	if n, err := strconv.Atoi(os.Getenv("OSB_BENCH_ROUNDS")); err == nil && n > 0 {
		rounds = n
	}
	brokerNS, target := c.TempNamespace(b, ctx, "osb-bench-broker-"), c.TempNamespace(b, ctx, "osb-bench-target-")
	bareNS := c.TempNamespace(b, ctx, "osb-bench-bare-")
	spec, err := os.ReadFile("../../test/bundles/testbundle/apb.yml")
	if err != nil {
		b.Fatal(err)
	}
	debugEnv := corev1.EnvVar{Name: "BUNDLE_DEBUG", Value: "true"}

	// The broker's phases, by operation.
	var mu sync.Mutex
	traced := map[string]map[kuberuntime.Phase]time.Time{}
	cfg := c.RuntimeConfig(brokerNS)
	cfg.ExtraEnv = append(cfg.ExtraEnv, debugEnv)
	// A loaded 2-core machine stretches a provision past the test
	// clusters' 3 minutes.
	cfg.Timeout = 20 * time.Minute
	cfg.Trace = func(op string, p kuberuntime.Phase, at time.Time) {
		mu.Lock()
		defer mu.Unlock()
		if traced[op] == nil {
			traced[op] = map[kuberuntime.Phase]time.Time{}
		}
		traced[op][p] = at
	}
	rt, err := kuberuntime.New(cfg, c.Client, nil)
	if err != nil {
		b.Fatal(err)
	}
	br := c.StartBroker(b, b.TempDir(), spec, kubetest.BrokerOptions{Runtime: rt, Namespace: brokerNS, LogLevel: "info"})
	sid, pid := apb.ServiceID(kubetest.FQName), apb.PlanID(kubetest.FQName, "default")
	octx := map[string]any{"platform": "kubernetes", "namespace": target}

	// The bare pod's service account may do what the sandbox's may.
	sa := "bare-bundle"
	if _, err := c.Client.CoreV1().ServiceAccounts(bareNS).Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: sa}}, metav1.CreateOptions{}); err != nil {
		b.Fatal(err)
	}
	for _, in := range []string{bareNS, target} {
		rb := &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Name: sa + "-" + bareNS},
			RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "edit"},
			Subjects: []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Name: sa, Namespace: bareNS}}}
		if _, err := c.Client.RbacV1().RoleBindings(in).Create(ctx, rb, metav1.CreateOptions{}); err != nil {
			b.Fatal(err)
		}
	}

	brokerPods := watchPods(b, ctx, c.Client, "", kuberuntime.LabelBroker+"="+cfg.BrokerID, func(p *corev1.Pod) string {
		return p.Annotations[kuberuntime.AnnotationOperation]
	})
	barePods := watchPods(b, ctx, c.Client, bareNS, "osb-bench=latency", func(p *corev1.Pod) string { return p.Name })

	docker := "docker"
	if _, err := os.Stat("/usr/bin/docker"); err == nil {
		docker = "/usr/bin/docker" // Debian's client, matching Debian's engine
	}
	results := b.TempDir()
	os.Chmod(results, 0o777)

	phaseNames := []string{"store", "sandbox", "scheduled", "started", "entrypoint", "ansible-start", "playbook", "exit", "readback", "stored", "release", "outside"}
	brokerPh := map[string][]time.Duration{}
	barePh := map[string][]time.Duration{}
	var viaBroker, barePod, bareDocker, refPod []time.Duration
	refImage := os.Getenv("OSB_BENCH_REF_IMAGE")
	refPh := map[string][]time.Duration{}

	vars := func(instance string) map[string]any {
		return map[string]any{
			"_apb_plan_id": "default", "_apb_service_class_id": sid, "_apb_service_instance_id": instance,
			"_apb_last_requesting_user": "bench", "cluster": "kubernetes", "namespace": target,
		}
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for r := 0; r < rounds; r++ {
			// Through the broker.
			id := newID(i*rounds + r)
			t0 := time.Now()
			pr, err := br.Client.Provision(ctx, id, &osbapi.ProvisionRequest{ServiceID: sid, PlanID: pid, OrganizationGUID: "o", SpaceGUID: "s", Context: octx}, true)
			if err != nil {
				b.Fatal(err)
			}
			succeeded := pollSucceeded(b, func() bool {
				mu.Lock()
				defer mu.Unlock()
				_, ok := traced[pr.Operation][kuberuntime.PhasePodFinished]
				return ok
			}, func() (*osbapi.LastOperationResponse, error) {
				return br.Client.LastOperation(ctx, id, &osbapi.LastOperationRequest{Operation: pr.Operation})
			})
			viaBroker = append(viaBroker, succeeded.Sub(t0))
			tr := waitTrace(b, &mu, traced, pr.Operation)
			pt := brokerPods.wait(b, pr.Operation)
			add := func(m map[string][]time.Duration, name string, from, to time.Time) {
				if !from.IsZero() && !to.IsZero() {
					m[name] = append(m[name], to.Sub(from))
				}
			}
			add(brokerPh, "store", t0, tr[kuberuntime.PhaseStart])
			add(brokerPh, "sandbox", tr[kuberuntime.PhaseStart], tr[kuberuntime.PhasePodCreated])
			add(brokerPh, "scheduled", tr[kuberuntime.PhasePodCreated], pt.scheduled)
			pt.container(add, brokerPh, pt.scheduled, tr[kuberuntime.PhasePodFinished])
			if in := pt.inside(); in > 0 {
				brokerPh["outside"] = append(brokerPh["outside"], succeeded.Sub(t0)-in)
			}
			add(brokerPh, "readback", tr[kuberuntime.PhasePodFinished], tr[kuberuntime.PhaseDone])
			add(brokerPh, "stored", tr[kuberuntime.PhaseDone], succeeded)
			add(brokerPh, "release", tr[kuberuntime.PhaseDone], tr[kuberuntime.PhaseReleased])

			// The bare pod: same image, action and extra vars.
			bare := func(image, name string, seq int, m map[string][]time.Duration) time.Duration {
				extra, _ := json.Marshal(vars(newID(seq)))
				pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{"osb-bench": "latency"}}, Spec: corev1.PodSpec{
					RestartPolicy: corev1.RestartPolicyNever, ServiceAccountName: sa, HostNetwork: cfg.HostNetwork, EnableServiceLinks: new(bool),
					Containers: []corev1.Container{{Name: "apb", Image: image, ImagePullPolicy: corev1.PullNever,
						Args: []string{"provision", "--extra-vars", string(extra)},
						Env: append([]corev1.EnvVar{
							{Name: "POD_NAME", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.name"}}},
							{Name: "POD_NAMESPACE", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.namespace"}}},
						}, cfg.ExtraEnv...)}},
				}}
				t0 := time.Now()
				if _, err := c.Client.CoreV1().Pods(bareNS).Create(ctx, pod, metav1.CreateOptions{}); err != nil {
					b.Fatal(err)
				}
				created := time.Now()
				bt := barePods.wait(b, name)
				if bt.phase != corev1.PodSucceeded {
					b.Fatalf("bare pod %s: %s", name, bt.phase)
				}
				add(m, "sandbox", t0, created)
				add(m, "scheduled", created, bt.scheduled)
				bt.container(add, m, bt.scheduled, bt.finished)
				if in := bt.inside(); in > 0 {
					m["outside"] = append(m["outside"], bt.finished.Sub(t0)-in)
				}
				_ = c.Client.CoreV1().Pods(bareNS).Delete(ctx, name, metav1.DeleteOptions{})
				return bt.finished.Sub(t0)
			}
			barePod = append(barePod, bare(kubetest.Image, fmt.Sprintf("bare-%d-%d", i, r), 1000+i*rounds+r, barePh))
			if refImage != "" {
				refPod = append(refPod, bare(refImage, fmt.Sprintf("ref-%d-%d", i, r), 3000+i*rounds+r, refPh))
			}

			// Bare docker run.
			extra, _ := json.Marshal(vars(newID(2000 + i*rounds + r)))
			t0 = time.Now()
			out, err := exec.Command(docker, "run", "--rm", "--network", "host", "-v", results+":"+dockerruntime.ResultsPath,
				// The environment the Docker runtime gives a bundle.
				"-e", "BUNDLE_DEBUG=true", "-e", dockerruntime.ResultsEnv+"="+dockerruntime.ResultsPath,
				"-e", "POD_NAME=bare-docker", "-e", "POD_NAMESPACE="+target,
				image, "provision", "--extra-vars", string(extra)).CombinedOutput()
			if err != nil {
				b.Fatalf("docker run: %v\n%s", err, out)
			}
			bareDocker = append(bareDocker, time.Since(t0))
			if d, _ := os.ReadFile(filepath.Join(results, "last_operation")); !strings.HasPrefix(string(d), "100%") {
				b.Fatalf("the bare docker run left %q", d)
			}
		}
	}
	b.StopTimer()

	e2e, pod, dock := median(viaBroker), median(barePod), median(bareDocker)
	b.ReportMetric(ms(e2e), "broker-p50-ms")
	b.ReportMetric(ms(pod), "bare-pod-p50-ms")
	b.ReportMetric(ms(dock), "bare-docker-p50-ms")
	b.ReportMetric(float64(e2e)/float64(pod), "broker/bare-pod")
	b.ReportMetric(float64(e2e)/float64(dock), "broker/bare-docker")
	b.ReportMetric(float64(pod)/float64(dock), "bare-pod/bare-docker")
	var sb strings.Builder
	fmt.Fprintf(&sb, "p50 ms over %d rounds (n = rounds with that phase seen)\n%-14s %14s %14s %14s\n", len(viaBroker), "phase", "broker", "bare-pod", "ref-bare-pod")
	for _, n := range phaseNames {
		cell := func(m map[string][]time.Duration) string {
			if len(m[n]) == 0 {
				return "-"
			}
			return fmt.Sprintf("%.0f (n=%d)", ms(median(m[n])), len(m[n]))
		}
		fmt.Fprintf(&sb, "%-14s %14s %14s %14s\n", n, cell(brokerPh), cell(barePh), cell(refPh))
		if len(brokerPh[n]) > 0 {
			b.ReportMetric(ms(median(brokerPh[n])), n+"-p50-ms")
		}
	}
	fmt.Fprintf(&sb, "%-14s %14.0f %14.0f", "end to end", ms(e2e), ms(pod))
	if len(refPod) > 0 {
		ref := median(refPod)
		fmt.Fprintf(&sb, " %14.0f", ms(ref))
		b.ReportMetric(ms(ref), "ref-bare-pod-p50-ms")
		b.ReportMetric(float64(pod)/float64(ref), "bare-pod/ref-bare-pod")
	}
	fmt.Fprintf(&sb, "\nbare docker run %.0f\n", ms(dock))
	b.Log(sb.String())
	b.Logf("broker %v\nbare pod %v\nref bare pod %v\nbare docker %v", viaBroker, barePod, refPod, bareDocker)
}

// pollSucceeded polls an operation until it succeeds and returns when it
// saw that: every 500 ms while the pod runs (as a platform would; polling
// faster would spend the CPU the pod needs on the broker's answers), then,
// once the runtime has seen the pod finish (finished), every 2 ms.
func pollSucceeded(b *testing.B, finished func() bool, f func() (*osbapi.LastOperationResponse, error)) time.Time {
	b.Helper()
	for deadline := time.Now().Add(20 * time.Minute); time.Now().Before(deadline); {
		lo, err := f()
		if err != nil {
			b.Fatal(err)
		}
		switch lo.State {
		case osbapi.StateSucceeded:
			return time.Now()
		case osbapi.StateFailed:
			b.Fatalf("operation failed: %s", lo.Description)
		}
		for t := 0; t < 250 && (t == 0 || !finished()); t++ {
			time.Sleep(2 * time.Millisecond)
		}
	}
	b.Fatal("operation still in progress after 20 minutes")
	return time.Time{}
}

// waitTrace returns the phases of op once Release has returned.
func waitTrace(b *testing.B, mu *sync.Mutex, traced map[string]map[kuberuntime.Phase]time.Time, op string) map[kuberuntime.Phase]time.Time {
	b.Helper()
	for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		mu.Lock()
		tr := traced[op]
		_, ok := tr[kuberuntime.PhaseReleased]
		mu.Unlock()
		if ok {
			return tr
		}
	}
	b.Fatalf("operation %s not released within a minute", op)
	return nil
}

// podTimes is what the bench's watch and the container's log said of one pod.
type podTimes struct {
	scheduled, finished time.Time
	phase               corev1.PodPhase
	// From the kubelet's log timestamps: the entrypoint's first line, its
	// `+ ansible-playbook` trace, ansible's first output, its recap.
	firstLine, ansibleExec, firstPlay, recap time.Time
	logDone                                  chan struct{}
	logOnce                                  sync.Once
}

// inside is the time the container's own work took, from its first line
// to ansible's recap (0 when the log did not say): the same work for the
// broker's pod and the bare one, and what the load stretches most.
func (t *podTimes) inside() time.Duration {
	if t.firstLine.IsZero() || t.recap.IsZero() {
		return 0
	}
	return t.recap.Sub(t.firstLine)
}

// container adds the phases from scheduled to exit (end: the pod seen
// finished).
func (t *podTimes) container(add func(map[string][]time.Duration, string, time.Time, time.Time), m map[string][]time.Duration, scheduled, end time.Time) {
	add(m, "started", scheduled, t.firstLine)
	add(m, "entrypoint", t.firstLine, t.ansibleExec)
	add(m, "ansible-start", t.ansibleExec, t.firstPlay)
	add(m, "playbook", t.firstPlay, t.recap)
	add(m, "exit", t.recap, end)
}

type podWatch struct {
	mu   sync.Mutex
	pods map[string]*podTimes
}

// watchPods records, for each pod selector matches (keyed by key), when
// the watch saw it scheduled and finished, and reads its log with the
// kubelet's timestamps once it runs.
func watchPods(b *testing.B, ctx context.Context, cs kubernetes.Interface, ns, selector string, key func(*corev1.Pod) string) *podWatch {
	b.Helper()
	pw := &podWatch{pods: map[string]*podTimes{}}
	w, err := cs.CoreV1().Pods(ns).Watch(ctx, metav1.ListOptions{LabelSelector: selector})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(w.Stop)
	go func() {
		for ev := range w.ResultChan() {
			now := time.Now()
			p, ok := ev.Object.(*corev1.Pod)
			if !ok || ev.Type == watch.Deleted {
				continue
			}
			pw.mu.Lock()
			t := pw.pods[key(p)]
			if t == nil {
				t = &podTimes{logDone: make(chan struct{})}
				pw.pods[key(p)] = t
			}
			if t.scheduled.IsZero() && p.Spec.NodeName != "" {
				t.scheduled = now
			}
			done := p.Status.Phase == corev1.PodSucceeded || p.Status.Phase == corev1.PodFailed
			if done && t.finished.IsZero() {
				t.finished, t.phase = now, p.Status.Phase
			}
			running := done
			for _, st := range p.Status.ContainerStatuses {
				running = running || st.State.Running != nil || st.State.Terminated != nil
			}
			pw.mu.Unlock()
			if running {
				t.logOnce.Do(func() { go readLog(ctx, cs, p.Namespace, p.Name, t) })
			}
		}
	}()
	return pw
}

// readLog reads the container's log with timestamps into t.
func readLog(ctx context.Context, cs kubernetes.Interface, ns, name string, t *podTimes) {
	defer close(t.logDone)
	s, err := cs.CoreV1().Pods(ns).GetLogs(name, &corev1.PodLogOptions{Container: "apb", Follow: true, Timestamps: true}).Stream(ctx)
	if err != nil {
		return
	}
	defer s.Close()
	sc := bufio.NewScanner(s)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for sc.Scan() {
		ts, line, ok := strings.Cut(sc.Text(), " ")
		if !ok {
			continue
		}
		at, err := time.Parse(time.RFC3339Nano, ts)
		if err != nil {
			continue
		}
		switch {
		case t.firstLine.IsZero():
			t.firstLine = at
		case t.ansibleExec.IsZero() && strings.HasPrefix(line, "+ ansible-playbook "):
			t.ansibleExec = at
		case t.firstPlay.IsZero() && strings.HasPrefix(line, "PLAY ["):
			t.firstPlay = at
		case strings.HasPrefix(line, "PLAY RECAP"):
			t.recap = at
		}
	}
}

// wait returns the times of the pod keyed k once it finished and its log
// was read (or could not be).
func (pw *podWatch) wait(b *testing.B, k string) *podTimes {
	b.Helper()
	for deadline := time.Now().Add(5 * time.Minute); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		pw.mu.Lock()
		t := pw.pods[k]
		pw.mu.Unlock()
		if t == nil {
			continue
		}
		pw.mu.Lock()
		fin := !t.finished.IsZero()
		pw.mu.Unlock()
		if !fin {
			continue
		}
		select {
		case <-t.logDone:
		case <-time.After(10 * time.Second):
		}
		pw.mu.Lock()
		defer pw.mu.Unlock()
		return t
	}
	b.Fatalf("pod %s not finished within 5 minutes", k)
	return nil
}
