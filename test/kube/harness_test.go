// Package kube runs the Kubernetes runtime against a real one-node cluster
// whose pods really execute (hack/kube-cluster.sh), with the test bundle
// image built FROM apb-base (test/bundles/testbundle). hack/test.d/30-kube.sh
// starts the cluster and exports OSB_TEST_KUBECONFIG and OSB_TEST_BUNDLE_IMAGE.
package kube

import (
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/openstack-service-broker/openstack-service-broker/pkg/apb"
	"github.com/openstack-service-broker/openstack-service-broker/pkg/osb/osbapi"
	"github.com/openstack-service-broker/openstack-service-broker/pkg/osb/osbclient"
	"github.com/openstack-service-broker/openstack-service-broker/pkg/runtime"
	kuberuntime "github.com/openstack-service-broker/openstack-service-broker/pkg/runtime/kubernetes"
	"github.com/openstack-service-broker/openstack-service-broker/test/kube/kubetest"
	"github.com/openstack-service-broker/openstack-service-broker/test/runtimecontract"
)

// The test bundle and the sources it gets are the runtime contract's
// (test/runtimecontract), shared with the Docker runtime's suite.
const (
	fqname       = runtimecontract.FQName
	credsSecret  = runtimecontract.CredsSource
	cloudsSecret = runtimecontract.CloudsSource
	// Values the tests look for in logs and pod specs: they must never show.
	secretPassword = runtimecontract.SecretPassword
	cloudPassword  = runtimecontract.CloudPassword
)

// What the broker's secrets: rule and openstack.clouds_secret give the
// test bundle, for tests that call the runtime directly.
var testMounts = runtimecontract.Mounts()

type env struct {
	*kubetest.Cluster
	client kubernetes.Interface
	image  string
}

// setup connects to the test cluster, or fails saying how to start it.
func setup(t *testing.T) *env {
	t.Helper()
	c := kubetest.Connect(t)
	return &env{Cluster: c, client: c.Client, image: os.Getenv("OSB_TEST_BUNDLE_IMAGE")}
}

// namespaces makes a broker namespace holding the Secrets and a target
// namespace, both removed at the end.
func (e *env) namespaces(t *testing.T, ctx context.Context) (broker, target string) {
	t.Helper()
	broker, target = e.TempNamespace(t, ctx, "osb-broker-"), e.TempNamespace(t, ctx, "osb-target-")
	// Registered first, so it runs last (after the test's brokers stopped):
	// every sandbox acting on the target goes, including those a failed
	// test never released and those a test kept to inspect.
	t.Cleanup(func() {
		l, err := e.client.CoreV1().Namespaces().List(context.Background(), metav1.ListOptions{LabelSelector: kuberuntime.LabelManagedBy + "=" + kuberuntime.ManagedBy})
		if err != nil {
			t.Logf("listing sandboxes to remove: %v", err)
			return
		}
		for _, ns := range l.Items {
			if ns.Annotations[kuberuntime.AnnotationTargetNamespace] == target && ns.DeletionTimestamp == nil {
				_ = e.client.CoreV1().Namespaces().Delete(context.Background(), ns.Name, metav1.DeleteOptions{})
			}
		}
	})
	for name, files := range runtimecontract.Sources() {
		s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: name}, StringData: files}
		if _, err := e.client.CoreV1().Secrets(broker).Create(ctx, s, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	return broker, target
}

// config is the runtime configuration for the test cluster.
func (e *env) config(brokerNS string) kuberuntime.Config { return e.RuntimeConfig(brokerNS) }

// runAndRelease does with one action what the broker does: Run, then
// Release once the outcome would be stored. The sandbox must outlive Run.
func (e *env) runAndRelease(t *testing.T, ctx context.Context, rt *kuberuntime.Runtime, a runtime.Action, progress runtime.Progress) (*runtime.Result, error) {
	t.Helper()
	res, err := rt.Run(ctx, a, progress)
	if l, lerr := e.client.CoreV1().Namespaces().List(ctx, metav1.ListOptions{LabelSelector: kuberuntime.LabelOperation + "=" + a.OperationID}); lerr != nil || len(l.Items) == 0 {
		t.Errorf("%s: no sandbox left for Release after Run (%v)", a.Name, lerr)
	}
	if rerr := rt.Release(ctx, a, err != nil); rerr != nil {
		t.Errorf("%s: Release: %v", a.Name, rerr)
	}
	return res, err
}

