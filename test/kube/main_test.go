package kube

import (
	"context"
	"fmt"
	"os"
	"sort"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	kuberuntime "github.com/openstack-service-broker/openstack-service-broker/pkg/runtime/kubernetes"
	"github.com/openstack-service-broker/openstack-service-broker/test/kube/kubetest"
)

// leftoverWait bounds how long the namespace controller gets, after the
// last test, to finish deleting what the tests deleted.
const leftoverWait = 3 * time.Minute

// TestMain fails the suite when it leaves the test cluster other than it
// found it: a namespace it made (kubetest.TempNamespace, kubetest.Track),
// a sandbox whose target is one of those, or a cluster-wide RBAC object
// named after one, still there leftoverWait after the last test. The
// cluster is shared (other suites and other checkouts use it at the same
// time), so only what this process made counts; anything else new is
// reported, not failed.
func TestMain(m *testing.M) {
	os.Exit(runChecked(m))
}

func runChecked(m *testing.M) int {
	cs := checkClient()
	var before map[string]bool
	if cs != nil {
		var err error
		if before, err = namespaceNames(cs); err != nil {
			fmt.Fprintf(os.Stderr, "kube: listing namespaces before the suite: %v\n", err)
			return 1
		}
	}
	code := m.Run()
	if cs == nil {
		return code
	}
	removeCRDs()
	left, foreign, err := leftovers(cs, before, leftoverWait)
	if err != nil {
		fmt.Fprintf(os.Stderr, "kube: checking what the suite left: %v\n", err)
		return 1
	}
	if len(foreign) > 0 {
		fmt.Fprintf(os.Stderr, "kube: note: namespaces that appeared during the suite but are not its own (another suite on the shared cluster?): %s\n", strings.Join(foreign, " "))
	}
	if len(left) > 0 {
		fmt.Fprintf(os.Stderr, "FAIL: the suite left the test cluster changed after %s: %s\n", leftoverWait, strings.Join(left, "; "))
		return 1
	}
	return code
}

// checkClient is the cluster the suite runs against, or nil when the
// suite will not touch one (skipped, or not configured: the tests fail
// with how to set it up).
func checkClient() kubernetes.Interface {
	if strings.Contains(" "+os.Getenv("OSB_SKIP")+" ", " kube ") || os.Getenv("OSB_TEST_KUBECONFIG") == "" {
		return nil
	}
	rc, err := clientcmd.BuildConfigFromFlags("", os.Getenv("OSB_TEST_KUBECONFIG"))
	if err != nil {
		return nil
	}
	cs, err := kubernetes.NewForConfig(rc)
	if err != nil {
		return nil
	}
	return cs
}

func namespaceNames(cs kubernetes.Interface) (map[string]bool, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	l, err := cs.CoreV1().Namespaces().List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, err
	}
	out := make(map[string]bool, len(l.Items))
	for _, ns := range l.Items {
		out[ns.Name] = true
	}
	return out, nil
}

// leftovers polls (bounded by wait) until nothing this process made is
// left, and returns what still is, plus new namespaces it did not make.
func leftovers(cs kubernetes.Interface, before map[string]bool, wait time.Duration) (left, foreign []string, err error) {
	made := kubetest.Made()
	ours := func(name string, annotations map[string]string) bool {
		return made[name] || made[annotations[kuberuntime.AnnotationTargetNamespace]]
	}
	deadline := time.Now().Add(wait)
	for {
		left, foreign = nil, nil
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		nss, err := cs.CoreV1().Namespaces().List(ctx, metav1.ListOptions{})
		if err != nil {
			cancel()
			return nil, nil, err
		}
		for _, ns := range nss.Items {
			switch {
			case ours(ns.Name, ns.Annotations):
				state := "kept"
				if ns.DeletionTimestamp != nil {
					state = "still terminating"
				}
				left = append(left, fmt.Sprintf("namespace %s (%s)", ns.Name, state))
			case !before[ns.Name]:
				foreign = append(foreign, ns.Name)
			}
		}
		crs, err := cs.RbacV1().ClusterRoles().List(ctx, metav1.ListOptions{})
		if err != nil {
			cancel()
			return nil, nil, err
		}
		crbs, err := cs.RbacV1().ClusterRoleBindings().List(ctx, metav1.ListOptions{})
		cancel()
		if err != nil {
			return nil, nil, err
		}
		var rbac []string
		for _, r := range crs.Items {
			rbac = append(rbac, "clusterrole "+r.Name)
		}
		for _, r := range crbs.Items {
			rbac = append(rbac, "clusterrolebinding "+r.Name)
		}
		for _, r := range rbac {
			for n := range made {
				if strings.HasSuffix(r, n) {
					left = append(left, r)
					break
				}
			}
		}
		if len(left) == 0 || time.Now().After(deadline) {
			sort.Strings(left)
			sort.Strings(foreign)
			return left, foreign, nil
		}
		time.Sleep(2 * time.Second)
	}
}

// removeCRDs deletes the CustomResourceDefinitions this process installed
// (the foreign APIs' stand-ins, kubetest.TrackCRD).
func removeCRDs() {
	names := kubetest.MadeCRDs()
	if len(names) == 0 {
		return
	}
	rc, err := clientcmd.BuildConfigFromFlags("", os.Getenv("OSB_TEST_KUBECONFIG"))
	if err != nil {
		return
	}
	dc, err := dynamic.NewForConfig(rc)
	if err != nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for _, n := range names {
		if err := dc.Resource(kubetest.CRDResource).Delete(ctx, n, metav1.DeleteOptions{}); err != nil {
			fmt.Fprintf(os.Stderr, "kube: removing CRD %s: %v\n", n, err)
		}
	}
}
