package kube

import (
	"context"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/openstack-service-broker/openstack-service-broker/pkg/osb/osbapi"
	kuberuntime "github.com/openstack-service-broker/openstack-service-broker/pkg/runtime/kubernetes"
	"github.com/openstack-service-broker/openstack-service-broker/test/kube/kubetest"
)

// TestBrokerFromConfigFile: the daemon builds its Kubernetes runtime from
// the config file alone, as an operator deploys it (openshift.host, ca_file
// and bearer_token_file; sandbox keys; secrets:; openstack:). A provision
// that failed half-way is deprovisioned. The broker stops right after the
// deprovision succeeded and still marks its sandbox kept. At the next start
// (without keep_namespace) the janitor removes this broker's leftover
// sandbox, and leaves kept sandboxes and another broker's alone.
func TestBrokerFromConfigFile(t *testing.T) {
	t.Parallel()
	e := setup(t)
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	brokerNS, target := e.namespaces(t, ctx)
	dir := t.TempDir()
	opts := kubetest.BrokerOptions{Namespace: brokerNS,
		OpenShift: map[string]any{
			"keep_namespace": true,
			"sandbox_resources": map[string]any{
				"requests": map[string]string{"cpu": "50m", "memory": "64Mi"},
				"limits":   map[string]string{"memory": "512Mi"},
			},
		},
		Secrets:   []map[string]string{{"title": "test credentials", "apb_name": kubetest.FQName, "secret": credsSecret}},
		OpenStack: map[string]any{"clouds_secret": cloudsSecret, "bundles": "^" + kubetest.FQName + "$"},
	}
	b := e.StartBroker(t, dir, testBundleSpec(t), opts)
	id := b.LogValue("kubernetes runtime", "broker_id")
	if id == "" {
		t.Fatalf("the broker did not log its kubernetes runtime with a broker_id:\n%s", b.Logs)
	}
	e.deleteSandboxesAtCleanup(t, kuberuntime.LabelBroker+"="+id)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("broker log:\n%s", b.Logs)
		}
	})
	f := newFlow(t, ctx, b, kubetest.FQName, target)

	// A provision: the pod as the config file describes it.
	good := newID(t)
	succeeded(t, "provision", f.provision(good, map[string]any{"greeting": "from the config file"}))
	pods, err := e.client.CoreV1().Pods(metav1.NamespaceAll).List(ctx, metav1.ListOptions{LabelSelector: kuberuntime.LabelInstance + "=" + good})
	if err != nil || len(pods.Items) != 1 {
		t.Fatalf("pods of the provision: %d, %v; want 1 (kept)", len(pods.Items), err)
	}
	pod := pods.Items[0]
	if pod.Labels[kuberuntime.LabelBroker] != id || pod.Labels["bundle-action"] != "provision" || !pod.Spec.HostNetwork {
		t.Errorf("pod labels %v, hostNetwork %v", pod.Labels, pod.Spec.HostNetwork)
	}
	c := pod.Spec.Containers[0]
	for name, want := range map[corev1.ResourceName]string{corev1.ResourceCPU: "50m", corev1.ResourceMemory: "64Mi"} {
		if q := c.Resources.Requests[name]; q.String() != want {
			t.Errorf("request %s = %s, want %s", name, q.String(), want)
		}
	}
	if q := c.Resources.Limits[corev1.ResourceMemory]; q.String() != "512Mi" {
		t.Errorf("memory limit = %s, want 512Mi", q.String())
	}
	env := map[string]string{}
	for _, ev := range c.Env {
		env[ev.Name] = ev.Value
	}
	if env["KUBERNETES_SERVICE_HOST"] != e.Host || env["OS_CLOUD"] != "devstack" || c.ImagePullPolicy != corev1.PullNever {
		t.Errorf("env %v, pull policy %s", env, c.ImagePullPolicy)
	}
	mounted := map[string]bool{}
	for _, m := range c.VolumeMounts {
		mounted[m.MountPath] = m.ReadOnly
	}
	for _, s := range []string{credsSecret, cloudsSecret} {
		if !mounted["/etc/apb-secrets/apb-"+s] {
			t.Errorf("secret %s not mounted read-only: %v", s, mounted)
		}
	}
	cm, err := e.client.CoreV1().ConfigMaps(target).Get(ctx, "testbundle-"+good, metav1.GetOptions{})
	if err != nil {
		t.Fatalf("the bundle's ConfigMap: %v", err)
	}
	for k, v := range map[string]string{"greeting": "from the config file", "cluster": "kubernetes", "os_cloud": "devstack", "clouds_readable": "yes"} {
		if cm.Data[k] != v {
			t.Errorf("bundle saw %s = %q, want %q", k, cm.Data[k], v)
		}
	}

	// A provision that fails half-way, then its deprovision.
	bad := newID(t)
	lo := f.provision(bad, map[string]any{"fail": true})
	if lo.State != osbapi.StateFailed || !strings.Contains(lo.Description, "failing on purpose") {
		t.Fatalf("failing provision ended %s: %q", lo.State, lo.Description)
	}
	succeeded(t, "deprovision of the failed instance", f.deprovision(bad))
	if _, err := b.Client.LastOperation(ctx, bad, &osbapi.LastOperationRequest{}); !isStatus(err, 410) {
		t.Errorf("last_operation of the deprovisioned instance: %v, want 410", err)
	}
	dpods, err := e.client.CoreV1().Pods(metav1.NamespaceAll).List(ctx, metav1.ListOptions{LabelSelector: kuberuntime.LabelInstance + "=" + bad})
	if err != nil {
		t.Fatal(err)
	}
	var actions []string
	for _, p := range dpods.Items {
		actions = append(actions, p.Labels["bundle-action"])
	}
	if strings.Join(actions, " ") != "provision deprovision" && strings.Join(actions, " ") != "deprovision provision" {
		t.Errorf("pods for the failed instance: %q, want one provision and one deprovision", actions)
	}

	// The broker stops; meanwhile a sandbox of its own whose operation it
	// never recorded appears (a broker that died mid-cleanup leaves such),
	// and one of another broker.
	if err := b.Stop(); err != nil {
		t.Fatal(err)
	}
	leftover := func(prefix, broker, op string) *corev1.Namespace {
		lbl := map[string]string{kuberuntime.LabelManagedBy: kuberuntime.ManagedBy, kuberuntime.LabelBroker: broker, kuberuntime.LabelOperation: op}
		ann := map[string]string{kuberuntime.AnnotationOperation: op}
		ns, err := e.client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: prefix, Labels: lbl, Annotations: ann}}, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		kubetest.Track(ns.Name)
		t.Cleanup(func() {
			_ = e.client.CoreV1().Namespaces().Delete(context.Background(), ns.Name, metav1.DeleteOptions{})
		})
		rb := &rbacv1.RoleBinding{
			ObjectMeta: metav1.ObjectMeta{Name: ns.Name, Labels: lbl, Annotations: map[string]string{kuberuntime.AnnotationOperation: op, kuberuntime.AnnotationSandbox: ns.Name}},
			RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "edit"},
			Subjects:   []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Name: "bundle", Namespace: ns.Name}},
		}
		if _, err := e.client.RbacV1().RoleBindings(target).Create(ctx, rb, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		return ns
	}
	orphan := leftover("osb-orphan-", id, "op-never-recorded-"+newID(t)[:8])
	foreign := leftover("osb-foreign-", "another-broker", "op-of-another-broker")

	// The second broker does not keep sandboxes, so its janitor deletes the
	// leftover; the sandboxes the first one kept stay kept.
	opts2 := opts
	opts2.OpenShift = map[string]any{}
	for k, v := range opts.OpenShift {
		if k != "keep_namespace" {
			opts2.OpenShift[k] = v
		}
	}
	b2 := e.StartBroker(t, dir, testBundleSpec(t), opts2)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("second broker log:\n%s", b2.Logs)
		}
	})
	waitFor(t, "the janitor removing the leftover sandbox at start", 60*time.Second, func() bool {
		ns, err := e.client.CoreV1().Namespaces().Get(ctx, orphan.Name, metav1.GetOptions{})
		return apierrors.IsNotFound(err) || (err == nil && ns.DeletionTimestamp != nil)
	})
	if _, err := e.client.RbacV1().RoleBindings(target).Get(ctx, orphan.Name, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("the leftover's role binding in the target namespace: err = %v, want NotFound", err)
	}
	if ns, err := e.client.CoreV1().Namespaces().Get(ctx, foreign.Name, metav1.GetOptions{}); err != nil || ns.DeletionTimestamp != nil {
		t.Errorf("another broker's sandbox was reaped: %v", err)
	}
	if _, err := e.client.RbacV1().RoleBindings(target).Get(ctx, foreign.Name, metav1.GetOptions{}); err != nil {
		t.Errorf("another broker's role binding: %v", err)
	}
	kept, err := e.client.CoreV1().Namespaces().List(ctx, metav1.ListOptions{LabelSelector: kuberuntime.LabelBroker + "=" + id + "," + kuberuntime.LabelInstance})
	if err != nil || len(kept.Items) != 3 {
		t.Fatalf("kept sandboxes: %d, %v; want 3 (provision; failed provision, deprovision)", len(kept.Items), err)
	}
	for _, ns := range kept.Items {
		if ns.DeletionTimestamp != nil || ns.Annotations[kuberuntime.AnnotationKept] != "true" {
			t.Errorf("kept sandbox %s: deleting %v, annotations %v", ns.Name, ns.DeletionTimestamp != nil, ns.Annotations)
		}
	}
	if got := b2.LogValue("janitor cleaned up sandboxes left behind", "msg"); got == "" {
		t.Errorf("the janitor's removal is not in the broker's log")
	}
	checkNoSecrets(t, "broker log", b.Logs.String()+b2.Logs.String())
}

func isStatus(err error, status int) bool {
	e, ok := osbapi.AsError(err)
	return ok && e.Status == status
}
