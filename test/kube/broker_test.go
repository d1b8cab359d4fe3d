package kube

import (
	"context"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/openstack-service-broker/openstack-service-broker/pkg/apb"
	"github.com/openstack-service-broker/openstack-service-broker/pkg/osb/osbapi"
	kuberuntime "github.com/openstack-service-broker/openstack-service-broker/pkg/runtime/kubernetes"
	"github.com/openstack-service-broker/openstack-service-broker/test/kube/kubetest"
)

func testBundleSpec(t *testing.T) []byte {
	t.Helper()
	b, err := os.ReadFile("../bundles/testbundle/apb.yml")
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func poll(t *testing.T, ctx context.Context, what string, f func() (*osbapi.LastOperationResponse, error)) *osbapi.LastOperationResponse {
	t.Helper()
	return pollFor(t, ctx, what, 3*time.Minute, f)
}

// pollFor polls an operation until it ends, at most limit.
func pollFor(t *testing.T, ctx context.Context, what string, limit time.Duration, f func() (*osbapi.LastOperationResponse, error)) *osbapi.LastOperationResponse {
	t.Helper()
	deadline := time.Now().Add(limit)
	for {
		lo, err := f()
		if e, ok := osbapi.AsError(err); ok && e.Status == 410 && (strings.HasPrefix(what, "unbind") || strings.HasPrefix(what, "deprovision")) {
			// 410 after a delete means it is done (OSB 2.17).
			return &osbapi.LastOperationResponse{State: osbapi.StateSucceeded}
		}
		if err != nil {
			t.Fatalf("%s: last_operation: %v", what, err)
		}
		if lo.State != osbapi.StateInProgress {
			return lo
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			t.Fatalf("%s: still in progress after %s", what, limit)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestBrokerHTTP provisions, binds, unbinds and deprovisions the test
// bundle through the broker's OSB API, with pods on the real cluster.
func TestBrokerHTTP(t *testing.T) {
	t.Parallel()
	e := setup(t)
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	brokerNS, target := e.namespaces(t, ctx)
	log, logs := newLogger(t)
	cfg := e.RuntimeConfig(brokerNS)
	var mu sync.Mutex
	var actions []string
	cfg.Trace = func(op string, p kuberuntime.Phase, _ time.Time) {
		if p != kuberuntime.PhasePodCreated {
			return
		}
		l, err := e.client.CoreV1().Pods(metav1.NamespaceAll).List(context.Background(), metav1.ListOptions{LabelSelector: kuberuntime.LabelOperation + "=" + op})
		if err == nil && len(l.Items) == 1 {
			mu.Lock()
			actions = append(actions, l.Items[0].Labels[kuberuntime.LabelAction])
			mu.Unlock()
		}
	}
	rt, err := kuberuntime.New(cfg, e.client, log)
	if err != nil {
		t.Fatal(err)
	}
	b := e.StartBroker(t, t.TempDir(), testBundleSpec(t), kubetest.BrokerOptions{Runtime: rt, Namespace: brokerNS,
		Secrets:   []map[string]string{{"title": "test credentials", "apb_name": kubetest.FQName, "secret": credsSecret}},
		OpenStack: map[string]any{"clouds_secret": cloudsSecret, "bundles": "^" + kubetest.FQName + "$"}})
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("broker log:\n%s", b.Logs)
		}
	})
	f := newFlow(t, ctx, b, kubetest.FQName, target)
	instance, binding := newID(t), newID(t)
	succeeded(t, "provision", f.provision(instance, map[string]any{"greeting": "from http"}))
	cm, err := e.client.CoreV1().ConfigMaps(target).Get(ctx, "testbundle-"+instance, metav1.GetOptions{})
	if err != nil {
		t.Fatalf("the bundle's ConfigMap: %v", err)
	}
	for k, v := range map[string]string{"greeting": "from http", "plan": "default", "cluster": "kubernetes", "os_cloud": "devstack", "clouds_readable": "yes"} {
		if cm.Data[k] != v {
			t.Errorf("bundle saw %s = %q, want %q", k, cm.Data[k], v)
		}
	}

	lo, creds := f.bind(instance, binding)
	succeeded(t, "bind", lo)
	if creds["DB_USER"] != "user-"+instance[:8] || creds["BINDING_ID"] != binding {
		t.Errorf("bind credentials = %v", creds)
	}
	pw, _ := creds["DB_PASSWORD"].(string)
	if !strings.HasPrefix(pw, "pw-") {
		t.Errorf("DB_PASSWORD = %q", pw)
	}

	succeeded(t, "unbind", f.unbind(instance, binding))
	succeeded(t, "deprovision", f.deprovision(instance))
	if _, err := e.client.CoreV1().ConfigMaps(target).Get(ctx, "testbundle-"+instance, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("deprovision left the bundle's ConfigMap: %v", err)
	}
	mu.Lock()
	if got := strings.Join(actions, " "); got != "provision bind unbind deprovision" {
		t.Errorf("pods created for %q, want provision bind unbind deprovision", got)
	}
	mu.Unlock()
	// Every sandbox of the instance goes. The broker releases a sandbox only
	// after the outcome is stored, so the last one may still be there right
	// after last_operation said "succeeded".
	waitFor(t, "the instance's sandboxes being deleted", 30*time.Second, func() bool {
		nss, err := e.client.CoreV1().Namespaces().List(ctx, metav1.ListOptions{LabelSelector: kuberuntime.LabelInstance + "=" + instance})
		if err != nil {
			t.Fatal(err)
		}
		for _, ns := range nss.Items {
			if ns.DeletionTimestamp == nil {
				return false
			}
		}
		return true
	})
	checkNoSecrets(t, "broker log", b.Logs.String())
	checkNoSecrets(t, "runtime log", logs.String())
	if strings.Contains(b.Logs.String()+logs.String(), pw) {
		t.Errorf("the bind password appears in a log")
	}
}

// TestBrokerRestart: the broker stops while a provision pod runs; the next
// broker (same etcd data) re-attaches to that pod instead of starting
// another, and the operation succeeds.
func TestBrokerRestart(t *testing.T) {
	t.Parallel()
	e := setup(t)
	ctx, cancel := context.WithTimeout(context.Background(), 6*time.Minute)
	defer cancel()
	brokerNS, target := e.namespaces(t, ctx)
	log, rlogs := newLogger(t)
	// Kept, so that the count of sandboxes below does not depend on how fast
	// the namespace controller removes a released one.
	cfg := e.RuntimeConfig(brokerNS)
	cfg.KeepNamespace = true
	rt, err := kuberuntime.New(cfg, e.client, log)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	bo := kubetest.BrokerOptions{Runtime: rt, Namespace: brokerNS}
	b := e.StartBroker(t, dir, testBundleSpec(t), bo)
	sid, pid := apb.ServiceID(kubetest.FQName), apb.PlanID(kubetest.FQName, "default")
	instance := newID(t)
	e.deleteSandboxesAtCleanup(t, kuberuntime.LabelInstance+"="+instance)
	pr, err := b.Client.Provision(ctx, instance, &osbapi.ProvisionRequest{ServiceID: sid, PlanID: pid, OrganizationGUID: "org", SpaceGUID: "space",
		Context: map[string]any{"platform": "kubernetes", "namespace": target}, Parameters: map[string]any{"sleep_seconds": 15}}, true)
	if err != nil {
		t.Fatalf("provision: %v", err)
	}
	sel := metav1.ListOptions{LabelSelector: kuberuntime.LabelInstance + "=" + instance}
	var podName string
	waitFor(t, "the provision pod running", 90*time.Second, func() bool {
		l, err := e.client.CoreV1().Pods(metav1.NamespaceAll).List(ctx, sel)
		if err != nil || len(l.Items) != 1 || l.Items[0].Status.Phase != "Running" {
			return false
		}
		podName = l.Items[0].Name
		return true
	})
	if err := b.Stop(); err != nil {
		t.Fatalf("stopping the broker: %v", err)
	}
	b2 := e.StartBroker(t, dir, testBundleSpec(t), bo)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("first broker log:\n%s\nsecond broker log:\n%s", b.Logs, b2.Logs)
		}
	})
	lo := poll(t, ctx, "provision across a restart", func() (*osbapi.LastOperationResponse, error) {
		return b2.Client.LastOperation(ctx, instance, &osbapi.LastOperationRequest{Operation: pr.Operation})
	})
	if lo.State != osbapi.StateSucceeded {
		t.Fatalf("provision ended %s: %s", lo.State, lo.Description)
	}
	pods, err := e.client.CoreV1().Pods(metav1.NamespaceAll).List(ctx, sel)
	if err != nil {
		t.Fatal(err)
	}
	nss, err := e.client.CoreV1().Namespaces().List(ctx, sel)
	if err != nil {
		t.Fatal(err)
	}
	if len(nss.Items) != 1 {
		t.Errorf("%d sandboxes for the instance, want 1 (re-attached, not started again)", len(nss.Items))
	}
	for _, p := range pods.Items {
		if p.Name != podName {
			t.Errorf("a second pod %s ran for the instance", p.Name)
		}
	}
	if !strings.Contains(rlogs.String(), "re-attached to bundle pod") {
		t.Errorf("the runtime did not re-attach to the running pod")
	}
}

