package daemon

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	fakediscovery "k8s.io/client-go/discovery/fake"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/openstack-service-broker/openstack-service-broker/pkg/config"
	"github.com/openstack-service-broker/openstack-service-broker/pkg/runtime"
)

func TestSandboxConfig(t *testing.T) {
	c, _, err := config.Parse([]byte(`openshift:
  namespace: osb
  sandbox_role: admin
  image_pull_policy: Never
  keep_namespace_on_error: true
  sandbox_timeout: 90s
  sandbox_host_network: true
  sandbox_resources:
    requests: {cpu: 100m}
    limits: {cpu: "1", memory: 1Gi}
  sandbox_env:
    ZED: last
    ALPHA: first
`), "c.yaml")
	if err != nil {
		t.Fatal(err)
	}
	rc, err := sandboxConfig(c)
	if err != nil {
		t.Fatal(err)
	}
	if rc.SandboxRole != "admin" || rc.ImagePullPolicy != corev1.PullNever || !rc.KeepNamespaceOnError || rc.KeepNamespace ||
		rc.BrokerNamespace != "osb" || rc.Timeout != 90*time.Second || !rc.HostNetwork {
		t.Errorf("runtime config = %+v", rc)
	}
	for name, want := range map[corev1.ResourceName]string{corev1.ResourceCPU: "1", corev1.ResourceMemory: "1Gi"} {
		if q := rc.Resources.Limits[name]; q.String() != want {
			t.Errorf("limit %s = %s, want %s", name, q.String(), want)
		}
	}
	if q := rc.Resources.Requests[corev1.ResourceCPU]; q.String() != "100m" || len(rc.Resources.Requests) != 1 {
		t.Errorf("requests = %v", rc.Resources.Requests)
	}
	// Sorted, so that every pod of a broker gets the same spec.
	if len(rc.ExtraEnv) != 2 || rc.ExtraEnv[0] != (corev1.EnvVar{Name: "ALPHA", Value: "first"}) || rc.ExtraEnv[1].Name != "ZED" {
		t.Errorf("env = %v", rc.ExtraEnv)
	}
}

func TestDockerConfig(t *testing.T) {
	c, _, err := config.Parse([]byte(`broker:
  runtime: docker
docker:
  host: unix:///run/other.sock
  network: bridge
  image_pull_policy: Never
  secrets_dir: /srv/secrets
  sources: {openstack-clouds: /home/u/.config/openstack}
  work_dir: /var/lib/osb/docker
  keep_container_on_error: true
  timeout: 90s
  resources: {memory: 512Mi, cpus: 1500m}
  env:
    ZED: last
    ALPHA: first
openstack:
  clouds_secret: openstack-clouds
`), "c.yaml")
	if err != nil {
		t.Fatal(err)
	}
	s, err := mapConfig(c)
	if err != nil {
		t.Fatal(err)
	}
	rc := s.docker
	if s.runtime != "docker" || s.dockerHost != "unix:///run/other.sock" || rc.Network != "bridge" || rc.PullPolicy != "Never" ||
		rc.SecretsDir != "/srv/secrets" || rc.Sources["openstack-clouds"] != "/home/u/.config/openstack" || rc.WorkDir != "/var/lib/osb/docker" ||
		!rc.KeepContainerOnError || rc.KeepContainer || rc.Timeout != 90*time.Second || rc.Memory != 512<<20 || rc.CPUs != 1.5 {
		t.Errorf("docker runtime config = %+v (host %q)", rc, s.dockerHost)
	}
	if len(rc.ExtraEnv) != 2 || rc.ExtraEnv[0].Name != "ALPHA" || rc.ExtraEnv[1] != (runtime.EnvVar{Name: "ZED", Value: "last"}) {
		t.Errorf("env = %v", rc.ExtraEnv)
	}
	if s.broker.clouds.Secret != "openstack-clouds" {
		t.Errorf("clouds rule = %+v", s.broker.clouds)
	}
}

