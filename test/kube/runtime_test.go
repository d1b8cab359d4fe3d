package kube

import (
	"context"
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/openstack-service-broker/openstack-service-broker/pkg/runtime"
	kuberuntime "github.com/openstack-service-broker/openstack-service-broker/pkg/runtime/kubernetes"
)

// progressLog collects last_operation descriptions.
type progressLog struct {
	mu   sync.Mutex
	seen []string
}

func (p *progressLog) add(d string) { p.mu.Lock(); p.seen = append(p.seen, d); p.mu.Unlock() }
func (p *progressLog) all() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.seen...)
}

// TestLifecycle provisions (sandbox kept for inspection), binds, unbinds
// and deprovisions the test bundle on the real cluster, and checks every
// object the runtime made and what the bundle saw from inside its pod.
func TestLifecycle(t *testing.T) {
	t.Parallel()
	e := setup(t)
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	brokerNS, target := e.namespaces(t, ctx)
	log, logs := newLogger(t)
	cfg := e.config(brokerNS)
	cfg.KeepNamespace = true
	rt, err := kuberuntime.New(cfg, e.client, log)
	if err != nil {
		t.Fatal(err)
	}
	instance := newID(t)
	op := newID(t)
	var prog progressLog
	res, err := e.runAndRelease(t, ctx, rt, runtime.Action{
		Name: runtime.ActionProvision, OperationID: op, Image: e.image, Runtime: 2, Mounts: testMounts,
		FQName: fqname, InstanceID: instance, Target: target,
		ExtraVars: extraVars(instance, target, map[string]any{"greeting": "hi there"}),
	}, prog.add)
	if err != nil {
		t.Fatalf("provision: %v", err)
	}

	// Result: credentials from the Secret named after the pod, annotations.
	if res.Credentials["DB_USER"] != "user-"+instance[:8] || res.Credentials["GREETING"] != "hi there" {
		t.Errorf("credentials = %v", res.Credentials)
	}
	if pw, _ := res.Credentials["DB_PASSWORD"].(string); !strings.HasPrefix(pw, "pw-") {
		t.Errorf("DB_PASSWORD = %q", pw)
	}
	if want := "http://dashboard.example.test/" + instance; res.DashboardURL != want {
		t.Errorf("dashboard = %q, want %q", res.DashboardURL, want)
	}
	if res.LastDescription != "100%: provisioned" {
		t.Errorf("last description = %q", res.LastDescription)
	}
	if p := prog.all(); len(p) == 0 || p[len(p)-1] != "100%: provisioned" {
		t.Errorf("progress = %q, want it to end with 100%%: provisioned", p)
	}

	// The kept sandbox: namespace, service account, role bindings, Secrets, pod.
	ns := e.sandboxOf(t, ctx, op)
	if !strings.HasPrefix(ns.Name, fqname+"-prov-") {
		t.Errorf("sandbox namespace %q, want prefix %s-prov-", ns.Name, fqname)
	}
	for k, v := range map[string]string{"bundle-fqname": fqname, "bundle-action": "provision", kuberuntime.LabelInstance: instance} {
		if ns.Labels[k] != v {
			t.Errorf("namespace label %s = %q, want %q", k, ns.Labels[k], v)
		}
	}
	if ns.Annotations[kuberuntime.AnnotationKept] != "true" {
		t.Errorf("kept sandbox not annotated: %v", ns.Annotations)
	}
	pods, err := e.client.CoreV1().Pods(ns.Name).List(ctx, metav1.ListOptions{})
	if err != nil || len(pods.Items) != 1 {
		t.Fatalf("pods in sandbox: %v, %v", pods, err)
	}
	pod := pods.Items[0]
	checkPod(t, &pod, ns.Name, instance, target)
	if _, err := e.client.CoreV1().ServiceAccounts(ns.Name).Get(ctx, pod.Name, metav1.GetOptions{}); err != nil {
		t.Errorf("service account %s: %v", pod.Name, err)
	}
	rb, err := e.client.RbacV1().RoleBindings(ns.Name).Get(ctx, pod.Name, metav1.GetOptions{})
	if err != nil {
		t.Errorf("sandbox role binding: %v", err)
	} else if rb.RoleRef.Kind != "ClusterRole" || rb.RoleRef.Name != "edit" || len(rb.Subjects) != 1 ||
		rb.Subjects[0].Name != pod.Name || rb.Subjects[0].Namespace != ns.Name {
		t.Errorf("sandbox role binding = %+v %+v", rb.RoleRef, rb.Subjects)
	}
	// The target-namespace binding worked (the bundle wrote there) and is gone now.
	if _, err := e.client.RbacV1().RoleBindings(target).Get(ctx, pod.Name, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("role binding in the target namespace after the action: err = %v, want NotFound", err)
	}
	for _, s := range []string{credsSecret, cloudsSecret} {
		if _, err := e.client.CoreV1().Secrets(ns.Name).Get(ctx, s, metav1.GetOptions{}); err != nil {
			t.Errorf("secret %s copied into the sandbox: %v", s, err)
		}
	}

	// What the bundle saw from inside the pod (it wrote it to the target namespace).
	cm, err := e.client.CoreV1().ConfigMaps(target).Get(ctx, "testbundle-"+instance, metav1.GetOptions{})
	if err != nil {
		t.Fatalf("the bundle's ConfigMap in the target namespace: %v", err)
	}
	for k, v := range map[string]string{
		"greeting": "hi there", "cluster": "kubernetes", "plan": "default",
		"pod_name": pod.Name, "pod_namespace": ns.Name,
		"clouds_file": "/etc/apb-secrets/apb-" + cloudsSecret + "/clouds.yaml", "os_cloud": "devstack",
		"clouds_readable": "yes",
	} {
		if cm.Data[k] != v {
			t.Errorf("bundle saw %s = %q, want %q", k, cm.Data[k], v)
		}
	}
	if got := strings.Fields(cm.Data["secrets_dir"]); strings.Join(got, " ") != "apb-"+cloudsSecret+" apb-"+credsSecret {
		t.Errorf("/etc/apb-secrets holds %q", got)
	}

	// The bundle's log reached the broker's at debug level, with no secret.
	// The stream may trail the result by the kubelet's notice of the exit.
	waitFor(t, "the bundle's log (PLAY RECAP) in the broker's log at debug level", 30*time.Second, func() bool {
		return strings.Contains(logs.String(), "level=DEBUG msg=bundle") && strings.Contains(logs.String(), "PLAY RECAP")
	})
	checkNoSecrets(t, "runtime log", logs.String())

	// Bind, unbind, deprovision with sandboxes removed.
	cfg.KeepNamespace = false
	rt, err = kuberuntime.New(cfg, e.client, log)
	if err != nil {
		t.Fatal(err)
	}
	binding := newID(t)
	bindVars := extraVars(instance, target, nil)
	bindVars["_apb_service_binding_id"] = binding
	bindVars["_apb_provision_creds"] = res.Credentials
	bindOp := newID(t)
	bres, err := e.runAndRelease(t, ctx, rt, runtime.Action{Name: runtime.ActionBind, OperationID: bindOp, Image: e.image, Runtime: 2, Mounts: testMounts,
		FQName: fqname, InstanceID: instance, BindingID: binding, Target: target, ExtraVars: bindVars}, nil)
	if err != nil {
		t.Fatalf("bind: %v", err)
	}
	if bres.Credentials["DB_USER"] != res.Credentials["DB_USER"] || bres.Credentials["DB_PASSWORD"] != res.Credentials["DB_PASSWORD"] ||
		bres.Credentials["BINDING_ID"] != binding {
		t.Errorf("bind credentials = %v", bres.Credentials)
	}
	checkNoSecrets(t, "runtime log", logs.String())
	if pw := res.Credentials["DB_PASSWORD"].(string); strings.Contains(logs.String(), pw) {
		t.Errorf("the provision credentials' password appears in the runtime log")
	}
	checkRemoved(t, ctx, e, bindOp)

	unbindOp := newID(t)
	if _, err := e.runAndRelease(t, ctx, rt, runtime.Action{Name: runtime.ActionUnbind, OperationID: unbindOp, Image: e.image, Runtime: 2, Mounts: testMounts,
		FQName: fqname, InstanceID: instance, BindingID: binding, Target: target, ExtraVars: bindVars}, nil); err != nil {
		t.Fatalf("unbind: %v", err)
	}
	checkRemoved(t, ctx, e, unbindOp)

	deprovOp := newID(t)
	if _, err := e.runAndRelease(t, ctx, rt, runtime.Action{Name: runtime.ActionDeprovision, OperationID: deprovOp, Image: e.image, Runtime: 2, Mounts: testMounts,
		FQName: fqname, InstanceID: instance, Target: target, ExtraVars: extraVars(instance, target, nil)}, nil); err != nil {
		t.Fatalf("deprovision: %v", err)
	}
	if _, err := e.client.CoreV1().ConfigMaps(target).Get(ctx, "testbundle-"+instance, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("deprovision left the bundle's ConfigMap: err = %v", err)
	}
	checkRemoved(t, ctx, e, deprovOp)
}

