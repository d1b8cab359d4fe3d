package kube

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"

	"github.com/openstack-service-broker/openstack-service-broker/pkg/apb"
	"github.com/openstack-service-broker/openstack-service-broker/pkg/store"
	"github.com/openstack-service-broker/openstack-service-broker/pkg/store/crd"
	"github.com/openstack-service-broker/openstack-service-broker/pkg/store/storetest"
	"github.com/openstack-service-broker/openstack-service-broker/test/kube/kubetest"
)

var storeCRDsOnce sync.Mutex

// ensureStoreCRDs installs deploy/crds (the CRD store's definitions) when
// the cluster lacks them; those this process created are removed when the
// suite ends.
func ensureStoreCRDs(t *testing.T, c *kubetest.Cluster) {
	t.Helper()
	storeCRDsOnce.Lock()
	defer storeCRDsOnce.Unlock()
	b, err := os.ReadFile(filepath.Join(deployDir, "crds", "crds.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	dc, err := dynamic.NewForConfig(c.Rest)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	crds := dc.Resource(kubetest.CRDResource)
	for _, o := range objects(t, b) {
		_, err := crds.Create(ctx, o, metav1.CreateOptions{})
		switch {
		case err == nil:
			kubetest.TrackCRD(o.GetName())
		case !apierrors.IsAlreadyExists(err):
			t.Fatalf("installing CRD %s: %v", o.GetName(), err)
		}
		waitFor(t, "CRD "+o.GetName()+" established", time.Minute, func() bool {
			got, err := crds.Get(ctx, o.GetName(), metav1.GetOptions{})
			if err != nil {
				return false
			}
			conds, _, _ := unstructured.NestedSlice(got.Object, "status", "conditions")
			for _, c := range conds {
				if m, ok := c.(map[string]any); ok && m["type"] == "Established" && m["status"] == "True" {
					return true
				}
			}
			return false
		})
	}
}

// openCRDStore opens the CRD store in a namespace of its own.
func openCRDStore(t *testing.T, c *kubetest.Cluster) *crd.Store {
	t.Helper()
	ensureStoreCRDs(t, c)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	ns := c.TempNamespace(t, ctx, "osb-crdstore-")
	s, err := crd.Open(ctx, crd.Config{Rest: c.Rest, Namespace: ns}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestCRDStoreSuite runs the suite every store passes (pkg/store/storetest;
// pkg/store runs it on the embedded etcd) on the CRD store, on the real
// kube-apiserver.
func TestCRDStoreSuite(t *testing.T) {
	c := kubetest.Connect(t)
	storetest.Run(t, openCRDStore(t, c))
}

// TestCRDStoreBroker: a broker with dao.type crd runs a whole lifecycle
// with its state in the namespace's custom resources, in the original's
// layout: the bundle's spec as a bundles object, the instance and its
// operations (CRD state spellings) in a bundleinstance, the binding in a
// bundlebinding, credentials in Secrets named after them.
func TestCRDStoreBroker(t *testing.T) {
	t.Parallel()
	e := setup(t)
	ensureStoreCRDs(t, e.Cluster)
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	brokerNS, target := e.namespaces(t, ctx)
	b := e.StartBroker(t, t.TempDir(), testBundleSpec(t), kubetest.BrokerOptions{Namespace: brokerNS, Dao: map[string]any{"type": "crd"}})
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("broker log:\n%s", b.Logs)
		}
	})
	dc, err := dynamic.NewForConfig(e.Rest)
	if err != nil {
		t.Fatal(err)
	}
	get := func(r schema.GroupVersionResource, name string) *unstructured.Unstructured {
		t.Helper()
		obj, err := dc.Resource(r).Namespace(brokerNS).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			t.Fatalf("%s %s: %v", r.Resource, name, err)
		}
		return obj
	}
	sid := apb.ServiceID(kubetest.FQName)
	if fq, _, _ := unstructured.NestedString(get(crd.Bundles, sid).Object, "spec", "fq_name"); fq != kubetest.FQName {
		t.Fatalf("bundle %s: fq_name %q", sid, fq)
	}

	f := newFlow(t, ctx, b, kubetest.FQName, target)
	instance, binding := newID(t), newID(t)
	succeeded(t, "provision", f.provision(instance, map[string]any{"greeting": "from the CRD store"}))
	in := get(crd.BundleInstances, instance)
	if got, _, _ := unstructured.NestedString(in.Object, "spec", "bundle", "name"); got != sid {
		t.Fatalf("bundleinstance spec.bundle.name %q, want %s", got, sid)
	}
	if got, _, _ := unstructured.NestedString(in.Object, "status", "state"); got != "succeeded" {
		t.Fatalf("bundleinstance status.state %q", got)
	}
	jobs, _, _ := unstructured.NestedMap(in.Object, "status", "jobs")
	if len(jobs) != 1 {
		t.Fatalf("bundleinstance status.jobs %v", jobs)
	}
	for _, j := range jobs {
		if m := j.(map[string]any); m["method"] != "provision" || m["state"] != "succeeded" {
			t.Fatalf("provision job %v", m)
		}
	}
	lo, creds := f.bind(instance, binding)
	succeeded(t, "bind", lo)
	if creds["BINDING_ID"] != binding {
		t.Fatalf("bind credentials %v", creds)
	}
	if got, _, _ := unstructured.NestedString(get(crd.BundleBindings, binding).Object, "spec", "bundleInstance", "name"); got != instance {
		t.Fatalf("bundlebinding spec.bundleInstance.name %q", got)
	}
	sec, err := e.client.CoreV1().Secrets(brokerNS).Get(ctx, binding, metav1.GetOptions{})
	if err != nil || !strings.Contains(string(sec.Data["credentials"]), binding) {
		t.Fatalf("the binding's credentials Secret: %v", err)
	}

	// A restart on the same state: the broker finds its instance again.
	if err := b.Stop(); err != nil {
		t.Fatal(err)
	}
	b = e.StartBroker(t, t.TempDir(), testBundleSpec(t), kubetest.BrokerOptions{Namespace: brokerNS, Dao: map[string]any{"type": "crd"}})
	f = newFlow(t, ctx, b, kubetest.FQName, target)
	succeeded(t, "unbind", f.unbind(instance, binding))
	if _, err := dc.Resource(crd.BundleBindings).Namespace(brokerNS).Get(ctx, binding, metav1.GetOptions{}); err == nil {
		// Kept only for the unbind's record, marked removed.
		obj := get(crd.BundleBindings, binding)
		if obj.GetAnnotations()["osb.automationbroker.io/removed"] != "true" {
			t.Fatalf("the unbound binding is still live: %v", obj.GetAnnotations())
		}
	}
	succeeded(t, "deprovision", f.deprovision(instance))
	if _, err := b.Client.GetInstance(ctx, instance, nil); err == nil {
		t.Fatal("the instance is still there after its deprovision")
	}
	if _, err := e.client.CoreV1().Secrets(brokerNS).Get(ctx, instance, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Fatalf("the instance's credentials Secret after the deprovision: %v", err)
	}
}

// TestCRDStoreForeignSecrets: credentials are Secrets named after ids in
// the broker's namespace, beside the broker's own Secrets; an id that
// names one of those (asb-tls) never reads, overwrites or deletes it.
func TestCRDStoreForeignSecrets(t *testing.T) {
	c := kubetest.Connect(t)
	s := openCRDStore(t, c)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	tls := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "asb-tls"}, Data: map[string][]byte{"tls.key": []byte("key")}}
	if _, err := c.Client.CoreV1().Secrets(s.Namespace()).Create(ctx, tls, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.GetCredentials(ctx, "asb-tls"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("GetCredentials(asb-tls): %v, want not found", err)
	}
	if _, err := s.Commit(ctx, store.PutCredentials("asb-tls", map[string]any{"x": "y"})); err == nil || !strings.Contains(err.Error(), "not a credentials record") {
		t.Fatalf("PutCredentials(asb-tls): %v", err)
	}
	if _, err := s.Commit(ctx, store.DeleteCredentials("asb-tls")); err != nil {
		t.Fatalf("DeleteCredentials(asb-tls): %v", err)
	}
	got, err := c.Client.CoreV1().Secrets(s.Namespace()).Get(ctx, "asb-tls", metav1.GetOptions{})
	if err != nil || string(got.Data["tls.key"]) != "key" {
		t.Fatalf("asb-tls after the store's writes: %v %v", got, err)
	}
}

