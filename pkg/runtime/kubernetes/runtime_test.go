package kubernetes

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	k8sruntime "k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"

	"github.com/openstack-service-broker/openstack-service-broker/pkg/runtime"
)

// fakeCluster is client-go's fake clientset with generateName filled in,
// a broker namespace holding a mapped Secret, and a target namespace.
func fakeCluster(t *testing.T) *fake.Clientset {
	t.Helper()
	cs := fake.NewClientset(
		&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "broker"}},
		&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "target"}},
		&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "creds", Namespace: "broker"}, Data: map[string][]byte{"password": []byte("topsecret-value")}},
		&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "clouds", Namespace: "broker"}, Data: map[string][]byte{
			"clouds.yaml": []byte("clouds:\n  only:\n    auth: {password: cloudsecret}\n"),
		}},
	)
	n := 0
	cs.PrependReactor("create", "namespaces", func(a k8stesting.Action) (bool, k8sruntime.Object, error) {
		ns := a.(k8stesting.CreateAction).GetObject().(*corev1.Namespace)
		if ns.Name == "" {
			n++
			ns.Name = ns.GenerateName + strings.Repeat(string(rune('a'+n%26)), 5)
		}
		return false, nil, nil
	})
	return cs
}

// finishPod waits for the runtime's pod and plays the bundle: it sets the
// pod's final status and annotations, and may write the credentials Secret.
func finishPod(t *testing.T, cs *fake.Clientset, exit int32, reason string, ann map[string]string, creds map[string]any) *corev1.Pod {
	t.Helper()
	ctx := context.Background()
	var pod *corev1.Pod
	for i := 0; i < 500 && pod == nil; i++ {
		l, err := cs.CoreV1().Pods("").List(ctx, metav1.ListOptions{})
		if err == nil && len(l.Items) == 1 {
			pod = &l.Items[0]
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if pod == nil {
		t.Fatal("no pod created within 5 s")
	}
	created := pod.DeepCopy()
	if creds != nil {
		b, _ := json.Marshal(creds)
		if _, err := cs.CoreV1().Secrets(pod.Namespace).Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: pod.Name}, Data: map[string][]byte{"fields": b}}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	pod.Annotations = ann
	switch {
	case reason != "":
		pod.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: containerName, Image: "img", State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: reason}}}}
	case exit == 0:
		pod.Status.Phase = corev1.PodSucceeded
	default:
		pod.Status.Phase = corev1.PodFailed
		pod.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: containerName, State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: exit, Message: "log tail with topsecret-value"}}}}
	}
	if _, err := cs.CoreV1().Pods(pod.Namespace).Update(ctx, pod, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	return created
}