// checkPod checks the pod the runtime created against bundle-lib's.
func checkPod(t *testing.T, pod *corev1.Pod, sandbox, instance, target string) {
	t.Helper()
	if pod.Spec.RestartPolicy != corev1.RestartPolicyNever || pod.Spec.ServiceAccountName != pod.Name || !strings.HasPrefix(pod.Name, "bundle-") {
		t.Errorf("pod %s: restartPolicy %s, serviceAccount %s", pod.Name, pod.Spec.RestartPolicy, pod.Spec.ServiceAccountName)
	}
	for k, v := range map[string]string{"bundle-fqname": fqname, "bundle-action": "provision", "bundle-pod-name": pod.Name} {
		if pod.Labels[k] != v {
			t.Errorf("pod label %s = %q, want %q", k, pod.Labels[k], v)
		}
	}
	if len(pod.Spec.Containers) != 1 {
		t.Fatalf("%d containers", len(pod.Spec.Containers))
	}
	c := pod.Spec.Containers[0]
	if c.Name != "apb" || len(c.Args) != 3 || c.Args[0] != "provision" || c.Args[1] != "--extra-vars" || c.ImagePullPolicy != corev1.PullNever {
		t.Fatalf("container %s args %q pull %s", c.Name, c.Args[:min(2, len(c.Args))], c.ImagePullPolicy)
	}
	var vars map[string]any
	if err := json.Unmarshal([]byte(c.Args[2]), &vars); err != nil {
		t.Fatalf("extra vars: %v", err)
	}
	for k, v := range map[string]any{"_apb_plan_id": "default", "_apb_service_instance_id": instance, "_apb_last_requesting_user": "test-user",
		"_apb_service_class_id": "6e7b0c4a5d0b0d2cc0e8e8b2c7d0a7c1", "namespace": target, "cluster": "kubernetes", "greeting": "hi there"} {
		if vars[k] != v {
			t.Errorf("extra var %s = %v, want %v", k, vars[k], v)
		}
	}
	env := map[string]corev1.EnvVar{}
	for _, ev := range c.Env {
		env[ev.Name] = ev
	}
	if f := env["POD_NAME"].ValueFrom; f == nil || f.FieldRef.FieldPath != "metadata.name" {
		t.Errorf("POD_NAME = %+v", env["POD_NAME"])
	}
	if f := env["POD_NAMESPACE"].ValueFrom; f == nil || f.FieldRef.FieldPath != "metadata.namespace" {
		t.Errorf("POD_NAMESPACE = %+v", env["POD_NAMESPACE"])
	}
	for k, v := range map[string]string{
		"OS_CLIENT_CONFIG_FILE": "/etc/apb-secrets/apb-" + cloudsSecret + "/clouds.yaml",
		"OS_CLIENT_SECURE_FILE": "/etc/apb-secrets/apb-" + cloudsSecret + "/secure.yaml",
		"OS_CLOUD":              "devstack",
	} {
		if env[k].Value != v {
			t.Errorf("env %s = %q, want %q", k, env[k].Value, v)
		}
	}
	mounts := map[string]corev1.VolumeMount{}
	for _, m := range c.VolumeMounts {
		mounts[m.MountPath] = m
	}
	for _, s := range []string{credsSecret, cloudsSecret} {
		m, ok := mounts["/etc/apb-secrets/apb-"+s]
		if !ok || !m.ReadOnly {
			t.Errorf("secret %s: mount %+v (present %v), want read-only at /etc/apb-secrets/apb-%s", s, m, ok, s)
		}
	}
	spec, _ := json.Marshal(pod.Spec)
	checkNoSecrets(t, "pod spec", string(spec))
	_ = sandbox
}

func checkNoSecrets(t *testing.T, where, s string) {
	t.Helper()
	for _, p := range []string{secretPassword, cloudPassword} {
		if strings.Contains(s, p) {
			t.Errorf("%s contains a secret value", where)
		}
	}
}

// checkRemoved: the sandbox of op is gone or being deleted.
func checkRemoved(t *testing.T, ctx context.Context, e *env, op string) {
	t.Helper()
	l, err := e.client.CoreV1().Namespaces().List(ctx, metav1.ListOptions{LabelSelector: kuberuntime.LabelOperation + "=" + op})
	if err != nil {
		t.Fatal(err)
	}
	for _, ns := range l.Items {
		if ns.DeletionTimestamp == nil {
			t.Errorf("sandbox %s of operation %s not deleted", ns.Name, op)
		}
	}
}