// logBuffer collects the runtime's log (debug level, with the bundle's).
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func newLogger(t *testing.T) (*slog.Logger, *logBuffer) {
	b := &logBuffer{}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("runtime log:\n%s", b.String())
		}
	})
	return slog.New(slog.NewTextHandler(b, &slog.HandlerOptions{Level: slog.LevelDebug})), b
}

// sandboxOf finds the sandbox namespace of an operation by its label.
func (e *env) sandboxOf(t *testing.T, ctx context.Context, op string) *corev1.Namespace {
	t.Helper()
	l, err := e.client.CoreV1().Namespaces().List(ctx, metav1.ListOptions{LabelSelector: kuberuntime.LabelOperation + "=" + op})
	if err != nil {
		t.Fatal(err)
	}
	if len(l.Items) != 1 {
		t.Fatalf("operation %s: %d sandbox namespaces, want 1", op, len(l.Items))
	}
	return &l.Items[0]
}

// deleteSandboxesAtCleanup removes, when the test ends, the sandboxes it
// had kept for inspection (those matching selector).
func (e *env) deleteSandboxesAtCleanup(t *testing.T, selector string) {
	t.Cleanup(func() {
		l, err := e.client.CoreV1().Namespaces().List(context.Background(), metav1.ListOptions{LabelSelector: selector})
		if err != nil {
			return
		}
		for _, ns := range l.Items {
			_ = e.client.CoreV1().Namespaces().Delete(context.Background(), ns.Name, metav1.DeleteOptions{})
		}
	})
}

// waitFor polls cond (bounded) until it holds.
func waitFor(t *testing.T, what string, limit time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %s", what, limit)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func extraVars(instance, target string, params map[string]any) map[string]any {
	v := map[string]any{
		"_apb_plan_id":              "default",
		"_apb_service_class_id":     "6e7b0c4a5d0b0d2cc0e8e8b2c7d0a7c1",
		"_apb_service_instance_id":  instance,
		"_apb_last_requesting_user": "test-user",
		"namespace":                 target,
		"cluster":                   "kubernetes",
	}
	for k, p := range params {
		v[k] = p
	}
	return v
}

// newID is a random UUID, as platforms send.
func newID(t *testing.T) string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatal(err)
	}
	b[6], b[8] = b[6]&0x0f|0x40, b[8]&0x3f|0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// osbFlow drives one bundle through a broker's OSB API: each step sends
// its request and polls the operation to its end (bounded by poll), and
// returns the final last_operation.
type osbFlow struct {
	t        *testing.T
	ctx      context.Context
	c        *osbclient.Client
	sid, pid string
	octx     map[string]any
	// limit bounds each operation (default 3 minutes).
	limit time.Duration
}

func (f *osbFlow) poll(what string, get func() (*osbapi.LastOperationResponse, error)) *osbapi.LastOperationResponse {
	f.t.Helper()
	limit := f.limit
	if limit == 0 {
		limit = 3 * time.Minute
	}
	return pollFor(f.t, f.ctx, what, limit, get)
}

func newFlow(t *testing.T, ctx context.Context, b *kubetest.Broker, fqname, target string) *osbFlow {
	return &osbFlow{t: t, ctx: ctx, c: b.Client, sid: apb.ServiceID(fqname), pid: apb.PlanID(fqname, "default"),
		octx: map[string]any{"platform": "kubernetes", "namespace": target}}
}