func TestRunFake(t *testing.T) {
	cases := []struct {
		name     string
		exit     int32
		reason   string
		ann      map[string]string
		creds    map[string]any
		keepErr  bool
		wantErr  func(error) bool
		wantKept bool
	}{
		{name: "success", ann: map[string]string{AnnotationLastOperation: "100%: done", AnnotationDashboardURL: "http://dash"},
			creds: map[string]any{"user": "u"}},
		{name: "not implemented", exit: 8, wantErr: func(err error) bool { return errors.Is(err, runtime.ErrActionNotFound) }},
		{name: "failed", exit: 2, ann: map[string]string{AnnotationLastOperation: "broke at step 3"}, keepErr: true, wantKept: true,
			wantErr: func(err error) bool {
				var ae *runtime.ActionError
				return errors.As(err, &ae) && ae.ExitCode == 2 && ae.Message == "provision failed (exit code 2): broke at step 3"
			}},
		{name: "image cannot be pulled", reason: "ErrImageNeverPull", wantErr: func(err error) bool {
			var ae *runtime.ActionError
			return errors.As(err, &ae) && strings.Contains(ae.Message, "ErrImageNeverPull")
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cs := fakeCluster(t)
			rt, err := New(Config{BrokerNamespace: "broker", BrokerID: "b-1", KeepNamespaceOnError: c.keepErr, HTTPProxy: "http://proxy:3128",
				Timeout: 30 * time.Second, Resources: corev1.ResourceRequirements{Limits: corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("256Mi")}}}, cs, nil)
			if err != nil {
				t.Fatal(err)
			}
			var progress []string
			type out struct {
				res *runtime.Result
				err error
			}
			done := make(chan out, 1)
			// The broker's view: two sources, one of them named twice (a
			// secrets: rule and the OpenStack credentials), an environment
			// variable derived from what a source holds, and a plain one.
			filesSeen := func(files map[string][]byte) []runtime.EnvVar {
				return []runtime.EnvVar{{Name: "FILES_SEEN", Value: strings.Join(slices.Sorted(maps.Keys(files)), ",")}}
			}
			a := runtime.Action{Name: "provision", OperationID: "op-1", Image: "img", FQName: "dh-test-apb",
				InstanceID: "i-1", Target: "target", ExtraVars: map[string]any{"_apb_plan_id": "default", "admin_password": "pw-in-vars"},
				Mounts: []runtime.Mount{
					{Source: "creds", Path: "/etc/apb-secrets/apb-creds"},
					{Source: "clouds", Path: "/etc/apb-secrets/apb-clouds", Env: filesSeen},
					{Source: "clouds", Path: "/etc/apb-secrets/apb-clouds"},
				},
				Env: []runtime.EnvVar{{Name: "OS_CLOUD", Value: "only"}},
			}
			go func() {
				res, err := rt.Run(context.Background(), a, func(d string) { progress = append(progress, d) })
				done <- out{res, err}
			}()
			pod := finishPod(t, cs, c.exit, c.reason, c.ann, c.creds)
			var o out
			select {
			case o = <-done:
			case <-time.After(10 * time.Second):
				t.Fatal("Run did not return")
			}

			// The pod as bundle-lib made it.
			ct := pod.Spec.Containers[0]
			var vars map[string]any
			if len(ct.Args) != 3 || ct.Args[0] != "provision" || ct.Args[1] != "--extra-vars" || json.Unmarshal([]byte(ct.Args[2]), &vars) != nil {
				t.Fatalf("args = %q", ct.Args)
			}
			if vars["cluster"] != "kubernetes" || vars["namespace"] != "target" || vars["_apb_plan_id"] != "default" {
				t.Errorf("extra vars = %v", vars)
			}
			env := map[string]string{}
			for _, e := range ct.Env {
				env[e.Name] = e.Value
			}
			for k, v := range map[string]string{"HTTP_PROXY": "http://proxy:3128", "http_proxy": "http://proxy:3128",
				"FILES_SEEN": "clouds.yaml", "OS_CLOUD": "only"} {
				if env[k] != v {
					t.Errorf("env %s = %q, want %q", k, env[k], v)
				}
			}
			// clouds is named twice: copied, and mounted, once.
			if len(pod.Spec.Volumes) != 2 || pod.Spec.RestartPolicy != corev1.RestartPolicyNever || ct.ImagePullPolicy != corev1.PullIfNotPresent {
				t.Errorf("volumes %d, restart %s, pull %s", len(pod.Spec.Volumes), pod.Spec.RestartPolicy, ct.ImagePullPolicy)
			}
			mounts := map[string]bool{}
			for _, m := range ct.VolumeMounts {
				mounts[m.MountPath] = m.ReadOnly
			}
			if len(ct.VolumeMounts) != 2 || !mounts["/etc/apb-secrets/apb-creds"] || !mounts["/etc/apb-secrets/apb-clouds"] {
				t.Errorf("volume mounts = %+v, want creds and clouds read-only where the action says", ct.VolumeMounts)
			}
			if m := ct.Resources.Limits[corev1.ResourceMemory]; m.String() != "256Mi" {
				t.Errorf("memory limit = %s, want 256Mi", m.String())
			}
			if pod.Labels[LabelBroker] != "b-1" || pod.Labels[LabelOperation] != "op-1" || pod.Labels[LabelAction] != "provision" {
				t.Errorf("pod labels = %v", pod.Labels)
			}
			spec, _ := json.Marshal(pod.Spec)
			if strings.Contains(string(spec), "topsecret-value") || strings.Contains(string(spec), "cloudsecret") {
				t.Error("a secret value is in the pod spec")
			}

			if c.wantErr == nil {
				if o.err != nil {
					t.Fatalf("Run: %v", o.err)
				}
				if o.res.Credentials["user"] != "u" || o.res.DashboardURL != "http://dash" || o.res.LastDescription != "100%: done" {
					t.Errorf("result = %+v", o.res)
				}
				if len(progress) != 1 || progress[0] != "100%: done" {
					t.Errorf("progress = %q", progress)
				}
			} else if !c.wantErr(o.err) {
				t.Errorf("Run error = %v", o.err)
			}
			if o.err != nil && strings.Contains(o.err.Error(), "topsecret-value") {
				t.Error("the error text holds a secret")
			}

			// The sandbox holds the result until the outcome is stored.
			if _, err := cs.CoreV1().Namespaces().Get(context.Background(), pod.Namespace, metav1.GetOptions{}); err != nil {
				t.Fatalf("sandbox gone before Release: %v", err)
			}
			if err := rt.Release(context.Background(), a, o.err != nil); err != nil {
				t.Fatalf("Release: %v", err)
			}
			ns, err := cs.CoreV1().Namespaces().Get(context.Background(), pod.Namespace, metav1.GetOptions{})
			switch {
			case c.wantKept && (err != nil || ns.Annotations[AnnotationKept] != "true"):
				t.Errorf("sandbox not kept: %v", err)
			case !c.wantKept && !apierrors.IsNotFound(err):
				t.Errorf("sandbox not deleted: %v", err)
			}
			if _, err := cs.RbacV1().RoleBindings("target").Get(context.Background(), pod.Name, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
				t.Errorf("target role binding left: %v", err)
			}
		})
	}
}

