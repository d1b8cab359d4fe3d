package kubernetes

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
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
			rt, err := New(Config{BrokerNamespace: "broker", KeepNamespaceOnError: c.keepErr, HTTPProxy: "http://proxy:3128",
				SecretRules:  []SecretRule{{APBName: "dh-test-apb", Secret: "creds"}, {APBName: "other", Secret: "nope"}},
				CloudsSecret: "clouds", Timeout: 30 * time.Second}, cs, nil)
			if err != nil {
				t.Fatal(err)
			}
			var progress []string
			type out struct {
				res *runtime.Result
				err error
			}
			done := make(chan out, 1)
			go func() {
				res, err := rt.Run(context.Background(), runtime.Action{Name: "provision", OperationID: "op-1", Image: "img", FQName: "dh-test-apb",
					InstanceID: "i-1", Namespace: "target", ExtraVars: map[string]any{"_apb_plan_id": "default", "admin_password": "pw-in-vars"}},
					func(d string) { progress = append(progress, d) })
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
				"OS_CLIENT_CONFIG_FILE": "/etc/apb-secrets/apb-clouds/clouds.yaml", "OS_CLOUD": "only"} {
				if env[k] != v {
					t.Errorf("env %s = %q, want %q", k, env[k], v)
				}
			}
			if len(pod.Spec.Volumes) != 2 || pod.Spec.RestartPolicy != corev1.RestartPolicyNever || ct.ImagePullPolicy != corev1.PullIfNotPresent {
				t.Errorf("volumes %d, restart %s, pull %s", len(pod.Spec.Volumes), pod.Spec.RestartPolicy, ct.ImagePullPolicy)
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
	rt, err := New(Config{BrokerNamespace: "broker", SecretRules: []SecretRule{{APBName: "x", Secret: "absent"}}}, cs, nil)
	if err != nil {
		t.Fatal(err)
	}
	_, err = rt.Run(context.Background(), runtime.Action{Name: "provision", OperationID: "op", FQName: "x", Namespace: "target"}, nil)
	if err == nil || !strings.Contains(err.Error(), `secret "absent"`) {
		t.Fatalf("err = %v", err)
	}
	l, _ := cs.CoreV1().Namespaces().List(context.Background(), metav1.ListOptions{})
	if len(l.Items) != 2 {
		t.Errorf("%d namespaces, want only the 2 pre-existing", len(l.Items))
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
		{Config{CloudsSecret: "c"}, false, ""},
	}
	for _, c := range cases {
		d, err := c.cfg.withDefaults()
		if (err == nil) != c.ok || (c.ok && d.SandboxRole != c.role) {
			t.Errorf("%+v: %+v, %v", c.cfg, d, err)
		}
	}
}