// TestRuntime1Bundle: a bundle of apb-base release-1.0 (runtime 1), whose
// pod waits until the broker execs broker-bind-creds, provisions, binds
// (credentials through GET binding), unbinds (no playbook: a no-op) and
// deprovisions through the OSB API with the runtime built from the config
// file. bind-init holds a pod 5 minutes when nobody execs; the 3-minute
// poll bound fails the test then.
func TestRuntime1Bundle(t *testing.T) {
	t.Parallel()
	e := setup(t)
	if os.Getenv("OSB_TEST_RUNTIME1_IMAGE") == "" {
		t.Fatal("OSB_TEST_RUNTIME1_IMAGE is not set: run `make test` (hack/test.d/30-kube.sh builds test/bundles/runtime1 and imports it)")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	brokerNS, target := e.namespaces(t, ctx)
	b := e.StartBroker(t, t.TempDir(), testBundleSpec(t), kubetest.BrokerOptions{Namespace: brokerNS, Bundles: []string{"../bundles/runtime1"}})
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("broker log:\n%s", b.Logs)
		}
	})
	f := newFlow(t, ctx, b, "local-runtime1-apb", target)
	instance, binding := newID(t), newID(t)
	succeeded(t, "provision", f.provision(instance, nil))
	lo, creds := f.bind(instance, binding)
	succeeded(t, "bind", lo)
	pw, _ := creds["R1_PASSWORD"].(string)
	if creds["R1_USER"] != "r1-"+instance[:8] || !strings.HasPrefix(pw, "r1pw-") {
		t.Errorf("bind credentials = %v", creds)
	}
	// No unbind playbook: the original's no-op success.
	succeeded(t, "unbind", f.unbind(instance, binding))
	succeeded(t, "deprovision", f.deprovision(instance))
	if strings.Contains(b.Logs.String(), pw) {
		t.Errorf("the runtime 1 bind password appears in the broker log")
	}
}