func TestKubeConfigFromOpenShiftKeys(t *testing.T) {
	dir := t.TempDir()
	ca, token := filepath.Join(dir, "ca.crt"), filepath.Join(dir, "token")
	for _, f := range []string{ca, token} {
		if err := os.WriteFile(f, []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	cases := []struct {
		name    string
		o       config.OpenShift
		wantErr string
	}{
		{"host with files", config.OpenShift{Host: "https://api.example:6443", CAFile: ca, BearerTokenFile: token}, ""},
		{"host only", config.OpenShift{Host: "https://api.example:6443"}, ""},
		{"missing token file", config.OpenShift{Host: "https://api.example:6443", BearerTokenFile: filepath.Join(dir, "absent")}, "openshift.bearer_token_file"},
		{"missing ca file", config.OpenShift{Host: "https://api.example:6443", CAFile: filepath.Join(dir, "absent")}, "openshift.ca_file"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rc, err := kubeConfig(c.o)
			if c.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), c.wantErr) {
					t.Fatalf("err = %v, want one naming %s", err, c.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if rc.Host != c.o.Host || rc.CAFile != c.o.CAFile || rc.BearerTokenFile != c.o.BearerTokenFile || rc.QPS != kubeQPS {
				t.Errorf("rest config host %q ca %q token file %q", rc.Host, rc.CAFile, rc.BearerTokenFile)
			}
		})
	}
}

func TestClusterKind(t *testing.T) {
	cases := []struct {
		groups []string
		want   string
	}{
		{[]string{"v1", "apps/v1"}, "kubernetes"},
		{[]string{"v1", "project.openshift.io/v1", "route.openshift.io/v1"}, "openshift"},
	}
	for _, c := range cases {
		cs := fake.NewClientset()
		fd := cs.Discovery().(*fakediscovery.FakeDiscovery)
		for _, gv := range c.groups {
			fd.Resources = append(fd.Resources, &metav1.APIResourceList{GroupVersion: gv})
		}
		if got := clusterKind(cs, slog.New(slog.DiscardHandler)); got != c.want {
			t.Errorf("groups %v: %s, want %s", c.groups, got, c.want)
		}
	}
}

func TestCloudsRule(t *testing.T) {
	r, err := cloudsRule(config.OpenStack{CloudsSecret: "c", Cloud: "devstack", Bundles: "^local-"})
	if err != nil || r.Secret != "c" || r.Cloud != "devstack" || r.Bundles == nil || !r.Bundles.MatchString("local-x") {
		t.Errorf("rule = %+v, %v", r, err)
	}
	if r, err := cloudsRule(config.OpenStack{CloudsSecret: "c"}); err != nil || r.Bundles != nil {
		t.Errorf("no bundles regexp: %+v, %v (want the tag rule)", r, err)
	}
}

// The registry types are pkg/registry's; the daemon says where in the file
// each complaint is.
func TestRegistryConfigErrors(t *testing.T) {
	cases := []struct {
		name, yaml string
		want       string // the whole error; "" means valid
	}{
		{"rhcc", "registry:\n  - name: rh\n    type: rhcc\n", `c.yaml:3: registry[0].type: registry "rh": type "rhcc" is not supported (the Red Hat Container Catalog API is gone); use apiv2`},
		{"partner_rhcc", "registry:\n  - name: p\n    type: partner_rhcc\n", `c.yaml:3: registry[0].type: registry "p": type "partner_rhcc" is not supported (the Red Hat partner registry no longer serves APBs); use apiv2`},
		{"helm", "registry:\n  - name: h\n    type: helm\n", `c.yaml:3: registry[0].type: registry "h": type "helm" is not supported (Helm charts are not APBs; this broker runs APBs only)`},
		{"galaxy", "registry:\n  - name: g\n    type: galaxy\n", `c.yaml:3: registry[0].type: registry "g": type "galaxy" is not supported (the Ansible Galaxy v1 content API is gone); build the role into an APB image and use apiv2`},
		{"registry_proxy", "registry:\n  - name: r\n    type: registry_proxy\n", `c.yaml:3: registry[0].type: registry "r": type "registry_proxy" is not supported ; use apiv2 with the images listed in images`},
		{"mock", "registry:\n  - name: m\n    type: mock\n", `c.yaml:3: registry[0].type: registry "m": type "mock" is not supported (it was bundle-lib's test fixture); use local with a directory of bundles`},
		{"unknown type", "registry:\n  - name: u\n    type: ftp\n", `c.yaml:3: registry[0].type: registry "u": unknown type "ftp" (want apiv2, openshift, dockerhub, quay, local_openshift or local)`},
		{"local needs path", "registry:\n  - name: l\n    type: local\n    white_list: ['.*']\n", `c.yaml:2: registry[0].path: registry "l": type local needs path`},
		{"apiv2 needs url", "registry:\n  - name: r\n    type: apiv2\n    white_list: ['.*']\n", `c.yaml:2: registry[0].url: registry "r": type apiv2 needs url`},
		{"openshift needs url and images", "registry:\n  - name: o\n    type: openshift\n", "c.yaml:2: registry[0].url: registry \"o\": type openshift needs url\nc.yaml:2: registry[0].images: registry \"o\": type openshift needs images"},
		{"second entry", "registry:\n  - {name: a, type: local, path: p}\n  - name: b\n    type: dockerhub\n", `c.yaml:3: registry[1].org: registry "b": type dockerhub needs org`},
		{"apiv2 ok", "registry:\n  - name: r\n    type: apiv2\n    url: http://127.0.0.1:5000\n    white_list: ['.*']\n", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg, _, err := config.Parse([]byte(c.yaml), "c.yaml")
			if err != nil {
				t.Fatalf("config: %v", err)
			}
			_, err = mapConfig(cfg)
			if c.want == "" {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				return
			}
			var ce *ConfigError
			if err == nil || err.Error() != c.want || !errors.As(err, &ce) {
				t.Fatalf("error:\n got %v\nwant %s (a ConfigError)", err, c.want)
			}
		})
	}
}

