package kubetest

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/yaml"

	"github.com/openstack-service-broker/openstack-service-broker/pkg/daemon"
	"github.com/openstack-service-broker/openstack-service-broker/pkg/osb/osbclient"
	"github.com/openstack-service-broker/openstack-service-broker/pkg/runtime"
	kuberuntime "github.com/openstack-service-broker/openstack-service-broker/pkg/runtime/kubernetes"
)

// FQName is the test bundle's catalog name in the broker's local registry
// "local"; its image is local/testbundle-apb:latest.
const (
	FQName   = "local-testbundle-apb"
	Image    = "local/testbundle-apb:latest"
	user     = "admin"
	password = "kube-e2e-pw"
)

// Cluster is the test cluster from OSB_TEST_KUBECONFIG.
type Cluster struct {
	Client     kubernetes.Interface
	Host, Port string
	// APIURL, CAFile and Token reach the API server as the test admin.
	APIURL, CAFile, Token string
	// Rest is the client configuration (for exec).
	Rest *rest.Config
}

// Connect fails tb, saying how to start the cluster, when it is not there.
func Connect(tb testing.TB) *Cluster {
	tb.Helper()
	if strings.Contains(" "+os.Getenv("OSB_SKIP")+" ", " kube ") {
		tb.Skip("OSB_SKIP names kube")
	}
	if os.Getenv("OSB_TEST_KUBECONFIG") == "" || os.Getenv("OSB_TEST_BUNDLE_IMAGE") == "" {
		tb.Fatal("OSB_TEST_KUBECONFIG/OSB_TEST_BUNDLE_IMAGE not set: run `make test` (hack/test.d/30-kube.sh starts " +
			"the one-node cluster and imports the test bundle), or OSB_SKIP=kube")
	}
	return ConnectCluster(tb)
}

// ConnectCluster is Connect for suites that bring their own bundles: it
// needs only OSB_TEST_KUBECONFIG.
func ConnectCluster(tb testing.TB) *Cluster {
	tb.Helper()
	kc := os.Getenv("OSB_TEST_KUBECONFIG")
	if kc == "" {
		tb.Fatal("OSB_TEST_KUBECONFIG not set: run `make test` (hack/test.d/30-kube.sh starts the one-node cluster)")
	}
	rc, err := clientcmd.BuildConfigFromFlags("", kc)
	if err != nil {
		tb.Fatalf("kubeconfig %s: %v", kc, err)
	}
	rc.QPS, rc.Burst = 200, 400
	cs, err := kubernetes.NewForConfig(rc)
	if err != nil {
		tb.Fatal(err)
	}
	u, err := url.Parse(rc.Host)
	if err != nil {
		tb.Fatal(err)
	}
	return &Cluster{Client: cs, Host: u.Hostname(), Port: u.Port(), APIURL: rc.Host, CAFile: rc.CAFile, Token: rc.BearerToken, Rest: rc}
}

// RuntimeConfig is the runtime configuration for the test cluster. The
// broker id is unique, so that the janitor of one test never reaps the
// sandboxes of another.
func (c *Cluster) RuntimeConfig(brokerNS string) kuberuntime.Config {
	return kuberuntime.Config{
		BrokerNamespace: brokerNS,
		BrokerID:        "test-" + brokerNS,
		ImagePullPolicy: corev1.PullNever,
		HostNetwork:     true,
		Timeout:         3 * time.Minute,
		Exec:            kuberuntime.NewExecutor(c.Rest, c.Client),
		ExtraEnv: []corev1.EnvVar{
			{Name: "KUBERNETES_SERVICE_HOST", Value: c.Host},
			{Name: "KUBERNETES_SERVICE_PORT", Value: c.Port},
		},
	}
}

// SandboxKeys are the openshift: keys giving a broker that builds its own
// runtime what RuntimeConfig gives one built in code.
func (c *Cluster) SandboxKeys() map[string]any {
	return map[string]any{
		"image_pull_policy":    "Never",
		"sandbox_host_network": true,
		"sandbox_timeout":      "3m",
		"sandbox_env":          map[string]string{"KUBERNETES_SERVICE_HOST": c.Host, "KUBERNETES_SERVICE_PORT": c.Port},
	}
}

