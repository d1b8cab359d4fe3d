package openstack

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/openstack-service-broker/openstack-service-broker/pkg/broker"
	"github.com/openstack-service-broker/openstack-service-broker/pkg/osb/osbclient"
	"github.com/openstack-service-broker/openstack-service-broker/pkg/runtime"
	kuberuntime "github.com/openstack-service-broker/openstack-service-broker/pkg/runtime/kubernetes"
	"github.com/openstack-service-broker/openstack-service-broker/test/kube/kubetest"
)

// Platform is one runtime the broker runs bundles on, as this suite needs
// it: a broker started from a config file with the bundles of registries/
// and the broker-wide clouds.yaml (openstack.clouds_secret), namespaces
// for instances, Secrets in them (a tenant's own credentials), and the
// runtime itself for running an action as the broker would. The tests
// are written against this interface only, so that every runtime runs
// the same tests; OSB_TEST_RUNTIMES names the platforms to run
// (default: kubernetes).
type Platform interface {
	// Name is the runtime's name ("kubernetes", "docker").
	Name() string
	// StartBroker starts a broker whose OpenStack bundles get the files
	// (clouds.yaml, and pods_network) as their broker-wide credentials
	// Secret, cloud as OS_CLOUD.
	StartBroker(t *testing.T, files map[string][]byte, cloud string) *Broker
	// Namespace makes a namespace instances are provisioned in (the OSB
	// context's namespace), removed with what acted on it when t ends.
	Namespace(t *testing.T, prefix string) string
	// PutSecret stores files as the Secret name of namespace.
	PutSecret(t *testing.T, namespace, name string, files map[string][]byte)
	// Run runs one action on the runtime of the last broker started, with
	// the broker-wide credentials mounted as that broker mounts them, and
	// releases what it left.
	Run(t *testing.T, ctx context.Context, a runtime.Action) (*runtime.Result, error)
}

// Broker is a running broker as the tests use it.
type Broker struct {
	Client *osbclient.Client
	// Logs is the broker's log (shown when a test fails).
	Logs fmt.Stringer
	// CloudsMount is the mount the broker gives OpenStack bundles.
	CloudsMount runtime.Mount
}

// platforms are those OSB_TEST_RUNTIMES names (default kubernetes),
// each ready or failing t with how to set it up.
func platforms(t *testing.T) []Platform {
	t.Helper()
	names := strings.Fields(os.Getenv("OSB_TEST_RUNTIMES"))
	if len(names) == 0 {
		names = []string{"kubernetes"}
	}
	var out []Platform
	for _, n := range names {
		switch n {
		case "kubernetes":
			out = append(out, newKubePlatform(t))
		default:
			t.Fatalf("OSB_TEST_RUNTIMES: no platform %q in this suite (kubernetes)", n)
		}
	}
	return out
}

// bundleImage is the image the broker's local registry "local" names for
// a bundle of registries/ (hack/test.d/40-openstack.sh tags it so).
func bundleImage(bundle string) string { return "local/" + bundle + ":latest" }

const cloudsSecret = "openstack-clouds"

// kubePlatform is the Kubernetes runtime on the one-node cluster
// (hack/kube-cluster.sh): pods with hostNetwork, so bundles reach the
// emulator on 127.0.0.1.
type kubePlatform struct {
	c        *kubetest.Cluster
	brokerNS string
	rt       *kuberuntime.Runtime
	log      *kubetest.Buffer
}

func newKubePlatform(t *testing.T) *kubePlatform {
	t.Helper()
	if skipped("kube") {
		t.Skip("OSB_SKIP names kube: the bundles run on the one-node cluster")
	}
	return &kubePlatform{c: kubetest.ConnectCluster(t), log: &kubetest.Buffer{}}
}

func (p *kubePlatform) Name() string { return "kubernetes" }

func (p *kubePlatform) StartBroker(t *testing.T, files map[string][]byte, cloud string) *Broker {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	p.brokerNS = p.c.TempNamespace(t, ctx, "osb-os-broker-")
	p.PutSecret(t, p.brokerNS, cloudsSecret, files)
	registries, err := filepath.Abs("../../registries")
	if err != nil {
		t.Fatal(err)
	}
	b := p.c.StartBroker(t, t.TempDir(), nil, kubetest.BrokerOptions{
		Namespace: p.brokerNS,
		Registry:  registries,
		OpenStack: map[string]any{"clouds_secret": cloudsSecret, "cloud": cloud},
		// Bundles wait for OpenStack's asynchronous states; on a busy
		// 2-core machine an action may take minutes.
		OpenShift: map[string]any{"sandbox_timeout": "6m"},
		LogLevel:  "info",
	})
	cfg := p.c.RuntimeConfig(p.brokerNS)
	cfg.Timeout = 6 * time.Minute
	rt, err := kuberuntime.New(cfg, p.c.Client, kubetest.Logger(p.log))
	if err != nil {
		t.Fatal(err)
	}
	p.rt = rt
	return &Broker{Client: b.Client, Logs: b.Logs, CloudsMount: broker.CloudsMount(cloudsSecret, cloud)}
}

func (p *kubePlatform) Namespace(t *testing.T, prefix string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	ns := p.c.TempNamespace(t, ctx, prefix)
	// Registered after TempNamespace's, so it runs first: the sandboxes
	// that acted on ns (a failed action's kept one) go with it.
	t.Cleanup(func() {
		l, err := p.c.Client.CoreV1().Namespaces().List(context.Background(),
			metav1.ListOptions{LabelSelector: kuberuntime.LabelManagedBy + "=" + kuberuntime.ManagedBy})
		if err != nil {
			return
		}
		for _, s := range l.Items {
			if s.Annotations[kuberuntime.AnnotationTargetNamespace] == ns && s.DeletionTimestamp == nil {
				_ = p.c.Client.CoreV1().Namespaces().Delete(context.Background(), s.Name, metav1.DeleteOptions{})
			}
		}
	})
	return ns
}

func (p *kubePlatform) PutSecret(t *testing.T, namespace, name string, files map[string][]byte) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if _, err := p.c.Client.CoreV1().Secrets(namespace).Create(ctx, &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: name}, Data: files}, metav1.CreateOptions{}); err != nil {
		t.Fatalf("creating Secret %s/%s: %v", namespace, name, err)
	}
}

func (p *kubePlatform) Run(t *testing.T, ctx context.Context, a runtime.Action) (*runtime.Result, error) {
	t.Helper()
	if p.rt == nil {
		t.Fatal("Run before StartBroker")
	}
	res, err := p.rt.Run(ctx, a, nil)
	if rerr := p.rt.Release(context.Background(), a, err != nil); rerr != nil {
		t.Errorf("releasing %s of %s: %v", a.Name, a.FQName, rerr)
	}
	if l := p.log.String(); err != nil && l != "" {
		t.Logf("runtime log:\n%s", tail(l, 60))
	}
	return res, err
}

func tail(s string, lines int) string {
	ls := strings.Split(s, "\n")
	if len(ls) > lines {
		ls = ls[len(ls)-lines:]
	}
	return strings.Join(ls, "\n")
}