// The example config shipped with Automation Broker, verbatim: its rhcc
// entry is refused with one line naming the registry and the way out.
func TestExampleConfigRefusesRHCC(t *testing.T) {
	c, _, err := config.Parse(mustRead(t, "../config/testdata/example-config.yaml"), "example-config.yaml")
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	_, err = mapConfig(c)
	want := `example-config.yaml:8: registry[1].type: registry "rhcc": type "rhcc" is not supported (the Red Hat Container Catalog API is gone); use apiv2`
	if err == nil || err.Error() != want {
		t.Fatalf("error:\n got %v\nwant %s", err, want)
	}
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// auto_escalate false (asbd's default) checks platform users in the
// cluster: without one the broker refuses to start and says why, rather
// than acting for any user.
func TestUserChecksNeedACluster(t *testing.T) {
	t.Setenv("KUBECONFIG", filepath.Join(t.TempDir(), "absent"))
	t.Setenv("KUBERNETES_SERVICE_HOST", "")
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "c.yaml")
	doc := "dao: {etcd_data_dir: " + filepath.Join(dir, "etcd") + "}\nbroker:\n  runtime: none\n  plain_http: true\n  listen_address: 127.0.0.1:0\n" +
		"  basic_auth_dir: " + dir + "\n  auth: [{type: basic, enabled: true}]\n"
	os.WriteFile(filepath.Join(dir, "username"), []byte("u"), 0o600)
	os.WriteFile(filepath.Join(dir, "password"), []byte("p"), 0o600)
	for _, tc := range []struct {
		extra string
		want  string // "" starts
	}{
		{"", "broker.auto_escalate is false"},
		{"  auto_escalate: true\n", ""},
	} {
		if err := os.WriteFile(cfgPath, []byte(doc+tc.extra), 0o600); err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		started := make(chan string, 1)
		done := make(chan error, 1)
		go func() { done <- Run(ctx, cfgPath, io.Discard, Options{Ready: func(u string) { started <- u }}) }()
		select {
		case err := <-done:
			var ce *ConfigError
			if tc.want == "" || !errors.As(err, &ce) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("%q: Run = %v, want a config error naming %q", tc.extra, err, tc.want)
			}
		case <-started:
			if tc.want != "" {
				t.Errorf("%q: started, want %q", tc.extra, tc.want)
			}
			cancel()
			<-done
		case <-time.After(60 * time.Second):
			t.Fatalf("%q: neither started nor failed", tc.extra)
		}
		cancel()
	}
}
