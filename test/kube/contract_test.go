package kube

import (
	"context"
	"os"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	kuberuntime "github.com/openstack-service-broker/openstack-service-broker/pkg/runtime/kubernetes"
	"github.com/openstack-service-broker/openstack-service-broker/test/runtimecontract"
)

// contractEnv is one contract case's broker on the cluster: a broker
// namespace holding the sources as Secrets, a target namespace, and a
// broker id of its own (kubetest's RuntimeConfig derives it from the
// broker namespace), so that one case's janitor never reaps another's.
type contractEnv struct {
	*env
	brokerNS, target string
}

func newContractEnv(t *testing.T) runtimecontract.Env {
	e := setup(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	brokerNS, target := e.namespaces(t, ctx)
	return &contractEnv{env: e, brokerNS: brokerNS, target: target}
}

func (c *contractEnv) Name() string          { return "kubernetes" }
func (c *contractEnv) Target() string        { return c.target }
func (c *contractEnv) Image() string         { return c.image }
func (c *contractEnv) Runtime1Image() string { return os.Getenv("OSB_TEST_RUNTIME1_IMAGE") }
func (c *contractEnv) AbsentImage() string   { return "osb.local/absent-bundle:1" }
func (c *contractEnv) KilledWords() string   { return "was deleted before it finished" }

func (c *contractEnv) NewRuntime(t *testing.T, o runtimecontract.Options) runtimecontract.Runtime {
	t.Helper()
	cfg := c.config(c.brokerNS)
	cfg.KeepNamespace, cfg.KeepNamespaceOnError = o.Keep, o.KeepOnError
	if o.Timeout > 0 {
		cfg.Timeout = o.Timeout
	}
	rt, err := kuberuntime.New(cfg, c.client, o.Log)
	if err != nil {
		t.Fatal(err)
	}
	return rt
}

// Sandbox: the operation's namespace (one being deleted counts as gone)
// and its pod.
func (c *contractEnv) Sandbox(t *testing.T, ctx context.Context, op string) runtimecontract.Sandbox {
	t.Helper()
	sel := metav1.ListOptions{LabelSelector: kuberuntime.LabelOperation + "=" + op}
	l, err := c.client.CoreV1().Namespaces().List(ctx, sel)
	if err != nil {
		t.Fatal(err)
	}
	for _, ns := range l.Items {
		if ns.DeletionTimestamp != nil {
			continue
		}
		sb := runtimecontract.Sandbox{Exists: true, Kept: ns.Annotations[kuberuntime.AnnotationKept] == "true",
			PodName: ns.Labels[kuberuntime.LabelPodName], PodNamespace: ns.Name}
		pods, err := c.client.CoreV1().Pods(ns.Name).List(ctx, sel)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range pods.Items {
			if p.DeletionTimestamp == nil && p.Status.Phase == corev1.PodRunning {
				sb.Running = true
			}
		}
		return sb
	}
	return runtimecontract.Sandbox{}
}

// Kill deletes the bundle's pod at once, as an operator or an eviction would.
func (c *contractEnv) Kill(t *testing.T, ctx context.Context, op string) {
	t.Helper()
	pods, err := c.client.CoreV1().Pods(metav1.NamespaceAll).List(ctx, metav1.ListOptions{LabelSelector: kuberuntime.LabelOperation + "=" + op})
	if err != nil {
		t.Fatal(err)
	}
	zero := int64(0)
	for _, p := range pods.Items {
		if err := c.client.CoreV1().Pods(p.Namespace).Delete(ctx, p.Name, metav1.DeleteOptions{GracePeriodSeconds: &zero}); err != nil {
			t.Fatalf("deleting pod %s/%s: %v", p.Namespace, p.Name, err)
		}
	}
}

// The contract shared with the Docker runtime.
func TestContract(t *testing.T) {
	runtimecontract.Run(t, newContractEnv)
}