func TestMissingSecretCreatesNothing(t *testing.T) {
	cs := fakeCluster(t)
	rt, err := New(Config{BrokerNamespace: "broker"}, cs, nil)
	if err != nil {
		t.Fatal(err)
	}
	_, err = rt.Run(context.Background(), runtime.Action{Name: "provision", OperationID: "op", FQName: "x", Target: "target", Mounts: []runtime.Mount{{Source: "absent", Path: "/x"}}}, nil)
	if err == nil || !strings.Contains(err.Error(), `secret "absent"`) {
		t.Fatalf("err = %v", err)
	}
	l, _ := cs.CoreV1().Namespaces().List(context.Background(), metav1.ListOptions{})
	if len(l.Items) != 2 {
		t.Errorf("%d namespaces, want only the 2 pre-existing", len(l.Items))
	}
}

// A target-scoped mount is read from the action's target namespace and
// nowhere else: not the broker's Secret of the same name, not another
// namespace's; without a target it fails before anything exists.
func TestTargetScopedSecret(t *testing.T) {
	cs := fakeCluster(t)
	ctx := context.Background()
	for _, s := range []*corev1.Secret{
		{ObjectMeta: metav1.ObjectMeta{Name: "tenant", Namespace: "target"}, Data: map[string][]byte{"clouds.yaml": []byte("target's")}},
		{ObjectMeta: metav1.ObjectMeta{Name: "tenant", Namespace: "broker"}, Data: map[string][]byte{"clouds.yaml": []byte("broker's")}},
		{ObjectMeta: metav1.ObjectMeta{Name: "elsewhere", Namespace: "broker"}, Data: map[string][]byte{"clouds.yaml": []byte("broker's")}},
	} {
		if _, err := cs.CoreV1().Secrets(s.Namespace).Create(ctx, s, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	rt, err := New(Config{BrokerNamespace: "broker", Timeout: 30 * time.Second}, cs, nil)
	if err != nil {
		t.Fatal(err)
	}
	namespaces := func() int {
		l, _ := cs.CoreV1().Namespaces().List(ctx, metav1.ListOptions{})
		return len(l.Items)
	}
	for _, c := range []struct{ name, secret, target, want string }{
		{"another namespace's", "elsewhere", "target", `secret "elsewhere" for x in namespace "target"`},
		{"no target", "tenant", "", "the request named no namespace"},
	} {
		before := namespaces()
		_, err := rt.Run(ctx, runtime.Action{Name: "provision", OperationID: "op-" + c.name, FQName: "x", Target: c.target,
			Mounts: []runtime.Mount{{Source: c.secret, Scope: runtime.ScopeTarget, Path: "/x"}}}, nil)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: err = %v, want %q", c.name, err, c.want)
		}
		if namespaces() != before {
			t.Errorf("%s: a sandbox was created", c.name)
		}
	}

	seen := ""
	a := runtime.Action{Name: "provision", OperationID: "op-ok", Image: "img", FQName: "x", Target: "target",
		Mounts: []runtime.Mount{
			{Source: "tenant", Scope: runtime.ScopeTarget, Path: "/etc/apb-secrets/apb-target-tenant", Env: func(f map[string][]byte) []runtime.EnvVar {
				seen = string(f["clouds.yaml"])
				return nil
			}},
			{Source: "tenant", Path: "/etc/apb-secrets/apb-tenant"},
		}}
	done := make(chan error, 1)
	go func() {
		_, err := rt.Run(ctx, a, nil)
		done <- err
	}()
	pod := finishPod(t, cs, 0, "", nil, nil)
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return")
	}
	if seen != "target's" {
		t.Errorf("the target-scoped mount saw %q, want the target namespace's Secret", seen)
	}
	vols := map[string]string{}
	for _, v := range pod.Spec.Volumes {
		vols[v.Name] = v.Secret.SecretName
	}
	if vols[volumeName("target-tenant")] != "target-tenant" || vols[volumeName("tenant")] != "tenant" || len(vols) != 2 {
		t.Errorf("volumes = %v, want the target's copy apart from the broker's", vols)
	}
	copyOf, err := cs.CoreV1().Secrets(pod.Namespace).Get(ctx, "target-tenant", metav1.GetOptions{})
	if err != nil || string(copyOf.Data["clouds.yaml"]) != "target's" {
		t.Errorf("sandbox copy = %v, %v", copyOf, err)
	}
}