// BrokerOptions say how StartBroker configures the daemon.
type BrokerOptions struct {
	// Runtime is used as is; nil makes the daemon build its own from the
	// config file (openshift.host, ca_file and bearer_token_file reach the
	// cluster; SandboxKeys are added to OpenShift).
	Runtime *kuberuntime.Runtime
	// Namespace is openshift.namespace.
	Namespace string
	// OpenShift and OpenStack are added to those sections; Secrets is the
	// secrets: section.
	OpenShift map[string]any
	OpenStack map[string]any
	Secrets   []map[string]string
	// Broker is added to the broker: section (launch_apb_on_bind: false
	// for synchronous binds, default_namespace, ...).
	Broker map[string]any
	// LogLevel is log.level (default debug, which streams bundle logs).
	LogLevel string
	// Registries are more entries of the registry: list.
	Registries []map[string]any
	// Bundles are more bundle sources (directories with apb.yml and
	// Dockerfile) for the local registry, each under its directory's name
	// with -apb appended unless it ends so already: image
	// local/<name>-apb:latest.
	Bundles []string
	// Registry, when set, is the local registry "local"'s directory as
	// it is (e.g. the repository's registries/): neither the test bundle
	// nor Bundles are added.
	Registry string
}

// Broker is a running daemon.
type Broker struct {
	URL    string
	Client *osbclient.Client
	Logs   *Buffer
	Dir    string
	stop   func() error
}

// Buffer is a goroutine-safe log sink.
type Buffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *Buffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *Buffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// Stop stops the daemon (what a killed broker leaves: pods keep running).
func (b *Broker) Stop() error { return b.stop() }

// fillRegistry makes a local registry directory holding the test bundle
// (when apbYML is set) and copies of the bundle sources.
func (c *Cluster) fillRegistry(tb testing.TB, registry string, apbYML []byte, bundles []string) {
	tb.Helper()
	if apbYML != nil {
		reg := filepath.Join(registry, "testbundle-apb")
		if err := os.MkdirAll(reg, 0o755); err != nil {
			tb.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(reg, "apb.yml"), apbYML, 0o644); err != nil {
			tb.Fatal(err)
		}
	}
	for _, src := range bundles {
		name := filepath.Base(src)
		if !strings.HasSuffix(name, "-apb") {
			name += "-apb"
		}
		dst := filepath.Join(registry, name)
		if err := os.MkdirAll(dst, 0o755); err != nil {
			tb.Fatal(err)
		}
		for _, f := range []string{"apb.yml", "Dockerfile"} {
			b, err := os.ReadFile(filepath.Join(src, f))
			if err != nil {
				tb.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dst, f), b, 0o644); err != nil {
				tb.Fatal(err)
			}
		}
	}
}

