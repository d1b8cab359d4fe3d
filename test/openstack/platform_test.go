package openstack

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
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
// the same tests; platforms() says which platforms run and which tests
// each runs.
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
	// TenantCredentials gives namespace its own credentials, clouds (a
	// clouds.yaml whose one cloud is named cloud), and returns the
	// parameters by which an instance there uses them: on Kubernetes a
	// Secret of the namespace (credentials_secret, topology b); on Docker,
	// which has no namespaces, an entry of the broker-wide clouds.yaml
	// (cloud).
	TenantCredentials(t *testing.T, namespace, cloud string, clouds []byte) map[string]any
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
	// Tag is the tag of its local registry "local": a bundle's image is
	// local/<bundle>:<Tag>.
	Tag string
}

// bundleImage is the image the broker's local registry "local" names for
// a bundle of registries/.
func (b *Broker) bundleImage(bundle string) string { return "local/" + bundle + ":" + b.Tag }

// Which platforms run, and what each runs. The Docker runtime runs the
// full matrix (every bundle's lifecycle and failed provision, every
// generated bundle): it starts an action in under 2 s where a pod takes
// about 15 s, and needs no image imported into a node. Kubernetes runs
// the subset listed in kubernetes-subset.txt, chosen for what differs on
// a pod (hack/test.d/40-openstack.sh imports only those bundles' images),
// unless it is the only platform or OSB_TEST_FULL_MATRIX names it.
//
//	OSB_TEST_RUNTIMES     the platforms (default "docker kubernetes")
//	OSB_SKIP              docker and kube leave those platforms out
//	OSB_TEST_FULL_MATRIX  platforms that run the full matrix besides docker
//	                      (e.g. kubernetes)
const kubeSubsetFile = "kubernetes-subset.txt"

// selected is a platform and what it runs.
type selected struct {
	Platform
	// full: every test; else only those of subset, test kind ("lifecycle",
	// "failed-provision", "generated") and bundle.
	full   bool
	subset map[[2]string]bool
}

// runs says whether the platform runs the test kind of bundle.
func (s selected) runs(kind, bundle string) bool { return s.full || s.subset[[2]string{kind, bundle}] }

// platforms are those OSB_TEST_RUNTIMES names, less those OSB_SKIP
// names, each ready or failing t with how to set it up.
func platforms(t *testing.T) []selected {
	t.Helper()
	names := strings.Fields(os.Getenv("OSB_TEST_RUNTIMES"))
	if len(names) == 0 {
		names = []string{"docker", "kubernetes"}
	}
	full := strings.Fields(os.Getenv("OSB_TEST_FULL_MATRIX"))
	var out []selected
	for _, n := range names {
		if skipped(map[string]string{"kubernetes": "kube"}[n]) || skipped(n) {
			continue
		}
		switch n {
		case "docker":
			out = append(out, selected{Platform: newDockerPlatform(t), full: true})
		case "kubernetes":
			// The full matrix runs on Kubernetes when Docker does not run
			// it: the suite always runs every bundle somewhere.
			out = append(out, selected{Platform: newKubePlatform(t),
				full:   slices.Contains(full, n) || !slices.Contains(names, "docker") || skipped("docker"),
				subset: kubeSubset(t)})
		default:
			t.Fatalf("OSB_TEST_RUNTIMES: no platform %q in this suite (docker, kubernetes)", n)
		}
	}
	if len(out) == 0 {
		t.Skipf("no platform left: OSB_TEST_RUNTIMES %q, OSB_SKIP %q", names, os.Getenv("OSB_SKIP"))
	}
	return out
}

// kubeSubset reads kubernetes-subset.txt: "KIND BUNDLE  # why" a line.
func kubeSubset(t *testing.T) map[[2]string]bool {
	t.Helper()
	b, err := os.ReadFile(kubeSubsetFile)
	if err != nil {
		t.Fatal(err)
	}
	out := map[[2]string]bool{}
	for i, line := range strings.Split(string(b), "\n") {
		line, _, _ = strings.Cut(line, "#")
		f := strings.Fields(line)
		if len(f) == 0 {
			continue
		}
		if len(f) != 2 || !slices.Contains([]string{"lifecycle", "failed-provision", "generated"}, f[0]) {
			t.Fatalf("%s:%d: want KIND BUNDLE (lifecycle, failed-provision or generated), got %q", kubeSubsetFile, i+1, line)
		}
		if _, err := os.Stat(filepath.Join("../../registries", f[1], "apb.yml")); err != nil {
			t.Fatalf("%s:%d: no bundle %s in registries/", kubeSubsetFile, i+1, f[1])
		}
		out[[2]string{f[0], f[1]}] = true
	}
	return out
}

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
	// hack/test.d/40-openstack.sh imports the bundle images into the node
	// as local/<bundle>:latest.
	return &Broker{Client: b.Client, Logs: b.Logs, CloudsMount: broker.CloudsMount(cloudsSecret, cloud), Tag: "latest"}
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

// TenantCredentials is topology (b): the Secret tenantSecret of the
// namespace, named by credentials_secret.
func (p *kubePlatform) TenantCredentials(t *testing.T, namespace, cloud string, clouds []byte) map[string]any {
	t.Helper()
	p.PutSecret(t, namespace, tenantSecret, map[string][]byte{"clouds.yaml": clouds})
	return map[string]any{broker.ParamCredentialsSecret: tenantSecret}
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