// The sandbox's service account, role bindings and Secret copies are made
// at once: whichever fails, no pod is created, the sandbox (and the target
// role binding) is removed, and the error is the first failing step's in
// the order service account, sandbox role binding, target role binding,
// Secrets.
func TestSandboxStepFailureCreatesNoPod(t *testing.T) {
	cases := []struct {
		name     string
		verb     string
		resource string
		ns       string // "" for the sandbox
		want     string
	}{
		{"service account", "create", "serviceaccounts", "", "creating the sandbox service account"},
		{"sandbox role binding", "create", "rolebindings", "", "binding role edit in the sandbox"},
		{"target role binding", "create", "rolebindings", "target", "binding role edit in namespace target"},
		{"secret copy", "create", "secrets", "", `copying secret "creds" into the sandbox`},
		{"everything", "create", "*", "", "creating the sandbox service account"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cs := fakeCluster(t)
			cs.PrependReactor(tc.verb, tc.resource, func(a k8stesting.Action) (bool, k8sruntime.Object, error) {
				if a.GetResource().Resource == "namespaces" || a.GetResource().Resource == "pods" {
					return false, nil, nil
				}
				in := a.GetNamespace()
				if (tc.ns == "" && (in == "target" || in == "broker")) || (tc.ns != "" && in != tc.ns) {
					return false, nil, nil
				}
				return true, nil, errors.New("refused")
			})
			rt, err := New(Config{BrokerNamespace: "broker"}, cs, nil)
			if err != nil {
				t.Fatal(err)
			}
			_, err = rt.Run(context.Background(), runtime.Action{Name: "provision", OperationID: "op", FQName: "x", Target: "target",
				Mounts: []runtime.Mount{{Source: "creds", Path: "/etc/apb-secrets/creds"}}}, nil)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want %q", err, tc.want)
			}
			ctx := context.Background()
			if l, _ := cs.CoreV1().Pods("").List(ctx, metav1.ListOptions{}); len(l.Items) != 0 {
				t.Errorf("%d pods created", len(l.Items))
			}
			if l, _ := cs.CoreV1().Namespaces().List(ctx, metav1.ListOptions{}); len(l.Items) != 2 {
				t.Errorf("%d namespaces, want only the 2 pre-existing", len(l.Items))
			}
			if l, _ := cs.RbacV1().RoleBindings("target").List(ctx, metav1.ListOptions{}); len(l.Items) != 0 {
				t.Errorf("the target role binding stayed")
			}
		})
	}
}

func TestConfigDefaults(t *testing.T) {
	cases := []struct {
		cfg  Config
		ok   bool
		role string
	}{
		{Config{}, true, "edit"},
		{Config{SandboxRole: "admin", ImagePullPolicy: "Always", Cluster: "openshift"}, true, "admin"},
		{Config{ImagePullPolicy: "Sometimes"}, false, ""},
		{Config{Cluster: "mesos"}, false, ""},
	}
	for _, c := range cases {
		d, err := c.cfg.withDefaults()
		if (err == nil) != c.ok || (c.ok && d.SandboxRole != c.role) {
			t.Errorf("%+v: %+v, %v", c.cfg, d, err)
		}
	}
}