// TestCRDStoreRBAC: deploy/base/state-rbac.yaml is all the CRD store
// needs: the suite passes as a service account holding that Role alone
// (impersonated, on the real API server's RBAC).
func TestCRDStoreRBAC(t *testing.T) {
	c := kubetest.Connect(t)
	ensureStoreCRDs(t, c)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	ns := c.TempNamespace(t, ctx, "osb-crdrbac-")
	raw, err := os.ReadFile(filepath.Join(deployDir, "base", "state-rbac.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	dc, err := dynamic.NewForConfig(c.Rest)
	if err != nil {
		t.Fatal(err)
	}
	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "openstack-service-broker"}}
	if _, err := c.Client.CoreV1().ServiceAccounts(ns).Create(ctx, sa, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	for _, o := range objects(t, raw) {
		o.SetNamespace(ns)
		if o.GetKind() == "RoleBinding" {
			subs, _, _ := unstructured.NestedSlice(o.Object, "subjects")
			for _, s := range subs {
				s.(map[string]any)["namespace"] = ns
			}
			unstructured.SetNestedSlice(o.Object, subs, "subjects")
		}
		gvr := schema.GroupVersionResource{Group: "rbac.authorization.k8s.io", Version: "v1", Resource: strings.ToLower(o.GetKind()) + "s"}
		if _, err := dc.Resource(gvr).Namespace(ns).Create(ctx, o, metav1.CreateOptions{}); err != nil {
			t.Fatalf("%s: %v", o.GetKind(), err)
		}
	}
	rc := rest.CopyConfig(c.Rest)
	rc.Impersonate = rest.ImpersonationConfig{UserName: "system:serviceaccount:" + ns + ":openstack-service-broker"}
	var s *crd.Store
	// The RoleBinding takes effect as the API server's RBAC cache sees it.
	waitFor(t, "the Role to take effect", 30*time.Second, func() bool {
		s, err = crd.Open(ctx, crd.Config{Rest: rc, Namespace: ns}, nil)
		return err == nil
	})
	storetest.Run(t, s)
}