func (f *osbFlow) provision(instance string, params map[string]any) *osbapi.LastOperationResponse {
	f.t.Helper()
	r, err := f.c.Provision(f.ctx, instance, &osbapi.ProvisionRequest{ServiceID: f.sid, PlanID: f.pid, OrganizationGUID: "org", SpaceGUID: "space",
		Context: f.octx, Parameters: params}, true)
	if err != nil {
		f.t.Fatalf("provision %s: %v", instance, err)
	}
	if !r.Async {
		f.t.Fatalf("provision %s answered synchronously", instance)
	}
	return f.poll("provision", func() (*osbapi.LastOperationResponse, error) {
		return f.c.LastOperation(f.ctx, instance, &osbapi.LastOperationRequest{Operation: r.Operation})
	})
}

func (f *osbFlow) update(instance string, params map[string]any) *osbapi.LastOperationResponse {
	f.t.Helper()
	r, err := f.c.Update(f.ctx, instance, &osbapi.UpdateRequest{ServiceID: f.sid, PlanID: f.pid, Context: f.octx, Parameters: params}, true)
	if err != nil {
		f.t.Fatalf("update %s: %v", instance, err)
	}
	if !r.Async {
		return &osbapi.LastOperationResponse{State: osbapi.StateSucceeded}
	}
	return f.poll("update", func() (*osbapi.LastOperationResponse, error) {
		return f.c.LastOperation(f.ctx, instance, &osbapi.LastOperationRequest{Operation: r.Operation})
	})
}

// bind also returns the credentials (from GET binding when asynchronous).
func (f *osbFlow) bind(instance, binding string) (*osbapi.LastOperationResponse, map[string]any) {
	f.t.Helper()
	r, err := f.c.Bind(f.ctx, instance, binding, &osbapi.BindRequest{ServiceID: f.sid, PlanID: f.pid, Context: f.octx}, true)
	if err != nil {
		f.t.Fatalf("bind: %v", err)
	}
	if !r.Async {
		return &osbapi.LastOperationResponse{State: osbapi.StateSucceeded}, r.Credentials
	}
	lo := f.poll("bind", func() (*osbapi.LastOperationResponse, error) {
		return f.c.BindingLastOperation(f.ctx, instance, binding, &osbapi.LastOperationRequest{Operation: r.Operation})
	})
	if lo.State != osbapi.StateSucceeded {
		return lo, nil
	}
	gb, err := f.c.GetBinding(f.ctx, instance, binding, nil)
	if err != nil {
		f.t.Fatalf("GET binding: %v", err)
	}
	return lo, gb.Credentials
}

func (f *osbFlow) unbind(instance, binding string) *osbapi.LastOperationResponse {
	f.t.Helper()
	r, err := f.c.Unbind(f.ctx, instance, binding, &osbapi.UnbindRequest{ServiceID: f.sid, PlanID: f.pid}, true)
	if err != nil {
		f.t.Fatalf("unbind: %v", err)
	}
	if !r.Async {
		return &osbapi.LastOperationResponse{State: osbapi.StateSucceeded}
	}
	return f.poll("unbind", func() (*osbapi.LastOperationResponse, error) {
		return f.c.BindingLastOperation(f.ctx, instance, binding, &osbapi.LastOperationRequest{Operation: r.Operation})
	})
}

func (f *osbFlow) deprovision(instance string) *osbapi.LastOperationResponse {
	f.t.Helper()
	r, err := f.c.Deprovision(f.ctx, instance, &osbapi.DeprovisionRequest{ServiceID: f.sid, PlanID: f.pid}, true)
	if err != nil {
		f.t.Fatalf("deprovision %s: %v", instance, err)
	}
	if !r.Async {
		return &osbapi.LastOperationResponse{State: osbapi.StateSucceeded}
	}
	return f.poll("deprovision", func() (*osbapi.LastOperationResponse, error) {
		return f.c.LastOperation(f.ctx, instance, &osbapi.LastOperationRequest{Operation: r.Operation})
	})
}

// succeeded fails the test unless an operation ended succeeded.
func succeeded(t *testing.T, what string, lo *osbapi.LastOperationResponse) {
	t.Helper()
	if lo.State != osbapi.StateSucceeded {
		t.Fatalf("%s ended %s: %s", what, lo.State, lo.Description)
	}
}