// A secret named but no broker namespace to read it from: refused with
// the key to set, before anything is created.
func TestSecretsNeedBrokerNamespace(t *testing.T) {
	cs := fakeCluster(t)
	rt, err := New(Config{}, cs, nil)
	if err != nil {
		t.Fatal(err)
	}
	_, err = rt.Run(context.Background(), runtime.Action{Name: "provision", OperationID: "op", FQName: "x", Mounts: []runtime.Mount{{Source: "clouds", Path: "/x"}}}, nil)
	if err == nil || !strings.Contains(err.Error(), "openshift.namespace") {
		t.Fatalf("err = %v, want one naming openshift.namespace", err)
	}
}

// Reap removes only this broker's sandboxes of operations no longer in
// flight, with their role bindings in target namespaces; where the
// configuration keeps sandboxes it marks them kept and removes only the
// role binding.
func TestReap(t *testing.T) {
	sandbox := func(name, broker, op string, kept bool) *corev1.Namespace {
		ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name,
			Labels:      map[string]string{LabelManagedBy: ManagedBy, LabelOperation: op, LabelPodName: "bundle-" + op},
			Annotations: map[string]string{AnnotationOperation: op}}}
		if broker != "" {
			ns.Labels[LabelBroker] = broker
		}
		if kept {
			ns.Annotations[AnnotationKept] = "true"
		}
		return ns
	}
	binding := func(sb *corev1.Namespace) *rbacv1.RoleBinding {
		return &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "rb-" + sb.Name, Namespace: "target", Labels: sb.Labels,
			Annotations: map[string]string{AnnotationOperation: sb.Annotations[AnnotationOperation], AnnotationSandbox: sb.Name}}}
	}
	pod := func(sb *corev1.Namespace, phase corev1.PodPhase) *corev1.Pod {
		return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: sb.Labels[LabelPodName], Namespace: sb.Name}, Status: corev1.PodStatus{Phase: phase}}
	}
	// orphan's pod failed, done's succeeded; both have no operation in flight.
	orphan, done := sandbox("orphan", "b-1", "o1", false), sandbox("done", "b-1", "o6", false)
	inFlight, kept := sandbox("in-flight", "b-1", "o2", false), sandbox("kept", "b-1", "o3", true)
	other, unlabelled := sandbox("other-broker", "b-2", "o4", false), sandbox("no-broker", "", "o5", false)
	objs := []k8sruntime.Object{pod(orphan, corev1.PodFailed), pod(done, corev1.PodSucceeded)}
	names := []string{"orphan", "done", "in-flight", "kept", "other-broker", "no-broker"}
	for _, ns := range []*corev1.Namespace{orphan, done, inFlight, kept, other, unlabelled} {
		objs = append(objs, ns, binding(ns))
	}
	cases := []struct {
		name    string
		cfg     Config
		removed []string // namespace and role binding gone
		marked  []string // namespace marked kept, role binding gone
	}{
		{"own broker id", Config{BrokerID: "b-1"}, []string{"orphan", "done"}, nil},
		{"no broker id", Config{}, []string{"no-broker"}, nil},
		{"keep_namespace", Config{BrokerID: "b-1", KeepNamespace: true}, nil, []string{"orphan", "done"}},
		{"keep_namespace_on_error", Config{BrokerID: "b-1", KeepNamespaceOnError: true}, []string{"done"}, []string{"orphan"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cs := fake.NewClientset(append([]k8sruntime.Object{&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "target"}}}, objs...)...)
			rt, err := New(c.cfg, cs, nil)
			if err != nil {
				t.Fatal(err)
			}
			n, err := rt.Reap(context.Background(), func(op string) bool { return op == "o2" })
			if err != nil || n != len(c.removed)+len(c.marked) {
				t.Fatalf("Reap = %d, %v; want %d", n, err, len(c.removed)+len(c.marked))
			}
			want := map[string]string{}
			for _, name := range c.removed {
				want[name] = "removed"
			}
			for _, name := range c.marked {
				want[name] = "marked"
			}
			for _, name := range names {
				ns, nsErr := cs.CoreV1().Namespaces().Get(context.Background(), name, metav1.GetOptions{})
				_, rbErr := cs.RbacV1().RoleBindings("target").Get(context.Background(), "rb-"+name, metav1.GetOptions{})
				var got string
				switch {
				case apierrors.IsNotFound(nsErr) && apierrors.IsNotFound(rbErr):
					got = "removed"
				case nsErr == nil && apierrors.IsNotFound(rbErr) && ns.Annotations[AnnotationKept] == "true":
					got = "marked"
				case nsErr == nil && rbErr == nil:
					got = ""
				default:
					got = fmt.Sprintf("namespace err %v, role binding err %v", nsErr, rbErr)
				}
				if got != want[name] {
					t.Errorf("%s: %q, want %q", name, got, want[name])
				}
			}
		})
	}
}

