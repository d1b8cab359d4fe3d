package kube

import (
	"context"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/dynamic"

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