// StartBroker runs the daemon in dir (reused across restarts: the etcd
// data lives there). apbYML is the test bundle's apb.yml.
func (c *Cluster) StartBroker(tb testing.TB, dir string, apbYML []byte, o BrokerOptions) *Broker {
	tb.Helper()
	registry := o.Registry
	if registry == "" {
		registry = filepath.Join(dir, "registry")
		c.fillRegistry(tb, registry, apbYML, o.Bundles)
	}
	authDir := filepath.Join(dir, "auth")
	if err := os.MkdirAll(authDir, 0o700); err != nil {
		tb.Fatal(err)
	}
	for f, v := range map[string]string{"username": user, "password": password} {
		if err := os.WriteFile(filepath.Join(authDir, f), []byte(v+"\n"), 0o600); err != nil {
			tb.Fatal(err)
		}
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	openshift := map[string]any{"namespace": o.Namespace}
	if o.Runtime == nil {
		tokenFile := filepath.Join(dir, "token")
		if err := os.WriteFile(tokenFile, []byte(c.Token), 0o600); err != nil {
			tb.Fatal(err)
		}
		openshift["host"], openshift["ca_file"], openshift["bearer_token_file"] = c.APIURL, c.CAFile, tokenFile
		for k, v := range c.SandboxKeys() {
			openshift[k] = v
		}
	}
	for k, v := range o.OpenShift {
		openshift[k] = v
	}
	regs := []any{map[string]any{"type": "local", "name": "local", "path": registry, "white_list": []string{".*"}}}
	for _, r := range o.Registries {
		regs = append(regs, r)
	}
	doc := map[string]any{
		"registry":  regs,
		"dao":       map[string]any{"etcd_data_dir": filepath.Join(dir, "etcd")},
		"log":       map[string]any{"stdout": true, "level": cmp.Or(o.LogLevel, "debug")},
		"openshift": openshift,
		"broker": map[string]any{
			"listen_address": fmt.Sprintf("127.0.0.1:%d", port), "plain_http": true, "basic_auth_dir": authDir,
			"bootstrap_on_startup": true, "launch_apb_on_bind": true, "auto_escalate": true,
			"auth": []any{map[string]any{"type": "basic", "enabled": true}},
		},
	}
	for k, v := range o.Broker {
		doc["broker"].(map[string]any)[k] = v
	}
	if o.OpenStack != nil {
		doc["openstack"] = o.OpenStack
	}
	if o.Secrets != nil {
		doc["secrets"] = o.Secrets
	}
	cfg, err := yaml.Marshal(doc)
	if err != nil {
		tb.Fatal(err)
	}
	cfgPath := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(cfgPath, cfg, 0o600); err != nil {
		tb.Fatal(err)
	}
	var rt runtime.Runtime
	if o.Runtime != nil {
		rt = o.Runtime
	}
	b := &Broker{Logs: &Buffer{}, Dir: dir}
	ctx, cancel := context.WithCancel(context.Background())
	ready, done := make(chan string, 1), make(chan error, 1)
	go func() {
		done <- daemon.Run(ctx, cfgPath, b.Logs, daemon.Options{Runtime: rt, Version: "kube-e2e", Ready: func(u string) { ready <- u }})
	}()
	select {
	case b.URL = <-ready:
	case err := <-done:
		cancel()
		tb.Fatalf("broker did not start: %v\n%s", err, b.Logs)
	case <-time.After(90 * time.Second):
		cancel()
		tb.Fatalf("broker did not start within 90 s\n%s", b.Logs)
	}
	var once sync.Once
	var stopErr error
	b.stop = func() error {
		once.Do(func() {
			cancel()
			select {
			case stopErr = <-done:
			case <-time.After(30 * time.Second):
				stopErr = fmt.Errorf("broker did not stop within 30 s")
			}
		})
		return stopErr
	}
	tb.Cleanup(func() { _ = b.stop() })
	b.Client = osbclient.New(osbclient.Options{URL: b.URL, Username: user, Password: password})
	return b
}

// Logger is a debug-level logger into buf, for the runtime.
func Logger(buf *Buffer) *slog.Logger {
	return slog.New(slog.NewTextHandler(buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// LogValue is attribute key of the first JSON log line whose msg is msg
// ("" when there is none).
func (b *Broker) LogValue(msg, key string) string {
	for _, line := range strings.Split(b.Logs.String(), "\n") {
		var rec map[string]any
		if json.Unmarshal([]byte(line), &rec) != nil || rec["msg"] != msg {
			continue
		}
		if v, ok := rec[key].(string); ok {
			return v
		}
	}
	return ""
}

// made holds the namespaces this process created on the shared cluster
// (TempNamespace, Track), so that a suite can check it left none behind
// without mistaking another suite's for its own.
var made struct {
	sync.Mutex
	names map[string]bool
}

// Track records a namespace this process made, for Made.
func Track(name string) {
	made.Lock()
	defer made.Unlock()
	if made.names == nil {
		made.names = map[string]bool{}
	}
	made.names[name] = true
}

// Made returns the namespaces recorded by Track and TempNamespace.
func Made() map[string]bool {
	made.Lock()
	defer made.Unlock()
	out := make(map[string]bool, len(made.names))
	for n := range made.names {
		out[n] = true
	}
	return out
}

// TempNamespace creates a namespace named after prefix, deleted when tb ends.
func (c *Cluster) TempNamespace(tb testing.TB, ctx context.Context, prefix string) string {
	tb.Helper()
	ns, err := c.Client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: prefix}}, metav1.CreateOptions{})
	if err != nil {
		tb.Fatal(err)
	}
	Track(ns.Name)
	tb.Cleanup(func() {
		_ = c.Client.CoreV1().Namespaces().Delete(context.Background(), ns.Name, metav1.DeleteOptions{})
	})
	return ns.Name
}

// CRDResource is the API of CustomResourceDefinitions.
var CRDResource = schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"}

var crds struct {
	sync.Mutex
	names []string
}

// TrackCRD records a CustomResourceDefinition this process installed, for
// MadeCRDs: the suite removes them when it ends.
func TrackCRD(name string) {
	crds.Lock()
	defer crds.Unlock()
	crds.names = append(crds.names, name)
}

// MadeCRDs returns the CRDs recorded by TrackCRD.
func MadeCRDs() []string {
	crds.Lock()
	defer crds.Unlock()
	return append([]string(nil), crds.names...)
}