// Release after a restart: the sandbox is found by its operation label.
func TestReleaseFindsSandboxByLabel(t *testing.T) {
	cs := fake.NewClientset(
		&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "sb-1", Labels: map[string]string{LabelManagedBy: ManagedBy, LabelBroker: "b-1", LabelOperation: "op-1", LabelPodName: "bundle-1"},
			Annotations: map[string]string{AnnotationOperation: "op-1", AnnotationTargetNamespace: "target"}}},
		&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "sb-2", Labels: map[string]string{LabelManagedBy: ManagedBy, LabelBroker: "b-1", LabelOperation: "op-2", LabelPodName: "bundle-2"}}},
		&rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "bundle-1", Namespace: "target"}},
	)
	rt, err := New(Config{BrokerID: "b-1"}, cs, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := rt.Release(context.Background(), runtime.Action{OperationID: "op-1"}, false); err != nil {
		t.Fatal(err)
	}
	if _, err := cs.CoreV1().Namespaces().Get(context.Background(), "sb-1", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("sandbox of op-1: %v, want deleted", err)
	}
	if _, err := cs.RbacV1().RoleBindings("target").Get(context.Background(), "bundle-1", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("target role binding of op-1: %v, want deleted", err)
	}
	if _, err := cs.CoreV1().Namespaces().Get(context.Background(), "sb-2", metav1.GetOptions{}); err != nil {
		t.Errorf("sandbox of op-2: %v, want kept", err)
	}
	if err := rt.Release(context.Background(), runtime.Action{OperationID: "unknown"}, false); err != nil {
		t.Errorf("Release of an unknown operation: %v", err)
	}
}

// fakeExec plays broker-bind-creds: "not yet" (exit 2) the first time,
// then the credentials; handed is closed once they were printed.
type fakeExec struct {
	mu     sync.Mutex
	calls  int
	out    string
	code   int
	handed chan struct{}
}

func (f *fakeExec) Exec(_ context.Context, _, _, container string, cmd []string) ([]byte, int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	if container != containerName || len(cmd) != 1 || cmd[0] != "broker-bind-creds" {
		return nil, 127, nil
	}
	if f.calls == 1 {
		return nil, 2, nil
	}
	if f.code == 0 {
		select {
		case <-f.handed:
		default:
			close(f.handed)
		}
	}
	return []byte(f.out), f.code, nil
}

