package kube

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/yaml"

	"github.com/openstack-service-broker/openstack-service-broker/pkg/runtime"
	kuberuntime "github.com/openstack-service-broker/openstack-service-broker/pkg/runtime/kubernetes"
)

// TestRBACManifest applies deploy/base/rbac.yaml and runs a provision (secrets
// mapped, credentials read, sandbox removed) and the janitor as the
// broker's service account: the manifest grants enough.
func TestRBACManifest(t *testing.T) {
	t.Parallel()
	e := setup(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	brokerNS, target := e.namespaces(t, ctx)
	raw, err := os.ReadFile("../../deploy/base/rbac.yaml")
	if err != nil {
		t.Fatal(err)
	}
	// The manifest's names, made unique to this run.
	const ns, name = "openstack-service-broker", "openstack-service-broker"
	unique := name + "-" + brokerNS
	var sa corev1.ServiceAccount
	var cr rbacv1.ClusterRole
	var crb rbacv1.ClusterRoleBinding
	for _, doc := range strings.Split(string(raw), "\n---\n") {
		var meta metav1.TypeMeta
		if err := yaml.Unmarshal([]byte(doc), &meta); err != nil {
			t.Fatalf("deploy/base/rbac.yaml: %v", err)
		}
		var into any
		switch meta.Kind {
		case "ServiceAccount":
			into = &sa
		case "ClusterRole":
			into = &cr
		case "ClusterRoleBinding":
			into = &crb
		default:
			t.Fatalf("deploy/base/rbac.yaml: unexpected kind %q", meta.Kind)
		}
		if err := yaml.UnmarshalStrict([]byte(doc), into); err != nil {
			t.Fatalf("deploy/base/rbac.yaml %s: %v", meta.Kind, err)
		}
	}
	if sa.Namespace != ns || len(crb.Subjects) != 1 || crb.Subjects[0].Name != sa.Name || crb.RoleRef.Name != cr.Name {
		t.Fatalf("deploy/base/rbac.yaml: the binding does not tie the service account to the role")
	}
	sa.Namespace = brokerNS
	cr.Name, crb.Name, crb.RoleRef.Name = unique, unique, unique
	crb.Subjects[0].Namespace = brokerNS
	if _, err := e.client.CoreV1().ServiceAccounts(brokerNS).Create(ctx, &sa, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.client.RbacV1().ClusterRoles().Create(ctx, &cr, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.client.RbacV1().ClusterRoleBindings().Create(ctx, &crb, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = e.client.RbacV1().ClusterRoleBindings().Delete(context.Background(), unique, metav1.DeleteOptions{})
		_ = e.client.RbacV1().ClusterRoles().Delete(context.Background(), unique, metav1.DeleteOptions{})
	})

	rc, err := clientcmd.BuildConfigFromFlags("", os.Getenv("OSB_TEST_KUBECONFIG"))
	if err != nil {
		t.Fatal(err)
	}
	rc.Impersonate.UserName = "system:serviceaccount:" + brokerNS + ":" + sa.Name
	asBroker, err := kubernetes.NewForConfig(rc)
	if err != nil {
		t.Fatal(err)
	}
	// Impersonation is in force: the broker may not list nodes.
	if _, err := asBroker.CoreV1().Nodes().List(ctx, metav1.ListOptions{}); err == nil {
		t.Fatal("the impersonated client can list nodes: impersonation not in effect")
	}
	log, _ := newLogger(t)
	cfg := e.config(brokerNS)
	cfg.Exec = kuberuntime.NewExecutor(rc, asBroker)
	rt, err := kuberuntime.New(cfg, asBroker, log)
	if err != nil {
		t.Fatal(err)
	}
	instance, op := newID(t), newID(t)
	a := runtime.Action{Name: runtime.ActionProvision, OperationID: op, Image: e.image, Runtime: 2, Mounts: testMounts, FQName: fqname,
		InstanceID: instance, Target: target, ExtraVars: extraVars(instance, target, nil)}
	res, err := e.runAndRelease(t, ctx, rt, a, nil)
	if err != nil {
		t.Fatalf("provision as the broker's service account: %v", err)
	}
	if res.Credentials["DB_USER"] != "user-"+instance[:8] {
		t.Errorf("credentials = %v", res.Credentials)
	}
	checkRemoved(t, ctx, e, op)
	// A runtime 1 bundle: its credentials come by pods/exec.
	r1 := runtime.Action{Name: runtime.ActionProvision, OperationID: newID(t), Image: os.Getenv("OSB_TEST_RUNTIME1_IMAGE"), Runtime: 1,
		FQName: "local-runtime1-apb", InstanceID: instance, Target: target, ExtraVars: extraVars(instance, target, nil)}
	if res, err := e.runAndRelease(t, ctx, rt, r1, nil); err != nil || res.Credentials["R1_USER"] != "r1-"+instance[:8] {
		t.Errorf("runtime 1 provision as the broker's service account: %v, credentials %v", err, res)
	}
	if _, err := rt.Attach(ctx, runtime.Action{OperationID: newID(t)}, nil); err != runtime.ErrNotStarted {
		t.Errorf("Attach of an unknown operation: %v", err)
	}
	if _, err := rt.Reap(ctx, func(string) bool { return true }); err != nil {
		t.Errorf("janitor as the broker's service account: %v", err)
	}
}
