// Package crdstore measures the CRD store (dao.type: crd) on the one-node
// test cluster's kube-apiserver against its baseline, the bare API calls
// that the same change needs at the least (one GET and one conditional
// UPDATE of the object with client-go's dynamic client), and against the
// embedded etcd store, all in the same run. Figures are reported (ms per
// operation and ratios), never asserted. Needs the cluster of
// hack/test.d/30-kube.sh:
//
//	OSB_TEST_KUBECONFIG=... OSB_TEST_BUNDLE_IMAGE=... go test -run '^$' -bench . -benchtime 1x ./bench/crdstore/
package crdstore

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"sigs.k8s.io/yaml"

	"github.com/openstack-service-broker/openstack-service-broker/pkg/apb"
	"github.com/openstack-service-broker/openstack-service-broker/pkg/store"
	"github.com/openstack-service-broker/openstack-service-broker/pkg/store/crd"
	"github.com/openstack-service-broker/openstack-service-broker/test/kube/kubetest"
)

// n is how many instances each measure creates and updates.
const n = 50

var crdRes = schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"}

// installCRDs creates deploy/crds' definitions the cluster lacks and
// returns those it created, to delete afterwards.
func installCRDs(b *testing.B, dc dynamic.Interface) []string {
	raw, err := os.ReadFile(filepath.Join("..", "..", "deploy", "crds", "crds.yaml"))
	if err != nil {
		b.Fatal(err)
	}
	var made []string
	ctx := context.Background()
	for _, doc := range splitYAML(raw) {
		u := &unstructured.Unstructured{}
		if err := yaml.Unmarshal(doc, &u.Object); err != nil || len(u.Object) == 0 {
			continue
		}
		if _, err := dc.Resource(crdRes).Create(ctx, u, metav1.CreateOptions{}); err == nil {
			made = append(made, u.GetName())
		} else if !apierrors.IsAlreadyExists(err) {
			b.Fatal(err)
		}
	}
	time.Sleep(3 * time.Second) // established
	return made
}

func splitYAML(b []byte) [][]byte {
	var out [][]byte
	start := 0
	for i := 0; i+4 <= len(b); i++ {
		if (i == 0 || b[i-1] == '\n') && string(b[i:i+4]) == "---\n" {
			out = append(out, b[start:i])
			start = i + 4
		}
	}
	return append(out, b[start:])
}

func instance(id string) *store.ServiceInstance {
	sp := &apb.Spec{ID: "sp", FQName: "local-x", Plans: []apb.Plan{{ID: "p", Name: "default"}}}
	return &store.ServiceInstance{ID: id, Spec: sp, Context: map[string]any{"namespace": "n"},
		Parameters: map[string]any{"a": "b"}, BindingIDs: map[string]bool{}, ServiceID: "s", PlanID: "p", Status: store.StatusReady}
}

// measure creates n instances with a job each, then updates each (read,
// change, CAS), and returns ms per create and per update.
func measure(b *testing.B, s store.Backend, prefix string) (create, update float64) {
	ctx := context.Background()
	t0 := time.Now()
	for i := range n {
		in := instance(fmt.Sprintf("%s-%d", prefix, i))
		j := &store.Job{Token: "t", State: store.JobNotStarted, Method: "provision", InstanceID: in.ID}
		if _, err := s.Commit(ctx, store.PutInstance(in), store.PutJob(j)); err != nil {
			b.Fatal(err)
		}
	}
	create = float64(time.Since(t0).Microseconds()) / 1000 / n
	t0 = time.Now()
	for i := range n {
		in, err := s.GetInstance(ctx, fmt.Sprintf("%s-%d", prefix, i))
		if err != nil {
			b.Fatal(err)
		}
		in.Status = store.StatusFailed
		if _, err := s.Commit(ctx, store.PutInstance(in)); err != nil {
			b.Fatal(err)
		}
	}
	update = float64(time.Since(t0).Microseconds()) / 1000 / n
	return create, update
}

// bare is the baseline: the same objects created, then read and updated
// conditionally with the dynamic client, no store around the calls.
func bare(b *testing.B, dc dynamic.Interface, ns, prefix string) (create, update float64) {
	ctx := context.Background()
	ri := dc.Resource(crd.BundleInstances).Namespace(ns)
	t0 := time.Now()
	for i := range n {
		u := &unstructured.Unstructured{Object: map[string]any{"apiVersion": "automationbroker.io/v1alpha1", "kind": "BundleInstance",
			"metadata": map[string]any{"name": fmt.Sprintf("%s-%d", prefix, i)},
			"spec":     map[string]any{"bundle": map[string]any{"name": "sp"}, "parameters": `{"a":"b"}`},
			"status":   map[string]any{"jobs": map[string]any{"t": map[string]any{"state": "not-started", "method": "provision"}}}}}
		if _, err := ri.Create(ctx, u, metav1.CreateOptions{}); err != nil {
			b.Fatal(err)
		}
	}
	create = float64(time.Since(t0).Microseconds()) / 1000 / n
	t0 = time.Now()
	for i := range n {
		u, err := ri.Get(ctx, fmt.Sprintf("%s-%d", prefix, i), metav1.GetOptions{})
		if err != nil {
			b.Fatal(err)
		}
		unstructured.SetNestedField(u.Object, "failed", "status", "state")
		if _, err := ri.Update(ctx, u, metav1.UpdateOptions{}); err != nil {
			b.Fatal(err)
		}
	}
	update = float64(time.Since(t0).Microseconds()) / 1000 / n
	return create, update
}

func BenchmarkCRDStore(b *testing.B) {
	c := kubetest.Connect(b)
	dc, err := dynamic.NewForConfig(c.Rest)
	if err != nil {
		b.Fatal(err)
	}
	made := installCRDs(b, dc)
	defer func() {
		for _, name := range made {
			_ = dc.Resource(crdRes).Delete(context.Background(), name, metav1.DeleteOptions{})
		}
	}()
	ctx := context.Background()
	ns := c.TempNamespace(b, ctx, "osb-bench-crd-")
	cs, err := crd.Open(ctx, crd.Config{Rest: c.Rest, Namespace: ns}, nil)
	if err != nil {
		b.Fatal(err)
	}
	es, err := store.Open(ctx, store.Config{DataDir: b.TempDir()}, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer es.Close()
	for i := 0; i < b.N; i++ {
		bc, bu := bare(b, dc, ns, fmt.Sprintf("bare%d", i))
		cc, cu := measure(b, cs, fmt.Sprintf("crd%d", i))
		ec, eu := measure(b, es, fmt.Sprintf("etcd%d", i))
		b.Logf("ms per op (n=%d): create bare API %.2f, CRD store %.2f (x%.2f), embedded etcd store %.2f (x%.2f of bare)", n, bc, cc, cc/bc, ec, ec/bc)
		b.Logf("ms per op (n=%d): read+CAS update bare API %.2f, CRD store %.2f (x%.2f), embedded etcd store %.2f (x%.2f of bare)", n, bu, cu, cu/bu, eu, eu/bu)
		b.ReportMetric(cc/bc, "crd/bare-create")
		b.ReportMetric(cu/bu, "crd/bare-update")
	}
}