// Runtime 1 bundles: credentials by exec while the pod waits for it.
func TestRuntime1ExecCredentials(t *testing.T) {
	b64 := func(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }
	cases := []struct {
		name      string
		out       string
		code      int
		wantCreds map[string]any
		wantErr   string
	}{
		{"credentials", b64(`{"DB_USER":"u","DB_PASSWORD":"secret-pw"}`) + "\n", 0, map[string]any{"DB_USER": "u", "DB_PASSWORD": "secret-pw"}, ""},
		{"not base64", "{oops", 0, nil, "printed no base64"},
		{"not an object", b64(`["secret-pw"]`), 0, nil, "printed no JSON object"},
		{"script fails", "", 1, nil, "broker-bind-creds exited 1"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cs := fakeCluster(t)
			fx := &fakeExec{out: c.out, code: c.code, handed: make(chan struct{})}
			rt, err := New(Config{Timeout: 30 * time.Second, Exec: fx}, cs, nil)
			if err != nil {
				t.Fatal(err)
			}
			rt.execEvery = 10 * time.Millisecond
			a := runtime.Action{Name: "bind", OperationID: "op-1", Image: "img", Runtime: 1, FQName: "dh-old-apb", Target: "target"}
			type out struct {
				res *runtime.Result
				err error
			}
			done := make(chan out, 1)
			go func() {
				res, err := rt.Run(context.Background(), a, nil)
				done <- out{res, err}
			}()
			pod := waitPod(t, cs)
			// The container runs; the broker execs until it gets an answer.
			pod.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: containerName, State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{}}}}
			pod.Status.Phase = corev1.PodRunning
			if _, err := cs.CoreV1().Pods(pod.Namespace).UpdateStatus(context.Background(), pod, metav1.UpdateOptions{}); err != nil {
				t.Fatal(err)
			}
			if c.code == 0 {
				select {
				case <-fx.handed:
				case <-time.After(10 * time.Second):
					t.Fatal("broker-bind-creds never exec'ed to success")
				}
			} else {
				// The first exec says "not yet" (exit 2): the broker must try
				// again to meet the script's failure.
				deadline := time.Now().Add(10 * time.Second)
				for fx.callCount() < 2 && time.Now().Before(deadline) {
					time.Sleep(10 * time.Millisecond)
				}
				if n := fx.callCount(); n < 2 {
					t.Fatalf("broker-bind-creds exec'ed %d times in 10 s: not retried after \"not yet\"", n)
				}
			}
			pod.Status.Phase = corev1.PodSucceeded
			if _, err := cs.CoreV1().Pods(pod.Namespace).UpdateStatus(context.Background(), pod, metav1.UpdateOptions{}); err != nil {
				t.Fatal(err)
			}
			var o out
			select {
			case o = <-done:
			case <-time.After(10 * time.Second):
				t.Fatal("Run did not return")
			}
			if c.wantErr != "" {
				if o.err == nil || !strings.Contains(o.err.Error(), c.wantErr) || strings.Contains(o.err.Error(), "secret-pw") {
					t.Fatalf("err = %v, want one saying %q without the credentials", o.err, c.wantErr)
				}
				return
			}
			if o.err != nil {
				t.Fatal(o.err)
			}
			if !reflect.DeepEqual(o.res.Credentials, c.wantCreds) {
				t.Errorf("credentials = %v, want %v", o.res.Credentials, c.wantCreds)
			}
		})
	}
}

func (f *fakeExec) callCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls
}

// waitPod returns the one pod the runtime created.
func waitPod(t *testing.T, cs *fake.Clientset) *corev1.Pod {
	t.Helper()
	for i := 0; i < 500; i++ {
		l, err := cs.CoreV1().Pods("").List(context.Background(), metav1.ListOptions{})
		if err == nil && len(l.Items) == 1 {
			return &l.Items[0]
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatal("no pod created within 5 s")
	return nil
}

// Without an executor a runtime 1 bundle's credentials cannot be had: the
// error says so instead of reporting a binding without credentials.
func TestRuntime1WithoutExecutor(t *testing.T) {
	cs := fakeCluster(t)
	rt, err := New(Config{Timeout: 30 * time.Second}, cs, nil)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		_, err := rt.Run(context.Background(), runtime.Action{Name: "provision", OperationID: "op-1", Image: "img", Runtime: 1, FQName: "dh-old-apb"}, nil)
		done <- err
	}()
	finishPod(t, cs, 0, "", nil, nil)
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), "no executor") {
			t.Fatalf("err = %v, want one saying there is no executor", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return")
	}
}

type failingExec struct{}

func (failingExec) Exec(context.Context, string, string, string, []string) ([]byte, int, error) {
	return nil, 0, errors.New(`pods "x" is forbidden: cannot create resource "pods/exec"`)
}

// An exec that keeps failing ends the action with the reason while the
// runtime 1 pod still waits, rather than at the action's timeout.
func TestRuntime1ExecForbidden(t *testing.T) {
	cs := fakeCluster(t)
	rt, err := New(Config{Timeout: time.Minute, Exec: failingExec{}}, cs, nil)
	if err != nil {
		t.Fatal(err)
	}
	rt.execEvery = 10 * time.Millisecond
	done := make(chan error, 1)
	go func() {
		_, err := rt.Run(context.Background(), runtime.Action{Name: "bind", OperationID: "op-1", Image: "img", Runtime: 1, FQName: "dh-old-apb"}, nil)
		done <- err
	}()
	pod := waitPod(t, cs)
	pod.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: containerName, State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{}}}}
	pod.Status.Phase = corev1.PodRunning
	if _, err := cs.CoreV1().Pods(pod.Namespace).UpdateStatus(context.Background(), pod, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), "cannot exec broker-bind-creds") || !strings.Contains(err.Error(), "forbidden") {
			t.Fatalf("err = %v, want the exec failure", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run kept waiting for a pod whose credentials cannot be had")
	}
}
